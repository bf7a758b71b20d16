/**
 * Read queries over the local store for the device list and the supervision overview: SQL over
 * `devices LEFT JOIN device_state`, with the device's state computed at query time from the
 * clock ("silent" is a matter of when you look):
 * - `never_joined`: registered, never heard (no join, no uplink);
 * - `silent`: nothing heard for more than 2 reporting intervals (observed interval, else the
 *   catalogue's);
 * - `reporting`: otherwise.
 */
import { lastGatewayStats, type GatewayStat } from './gateway-stats.ts';
import type { ReadingValue } from '../../../codecs/api.ts';
import type { FieldValue, LocalStore } from './local-store.ts';

export const DEVICE_STATES = ['reporting', 'silent', 'never_joined'] as const;
export type DeviceStateName = (typeof DEVICE_STATES)[number];

/** Silent after this many reporting intervals without anything heard. */
export const SILENT_INTERVALS = 2;
const DEFAULT_INTERVAL_MS = 86_400_000;

export const STATE_SQL = `CASE WHEN s.dev_eui IS NULL THEN 'never_joined'
  WHEN @now - s.last_seen > ${SILENT_INTERVALS} * COALESCE(s.interval_ms, d.interval_s * 1000, ${DEFAULT_INTERVAL_MS}) THEN 'silent'
  ELSE 'reporting' END`;

export interface DeviceFilter {
  category?: string;
  commune?: string;
  state?: DeviceStateName;
  model?: string;
  /** exact DevEUIs (a search that resolved to them) */
  devEuis?: string[];
  /** substring of the name or prefix of the DevEUI */
  text?: string;
  limit: number;
  offset: number;
}

export interface DeviceSummary {
  devEui: string;
  name: string;
  model: string | null;
  category: string | null;
  commune: string | null;
  lat: number | null;
  lon: number | null;
  registered: boolean;
  state: DeviceStateName;
  lastSeen: number | null;
  intervalMs: number | null;
  gatewayCount: number | null;
  bestRssi: number | null;
  bestSnr: number | null;
  batteryPct: number | null;
  uplinks: number;
  readings: Record<string, ReadingValue>;
}

function where(f: Omit<DeviceFilter, 'limit' | 'offset'>): { sql: string; params: Record<string, unknown> } {
  const w: string[] = [];
  const params: Record<string, unknown> = {};
  if (f.category !== undefined) {
    w.push('d.category = @category');
    params['category'] = f.category;
  }
  if (f.commune !== undefined) {
    w.push('d.commune = @commune');
    params['commune'] = f.commune;
  }
  if (f.model !== undefined) {
    w.push('d.model = @model');
    params['model'] = f.model;
  }
  if (f.state !== undefined) {
    w.push(`(${STATE_SQL}) = @state`);
    params['state'] = f.state;
  }
  if (f.devEuis !== undefined) {
    w.push(`d.dev_eui IN (SELECT value FROM json_each(@euis))`);
    params['euis'] = JSON.stringify(f.devEuis);
  }
  if (f.text !== undefined) {
    w.push(`(d.name LIKE @text ESCAPE '\\' OR d.dev_eui LIKE @prefix ESCAPE '\\')`);
    const esc = f.text.replace(/[\\%_]/g, (c) => `\\${c}`);
    params['text'] = `%${esc}%`;
    params['prefix'] = `${esc.toLowerCase()}%`;
  }
  return { sql: w.length ? `WHERE ${w.join(' AND ')}` : '', params };
}

export function listDevices(store: LocalStore, f: DeviceFilter, now: number): { total: number; devices: DeviceSummary[] } {
  const { sql, params } = where(f);
  const p = { ...params, now };
  const total = (store.db.prepare(`SELECT count(*) AS n FROM devices d LEFT JOIN device_state s USING (dev_eui) ${sql}`).get(p) as { n: number }).n;
  const rows = store.db
    .prepare(
      `SELECT d.dev_eui, d.name, d.model, d.category, d.commune, d.lat, d.lon, d.registered, (${STATE_SQL}) AS state, s.last_seen, s.interval_ms,
        s.gateway_count, s.best_rssi, s.best_snr, s.battery_pct, s.uplinks, s.readings
       FROM devices d LEFT JOIN device_state s USING (dev_eui) ${sql} ORDER BY d.name, d.dev_eui LIMIT @limit OFFSET @offset`,
    )
    .all({ ...p, limit: f.limit, offset: f.offset }) as Record<string, unknown>[];
  return { total, devices: rows.map(rowToSummary) };
}

function rowToSummary(r: Record<string, unknown>): DeviceSummary {
  const n = (k: string): number | null => (r[k] === null || r[k] === undefined ? null : Number(r[k]));
  const fields = r['readings'] ? (JSON.parse(r['readings'] as string) as Record<string, FieldValue>) : {};
  const readings: Record<string, ReadingValue> = {};
  for (const [k, v] of Object.entries(fields)) readings[k] = v.value;
  return {
    devEui: r['dev_eui'] as string,
    name: r['name'] as string,
    model: (r['model'] as string | null) ?? null,
    category: (r['category'] as string | null) ?? null,
    commune: (r['commune'] as string | null) ?? null,
    lat: n('lat'),
    lon: n('lon'),
    registered: r['registered'] === 1,
    state: r['state'] as DeviceStateName,
    lastSeen: n('last_seen'),
    intervalMs: n('interval_ms'),
    gatewayCount: n('gateway_count'),
    bestRssi: n('best_rssi'),
    bestSnr: n('best_snr'),
    batteryPct: n('battery_pct'),
    uplinks: n('uplinks') ?? 0,
    readings,
  };
}

export interface CountRow {
  key: string | null;
  reporting: number;
  silent: number;
  never_joined: number;
  total: number;
}

function counts(store: LocalStore, column: 'category' | 'commune', now: number): CountRow[] {
  const rows = store.db
    .prepare(`SELECT d.${column} AS key, (${STATE_SQL}) AS state, count(*) AS n FROM devices d LEFT JOIN device_state s USING (dev_eui) GROUP BY 1, 2 ORDER BY 1`)
    .all({ now }) as { key: string | null; state: DeviceStateName; n: number }[];
  const by = new Map<string | null, CountRow>();
  for (const r of rows) {
    let c = by.get(r.key);
    if (!c) by.set(r.key, (c = { key: r.key, reporting: 0, silent: 0, never_joined: 0, total: 0 }));
    c[r.state] += r.n;
    c.total += r.n;
  }
  return [...by.values()];
}

export interface Overview {
  now: number;
  devices: { total: number; reporting: number; silent: number; never_joined: number };
  byCategory: CountRow[];
  byCommune: (CountRow & { openAlarms: number })[];
  alarms: { open: number; active: number };
  /** gateways heard in uplinks and/or that sent a `stat` (edge network server) */
  gateways: { id: string; lastSeen: number; uplinks: number; devices: number; stat: GatewayStat | null }[];
}

export function overview(store: LocalStore, now: number): Overview {
  const byCategory = counts(store, 'category', now);
  const alarmsByCommune = new Map<string | null, number>();
  for (const r of store.db.prepare('SELECT d.commune AS key, count(*) AS n FROM alarms a JOIN devices d USING (dev_eui) WHERE a.acked_at IS NULL GROUP BY 1').all() as { key: string | null; n: number }[]) {
    alarmsByCommune.set(r.key, r.n);
  }
  const total = { total: 0, reporting: 0, silent: 0, never_joined: 0 };
  for (const c of byCategory) for (const k of ['total', 'reporting', 'silent', 'never_joined'] as const) total[k] += c[k];
  const alarmCounts = store.db.prepare('SELECT sum(acked_at IS NULL) AS open, sum(cleared_at IS NULL) AS active FROM alarms').get() as { open: number | null; active: number | null };
  const devicesPerGateway = new Map<string, number>();
  for (const r of store.db.prepare('SELECT gateway_id, count(*) AS n FROM device_gateways GROUP BY 1').all() as { gateway_id: string; n: number }[]) devicesPerGateway.set(r.gateway_id, r.n);
  return {
    now,
    devices: total,
    byCategory,
    byCommune: counts(store, 'commune', now).map((c) => ({ ...c, openAlarms: alarmsByCommune.get(c.key) ?? 0 })),
    alarms: { open: alarmCounts.open ?? 0, active: alarmCounts.active ?? 0 },
    gateways: withStats(
      store.allGateways().map((g) => ({ ...g, devices: devicesPerGateway.get(g.id) ?? 0 })),
      lastGatewayStats(store.db),
    ),
  };
}

/** The device's state name as the list computes it. */
export function stateOf(store: LocalStore, devEui: string, now: number): DeviceStateName | undefined {
  const r = store.db.prepare(`SELECT (${STATE_SQL}) AS state FROM devices d LEFT JOIN device_state s USING (dev_eui) WHERE d.dev_eui = @dev`).get({ dev: devEui, now }) as { state: DeviceStateName } | undefined;
  return r?.state;
}

/** The overview's gateways with their last stat; a gateway known only by its stats is listed too. */
function withStats(heard: { id: string; lastSeen: number; uplinks: number; devices: number }[], stats: Map<string, GatewayStat>): Overview['gateways'] {
  const out: Overview['gateways'] = heard.map((g) => ({ ...g, stat: stats.get(g.id) ?? null }));
  for (const [id, stat] of stats) if (!heard.some((g) => g.id === id)) out.push({ id, lastSeen: stat.time, uplinks: 0, devices: 0, stat });
  return out.sort((a, b) => a.id.localeCompare(b.id));
}
