/**
 * Round-trip inputs on the EM310-UDL's grid: distance 1 mm (u16), battery 1 % (0..100), tilt
 * flag; with and without container geometry (then fill_pct is expected too) and both namings.
 */
import fc from 'fast-check';
import type { UplinkEncodeInput } from '../../api.ts';
import type { RoundTripSpec } from '../../testing/round-trip.ts';
import { distanceVariables, expectedWithFill } from '../distance-arbitrary.ts';

const variables = distanceVariables(5000, fc.record({ container_depth_mm: fc.integer({ min: 200, max: 5000 }).map(String) }));

export const roundTrip: RoundTripSpec = {
  arbitrary: fc
    .record({
      distance: fc.oneof(fc.integer({ min: 0, max: 65535 }), fc.constantFrom(0, 280, 3500, 65535)),
      battery: fc.integer({ min: 0, max: 100 }),
      tilt: fc.boolean(),
      variables,
    })
    .map(({ distance, battery, tilt, variables: v }): UplinkEncodeInput => ({
      readings: [{ values: { distance_mm: distance, battery_pct: battery, alarm_tilt: tilt } }],
      ...(v ? { variables: v } : {}),
    })),
  expected: expectedWithFill,
};
