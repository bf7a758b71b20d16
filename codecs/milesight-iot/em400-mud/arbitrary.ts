/**
 * Round-trip inputs on the EM400-MUD's grid: distance 1 mm (u16), battery 1 % (0..100),
 * temperature 0.1 °C (i16), tilt flag, optional threshold alarms (distance → alarm_full,
 * temperature → alarm_fire); with and without container geometry (then fill_pct is expected).
 */
import fc from 'fast-check';
import type { ReadingValue, UplinkEncodeInput } from '../../api.ts';
import type { RoundTripSpec } from '../../testing/round-trip.ts';
import { distanceVariables, expectedWithFill } from '../distance-arbitrary.ts';

const variables = distanceVariables(5000);

export const roundTrip: RoundTripSpec = {
  arbitrary: fc
    .record({
      distance: fc.oneof(fc.integer({ min: 0, max: 65535 }), fc.constantFrom(0, 2116, 65535)),
      battery: fc.integer({ min: 0, max: 100 }),
      temperature: fc.option(fc.integer({ min: -32768, max: 32767 }).map((t) => t / 10), { nil: undefined }),
      tilt: fc.boolean(),
      full: fc.option(fc.boolean(), { nil: undefined }),
      fire: fc.option(fc.boolean(), { nil: undefined }),
      variables,
    })
    .map(({ distance, battery, temperature, tilt, full, fire, variables: v }): UplinkEncodeInput => {
      const values: Record<string, ReadingValue> = { distance_mm: distance, battery_pct: battery, alarm_tilt: tilt };
      if (temperature !== undefined) values['temperature_c'] = temperature;
      if (full !== undefined) values['alarm_full'] = full;
      if (fire !== undefined) {
        values['alarm_fire'] = fire;
        values['temperature_c'] = temperature ?? 20;
      }
      return { readings: [{ values }], ...(v ? { variables: v } : {}) };
    }),
  expected: expectedWithFill,
};
