/**
 * Round-trip inputs on the EM500-UDL's grid: distance 1 mm (u16), battery 1 % (0..100); with and
 * without container geometry (then fill_pct is expected too) and both namings (metres / mm).
 */
import fc from 'fast-check';
import type { UplinkEncodeInput } from '../../api.ts';
import type { RoundTripSpec } from '../../testing/round-trip.ts';
import { distanceVariables, expectedWithFill } from '../distance-arbitrary.ts';

const variables = distanceVariables(10000);

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
  expected: expectedWithFill,
};
