import fc from 'fast-check';
import type { Reading, UplinkEncodeInput } from '../../api.ts';
import { round } from '../../bytes.ts';
import type { RoundTripSpec } from '../../testing/round-trip.ts';
import { pulsesToVolume } from './codec.ts';

/**
 * Status reports on the device's grid: 16-bit counter (two on the R718H2, readings per channel),
 * battery in 0.1 V steps (7 bits).
 */
export const roundTrip: RoundTripSpec = {
  arbitrary: fc
    .record({
      pulses: fc.oneof(fc.integer({ min: 0, max: 0xffff }), fc.constantFrom(0, 0xffff)),
      second: fc.option(fc.integer({ min: 0, max: 0xffff }), { nil: undefined }),
      battery: fc.integer({ min: 0, max: 0x7f }),
      low: fc.boolean(),
      lpp: fc.option(fc.constantFrom(0.1, 0.25, 1, 2.5, 10, 100), { nil: undefined }),
    })
    .map(({ pulses, second, battery, low, lpp }): UplinkEncodeInput => {
      const values: Reading['values'] = { battery_v: round(battery / 10, 1), alarm_low_battery: low };
      const counters: [string, number][] = second === undefined ? [['', pulses]] : [['_ch1', pulses], ['_ch2', second]];
      for (const [suffix, count] of counters) {
        values[`pulse_count${suffix}`] = count;
        if (lpp !== undefined) values[`volume_m3${suffix}`] = pulsesToVolume(count, lpp);
      }
      return { readings: [{ values }], fPort: 6, ...(lpp !== undefined ? { variables: { litres_per_pulse: lpp } } : {}) };
    }),
};
