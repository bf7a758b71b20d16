/**
 * `web.flood`: the flood watch's alarm thresholds, as configuration (gateway/analytics/
 * river-alarms.ts is the logic). Defaults for every river level station, and per-station
 * overrides keyed by the device's name or DevEUI. Every problem names its key
 * (`web.flood.stations.ouche-1.levels[0].clear_mm`).
 */
import type { ConfigErrorCode, ConfigProblem } from '../config.ts';
import { checkRiverConfig, type RiverAlarmConfig } from '../analytics/river-alarms.ts';

export interface FloodConfig {
  /** the river_alarm job (gateway/planner/river-alarm-job.ts); off without the local store */
  enabled: boolean;
  interval_s: number;
  /** how far back each run replays a station's readings */
  lookback_h: number;
  defaults: RiverAlarmConfig;
  /** by device name or DevEUI (lowercase) */
  stations: Record<string, RiverAlarmConfig>;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const ALARM_KEYS = ['levels', 'rate_of_rise', 'silent_after_s', 'escalate_every_min'];
const MAX_LEVELS = 8;
const MAX_STATIONS = 500;

export function checkFloodConfig(raw: unknown, storeEnabled: boolean): { flood: FloodConfig; problems: ConfigProblem[] } {
  const problems: ConfigProblem[] = [];
  const add = (key: string, code: ConfigErrorCode, message: string): void => void problems.push({ key: `web.flood${key}`, code, message });
  const o: Obj = raw === undefined ? {} : isObj(raw) ? raw : (add('', 'E_CONFIG_TYPE', 'must be a mapping'), {});
  const known = (x: Obj, path: string, keys: string[]): void => {
    for (const k of Object.keys(x)) if (!keys.includes(k)) add(`${path}.${k}`, 'E_CONFIG_UNKNOWN_KEY', `unknown key (expected one of: ${keys.join(', ')})`);
  };
  const num = (x: Obj, key: string, path: string, min: number, max: number, integer: boolean): number | undefined => {
    const v = x[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v) || (integer && !Number.isInteger(v)) || v < min || v > max) {
      add(`${path}.${key}`, 'E_CONFIG_VALUE', `must be ${integer ? 'an integer' : 'a number'} ${min}..${max}, got ${JSON.stringify(v)}`);
      return undefined;
    }
    return v;
  };
  const map = (x: Obj, key: string, path: string): Obj | undefined => {
    const v = x[key];
    if (v === undefined) return undefined;
    if (!isObj(v)) return add(`${path}.${key}`, 'E_CONFIG_TYPE', 'must be a mapping'), undefined;
    return v;
  };

  /** The alarm keys of a section (the defaults or one station), over `base`. */
  const alarms = (x: Obj, path: string, base: RiverAlarmConfig | undefined): RiverAlarmConfig => {
    const out: RiverAlarmConfig = base ? { ...base } : { levels: [], escalateEveryMin: 30 };
    const levelsRaw = x['levels'];
    if (levelsRaw !== undefined) {
      if (!Array.isArray(levelsRaw) || levelsRaw.length > MAX_LEVELS) add(`${path}.levels`, 'E_CONFIG_TYPE', `must be a list of at most ${MAX_LEVELS} {name, raise_mm, clear_mm}`);
      else {
        out.levels = [];
        levelsRaw.forEach((l, i) => {
          const p = `${path}.levels[${i}]`;
          if (!isObj(l)) return add(p, 'E_CONFIG_TYPE', 'must be a mapping {name, raise_mm, clear_mm}');
          known(l, p, ['name', 'raise_mm', 'clear_mm']);
          const name = l['name'];
          if (typeof name !== 'string' || !/^[a-z0-9_-]{1,32}$/.test(name)) add(`${p}.name`, 'E_CONFIG_VALUE', 'required: a short name (a-z 0-9 _ -), e.g. vigilance');
          const raiseMm = num(l, 'raise_mm', p, -30_000, 30_000, false);
          const clearMm = num(l, 'clear_mm', p, -30_000, 30_000, false);
          if (l['raise_mm'] === undefined) add(`${p}.raise_mm`, 'E_CONFIG_REQUIRED', 'required (mm above the gauge datum)');
          if (l['clear_mm'] === undefined) add(`${p}.clear_mm`, 'E_CONFIG_REQUIRED', 'required (mm above the gauge datum, below raise_mm)');
          if (typeof name === 'string' && raiseMm !== undefined && clearMm !== undefined) {
            if (out.levels.some((x) => x.name === name)) add(`${p}.name`, 'E_CONFIG_VALUE', `"${name}" is named twice`);
            out.levels.push({ name, raiseMm, clearMm });
          }
        });
      }
    }
    const r = map(x, 'rate_of_rise', path);
    if (r) {
      const p = `${path}.rate_of_rise`;
      known(r, p, ['mm_per_hour', 'window_min', 'quiet_min']);
      const mmPerHour = num(r, 'mm_per_hour', p, 1, 100_000, false);
      const windowMin = num(r, 'window_min', p, 1, 1440, true) ?? 60;
      const quietMin = num(r, 'quiet_min', p, 0, 1440, true) ?? 60;
      if (r['mm_per_hour'] === undefined) add(`${p}.mm_per_hour`, 'E_CONFIG_REQUIRED', 'required');
      if (mmPerHour !== undefined) out.rateOfRise = { mmPerHour, windowMin, quietMin };
    }
    const silent = num(x, 'silent_after_s', path, 0, 7 * 86_400, true);
    if (silent !== undefined) out.silentAfterS = silent;
    const esc = num(x, 'escalate_every_min', path, 0, 7 * 1440, true);
    if (esc !== undefined) out.escalateEveryMin = esc;
    // The logic's own checks (hysteresis), named under this section.
    for (const msg of checkRiverConfig(out)) {
      const [key, ...rest] = msg.split(': ');
      add(`${path}.${key}`, 'E_CONFIG_VALUE', rest.join(': '));
    }
    return out;
  };

  known(o, '', ['enabled', 'interval_s', 'lookback_h', 'stations', ...ALARM_KEYS]);
  const enabledRaw = o['enabled'];
  if (enabledRaw !== undefined && typeof enabledRaw !== 'boolean') add('.enabled', 'E_CONFIG_TYPE', `must be true or false, got ${JSON.stringify(enabledRaw)}`);
  const defaults = alarms(o, '', undefined);
  // No prototype: a station called `constructor` must not find Object's.
  const stations: Record<string, RiverAlarmConfig> = Object.create(null) as Record<string, RiverAlarmConfig>;
  const st = map(o, 'stations', '');
  if (st) {
    const names = Object.keys(st);
    if (names.length > MAX_STATIONS) add('.stations', 'E_CONFIG_VALUE', `at most ${MAX_STATIONS} stations`);
    for (const name of names.slice(0, MAX_STATIONS)) {
      const p = `.stations.${name}`;
      const v = st[name];
      if (name === '__proto__' || name.length > 64) {
        add(p, 'E_CONFIG_VALUE', 'must be a device name or DevEUI (at most 64 characters)');
        continue;
      }
      if (!isObj(v)) {
        add(p, 'E_CONFIG_TYPE', `must be a mapping of ${ALARM_KEYS.join(', ')}`);
        continue;
      }
      known(v, p, ALARM_KEYS);
      stations[/^[0-9a-fA-F]{16}$/.test(name) ? name.toLowerCase() : name] = alarms(v, p, defaults);
    }
  }
  return {
    problems,
    flood: {
      enabled: (enabledRaw === undefined ? true : enabledRaw === true) && storeEnabled,
      interval_s: num(o, 'interval_s', '', 10, 86_400, true) ?? 60,
      lookback_h: num(o, 'lookback_h', '', 1, 24 * 31, true) ?? 48,
      defaults,
      stations,
    },
  };
}

/** A station's alarm configuration: its own section (by name, then DevEUI), else the defaults. */
export function stationAlarmConfig(flood: FloodConfig, devEui: string, name: string): RiverAlarmConfig {
  const own = (k: string): RiverAlarmConfig | undefined => (Object.hasOwn(flood.stations, k) ? flood.stations[k] : undefined);
  return own(name) ?? own(devEui) ?? flood.defaults;
}
