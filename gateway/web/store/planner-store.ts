/**
 * The planner's view of the local store: each bin's readings (table `readings`, category
 * `bin-fill` in `devices`) run through gateway/analytics, and the collection list for a round.
 * It reads the SQLite file through its own read-only connection, so the `collect` CLI, the demo
 * and the planner API compute the same list whether or not the gateway holds the file open
 * (WAL lets readers run beside the writer) and whichever thread writes it.
 *
 * Rounds: a daily round at `roundTime` (HH:MM, the machine's local time zone — the crew's
 * clock); the list for a date is the list for that day's round, with the next round a day later.
 * The analysis is made as of the round (or now, if the round is still ahead), so a past date
 * shows what the list was then.
 *
 * Skipped collections: a round at which a bin already read at or above the threshold (so it was
 * on that round's list) and that was not followed by an emptying within the grace window.
 */
import Database from 'better-sqlite3';
import type { Database as Db } from 'better-sqlite3';
import { analyzeBin, type BinAnalysis, type FillSample } from '../../analytics/bin-state.ts';
import { collectionList, type CollectionList, type ListedBin } from '../../analytics/collection-list.ts';

export const BIN_CATEGORY = 'bin-fill';
const DAY_MS = 86_400_000;

export interface PlannerOptions {
  /** HH:MM, the daily round (default 05:00). */
  roundTime: string;
  thresholdPct: number;
  /** Readings looked at before the analysis time (days, default 14). */
  lookbackDays: number;
  /** Tag to group by (default `commune`). */
  groupBy: string;
}

export const PLANNER_DEFAULTS: PlannerOptions = { roundTime: '05:00', thresholdPct: 90, lookbackDays: 14, groupBy: 'commune' };

const ROUND_RE = /^([01]\d|2[0-3]):([0-5]\d)$/;
const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** The round's time (epoch ms) on a YYYY-MM-DD date; undefined for an impossible date or time. */
export function roundOn(date: string, roundTime: string): number | undefined {
  const d = DATE_RE.exec(date);
  const r = ROUND_RE.exec(roundTime);
  if (!d || !r) return undefined;
  const [y, m, day] = [Number(d[1]), Number(d[2]), Number(d[3])];
  const t = new Date(y, m - 1, day, Number(r[1]), Number(r[2]));
  // new Date() rolls 2026-02-30 over to March: such a date is refused, not moved.
  if (t.getFullYear() !== y || t.getMonth() !== m - 1 || t.getDate() !== day) return undefined;
  return t.getTime();
}

export const isRoundTime = (s: string): boolean => ROUND_RE.test(s);

/** Opens the store file read-only (it must exist: the gateway creates it). */
export function openStoreReadOnly(file: string): Db {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  // A reader beside a writer: wait for a checkpoint rather than fail with SQLITE_BUSY.
  db.pragma('busy_timeout = 5000');
  return db;
}

interface BinRow {
  dev_eui: string;
  name: string;
  tags: string;
  interval_s: number | null;
  interval_ms: number | null;
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** Each bin with its analysis as of `nowMs`. */
export function analyzeStoredBins(db: Db, nowMs: number, opts: PlannerOptions): ListedBin[] {
  const bins = db
    .prepare(`SELECT d.dev_eui, d.name, d.tags, d.interval_s, s.interval_ms FROM devices d LEFT JOIN device_state s ON s.dev_eui = d.dev_eui WHERE d.category = ? ORDER BY d.dev_eui`)
    .all(BIN_CATEGORY) as BinRow[];
  const readings = db.prepare('SELECT time, "values" FROM readings WHERE dev_eui = ? AND time >= ? AND time <= ? ORDER BY time');
  const since = nowMs - opts.lookbackDays * DAY_MS;
  const [hh, mm] = opts.roundTime.split(':').map(Number) as [number, number];
  const out: ListedBin[] = [];
  for (const b of bins) {
    const samples: FillSample[] = [];
    for (const r of readings.iterate(b.dev_eui, since, nowMs) as Iterable<{ time: number; values: string }>) {
      let v: Record<string, unknown>;
      try {
        v = JSON.parse(r.values) as Record<string, unknown>;
      } catch {
        continue; // the store writes JSON; a row that is not is not a reading
      }
      const fill = num(v['fill_pct']);
      if (fill === undefined) continue;
      samples.push({ t: r.time, fillPct: fill, distanceMm: num(v['distance_mm']), alarmTilt: v['alarm_tilt'] === true, alarmFull: v['alarm_full'] === true });
    }
    const reportingIntervalS = b.interval_ms ? b.interval_ms / 1000 : (b.interval_s ?? 3600);
    const analysis = analyzeBin(samples, { nowMs, reportingIntervalS, thresholdPct: opts.thresholdPct, scheduledRoundsMs: roundsWhenFull(samples, since, nowMs, hh, mm, opts.thresholdPct) });
    let tags: Record<string, string> = {};
    try {
      tags = JSON.parse(b.tags) as Record<string, string>;
    } catch {
      // tags stay empty: the bin is listed under "(none)"
    }
    out.push({ devEui: b.dev_eui, name: b.name, tags, analysis });
  }
  return out;
}

/** The daily rounds between `since` and `until` at which the bin's last reading was at or above the threshold. */
function roundsWhenFull(samples: readonly FillSample[], since: number, until: number, hh: number, mm: number, threshold: number): number[] {
  const out: number[] = [];
  const first = new Date(since);
  let round = new Date(first.getFullYear(), first.getMonth(), first.getDate(), hh, mm).getTime();
  let i = 0;
  for (let n = 0; round <= until && n < 3700; n++, round = nextDay(round, hh, mm)) {
    while (i < samples.length && (samples[i] as FillSample).t <= round) i++;
    const before = samples[i - 1];
    if (before && before.fillPct >= threshold && round - before.t < DAY_MS) out.push(round);
  }
  return out;
}

/** The same wall-clock time a day later (a DST change makes that 23 or 25 hours). */
function nextDay(t: number, hh: number, mm: number): number {
  const d = new Date(t + DAY_MS + 3 * 3_600_000);
  return new Date(d.getFullYear(), d.getMonth(), d.getDate(), hh, mm).getTime();
}

/** The collection list for a date's round, from the store. */
export function planForDate(db: Db, date: string, nowMs: number, opts: PlannerOptions, only?: string): CollectionList {
  const [hh, mm] = opts.roundTime.split(':').map(Number) as [number, number];
  const roundMs = roundOn(date, opts.roundTime);
  if (roundMs === undefined) throw new RangeError(`not a date (YYYY-MM-DD): "${date}"`);
  const at = Math.min(nowMs, roundMs);
  const bins = analyzeStoredBins(db, at, opts);
  return collectionList(bins, { roundMs, nextRoundMs: nextDay(roundMs, hh, mm), thresholdPct: opts.thresholdPct, groupBy: opts.groupBy, ...(only !== undefined ? { only } : {}) });
}

/** The state counts of the analysed bins (the planner page's header). */
export function stateCounts(bins: readonly { analysis: BinAnalysis }[]): Record<BinAnalysis['state'], number> {
  const c: Record<BinAnalysis['state'], number> = { ok: 0, collect_soon: 0, full: 0, overfull: 0, fault: 0, offline: 0 };
  for (const b of bins) c[b.analysis.state]++;
  return c;
}
