import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkConfig, ConfigError } from '../config.ts';
import { checkFloodConfig, stationAlarmConfig } from './flood-config.ts';

const keysOf = (raw: unknown): string[] => checkFloodConfig(raw, true).problems.map((p) => `${p.key} [${p.code}]`);

describe('web.flood config', () => {
  it('has defaults that raise nothing until thresholds are configured, and is off without the store', () => {
    const { flood, problems } = checkFloodConfig(undefined, true);
    expect(problems).toEqual([]);
    expect(flood).toMatchObject({ enabled: true, interval_s: 60, lookback_h: 48, defaults: { levels: [], escalateEveryMin: 30 }, stations: {} });
    expect(checkFloodConfig(undefined, false).flood.enabled).toBe(false);
  });

  it('takes per-station overrides over the defaults, by name or DevEUI', () => {
    const { flood, problems } = checkFloodConfig(
      {
        levels: [{ name: 'vigilance', raise_mm: 1500, clear_mm: 1300 }],
        rate_of_rise: { mm_per_hour: 200 },
        stations: { 'suzon-1': { levels: [{ name: 'crue', raise_mm: 900, clear_mm: 800 }] }, '24E124713B221100': { escalate_every_min: 0 } },
      },
      true,
    );
    expect(problems).toEqual([]);
    expect(stationAlarmConfig(flood, 'aa', 'ouche-1')).toEqual({ levels: [{ name: 'vigilance', raiseMm: 1500, clearMm: 1300 }], rateOfRise: { mmPerHour: 200, windowMin: 60, quietMin: 60 }, escalateEveryMin: 30 });
    expect(stationAlarmConfig(flood, 'aa', 'suzon-1').levels).toEqual([{ name: 'crue', raiseMm: 900, clearMm: 800 }]);
    expect(stationAlarmConfig(flood, 'aa', 'suzon-1').rateOfRise?.mmPerHour).toBe(200);
    expect(stationAlarmConfig(flood, '24e124713b221100', 'other').escalateEveryMin).toBe(0);
    // A device called like an Object method gets the defaults, not the method.
    expect(stationAlarmConfig(flood, 'aa', 'constructor')).toBe(flood.defaults);
  });

  it('names the key of every error', () => {
    expect(keysOf({ levels: [{ name: 'a', raise_mm: 1000, clear_mm: 1200 }] })).toEqual(['web.flood.levels[0].clear_mm [E_CONFIG_VALUE]']);
    expect(keysOf({ levels: [{ raise_mm: 'high' }] })).toEqual(['web.flood.levels[0].name [E_CONFIG_VALUE]', 'web.flood.levels[0].raise_mm [E_CONFIG_VALUE]', 'web.flood.levels[0].clear_mm [E_CONFIG_REQUIRED]']);
    expect(keysOf({ rate_of_rise: { window_min: 0 } })).toEqual(['web.flood.rate_of_rise.window_min [E_CONFIG_VALUE]', 'web.flood.rate_of_rise.mm_per_hour [E_CONFIG_REQUIRED]']);
    expect(keysOf({ stations: { x: { levels: [{ name: 'a', raise_mm: 1, clear_mm: 1 }], lookback_h: 3 } } })).toEqual(['web.flood.stations.x.lookback_h [E_CONFIG_UNKNOWN_KEY]', 'web.flood.stations.x.levels[0].clear_mm [E_CONFIG_VALUE]']);
    expect(keysOf({ interval_s: 1, enabled: 'yes', levels: 'high' })).toEqual(['web.flood.enabled [E_CONFIG_TYPE]', 'web.flood.levels [E_CONFIG_TYPE]', 'web.flood.interval_s [E_CONFIG_VALUE]']);
  });

  it('reaches the gateway config as web.flood, its errors named there', () => {
    const doc = { sources: [{ type: 'chirpstack_mqtt', url: 'mqtt://127.0.0.1:1883' }], web: { flood: { levels: [{ name: 'a', raise_mm: 5, clear_mm: 9 }] } } };
    expect(() => checkConfig(doc, join('/tmp', 'gateway.yaml'), {})).toThrow(ConfigError);
    try {
      checkConfig(doc, join('/tmp', 'gateway.yaml'), {});
    } catch (err) {
      expect((err as ConfigError).problems.map((p) => p.key)).toEqual(['web.flood.levels[0].clear_mm']);
    }
    const ok = checkConfig({ ...doc, web: { flood: { interval_s: 120 } } }, join('/tmp', 'gateway.yaml'), {});
    expect(ok.web.flood.interval_s).toBe(120);
  });
});
