/**
 * Round-trip inputs on the AM307's grid: battery 1 %, temperature 0.1 °C, humidity 0.5 %, PIR
 * flag, light level u8, CO2 u16 ppm, TVOC as IAQ index 0.01 (u16) or µg/m³ (u16), pressure
 * 0.1 hPa (u16). The periodic report carries any subset (CO2 always); both namings.
 */
import fc from 'fast-check';
import type { ReadingValue, UplinkEncodeInput } from '../../api.ts';
import type { RoundTripSpec } from '../../testing/round-trip.ts';

const u16 = fc.oneof(fc.integer({ min: 0, max: 65535 }), fc.constantFrom(0, 65535));

export const roundTrip: RoundTripSpec = {
  arbitrary: fc
    .record({
      values: fc.record(
        {
          battery_pct: fc.integer({ min: 0, max: 100 }),
          temperature_c: fc.oneof(fc.integer({ min: -200, max: 600 }), fc.constantFrom(-32768, 32767)).map((t) => t / 10),
          humidity_pct: fc.integer({ min: 0, max: 200 }).map((h) => h / 2),
          occupied: fc.boolean(),
          light_level: fc.integer({ min: 0, max: 5 }),
          co2_ppm: u16,
          tvoc_iaq: u16.map((k) => k / 100),
          tvoc_ugm3: u16,
          pressure_hpa: u16.map((p) => p / 10),
        },
        { requiredKeys: ['co2_ppm'] },
      ),
      variables: fc.constantFrom<Record<string, string> | undefined>(undefined, { naming: 'milesight' }),
    })
    .map(({ values, variables }): UplinkEncodeInput => ({
      readings: [{ values: values as Record<string, ReadingValue> }],
      ...(variables ? { variables } : {}),
    })),
};
