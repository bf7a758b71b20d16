/**
 * What a waste-service planner needs to know about one bin, from its readings alone: pure
 * functions, no I/O, no clock (the caller passes `nowMs`), so the pages, the `collect` CLI and the
 * `bin_state` sink compute the same numbers.
 *
 * From a bin's fill readings (`fill_pct`, with the codec's tilt/full alarms as evidence):
 * - **false echoes**: a reading that jumps and is contradicted by both neighbours (an insect, a
 *   bag in front of the sensor) is set aside and reported, never used;
 * - **emptyings**: a drop to near empty (≥ 5 points to ≤ 10 %), or a large drop (≥ 25 points to
 *   ≤ 30 %), that the next reading confirms (a tilt alarm in the same window is kept as evidence);
 * - **fill rate** (%/day) over the readings since the last emptying: the average rate from the
 *   post-emptying level to now, which spans whole days of the drop-off rhythm once the bin has
 *   been filling for a day — with a reliability grade from the span and the scatter;
 * - **estimated time to full** (the threshold, default 90 %) with an interval from the scatter;
 * - **state**, first that applies: `offline` (silent for more than `offlineAfterIntervals`
 *   reporting intervals), `overfull` (≥ `overfullPct`), `full` (≥ threshold), `fault` (readings
 *   outside the container, or a fill that never changes), `collect_soon` (full before
 *   `soonHours`), `ok`;
 * - **discrepancies**: false echoes, readings outside the container, a stuck fill, a scheduled
 *   round that did not empty it.
 */

export interface FillSample {
  /** Uplink time, epoch ms. */
  t: number;
  fillPct: number;
  /** The codec's raw distance, where it has one (for "outside the container"). */
  distanceMm?: number;
  alarmTilt?: boolean;
  alarmFull?: boolean;
}

export interface BinAnalysisOptions {
  nowMs: number;
  /** The device's reporting interval, seconds (catalogue or registry). */
  reportingIntervalS: number;
  thresholdPct?: number;
  overfullPct?: number;
  /** `collect_soon` when full within this many hours (default 24). */
  soonHours?: number;
  offlineAfterIntervals?: number;
  /** An emptying: a drop of at least `emptyDropPct` points to at most `emptyBelowPct` (defaults 5 and 10), */
  emptyDropPct?: number;
  emptyBelowPct?: number;
  /** … or a drop of at least `bigDropPct` points to at most `bigDropBelowPct` (defaults 25 and 30: a partly emptied bin). */
  bigDropPct?: number;
  bigDropBelowPct?: number;
  /** Container geometry, for readings outside the container. */
  containerDepthMm?: number;
  /** Scheduled collection times (epoch ms) to check: a round with no emptying after it is a discrepancy. */
  scheduledRoundsMs?: readonly number[];
  /** How long after a scheduled round an emptying still counts for it (default 12 h). */
  roundGraceHours?: number;
}

export type BinStateName = 'ok' | 'collect_soon' | 'full' | 'overfull' | 'fault' | 'offline';
export type Grade = 'A' | 'B' | 'C' | 'none';

export interface Emptying {
  t: number;
  fromPct: number;
  toPct: number;
  /** `drop` always; `tilt` when the lid/tilt alarm fired in the same window. */
  evidence: ('drop' | 'tilt')[];
}

export interface Discrepancy {
  kind: 'false_echo' | 'outside_container' | 'stuck' | 'missed_collection';
  t: number;
  detail: string;
}

export interface BinAnalysis {
  state: BinStateName;
  fillPct?: number;
  lastReadingMs?: number;
  lastEmptiedMs?: number;
  emptyings: Emptying[];
  /** Percentage points per day since the last emptying. */
  fillRatePctPerDay?: number;
  rateGrade: Grade;
  /** When the fill is expected to reach the threshold (epoch ms); undefined when not filling. */
  etaFullMs?: number;
  etaIntervalMs?: [number, number];
  discrepancies: Discrepancy[];
}

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/** Readings that jump by `jump` points and come back within `back` points are false echoes. */
function findFalseEchoes(s: readonly FillSample[], jump = 25, back = 10): Set<number> {
  const out = new Set<number>();
  for (let i = 1; i + 1 < s.length; i++) {
    const prev = (s[i - 1] as FillSample).fillPct;
    const cur = (s[i] as FillSample).fillPct;
    const next = (s[i + 1] as FillSample).fillPct;
    if (Math.abs(cur - prev) >= jump && Math.abs(next - prev) <= back && Math.abs(cur - next) >= jump) out.add(i);
  }
  return out;
}

/** Least-squares slope (per ms) and residual standard deviation of fill over time. */
function fitLine(points: readonly FillSample[]): { slope: number; intercept: number; sd: number } | undefined {
  const n = points.length;
  if (n < 2) return undefined;
  const t0 = (points[0] as FillSample).t;
  let sx = 0;
  let sy = 0;
  let sxx = 0;
  let sxy = 0;
  for (const p of points) {
    const x = p.t - t0;
    sx += x;
    sy += p.fillPct;
    sxx += x * x;
    sxy += x * p.fillPct;
  }
  const den = n * sxx - sx * sx;
  if (den <= 0) return undefined;
  const slope = (n * sxy - sx * sy) / den;
  const intercept = (sy - slope * sx) / n - slope * t0;
  let ss = 0;
  for (const p of points) ss += (p.fillPct - (intercept + slope * p.t)) ** 2;
  return { slope, intercept, sd: Math.sqrt(ss / Math.max(1, n - 2)) };
}

export function analyzeBin(samplesIn: readonly FillSample[], opts: BinAnalysisOptions): BinAnalysis {
  const threshold = opts.thresholdPct ?? 90;
  const overfull = opts.overfullPct ?? 100;
  const soonMs = (opts.soonHours ?? 24) * HOUR_MS;
  const dropPct = opts.emptyDropPct ?? 5;
  const belowPct = opts.emptyBelowPct ?? 10;
  const bigDrop = opts.bigDropPct ?? 25;
  const bigBelow = opts.bigDropBelowPct ?? 30;
  const samples = [...samplesIn].filter((s) => Number.isFinite(s.fillPct) && s.t <= opts.nowMs).sort((a, b) => a.t - b.t);
  const discrepancies: Discrepancy[] = [];
  const result: BinAnalysis = { state: 'offline', emptyings: [], rateGrade: 'none', discrepancies };
  if (samples.length === 0) return result;

  const echoes = findFalseEchoes(samples);
  for (const i of echoes) {
    const s = samples[i] as FillSample;
    discrepancies.push({ kind: 'false_echo', t: s.t, detail: `${s.fillPct} % between ${samples[i - 1]?.fillPct} % and ${samples[i + 1]?.fillPct} %: set aside` });
  }
  const clean = samples.filter((_, i) => !echoes.has(i));
  const depth = opts.containerDepthMm;
  for (const s of clean) {
    if (depth !== undefined && s.distanceMm !== undefined && s.distanceMm > depth * 1.15) {
      discrepancies.push({ kind: 'outside_container', t: s.t, detail: `distance ${s.distanceMm} mm is beyond the container's ${depth} mm (lid open, sensor moved?)` });
    }
  }

  // Emptyings: a confirmed drop. The confirming reading is the next one (or none yet: the drop
  // is taken when it is the last reading, since a planner needs to know now).
  let lastEmptyIndex = -1;
  for (let i = 1; i < clean.length; i++) {
    const prev = clean[i - 1] as FillSample;
    const cur = clean[i] as FillSample;
    const drop = prev.fillPct - cur.fillPct;
    if (!((drop >= dropPct && cur.fillPct <= belowPct) || (drop >= bigDrop && cur.fillPct <= bigBelow))) continue;
    const next = clean[i + 1];
    if (next && next.fillPct - cur.fillPct > Math.max(dropPct, drop / 2)) continue; // not confirmed: the fill came back
    const evidence: Emptying['evidence'] = ['drop'];
    if (prev.alarmTilt || cur.alarmTilt) evidence.push('tilt');
    result.emptyings.push({ t: cur.t, fromPct: prev.fillPct, toPct: cur.fillPct, evidence });
    lastEmptyIndex = i;
  }
  const last = clean[clean.length - 1] as FillSample;
  result.fillPct = last.fillPct;
  result.lastReadingMs = last.t;
  result.lastEmptiedMs = result.emptyings.at(-1)?.t;

  // Scheduled rounds that left the bin as it was.
  const grace = (opts.roundGraceHours ?? 12) * HOUR_MS;
  for (const round of opts.scheduledRoundsMs ?? []) {
    if (round > last.t || round < (clean[0] as FillSample).t) continue;
    const emptied = result.emptyings.some((e) => e.t >= round - HOUR_MS && e.t <= round + grace);
    if (!emptied) discrepancies.push({ kind: 'missed_collection', t: round, detail: `no emptying within ${opts.roundGraceHours ?? 12} h of the round at ${new Date(round).toISOString()}` });
  }

  // Fill rate since the last emptying (or since the first reading).
  const since = clean.slice(Math.max(0, lastEmptyIndex));
  const first = since[0] as FillSample;
  const spanMs = last.t - first.t;
  const fit = fitLine(since);
  if (fit && spanMs > 0) {
    // The average rate over the span; the regression's scatter grades it.
    const rate = (last.fillPct - first.fillPct) / spanMs;
    result.fillRatePctPerDay = Math.round(rate * DAY_MS * 100) / 100;
    const n = since.length;
    result.rateGrade = spanMs >= DAY_MS && n >= 8 && fit.sd < 6 ? 'A' : spanMs >= 6 * HOUR_MS && n >= 4 && fit.sd < 10 ? 'B' : 'C';
    if (rate > 0 && last.fillPct < threshold) {
      const eta = last.t + (threshold - last.fillPct) / rate;
      result.etaFullMs = Math.round(eta);
      // The interval widens with the scatter relative to what is left to fill, and with a short span.
      const rel = Math.min(0.9, fit.sd / Math.max(5, threshold - last.fillPct) + (spanMs < DAY_MS ? 0.3 : 0.1));
      const ahead = eta - last.t;
      result.etaIntervalMs = [Math.round(last.t + ahead * (1 - rel)), Math.round(last.t + ahead * (1 + rel))];
    } else if (last.fillPct >= threshold) result.etaFullMs = last.t;
  }

  // Stuck: a dozen readings over at least two intervals without the slightest change.
  const tail = clean.slice(-12);
  if (tail.length >= 12 && tail.every((s) => s.fillPct === last.fillPct) && last.t - (tail[0] as FillSample).t >= 2 * opts.reportingIntervalS * 1000) {
    discrepancies.push({ kind: 'stuck', t: last.t, detail: `${tail.length} readings all at ${last.fillPct} %` });
  }

  const silentMs = opts.nowMs - last.t;
  const offline = silentMs > (opts.offlineAfterIntervals ?? 3) * opts.reportingIntervalS * 1000;
  const recent = (d: Discrepancy): boolean => d.t >= last.t - 2 * opts.reportingIntervalS * 1000;
  const fault = discrepancies.some((d) => (d.kind === 'outside_container' || d.kind === 'stuck') && recent(d));
  // A bin that reads full is collected even when its sensor looks stuck: the discrepancy stays listed.
  if (offline) result.state = 'offline';
  else if (last.fillPct >= overfull) result.state = 'overfull';
  else if (last.fillPct >= threshold) result.state = 'full';
  else if (fault) result.state = 'fault';
  else if (result.etaFullMs !== undefined && result.etaFullMs - opts.nowMs <= soonMs) result.state = 'collect_soon';
  else result.state = 'ok';
  return result;
}

/** The expected fill at a future time from the current fill and rate (not capped: > 100 means overflowing). */
export function expectedFillAt(a: BinAnalysis, atMs: number): number | undefined {
  if (a.fillPct === undefined || a.lastReadingMs === undefined) return undefined;
  if (a.fillRatePctPerDay === undefined || a.fillRatePctPerDay <= 0) return a.fillPct;
  return Math.round((a.fillPct + (a.fillRatePctPerDay * (atMs - a.lastReadingMs)) / DAY_MS) * 10) / 10;
}
