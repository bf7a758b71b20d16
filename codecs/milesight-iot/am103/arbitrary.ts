/**
 * Round-trip inputs on the AM103's grid: battery 1 %, temperature 0.1 °C, humidity 0.5 %, CO2
 * u16 ppm; the periodic report carries any subset (CO2 always).
 */
import fc from 'fast-check';
import type { ReadingValue, UplinkEncodeInput } from '../../api.ts';
import type { RoundTripSpec } from '../../testing/round-trip.ts';

export const roundTrip: RoundTripSpec = {
  arbitrary: fc
    .record(
      {
        battery_pct: fc.integer({ min: 0, max: 100 }),
        temperature_c: fc.oneof(fc.integer({ min: -200, max: 600 }), fc.constantFrom(-32768, 32767)).map((t) => t / 10),
        humidity_pct: fc.integer({ min: 0, max: 200 }).map((h) => h / 2),
        co2_ppm: fc.oneof(fc.integer({ min: 0, max: 65535 }), fc.constantFrom(400, 5000, 65535)),
      },
      { requiredKeys: ['co2_ppm'] },
    )
    .map((values): UplinkEncodeInput => ({ readings: [{ values: values as Record<string, ReadingValue> }] })),
};
