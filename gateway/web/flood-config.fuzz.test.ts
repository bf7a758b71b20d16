/**
 * Fuzz target: `web.flood` (thresholds a person types). Whatever the shape, checkFloodConfig
 * gives a config and problems that each name a key under `web.flood` in one line — never an
 * exception, and a valid result always satisfies the alarm logic's own checks.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fuzzParams, fuzzTimeoutMs } from '../../support/fuzz.ts';
import { checkRiverConfig } from '../analytics/river-alarms.ts';
import { checkFloodConfig } from './flood-config.ts';

const KEYS = ['enabled', 'interval_s', 'lookback_h', 'stations', 'levels', 'rate_of_rise', 'silent_after_s', 'escalate_every_min', 'name', 'raise_mm', 'clear_mm', 'mm_per_hour', 'window_min', 'quiet_min', 'ouche-1', '__proto__', 'constructor'];
const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    fc.oneof(fc.string({ maxLength: 8 }), fc.integer({ min: -50_000, max: 50_000 }), fc.double(), fc.boolean(), fc.constant(null)),
    fc.array(tie('v'), { maxLength: 10 }),
    fc.dictionary(fc.constantFrom(...KEYS), tie('v'), { maxKeys: 6 }),
  ),
})).v;

describe('web.flood config fuzz', () => {
  it('never throws; every problem is one line naming a web.flood key', () => {
    fc.assert(
      fc.property(value, (raw) => {
        const { flood, problems } = checkFloodConfig(raw, true);
        for (const p of problems) {
          expect(p.key.startsWith('web.flood')).toBe(true);
          expect(p.message).not.toContain('\n');
        }
        if (problems.length === 0) {
          expect(checkRiverConfig(flood.defaults)).toEqual([]);
          for (const s of Object.values(flood.stations)) expect(checkRiverConfig(s)).toEqual([]);
        }
      }),
      fuzzParams(300),
    );
  }, fuzzTimeoutMs(300));
});
