/**
 * Round-trip inputs on the EM500-UDL's grid: distance 1 mm (u16), battery 1 % (0..100); with and
 * without container geometry (then fill_pct is expected too) and both namings (metres / mm).
 */
import fc from 'fast-check';
import type { Reading, UplinkEncodeInput } from '../../api.ts';
import { fillPercent } from '../../readings.ts';
import type { RoundTripSpec } from '../../testing/round-trip.ts';

const variables = fc.oneof(
  fc.constant(undefined),
  fc.constant({ naming: 'milesight' }),
  fc.record({ container_depth_mm: fc.integer({ min: 200, max: 10000 }), sensor_offset_mm: fc.integer({ min: 0, max: 500 }) }),
);

export const roundTrip: RoundTripSpec = {
  arbitrary: fc
    .record({
      distance: fc.oneof(fc.integer({ min: 0, max: 65535 }), fc.constantFrom(0, 30, 2500, 65535)),
      battery: fc.integer({ min: 0, max: 100 }),
      variables,
    })
    .map(({ distance, battery, variables: v }): UplinkEncodeInput => ({
      readings: [{ values: { distance_mm: distance, battery_pct: battery } }],
      ...(v ? { variables: v } : {}),
    })),
  expected(input): Reading[] {
    const values = { ...(input.readings[0]?.values ?? {}) };
    const fill = fillPercent(values['distance_mm'] as number, input.variables);
    if (fill.fill_pct !== undefined) values['fill_pct'] = fill.fill_pct;
    return [{ values }];
  },
};
