/**
 * The periodic `river_alarm` job, the flood watch's counterpart of bin-state-job.ts: every
 * `intervalMs` it replays each river level station's `water_level_mm` readings of the last
 * `lookback_h` from the local store through gateway/analytics/river-alarms.ts, with the
 * station's thresholds from `web.flood` (flood-config.ts), and
 * - raises, escalates and clears the station's alarms in the store's `alarms` table (kinds
 *   `river_level:<name>`, `river_rate`, `river_silent`), so they show on the supervision
 *   overview with its acknowledge button; an acknowledgement there is read back on the next run
 *   and stops the alarm's escalation;
 * - writes one `river_alarm` point per event (tags `dev_eui`, `station`, `kind`; fields `state`
 *   raised/escalated/cleared, `level_mm`, `detail`; time = the event's time) through the shared
 *   durable log (periodic-point-job.ts) to every InfluxDB sink; an outage loses nothing.
 *
 * Which events are new: the store's meta key `river_alarm.evaluated_to` (the last run's time)
 * is committed with the alarm rows, after the run's points are on disk in the log — a crash in
 * between repeats points at the same times, which InfluxDB overwrites. The codec alarms the
 * store's writer keeps in memory are other kinds (`alarm_*` readings), so the two never meet.
 */
import Database from 'better-sqlite3';
import type { Point } from '../sinks/influxdb/line-protocol.ts';
import type { PointWriter } from '../pipeline/sink-runner.ts';
import { evaluateRiver, type LevelSample, type RiverAlarmEvent, type RiverAlarmKind } from '../analytics/river-alarms.ts';
import { stationAlarmConfig, type FloodConfig } from '../web/flood-config.ts';
import { openStoreReadOnly } from '../web/store/planner-store.ts';
import { PeriodicPointJob } from './periodic-point-job.ts';

export const RIVER_ALARM_MEASUREMENT = 'river_alarm';
/** Alarm kinds in the store are `river_` + the logic's kind with its colon: `river_level:flood`. */
export const RIVER_KIND_PREFIX = 'river_';
const CURSOR_KEY = 'river_alarm.evaluated_to';
/** Readings replayed per station and run at most (a week at one a minute). */
const MAX_SAMPLES = 10_080;

const STATE: Record<RiverAlarmEvent['action'], string> = { raise: 'raised', escalate: 'escalated', clear: 'cleared' };

export interface RiverAlarmJobOptions {
  storeFile: string;
  logDir: string;
  writers: { name: string; writer: PointWriter }[];
  intervalMs: number;
  flood: FloodConfig;
  now?: () => number;
  onError?: (what: string, err: unknown) => void;
}

interface Station {
  dev_eui: string;
  name: string;
}

const storeKind = (k: RiverAlarmKind): string => `${RIVER_KIND_PREFIX}${k}`;

export class RiverAlarmJob extends PeriodicPointJob {
  constructor(private readonly opts: RiverAlarmJobOptions) {
    super({ name: 'river_alarm', logDir: opts.logDir, writers: opts.writers, intervalMs: opts.intervalMs, onError: opts.onError });
  }

  protected async compute(append: (points: Point[]) => Promise<void>): Promise<Point[]> {
    const now = (this.opts.now ?? Date.now)();
    const since = now - this.opts.flood.lookback_h * 3_600_000;
    const ro = openStoreReadOnly(this.opts.storeFile);
    const evaluated: { station: Station; events: RiverAlarmEvent[]; open: Set<string> }[] = [];
    let cursor: number;
    try {
      const meta = ro.prepare('SELECT value FROM meta WHERE key = ?').get(CURSOR_KEY) as { value: string } | undefined;
      cursor = meta ? Number(meta.value) : Number.NEGATIVE_INFINITY;
      // A river level station is a device whose readings carry water_level_mm (devices/README.md).
      const stations = ro
        .prepare(`SELECT d.dev_eui, d.name FROM devices d JOIN device_state s ON s.dev_eui = d.dev_eui WHERE json_valid(s.readings) AND json_extract(s.readings, '$.water_level_mm') IS NOT NULL ORDER BY d.dev_eui`)
        .all() as Station[];
      const readings = ro.prepare(`SELECT time, json_extract("values", '$.water_level_mm') AS level FROM readings WHERE dev_eui = ? AND time >= ? AND time <= ? AND json_valid("values") ORDER BY time DESC LIMIT ${MAX_SAMPLES}`);
      const acks = ro.prepare(`SELECT kind, max(acked_at) AS at FROM alarms WHERE dev_eui = ? AND kind LIKE '${RIVER_KIND_PREFIX}%' AND acked_at IS NOT NULL GROUP BY kind`);
      for (const station of stations) {
        const samples: LevelSample[] = [];
        for (const r of readings.all(station.dev_eui, since, now) as { time: number; level: unknown }[]) {
          if (typeof r.level === 'number' && Number.isFinite(r.level)) samples.push({ t: r.time, levelMm: r.level });
        }
        const acked = new Map<RiverAlarmKind, number>();
        for (const a of acks.all(station.dev_eui) as { kind: string; at: number }[]) acked.set(a.kind.slice(RIVER_KIND_PREFIX.length) as RiverAlarmKind, a.at);
        const result = evaluateRiver(samples, stationAlarmConfig(this.opts.flood, station.dev_eui, station.name), now, acked);
        evaluated.push({ station, events: result.events.filter((e) => e.t > cursor), open: new Set(result.open.map((a) => storeKind(a.alarm))) });
      }
    } finally {
      ro.close();
    }

    const points: Point[] = evaluated.flatMap(({ station, events }) =>
      events.map((e) => ({
        measurement: RIVER_ALARM_MEASUREMENT,
        tags: { dev_eui: station.dev_eui, station: station.name, kind: e.alarm },
        fields: { state: STATE[e.action], level_mm: e.levelMm, detail: e.detail },
        timeMs: e.t,
      })),
    );
    // On disk before the cursor moves past these events (see the header).
    await append(points);

    const db = new Database(this.opts.storeFile, { fileMustExist: true });
    try {
      db.pragma('busy_timeout = 5000');
      const active = db.prepare(`SELECT id, kind FROM alarms WHERE dev_eui = ? AND kind LIKE '${RIVER_KIND_PREFIX}%' AND cleared_at IS NULL`);
      const raise = db.prepare('INSERT INTO alarms (dev_eui, kind, raised_at, last_at) VALUES (?, ?, ?, ?)');
      const touch = db.prepare('UPDATE alarms SET last_at = max(last_at, ?) WHERE id = ?');
      const clear = db.prepare('UPDATE alarms SET cleared_at = ?, last_at = max(last_at, ?) WHERE id = ?');
      db.transaction(() => {
        for (const { station, events, open } of evaluated) {
          const rows = new Map((active.all(station.dev_eui) as { id: number; kind: string }[]).map((r) => [r.kind, r.id]));
          for (const e of events) {
            const kind = storeKind(e.alarm);
            const id = rows.get(kind);
            if (e.action === 'raise' && id === undefined) rows.set(kind, Number(raise.run(station.dev_eui, kind, e.t, e.t).lastInsertRowid));
            else if (e.action === 'escalate' && id !== undefined) touch.run(e.t, id);
            else if (e.action === 'clear' && id !== undefined) {
              clear.run(e.t, e.t, id);
              rows.delete(kind);
            }
          }
          // What the replay says is open now wins over the rows (a first run, a lost cursor).
          for (const kind of open) if (!rows.has(kind)) raise.run(station.dev_eui, kind, now, now);
          for (const [kind, id] of rows) if (!open.has(kind)) clear.run(now, now, id);
        }
        db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(CURSOR_KEY, String(now));
      })();
    } finally {
      db.close();
    }
    return [];
  }
}
