/**
 * The periodic `bin_state` job: every `intervalMs` it runs gateway/analytics over each bin's
 * readings in the local store and writes what it found — fill, rate, ETA, state, grade,
 * discrepancies — to
 * - the local store's own table `planner_bin_state` (one row per bin, replaced each run; a
 *   table of this module, never touched by the store's writer), so the pages show the same
 *   numbers as Grafana;
 * - its own durable log (`<data_dir>/planner-log`, periodic-point-job.ts, shared with the
 *   river_alarm job): an InfluxDB outage keeps the points on disk and loses nothing.
 *
 * A point's time is the run's time rounded down to the interval, so a run repeated after a
 * crash overwrites its points instead of adding new ones.
 */
import Database from 'better-sqlite3';
import type { Point } from '../sinks/influxdb/line-protocol.ts';
import type { PointWriter } from '../pipeline/sink-runner.ts';
import { PeriodicPointJob } from './periodic-point-job.ts';
import { analyzeStoredBins, openStoreReadOnly, type PlannerOptions } from '../web/store/planner-store.ts';

export const BIN_STATE_MEASUREMENT = 'bin_state';

export const BIN_STATE_TABLE_SQL = `CREATE TABLE IF NOT EXISTS planner_bin_state (
  dev_eui TEXT PRIMARY KEY, computed_at INTEGER NOT NULL, state TEXT NOT NULL, fill_pct REAL, rate_pct_day REAL,
  rate_grade TEXT NOT NULL, eta_ms INTEGER, last_emptied_ms INTEGER, discrepancies TEXT NOT NULL
) WITHOUT ROWID`;

export interface BinStateJobOptions {
  storeFile: string;
  logDir: string;
  writers: { name: string; writer: PointWriter }[];
  intervalMs: number;
  planner: PlannerOptions;
  now?: () => number;
  /** One line per failed run or write (the job keeps going). */
  onError?: (what: string, err: unknown) => void;
}

export class BinStateJob extends PeriodicPointJob {
  constructor(private readonly opts: BinStateJobOptions) {
    super({ name: 'bin_state', logDir: opts.logDir, writers: opts.writers, intervalMs: opts.intervalMs, onError: opts.onError });
  }

  protected compute(): Point[] {
    const now = (this.opts.now ?? Date.now)();
    const at = now - (now % this.opts.intervalMs);
    const ro = openStoreReadOnly(this.opts.storeFile);
    let bins: ReturnType<typeof analyzeStoredBins>;
    try {
      bins = analyzeStoredBins(ro, now, this.opts.planner);
    } finally {
      ro.close();
    }
    const points: Point[] = [];
    const rows = bins.map((b) => {
      const a = b.analysis;
      const discrepancies = a.discrepancies.map((d) => d.kind);
      const commune = b.tags[this.opts.planner.groupBy];
      points.push({
        measurement: BIN_STATE_MEASUREMENT,
        tags: { dev_eui: b.devEui, device: b.name, ...(commune ? { [this.opts.planner.groupBy]: commune } : {}) },
        fields: {
          state: a.state,
          grade: a.rateGrade,
          fill_pct: a.fillPct,
          rate_pct_day: a.fillRatePctPerDay,
          // ETA as hours from the point's time: Grafana shows it without date arithmetic.
          eta_h: a.etaFullMs === undefined ? undefined : Math.round(((a.etaFullMs - at) / 3_600_000) * 10) / 10,
          discrepancy: discrepancies.length ? [...new Set(discrepancies)].join(',') : 'none',
        },
        timeMs: at,
      });
      return { dev_eui: b.devEui, computed_at: at, state: a.state, fill_pct: a.fillPct ?? null, rate_pct_day: a.fillRatePctPerDay ?? null, rate_grade: a.rateGrade, eta_ms: a.etaFullMs ?? null, last_emptied_ms: a.lastEmptiedMs ?? null, discrepancies: JSON.stringify(a.discrepancies) };
    });
    const db = new Database(this.opts.storeFile, { fileMustExist: true });
    try {
      db.pragma('busy_timeout = 5000');
      db.exec(BIN_STATE_TABLE_SQL);
      const put = db.prepare('INSERT OR REPLACE INTO planner_bin_state VALUES (@dev_eui, @computed_at, @state, @fill_pct, @rate_pct_day, @rate_grade, @eta_ms, @last_emptied_ms, @discrepancies)');
      db.transaction(() => {
        for (const r of rows) put.run(r);
      })();
    } finally {
      db.close();
    }
    return points;
  }
}
