/**
 * The `web:` section of the gateway config: the local store (sink `local`, on by default), the
 * pages and read API on the HTTP listener, and who may see them.
 *
 * Access: the listener binds to 127.0.0.1 by default and then needs no login. Bound to any other
 * address, an access token or basic-auth users are required — the gateway refuses to start
 * without one (`web.access_token: required …`). Secrets may come from `${ENV}` and are never
 * echoed in an error, a log, a page or the API.
 */
import { resolve } from 'node:path';
import type { ConfigErrorCode, ConfigProblem } from '../config.ts';
import { checkFloodConfig, type FloodConfig } from './flood-config.ts';

export interface WebConfig {
  /** pages and the read API on the HTTP listener */
  enabled: boolean;
  store: {
    enabled: boolean;
    /** the store's cursor name in the durable log */
    name: string;
    file: string;
    history_days: number;
    frames_per_device: number;
  };
  commune_tag: string;
  location_tags: { lat: string; lon: string };
  map: { tiles?: string; attribution: string };
  access: { token?: string; users: { name: string; password: string }[] };
  /** the planner: daily round, due threshold, and the bin_state job (gateway/planner/) */
  planner: { enabled: boolean; interval_s: number; round_time: string; threshold_pct: number };
  /** the flood watch's alarm thresholds and the river_alarm job (flood-config.ts) */
  flood: FloodConfig;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

const TAG_RE = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/** Whether a listen host is loopback only (no login needed there). */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

export function checkWebConfig(raw: unknown, ctx: { dataDir: string; base: string; listen: string | false; sinkNames: ReadonlySet<string> }): { web: WebConfig; problems: ConfigProblem[] } {
  const problems: ConfigProblem[] = [];
  const add = (key: string, code: ConfigErrorCode, message: string): void => void problems.push({ key: `web.${key}`, code, message });
  const o: Obj = raw === undefined ? {} : isObj(raw) ? raw : (add('', 'E_CONFIG_TYPE', 'must be a mapping'), {});
  const known = (x: Obj, path: string, keys: string[]): void => {
    for (const k of Object.keys(x)) if (!keys.includes(k)) add(`${path}${k}`, 'E_CONFIG_UNKNOWN_KEY', `unknown key (expected one of: ${keys.join(', ')})`);
  };
  known(o, '', ['enabled', 'store', 'commune_tag', 'location_tags', 'map', 'access_token', 'users', 'planner', 'flood']);
  const bool = (x: Obj, key: string, path: string, def: boolean): boolean => {
    const v = x[key];
    if (v === undefined) return def;
    if (typeof v !== 'boolean') add(`${path}${key}`, 'E_CONFIG_TYPE', `must be true or false, got ${JSON.stringify(v)}`);
    return typeof v === 'boolean' ? v : def;
  };
  const str = (x: Obj, key: string, path: string, secret = false): string | undefined => {
    const v = x[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string' || v === '') {
      add(`${path}${key}`, 'E_CONFIG_TYPE', `must be a non-empty string${secret ? '' : `, got ${JSON.stringify(v)}`}`);
      return undefined;
    }
    return v;
  };
  const int = (x: Obj, key: string, path: string, def: number, min: number, max: number): number => {
    const v = x[key];
    if (v === undefined) return def;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      add(`${path}${key}`, 'E_CONFIG_VALUE', `must be an integer ${min}..${max}, got ${JSON.stringify(v)}`);
      return def;
    }
    return v;
  };

  const storeRaw = o['store'] ?? {};
  const s: Obj = isObj(storeRaw) ? storeRaw : (add('store', 'E_CONFIG_TYPE', 'must be a mapping'), {});
  known(s, 'store.', ['enabled', 'file', 'history_days', 'frames_per_device']);
  const storeEnabled = bool(s, 'enabled', 'store.', true);
  const file = str(s, 'file', 'store.') ?? resolve(ctx.dataDir, 'local.sqlite');
  const name = 'local';
  if (storeEnabled && ctx.sinkNames.has(name)) problems.push({ key: 'sinks', code: 'E_CONFIG_VALUE', message: `the sink name "${name}" is the local store's cursor (web.store); choose another name` });

  const enabled = bool(o, 'enabled', '', storeEnabled);
  if (enabled && !storeEnabled) add('enabled', 'E_CONFIG_VALUE', 'the pages read the local store: set web.store.enabled: true or web.enabled: false');

  const commune = str(o, 'commune_tag', '') ?? 'commune';
  if (!TAG_RE.test(commune)) add('commune_tag', 'E_CONFIG_VALUE', 'must be a tag name (letters, digits, _ . -)');
  const locRaw = o['location_tags'] ?? {};
  const loc: Obj = isObj(locRaw) ? locRaw : (add('location_tags', 'E_CONFIG_TYPE', 'must be a mapping {lat: <tag>, lon: <tag>}'), {});
  known(loc, 'location_tags.', ['lat', 'lon']);
  const mapRaw = o['map'] ?? {};
  const map: Obj = isObj(mapRaw) ? mapRaw : (add('map', 'E_CONFIG_TYPE', 'must be a mapping'), {});
  known(map, 'map.', ['tiles', 'attribution']);
  const tiles = str(map, 'tiles', 'map.');
  if (tiles !== undefined && !/^https?:\/\/[^\s]+$/.test(tiles)) add('map.tiles', 'E_CONFIG_VALUE', 'must be an http(s) tile URL template, e.g. https://tile.openstreetmap.org/{z}/{x}/{y}.png');

  const token = str(o, 'access_token', '', true);
  if (token !== undefined && token.length < 16) add('access_token', 'E_CONFIG_VALUE', 'must be at least 16 characters');
  const users: { name: string; password: string }[] = [];
  const usersRaw = o['users'] ?? [];
  if (!Array.isArray(usersRaw)) add('users', 'E_CONFIG_TYPE', 'must be a list of {name, password}');
  else
    usersRaw.forEach((u, i) => {
      const p = `users[${i}].`;
      if (!isObj(u)) return add(`users[${i}]`, 'E_CONFIG_TYPE', 'must be a mapping {name, password}');
      known(u, p, ['name', 'password']);
      const n = str(u, 'name', p);
      const pw = str(u, 'password', p, true);
      if (n === undefined) add(`${p}name`, 'E_CONFIG_REQUIRED', 'required');
      else if (n.includes(':')) add(`${p}name`, 'E_CONFIG_VALUE', 'must not contain ":"');
      if (pw === undefined) add(`${p}password`, 'E_CONFIG_REQUIRED', 'required');
      else if (pw.length < 8) add(`${p}password`, 'E_CONFIG_VALUE', 'must be at least 8 characters');
      if (n !== undefined && pw !== undefined) users.push({ name: n, password: pw });
    });

  if (enabled && ctx.listen !== false) {
    const host = ctx.listen.slice(0, ctx.listen.lastIndexOf(':'));
    if (!isLoopbackHost(host) && token === undefined && users.length === 0 && !problems.some((p) => p.key.startsWith('web.users') || p.key === 'web.access_token')) {
      add('access_token', 'E_CONFIG_REQUIRED', `required when http.listen (${ctx.listen}) is not a loopback address: set web.access_token or web.users, or web.enabled: false`);
    }
  }

  const plannerRaw = o['planner'] ?? {};
  const pl: Obj = isObj(plannerRaw) ? plannerRaw : (add('planner', 'E_CONFIG_TYPE', 'must be a mapping'), {});
  known(pl, 'planner.', ['enabled', 'interval_s', 'round_time', 'threshold_pct']);
  const roundTime = str(pl, 'round_time', 'planner.') ?? '05:00';
  if (!/^([01]\d|2[0-3]):[0-5]\d$/.test(roundTime)) add('planner.round_time', 'E_CONFIG_VALUE', `must be a time HH:MM, got ${JSON.stringify(roundTime)}`);
  const planner = {
    enabled: bool(pl, 'enabled', 'planner.', true) && storeEnabled,
    interval_s: int(pl, 'interval_s', 'planner.', 300, 10, 86_400),
    round_time: roundTime,
    threshold_pct: int(pl, 'threshold_pct', 'planner.', 90, 1, 100),
  };

  const { flood, problems: floodProblems } = checkFloodConfig(o['flood'], storeEnabled);
  problems.push(...floodProblems);

  return {
    problems,
    web: {
      planner,
      flood,
      enabled,
      store: {
        enabled: storeEnabled,
        name,
        file: resolve(ctx.base, file),
        history_days: int(s, 'history_days', 'store.', 90, 1, 3650),
        frames_per_device: int(s, 'frames_per_device', 'store.', 50, 1, 1000),
      },
      commune_tag: commune,
      location_tags: { lat: str(loc, 'lat', 'location_tags.') ?? 'lat', lon: str(loc, 'lon', 'location_tags.') ?? 'lon' },
      map: { ...(tiles !== undefined ? { tiles } : {}), attribution: str(map, 'attribution', 'map.') ?? '' },
      access: { ...(token !== undefined ? { token } : {}), users },
    },
  };
}
