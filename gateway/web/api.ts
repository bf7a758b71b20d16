/**
 * The read API over the local store, `/api/v1/…` (shapes: gateway/web/README.md). Pure request →
 * response functions: the HTTP glue (auth, CSRF, SSE, size limits) is in web-handler.ts.
 * Every parameter is checked before any query: unknown parameter names, malformed values and
 * out-of-range numbers are a 400 with a one-line JSON error naming the parameter.
 */
import { CATEGORIES } from '../../codecs/api.ts';
import { normalizeEui } from '../registry/devices-file.ts';
import type { LocalStore } from './store/local-store.ts';
import { DEVICE_STATES, listDevices, overview, stateOf, type DeviceFilter, type DeviceStateName } from './store/queries.ts';
import { MAX_QUERY_CHARS, parseSearch } from './search.ts';
import { verdictOf } from './verdict.ts';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface ApiResult {
  status: number;
  body: unknown;
}

const DAY = 86_400_000;

type Params = URLSearchParams;

function only(p: Params, allowed: string[]): void {
  for (const k of new Set(p.keys())) {
    if (!allowed.includes(k)) throw new ApiError(400, 'unknown_parameter', `unknown query parameter "${k}" (expected: ${allowed.join(', ') || 'none'})`);
    if (p.getAll(k).length > 1) throw new ApiError(400, 'repeated_parameter', `query parameter "${k}" given more than once`);
  }
}

function int(p: Params, key: string, def: number, min: number, max: number): number {
  const v = p.get(key);
  if (v === null) return def;
  if (!/^\d{1,9}$/.test(v) || Number(v) < min || Number(v) > max) throw new ApiError(400, 'bad_parameter', `${key} must be an integer ${min}..${max}`);
  return Number(v);
}

function oneOf<T extends string>(p: Params, key: string, allowed: readonly T[]): T | undefined {
  const v = p.get(key);
  if (v === null) return undefined;
  const hit = allowed.find((a) => a === v);
  if (hit === undefined) throw new ApiError(400, 'bad_parameter', `${key} must be one of ${allowed.join(', ')}`);
  return hit;
}

function text(p: Params, key: string, max = MAX_QUERY_CHARS): string | undefined {
  const v = p.get(key);
  if (v === null) return undefined;
  if (v.length === 0 || v.length > max) throw new ApiError(400, 'bad_parameter', `${key} must be 1..${max} characters`);
  return v;
}

/** ISO 8601 time or ms since epoch. */
function time(p: Params, key: string): number | undefined {
  const v = p.get(key);
  if (v === null) return undefined;
  const t = /^\d{1,15}$/.test(v) ? Number(v) : /^\d{4}-\d{2}-\d{2}/.test(v) ? Date.parse(v) : NaN;
  if (!Number.isFinite(t)) throw new ApiError(400, 'bad_parameter', `${key} must be an ISO 8601 time (2026-11-23T08:00:00Z) or ms since epoch`);
  return t;
}

export function devEuiParam(raw: string): string {
  const eui = normalizeEui(decodeURIComponentSafe(raw));
  if (!eui) throw new ApiError(400, 'bad_dev_eui', 'the DevEUI must be 16 hex digits');
  return eui;
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new ApiError(400, 'bad_path', 'the path is not valid percent-encoding');
  }
}

export function getDevices(store: LocalStore, p: Params, now: number): ApiResult {
  only(p, ['category', 'commune', 'state', 'model', 'q', 'limit', 'offset']);
  const f: DeviceFilter = { limit: int(p, 'limit', 100, 1, 1000), offset: int(p, 'offset', 0, 0, 10_000_000) };
  const category = oneOf(p, 'category', CATEGORIES);
  if (category !== undefined) f.category = category;
  const state = oneOf<DeviceStateName>(p, 'state', DEVICE_STATES);
  if (state !== undefined) f.state = state;
  const commune = text(p, 'commune');
  if (commune !== undefined) f.commune = commune;
  const model = text(p, 'model');
  if (model !== undefined) f.model = model;
  const q = text(p, 'q');
  if (q !== undefined) {
    const s = parseSearch(q);
    if ('devEui' in s) f.devEuis = [s.devEui];
    else f.text = s.text;
  }
  const { total, devices } = listDevices(store, f, now);
  return { status: 200, body: { now, total, limit: f.limit, offset: f.offset, devices } };
}

export function getDevice(store: LocalStore, eui: string, p: Params, now: number): ApiResult {
  only(p, []);
  const found = listDevices(store, { devEuis: [eui], limit: 1, offset: 0 }, now).devices[0];
  if (!found) throw new ApiError(404, 'unknown_device', `no device ${eui} in the registry or heard by this gateway`);
  const state = store.stateOf(eui);
  return {
    status: 200,
    body: {
      now,
      device: found,
      state: state ?? null,
      gateways: store.gatewaysOf(eui),
      verdict: verdictOf(state, found.state, now),
      alarms: store.alarms({ state: 'all', devEui: eui, limit: 50 }),
    },
  };
}

function known(store: LocalStore, eui: string, now: number): void {
  if (stateOf(store, eui, now) === undefined) throw new ApiError(404, 'unknown_device', `no device ${eui} in the registry or heard by this gateway`);
}

export function getFrames(store: LocalStore, eui: string, p: Params, now: number): ApiResult {
  only(p, ['limit']);
  const limit = int(p, 'limit', 50, 1, 1000);
  known(store, eui, now);
  return { status: 200, body: { devEui: eui, frames: store.frames(eui, limit) } };
}

export function getReadings(store: LocalStore, eui: string, p: Params, now: number): ApiResult {
  only(p, ['since', 'until', 'limit']);
  const since = time(p, 'since') ?? now - 7 * DAY;
  const until = time(p, 'until') ?? Number.MAX_SAFE_INTEGER;
  if (until < since) throw new ApiError(400, 'bad_parameter', 'until must not be before since');
  const limit = int(p, 'limit', 10_000, 1, 50_000);
  known(store, eui, now);
  return { status: 200, body: { devEui: eui, since, readings: store.readings(eui, since, until, limit) } };
}

export function getAlarms(store: LocalStore, p: Params): ApiResult {
  only(p, ['state', 'limit', 'devEui']);
  const state = oneOf(p, 'state', ['open', 'active', 'all'] as const) ?? 'open';
  const limit = int(p, 'limit', 200, 1, 5000);
  const dev = p.get('devEui');
  const f: { state: typeof state; limit: number; devEui?: string } = { state, limit };
  if (dev !== null) f.devEui = devEuiParam(dev);
  const alarms = store.alarms(f);
  const names = new Map<string, string>();
  for (const r of store.db.prepare('SELECT dev_eui, name FROM devices WHERE dev_eui IN (SELECT value FROM json_each(?))').all(JSON.stringify([...new Set(alarms.map((a) => a.devEui))])) as { dev_eui: string; name: string }[]) {
    names.set(r.dev_eui, r.name);
  }
  return { status: 200, body: { alarms: alarms.map((a) => ({ ...a, device: names.get(a.devEui) ?? null })) } };
}

export function postAcknowledge(store: LocalStore, idText: string, who: string, now: number): ApiResult {
  if (!/^\d{1,12}$/.test(idText)) throw new ApiError(400, 'bad_alarm_id', 'the alarm id must be a positive integer');
  const alarm = store.acknowledge(Number(idText), who, now);
  if (!alarm) throw new ApiError(404, 'unknown_alarm', `no alarm ${idText}`);
  return { status: 200, body: { alarm } };
}

export function getOverview(store: LocalStore, p: Params, now: number): ApiResult {
  only(p, []);
  return { status: 200, body: { ...overview(store, now), openAlarms: (getAlarms(store, new URLSearchParams({ state: 'open', limit: '50' })).body as { alarms: unknown[] }).alarms } };
}
