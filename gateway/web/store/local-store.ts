/**
 * The local store: what the pages and the read API show, kept in SQLite (schema.ts) from the
 * records of the durable log. `apply()` takes records in log order and applies each exactly
 * once: the id of the last applied record is part of the same transaction as its effects.
 *
 * Hot state (device_state, device_gateways, gateways, active alarms) lives in memory as well and
 * is written through once per batch for each device that changed, so a batch of 1,000 uplinks
 * costs about two statements per uplink (reading, frame) plus one per changed device.
 *
 * "Latest" means the newest uplink time, not the newest arrival: a gateway's backlog delivered
 * late never makes a device's state go back in time (its readings still go to the history).
 */
import { GATEWAY_STATS_SQL, putGatewayStat } from './gateway-stats.ts';
import Database from 'better-sqlite3';
import type { Database as Db, Statement } from 'better-sqlite3';
import type { ReadingValue } from '../../../codecs/api.ts';
import type { PipelineRecord } from '../../pipeline/record.ts';
import { SCHEMA_SQL, SCHEMA_VERSION } from './schema.ts';
import { PruneIndex } from './prune-index.ts';
import { decodeRecords, encodeBatch, tagsObject, type StoreRecord, type StoreUplink } from './store-batch.ts';

export interface StoreOptions {
  /** SQLite file, or ':memory:' */
  file: string;
  /** readings older than this are pruned (default 90) */
  historyDays: number;
  /** raw frames kept per device (default 50) */
  framesPerDevice: number;
  /** registry tag whose value is the device's commune (default `commune`) */
  communeTag: string;
  /** registry tags holding latitude/longitude */
  locationTags: { lat: string; lon: string };
  /**
   * Frames a device may have beyond `framesPerDevice` before the periodic pruning visits it
   * (default: `framesPerDevice`, one more ring). Never shown; it spaces out the visits.
   */
  frameSlack?: number;
}

/**
 * `writer`: the one connection that applies records (in the store's worker thread, or in
 * tests), with the hot state in memory. `reader`: a connection beside it for the pages and the
 * API on the gateway's main thread; it keeps nothing in memory and reads device state, gateways
 * and alarms from the file (WAL: it sees each committed batch, never a half-applied one). Its
 * only write is an acknowledgement, which the writer never caches.
 */
export type StoreRole = 'writer' | 'reader';

/** Result of one bounded step of pruning (see `pruneStep`). */
export interface PruneStep {
  /** rows deleted (readings + frames) */
  deleted: number;
  readings: number;
  /** devices whose extra frames the step deleted */
  devices: number;
  /** something is left: call again */
  more: boolean;
}

export interface RegistryDeviceInput {
  dev_eui: string;
  name: string;
  model?: string;
  category?: string;
  tags: Record<string, string>;
  interval_s?: number;
}

export interface FieldValue {
  value: ReadingValue;
  time: number;
}

export interface GatewayHeard {
  id: string;
  rssi: number;
  snr: number;
}

/** One stored raw uplink (`/api/v1/devices/<devEui>/frames`). */
export interface StoredFrame {
  logId: number;
  id: string;
  time: number;
  rxAt: number;
  fCnt: number;
  fPort: number;
  dr: number;
  sf: number | null;
  frequency: number | null;
  payloadHex: string;
  gateways: GatewayHeard[];
  model: string | null;
  readings: { time: number; values: Record<string, ReadingValue> }[];
  warnings: string[];
  errors: string[];
}

export interface DeviceState {
  firstSeen: number;
  lastSeen: number;
  lastUplink: number | null;
  lastRxAt: number | null;
  devAddr: string | null;
  fCnt: number | null;
  fPort: number | null;
  dr: number | null;
  sf: number | null;
  frequency: number | null;
  gatewayCount: number | null;
  bestRssi: number | null;
  bestSnr: number | null;
  bestGateway: string | null;
  uplinks: number;
  decodeErrors: number;
  joinedAt: number | null;
  joins: number;
  statusAt: number | null;
  batteryPct: number | null;
  marginDb: number | null;
  externalPower: boolean | null;
  intervalMs: number | null;
  readings: Record<string, FieldValue>;
  warnings: string[];
  errors: string[];
}

export interface Alarm {
  id: number;
  devEui: string;
  kind: string;
  raisedAt: number;
  lastAt: number;
  clearedAt: number | null;
  ackedAt: number | null;
  ackedBy: string | null;
}

/** What changed, for live pages (Server-Sent Events). */
export type StoreEvent =
  | { type: 'uplink'; devEui: string; frame: StoredFrame }
  | { type: 'join'; devEui: string; time: number; devAddr: string }
  | { type: 'status'; devEui: string; time: number; batteryPct: number | null; marginDb: number }
  | { type: 'alarm'; alarm: Alarm };

export const ALARM_PREFIX = 'alarm_';

/** What one `applyStored` call collects while it runs, written or handed on after its records. */
interface Batch {
  /** undefined: nobody listens, no events are built */
  events: StoreEvent[] | undefined;
  dirty: Set<string>;
  dirtyPairs: Set<string>;
  dirtyGateways: Set<string>;
  /** frames written per device (for the prune index) */
  framesAdded: Map<string, number>;
}

interface GatewayRow {
  lastSeen: number;
  uplinks: number;
}
interface DeviceGatewayRow extends GatewayRow {
  rssi: number;
  snr: number;
}

const emptyState = (t: number): DeviceState => ({
  firstSeen: t,
  lastSeen: t,
  lastUplink: null,
  lastRxAt: null,
  devAddr: null,
  fCnt: null,
  fPort: null,
  dr: null,
  sf: null,
  frequency: null,
  gatewayCount: null,
  bestRssi: null,
  bestSnr: null,
  bestGateway: null,
  uplinks: 0,
  decodeErrors: 0,
  joinedAt: null,
  joins: 0,
  statusAt: null,
  batteryPct: null,
  marginDb: null,
  externalPower: null,
  intervalMs: null,
  readings: {},
  warnings: [],
  errors: [],
});

/**
 * Observed reporting interval: an exponential average of the gaps between consecutive uplinks.
 * A gap longer than 1.8 × the estimate is a missed uplink, not a slower device: it is left out,
 * so a few lost frames do not make a silent device look like a slow one.
 */
export function nextInterval(current: number | null, gapMs: number): number | null {
  if (gapMs <= 0) return current;
  if (current === null) return gapMs;
  if (gapMs > 1.8 * current) return current;
  return Math.round(0.8 * current + 0.2 * gapMs);
}

const json = (v: unknown): string => JSON.stringify(v);
const parse = <T>(s: string | null | undefined, def: T): T => (s ? (JSON.parse(s) as T) : def);

/** The writer's SQLite page cache, KiB. */
const WRITER_CACHE_KB = 8000;

/** Devices visited by one pruning step at most (each costs one indexed delete). */
const PRUNE_DEVICES_PER_STEP = 500;

export class LocalStore {
  readonly db: Db;
  private readonly states = new Map<string, DeviceState>();
  private readonly devGateways = new Map<string, DeviceGatewayRow>();
  private readonly gateways = new Map<string, GatewayRow>();
  private readonly activeAlarms = new Map<string, { id: number; lastAt: number }>();
  private readonly knownDevices = new Set<string>();
  /** which devices have frames or readings to prune (writer only) */
  private readonly pruneIndex: PruneIndex;
  private applied = 0;
  private readonly st: Record<string, Statement>;

  constructor(
    readonly opts: StoreOptions,
    readonly role: StoreRole = 'writer',
  ) {
    this.pruneIndex = new PruneIndex(opts.framesPerDevice, opts.frameSlack ?? opts.framesPerDevice);
    this.db = new Database(opts.file);
    // The writer (worker thread) and the reader (main thread) share the file: a connection that
    // finds the other's write lock waits for it rather than failing (a batch holds it ~100 ms).
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('journal_mode = WAL');
    // WAL + NORMAL: a power cut may lose the last transactions, never corrupt the file; the log
    // cursor only moves after the transaction, so what is lost is applied again.
    this.db.pragma('synchronous = NORMAL');
    // 8 MB of page cache for the writer (native memory, outside the V8 heap; the reader keeps
    // SQLite's 2 MB default). It was 32 MB: with 10,000-record batches the CPU per uplink was the
    // same within noise at 8 MB (bench/web/store-apply.ts), and RSS counts against the gateway's
    // 150 MB. Pages beyond it are read back from the OS's file cache; a transaction with more
    // dirty pages than fit spills them to the WAL early, which is allowed. No mmap (the default):
    // mapped pages would count in RSS too.
    if (role === 'writer') this.db.pragma(`cache_size = -${WRITER_CACHE_KB}`);
    this.db.exec(SCHEMA_SQL);
    this.db.exec(GATEWAY_STATS_SQL);
    const version = this.meta('schema_version');
    if (version === undefined) this.setMeta('schema_version', String(SCHEMA_VERSION));
    else if (Number(version) > SCHEMA_VERSION) throw new Error(`${opts.file}: store schema ${version} is newer than this gateway's (${SCHEMA_VERSION})`);
    this.applied = Number(this.meta('applied_id') ?? 0);
    const db = this.db;
    this.st = {
      setMeta: db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value'),
      heardDevice: db.prepare(
        `INSERT INTO devices (dev_eui, name, model, category, commune, tags, lat, lon, registered) VALUES (@dev_eui, @name, @model, @category, @commune, @tags, @lat, @lon, 0)
         ON CONFLICT(dev_eui) DO UPDATE SET name = excluded.name, model = excluded.model, category = excluded.category, commune = excluded.commune, tags = excluded.tags, lat = excluded.lat, lon = excluded.lon WHERE registered = 0`,
      ),
      // Positional parameters: binding by name looks each one up (measurably slower per row).
      state: db.prepare(`INSERT OR REPLACE INTO device_state VALUES (${Array.from({ length: 28 }, () => '?').join(', ')})`),
      devGateway: db.prepare('INSERT OR REPLACE INTO device_gateways VALUES (?, ?, ?, ?, ?, ?)'),
      gateway: db.prepare('INSERT OR REPLACE INTO gateways VALUES (?, ?, ?)'),
      reading: db.prepare(`INSERT INTO readings (dev_eui, time, "values") VALUES (?, ?, ?) ON CONFLICT(dev_eui, time) DO UPDATE SET "values" = json_patch("values", excluded."values")`),
      frame: db.prepare(`INSERT OR REPLACE INTO frames VALUES (${Array.from({ length: 16 }, () => '?').join(', ')})`),
      raise: db.prepare('INSERT INTO alarms (dev_eui, kind, raised_at, last_at) VALUES (?, ?, ?, ?)'),
      touchAlarm: db.prepare('UPDATE alarms SET last_at = ? WHERE id = ?'),
      clearAlarm: db.prepare('UPDATE alarms SET cleared_at = ? WHERE id = ?'),
      alarmById: db.prepare('SELECT * FROM alarms WHERE id = ?'),
      ack: db.prepare('UPDATE alarms SET acked_at = ?, acked_by = ? WHERE id = ? AND acked_at IS NULL'),
      stateRow: db.prepare('SELECT * FROM device_state WHERE dev_eui = ?'),
      gatewaysOfRows: db.prepare('SELECT gateway_id, last_seen, rssi, snr, uplinks FROM device_gateways WHERE dev_eui = ?'),
      allGatewayRows: db.prepare('SELECT gateway_id, last_seen, uplinks FROM gateways'),
    };
    if (role === 'writer') this.load();
  }

  private meta(key: string): string | undefined {
    return (this.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined)?.value;
  }

  private setMeta(key: string, value: string): void {
    this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value);
  }

  private load(): void {
    for (const r of this.db.prepare('SELECT * FROM device_state').all() as Record<string, unknown>[]) this.states.set(r['dev_eui'] as string, rowToState(r));
    type Row = { dev_eui: string; gateway_id: string; kind: string; id: number; last_seen: number; rssi: number; snr: number; uplinks: number; last_at: number };
    for (const r of this.db.prepare('SELECT * FROM device_gateways').all() as Row[]) {
      this.devGateways.set(`${r.dev_eui}|${r.gateway_id}`, { lastSeen: r.last_seen, rssi: r.rssi, snr: r.snr, uplinks: r.uplinks });
    }
    for (const r of this.db.prepare('SELECT * FROM gateways').all() as Row[]) this.gateways.set(r.gateway_id, { lastSeen: r.last_seen, uplinks: r.uplinks });
    for (const r of this.db.prepare('SELECT id, dev_eui, kind, last_at FROM alarms WHERE cleared_at IS NULL').all() as Row[]) {
      this.activeAlarms.set(`${r.dev_eui}|${r.kind}`, { id: r.id, lastAt: r.last_at });
    }
    for (const r of this.db.prepare('SELECT dev_eui FROM devices').all() as { dev_eui: string }[]) this.knownDevices.add(r.dev_eui);
    this.pruneIndex.load(this.db);
  }

  /** Id of the last log record applied (records up to it are skipped). */
  get appliedId(): number {
    return this.applied;
  }

  /** Tag values of a device as the columns want them. */
  private placement(tags: Record<string, string>): { commune: string | null; lat: number | null; lon: number | null } {
    const num = (s: string | undefined): number | null => {
      const n = s === undefined ? NaN : Number(s);
      return Number.isFinite(n) ? n : null;
    };
    return { commune: tags[this.opts.communeTag] ?? null, lat: num(tags[this.opts.locationTags.lat]), lon: num(tags[this.opts.locationTags.lon]) };
  }

  /**
   * Replaces the registered devices with the registry's (start, SIGHUP). A device that left the
   * registry stays as heard-only while it has state, and goes otherwise.
   */
  syncRegistry(devices: readonly RegistryDeviceInput[]): void {
    const upsert = this.db.prepare(
      `INSERT INTO devices (dev_eui, name, model, category, commune, tags, lat, lon, interval_s, registered) VALUES (@dev_eui, @name, @model, @category, @commune, @tags, @lat, @lon, @interval_s, 1)
       ON CONFLICT(dev_eui) DO UPDATE SET name = excluded.name, model = excluded.model, category = excluded.category, commune = excluded.commune, tags = excluded.tags,
       lat = excluded.lat, lon = excluded.lon, interval_s = excluded.interval_s, registered = 1`,
    );
    this.db.transaction(() => {
      this.db.exec('CREATE TEMP TABLE IF NOT EXISTS registry_now (dev_eui TEXT PRIMARY KEY); DELETE FROM registry_now;');
      const mark = this.db.prepare('INSERT OR IGNORE INTO registry_now VALUES (?)');
      for (const d of devices) {
        upsert.run({ dev_eui: d.dev_eui, name: d.name, model: d.model ?? null, category: d.category ?? null, tags: json(d.tags), interval_s: d.interval_s ?? null, ...this.placement(d.tags) });
        mark.run(d.dev_eui);
        this.knownDevices.add(d.dev_eui);
      }
      this.db.exec(`UPDATE devices SET registered = 0 WHERE registered = 1 AND dev_eui NOT IN (SELECT dev_eui FROM registry_now);
        DELETE FROM devices WHERE registered = 0 AND dev_eui NOT IN (SELECT dev_eui FROM device_state);`);
      // Heard-only devices follow a changed commune/location tag setting too.
      for (const r of this.db.prepare('SELECT dev_eui, tags FROM devices WHERE registered = 0').all() as { dev_eui: string; tags: string }[]) {
        const p = this.placement(parse(r.tags, {}));
        this.db.prepare('UPDATE devices SET commune = ?, lat = ?, lon = ? WHERE dev_eui = ?').run(p.commune, p.lat, p.lon, r.dev_eui);
      }
    })();
    this.knownDevices.clear();
    for (const r of this.db.prepare('SELECT dev_eui FROM devices').all() as { dev_eui: string }[]) this.knownDevices.add(r.dev_eui);
  }

  /**
   * Applies records (in log order) that were not applied yet; returns what changed. They go
   * through the same encoding as the worker's batches (store-batch.ts); a record that cannot be
   * encoded is skipped (marked done).
   */
  apply(records: readonly { id: number; value: PipelineRecord }[]): StoreEvent[] {
    return this.applyStored(decodeRecords(encodeBatch(records.filter((r) => r.id > this.applied)).bytes), true);
  }

  /**
   * Applies store records (store-batch.ts: what the worker receives) that were not applied yet.
   * `wantEvents`: whether to build the live-update events (only while a page listens).
   */
  applyStored(records: Iterable<StoreRecord>, wantEvents: boolean): StoreEvent[] {
    if (this.role !== 'writer') throw new Error('local store: a reader connection cannot apply records');
    const events: StoreEvent[] = [];
    let last = this.applied;
    const batch: Batch = { events: wantEvents ? events : undefined, dirty: new Set(), dirtyPairs: new Set(), dirtyGateways: new Set(), framesAdded: new Map() };
    // In-memory state changes only after the transaction commits: on an exception the
    // transaction rolls back and the maps are rebuilt from the file.
    try {
      this.db.transaction(() => {
        // Records are decoded one at a time as they are applied (decodeRecords): a batch never
        // exists as an array of objects in the worker's heap.
        for (const r of records) {
          if (r.logId <= last) continue;
          this.applyOne(r, batch);
          last = r.logId;
        }
        if (last === this.applied) return;
        const state = this.st['state']!;
        for (const dev of batch.dirty) state.run(stateParams(dev, this.states.get(dev) as DeviceState));
        const devGateway = this.st['devGateway']!;
        for (const key of batch.dirtyPairs) {
          const bar = key.indexOf('|');
          const g = this.devGateways.get(key) as DeviceGatewayRow;
          devGateway.run(key.slice(0, bar), key.slice(bar + 1), g.lastSeen, g.rssi, g.snr, g.uplinks);
        }
        const gateway = this.st['gateway']!;
        for (const gw of batch.dirtyGateways) {
          const g = this.gateways.get(gw) as GatewayRow;
          gateway.run(gw, g.lastSeen, g.uplinks);
        }
        this.st['setMeta']!.run('applied_id', String(last));
      })();
    } catch (err) {
      this.states.clear();
      this.devGateways.clear();
      this.gateways.clear();
      this.activeAlarms.clear();
      this.knownDevices.clear();
      this.load();
      throw err;
    }
    this.pruneIndex.added(batch.framesAdded);
    this.applied = last;
    return events;
  }

  /** Marks a record that cannot be applied (a bad record, rejected alone) as done. */
  skip(id: number): void {
    if (id <= this.applied) return;
    this.st['setMeta']!.run('applied_id', String(id));
    this.applied = id;
  }

  private state(devEui: string, t: number, dirty: Set<string>): DeviceState {
    let s = this.states.get(devEui);
    if (!s) {
      s = emptyState(t);
      this.states.set(devEui, s);
    }
    if (t < s.firstSeen) s.firstSeen = t;
    if (t > s.lastSeen) s.lastSeen = t;
    dirty.add(devEui);
    return s;
  }

  private applyOne(r: StoreRecord, b: Batch): void {
    if (r.kind === 'skip') return;
    if (r.kind === 'gateway') return putGatewayStat(this.db, r.record);
    if (!this.knownDevices.has(r.devEui)) {
      const d = r.device;
      const tags = tagsObject(d.tags);
      this.st['heardDevice']!.run({ dev_eui: r.devEui, name: d.name || r.devEui, model: d.model, category: d.category, tags: json(tags), ...this.placement(tags) });
      this.knownDevices.add(r.devEui);
    }
    const s = this.state(r.devEui, r.time, b.dirty);
    if (r.kind === 'join') {
      s.joins++;
      if (s.joinedAt === null || r.time >= s.joinedAt) {
        s.joinedAt = r.time;
        s.devAddr = r.devAddr;
      }
      b.events?.push({ type: 'join', devEui: r.devEui, time: r.time, devAddr: r.devAddr });
      return;
    }
    if (r.kind === 'status') {
      if (s.statusAt === null || r.time >= s.statusAt) {
        s.statusAt = r.time;
        s.marginDb = r.margin;
        s.externalPower = r.externalPower;
        s.batteryPct = r.batteryUnavailable || r.externalPower ? null : r.batteryPct;
      }
      b.events?.push({ type: 'status', devEui: r.devEui, time: r.time, batteryPct: r.batteryUnavailable ? null : r.batteryPct, marginDb: r.margin });
      return;
    }
    this.applyUplink(r, s, b);
  }

  private applyUplink(r: StoreUplink, s: DeviceState, b: Batch): void {
    s.uplinks++;
    if (r.errors.length > 0) s.decodeErrors++;
    if (s.lastUplink === null || r.time >= s.lastUplink) {
      if (s.lastUplink !== null) s.intervalMs = nextInterval(s.intervalMs, r.time - s.lastUplink);
      let best: StoreUplink['gateways'][number] | undefined;
      let bestSnr: number | null = null;
      for (const g of r.gateways) {
        if (best === undefined || g.rssi > best.rssi) best = g;
        if (bestSnr === null || g.snr > bestSnr) bestSnr = g.snr;
      }
      s.lastUplink = r.time;
      s.lastRxAt = r.rxAt;
      s.devAddr = r.devAddr;
      s.fCnt = r.fCnt;
      s.fPort = r.fPort;
      s.dr = r.dr;
      s.sf = r.sf;
      s.frequency = r.frequency;
      s.gatewayCount = r.gateways.length;
      s.bestRssi = best?.rssi ?? null;
      s.bestSnr = bestSnr;
      s.bestGateway = best?.id ?? null;
      s.warnings = r.warnings;
      s.errors = r.errors;
    }
    for (const g of r.gateways) {
      const key = `${r.devEui}|${g.id}`;
      const dg = this.devGateways.get(key);
      if (!dg) this.devGateways.set(key, { lastSeen: r.time, rssi: g.rssi, snr: g.snr, uplinks: 1 });
      else {
        dg.uplinks++;
        if (r.time >= dg.lastSeen) {
          dg.lastSeen = r.time;
          dg.rssi = g.rssi;
          dg.snr = g.snr;
        }
      }
      b.dirtyPairs.add(key);
      const gw = this.gateways.get(g.id);
      if (!gw) this.gateways.set(g.id, { lastSeen: r.time, uplinks: 1 });
      else {
        gw.uplinks++;
        if (r.time > gw.lastSeen) gw.lastSeen = r.time;
      }
      b.dirtyGateways.add(g.id);
    }
    // The frame's readings column is built from the readings' JSON text, not stringified again.
    let readingsJson = '[';
    const parsed: { time: number; values: Record<string, ReadingValue> }[] = [];
    const reading = this.st['reading']!;
    for (const x of r.readings) {
      reading.run(r.devEui, x.time, x.valuesJson);
      const values = x.values;
      if (b.events) parsed.push({ time: x.time, values });
      if (readingsJson.length > 1) readingsJson += ',';
      readingsJson += `{"time":${JSON.stringify(x.time)},"values":${x.valuesJson}}`;
      for (const field in values) {
        const value = values[field] as ReadingValue;
        const prev = s.readings[field];
        if (prev === undefined || x.time >= prev.time) s.readings[field] = { value, time: x.time };
        if (typeof value === 'boolean' && field.startsWith(ALARM_PREFIX)) this.alarmReading(r.devEui, field.slice(ALARM_PREFIX.length), value, x.time, b.events);
      }
    }
    readingsJson += ']';
    const model = r.decodedModel ?? r.device.model;
    const warnings = r.warnings.length ? json(r.warnings) : '[]';
    const errors = r.errors.length ? json(r.errors) : '[]';
    const gateways = gatewaysJson(r.gateways);
    this.st['frame']!.run(r.logId, r.devEui, r.id, r.time, r.rxAt, r.fCnt, r.fPort, r.dr, r.sf, r.frequency, r.payload, gateways, model, readingsJson, warnings, errors);
    b.framesAdded.set(r.devEui, (b.framesAdded.get(r.devEui) ?? 0) + 1);
    if (b.events) {
      const frame: StoredFrame = {
        logId: r.logId,
        id: r.id,
        time: r.time,
        rxAt: r.rxAt,
        fCnt: r.fCnt,
        fPort: r.fPort,
        dr: r.dr,
        sf: r.sf,
        frequency: r.frequency,
        payloadHex: Buffer.from(r.payload.buffer, r.payload.byteOffset, r.payload.length).toString('hex'),
        gateways: r.gateways.map((g) => ({ id: g.id, rssi: g.rssi, snr: g.snr })),
        model,
        readings: parsed,
        warnings: r.warnings,
        errors: r.errors,
      };
      b.events.push({ type: 'uplink', devEui: r.devEui, frame });
    }
  }

  private alarmReading(devEui: string, kind: string, on: boolean, t: number, events: StoreEvent[] | undefined): void {
    const key = `${devEui}|${kind}`;
    const active = this.activeAlarms.get(key);
    if (on) {
      if (active) {
        if (t > active.lastAt) {
          active.lastAt = t;
          this.st['touchAlarm']!.run(t, active.id);
        }
        return;
      }
      const id = Number(this.st['raise']!.run(devEui, kind, t, t).lastInsertRowid);
      this.activeAlarms.set(key, { id, lastAt: t });
      events?.push({ type: 'alarm', alarm: this.alarm(id) as Alarm });
    } else if (active && t >= active.lastAt) {
      this.st['clearAlarm']!.run(t, active.id);
      this.activeAlarms.delete(key);
      events?.push({ type: 'alarm', alarm: this.alarm(active.id) as Alarm });
    }
  }

  alarm(id: number): Alarm | undefined {
    const r = this.st['alarmById']!.get(id) as Record<string, unknown> | undefined;
    return r ? rowToAlarm(r) : undefined;
  }

  /** Acknowledges an alarm; undefined when there is no such alarm. Acknowledging twice keeps the first. */
  acknowledge(id: number, by: string, now: number): Alarm | undefined {
    this.st['ack']!.run(now, by, id);
    return this.alarm(id);
  }

  /**
   * Deletes readings older than the history window and frames beyond the newest N per device;
   * returns how many readings went. All at once, every device beyond N frames: for a store that
   * may hold a large backlog, use `pruneStep` in a loop that yields between steps (the sink's
   * worker does).
   */
  prune(now: number): number {
    let readings = 0;
    let more = true;
    for (let step = 0; more && step < 1e7; step++) {
      const r = this.pruneStep(now, { maxRows: 5000, first: step === 0, complete: true });
      readings += r.readings;
      more = r.more;
    }
    return readings;
  }

  /**
   * One bounded step of pruning, in its own transaction, deleting at most `maxRows` rows:
   * readings older than the history window, oldest first along the `readings_time` index (no
   * device is visited for them), then the frames beyond the newest N of the devices the prune
   * index names — those with more than N + `frameSlack` frames, or with `complete` more than N
   * — at most 500 devices a step. The work of a step is bounded by the rows it deletes and the
   * devices it visits, never by the size of the fleet. `first`: also the acknowledged alarms
   * cleared before the window (once a run). `more`: call again, something is left.
   */
  pruneStep(now: number, o: { maxRows: number; first: boolean; complete?: boolean }): PruneStep {
    if (this.role !== 'writer') throw new Error('local store: a reader connection cannot prune');
    const before = now - this.opts.historyDays * 86_400_000;
    const maxRows = Math.max(1, o.maxRows);
    const st = this.pruneStatements();
    let readings = 0;
    let frames = 0;
    let more = false;
    const finished: string[] = [];
    this.db.transaction(() => {
      if (o.first) st.alarms.run(before);
      readings = st.readings.run(before, maxRows).changes;
      if (readings >= maxRows) {
        more = true;
        return;
      }
      const page = this.pruneIndex.candidates(o.complete === true, PRUNE_DEVICES_PER_STEP + 1);
      for (const [i, dev] of page.entries()) {
        const room = maxRows - readings - frames;
        if (room <= 0 || i === PRUNE_DEVICES_PER_STEP) {
          more = true;
          break;
        }
        // Bounded per statement, so one device with a long backlog is split over steps too.
        const f = st.frames.run({ dev, keep: this.opts.framesPerDevice - 1, room }).changes;
        frames += f;
        if (f >= room) {
          more = true; // maybe more for this device: the next step visits it again
          break;
        }
        finished.push(dev);
      }
    })();
    for (const dev of finished) this.pruneIndex.pruned(dev);
    return { deleted: readings + frames, readings, devices: finished.length, more };
  }

  /** Devices the periodic pruning would visit for their frames now (tests, bench). */
  get framePruneBacklog(): number {
    return this.pruneIndex.dueCount;
  }

  private pruneSt: { readings: Statement; frames: Statement; alarms: Statement } | undefined;

  private pruneStatements(): { readings: Statement; frames: Statement; alarms: Statement } {
    // `LIMIT` inside a sub-select bounds each delete. Readings by age along readings_time;
    // frames per device along (dev_eui, log_id).
    this.pruneSt ??= {
      readings: this.db.prepare('DELETE FROM readings WHERE id IN (SELECT id FROM readings WHERE time < ? ORDER BY time LIMIT ?)'),
      frames: this.db.prepare(
        `DELETE FROM frames WHERE log_id IN (SELECT log_id FROM frames WHERE dev_eui = @dev AND log_id < (SELECT log_id FROM frames WHERE dev_eui = @dev ORDER BY log_id DESC LIMIT 1 OFFSET @keep) ORDER BY log_id LIMIT @room)`,
      ),
      alarms: this.db.prepare('DELETE FROM alarms WHERE cleared_at IS NOT NULL AND acked_at IS NOT NULL AND cleared_at < ?'),
    };
    return this.pruneSt;
  }

  stateOf(devEui: string): DeviceState | undefined {
    if (this.role === 'writer') return this.states.get(devEui);
    const r = this.st['stateRow']!.get(devEui) as Record<string, unknown> | undefined;
    return r ? rowToState(r) : undefined;
  }

  gatewaysOf(devEui: string): ({ id: string } & DeviceGatewayRow)[] {
    type Row = { gateway_id: string; last_seen: number; rssi: number; snr: number; uplinks: number };
    const out: ({ id: string } & DeviceGatewayRow)[] = [];
    for (const r of this.st['gatewaysOfRows']!.all(devEui) as Row[]) {
      const g = this.role === 'writer' ? this.devGateways.get(`${devEui}|${r.gateway_id}`) : { lastSeen: r.last_seen, rssi: r.rssi, snr: r.snr, uplinks: r.uplinks };
      if (g) out.push({ id: r.gateway_id, ...g });
    }
    return out.sort((a, b) => b.rssi - a.rssi);
  }

  allGateways(): ({ id: string } & GatewayRow)[] {
    const all: [string, GatewayRow][] =
      this.role === 'writer'
        ? [...this.gateways]
        : (this.st['allGatewayRows']!.all() as { gateway_id: string; last_seen: number; uplinks: number }[]).map((r) => [r.gateway_id, { lastSeen: r.last_seen, uplinks: r.uplinks }]);
    return all.map(([id, g]) => ({ id, ...g })).sort((a, b) => a.id.localeCompare(b.id));
  }

  frames(devEui: string, limit: number): StoredFrame[] {
    // Frames beyond the newest N wait for the pruning; they are never shown.
    const rows = this.db.prepare('SELECT * FROM frames WHERE dev_eui = ? ORDER BY log_id DESC LIMIT ?').all(devEui, Math.min(limit, this.opts.framesPerDevice)) as Record<string, unknown>[];
    return rows.map(rowToFrame);
  }

  readings(devEui: string, since: number, until: number, limit: number): { time: number; values: Record<string, ReadingValue> }[] {
    const rows = this.db.prepare('SELECT time, "values" FROM readings WHERE dev_eui = ? AND time >= ? AND time <= ? ORDER BY time LIMIT ?').all(devEui, since, until, limit) as { time: number; values: string }[];
    return rows.map((r) => ({ time: r.time, values: parse(r.values, {}) }));
  }

  alarms(filter: { state: 'open' | 'active' | 'all'; devEui?: string; limit: number }): Alarm[] {
    const where: string[] = [];
    if (filter.state === 'open') where.push('acked_at IS NULL');
    if (filter.state === 'active') where.push('cleared_at IS NULL');
    if (filter.devEui) where.push('dev_eui = @dev');
    // Unacknowledged first, then active, newest first.
    const sql = `SELECT * FROM alarms ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY (acked_at IS NULL) DESC, (cleared_at IS NULL) DESC, raised_at DESC LIMIT @limit`;
    return (this.db.prepare(sql).all({ dev: filter.devEui ?? null, limit: filter.limit }) as Record<string, unknown>[]).map(rowToAlarm);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

function rowToState(r: Record<string, unknown>): DeviceState {
  const n = (k: string): number | null => (r[k] === null || r[k] === undefined ? null : Number(r[k]));
  return {
    firstSeen: Number(r['first_seen']),
    lastSeen: Number(r['last_seen']),
    lastUplink: n('last_uplink'),
    lastRxAt: n('last_rx_at'),
    devAddr: (r['dev_addr'] as string | null) ?? null,
    fCnt: n('fcnt'),
    fPort: n('fport'),
    dr: n('dr'),
    sf: n('sf'),
    frequency: n('frequency'),
    gatewayCount: n('gateway_count'),
    bestRssi: n('best_rssi'),
    bestSnr: n('best_snr'),
    bestGateway: (r['best_gateway'] as string | null) ?? null,
    uplinks: Number(r['uplinks']),
    decodeErrors: Number(r['decode_errors']),
    joinedAt: n('joined_at'),
    joins: Number(r['joins']),
    statusAt: n('status_at'),
    batteryPct: n('battery_pct'),
    marginDb: n('margin_db'),
    externalPower: r['external_power'] === null ? null : Boolean(r['external_power']),
    intervalMs: n('interval_ms'),
    readings: parse(r['readings'] as string | null, {}),
    warnings: parse(r['warnings'] as string | null, []),
    errors: parse(r['errors'] as string | null, []),
  };
}

/** device_state's columns in table order (readings_at is unused and stays NULL). */
function stateParams(devEui: string, s: DeviceState): unknown[] {
  return [
    devEui, s.firstSeen, s.lastSeen, s.lastUplink, s.lastRxAt, s.devAddr, s.fCnt, s.fPort, s.dr, s.sf, s.frequency, s.gatewayCount, s.bestRssi, s.bestSnr, s.bestGateway,
    s.uplinks, s.decodeErrors, s.joinedAt, s.joins, s.statusAt, s.batteryPct, s.marginDb, s.externalPower === null ? null : s.externalPower ? 1 : 0, s.intervalMs,
    json(s.readings), null, s.warnings.length ? json(s.warnings) : '[]', s.errors.length ? json(s.errors) : '[]',
  ];
}

/** The frame's gateways column: `[{"id":…,"rssi":…,"snr":…}, …]`. */
function gatewaysJson(gateways: readonly GatewayHeard[]): string {
  let out = '[';
  for (const g of gateways) out += `${out.length > 1 ? ',' : ''}{"id":${JSON.stringify(g.id)},"rssi":${JSON.stringify(g.rssi)},"snr":${JSON.stringify(g.snr)}}`;
  return `${out}]`;
}

function rowToFrame(r: Record<string, unknown>): StoredFrame {
  return {
    logId: Number(r['log_id']),
    id: r['uplink_id'] as string,
    time: Number(r['time']),
    rxAt: Number(r['rx_at']),
    fCnt: Number(r['fcnt']),
    fPort: Number(r['fport']),
    dr: Number(r['dr']),
    sf: r['sf'] === null ? null : Number(r['sf']),
    frequency: r['frequency'] === null ? null : Number(r['frequency']),
    payloadHex: Buffer.from(r['payload'] as Buffer).toString('hex'),
    gateways: parse(r['gateways'] as string, []),
    model: (r['model'] as string | null) ?? null,
    readings: parse(r['readings'] as string, []),
    warnings: parse(r['warnings'] as string, []),
    errors: parse(r['errors'] as string, []),
  };
}

function rowToAlarm(r: Record<string, unknown>): Alarm {
  const n = (k: string): number | null => (r[k] === null ? null : Number(r[k]));
  return {
    id: Number(r['id']),
    devEui: r['dev_eui'] as string,
    kind: r['kind'] as string,
    raisedAt: Number(r['raised_at']),
    lastAt: Number(r['last_at']),
    clearedAt: n('cleared_at'),
    ackedAt: n('acked_at'),
    ackedBy: (r['acked_by'] as string | null) ?? null,
  };
}
