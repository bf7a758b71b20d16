/**
 * DF703 readings on the device grid: whole millimetres (u16), whole °C (i8), whole degrees of
 * tilt with a sign (±255), four alarm flags, and optionally a GPS position that survives
 * float32 + 6-decimal rounding. With container geometry, normalize adds fill_pct.
 */
import fc from 'fast-check';
import type { Reading, UplinkEncodeInput } from '../../api.ts';
import { round } from '../../bytes.ts';
import { fillPercent } from '../../readings.ts';
import type { RoundTripSpec } from '../../testing/round-trip.ts';

/** A coordinate as the decoder reports it: a float32, rounded to 6 decimals. */
const coordinate = (limit: number): fc.Arbitrary<number> =>
  fc.double({ min: -limit, max: limit, noNaN: true }).map((v) => round(Math.fround(v), 6));

const gps = fc.option(fc.record({ latitude_deg: coordinate(90), longitude_deg: coordinate(180) }), { nil: undefined });

const values = fc
  .record({
    distance_mm: fc.oneof(fc.integer({ min: 0, max: 65535 }), fc.constantFrom(0, 65535)),
    temperature_c: fc.integer({ min: -128, max: 127 }),
    tilt_deg: fc.integer({ min: -255, max: 255 }),
    alarm_full: fc.boolean(),
    alarm_fire: fc.boolean(),
    alarm_tilt: fc.boolean(),
    alarm_low_battery: fc.boolean(),
  })
  .chain((v) => gps.map((g) => ({ ...v, ...(g ?? {}) })));

const variables = fc.option(
  fc.record({ container_depth_mm: fc.integer({ min: 100, max: 3000 }), sensor_offset_mm: fc.integer({ min: 0, max: 500 }) }),
  { nil: undefined },
);

export const roundTrip: RoundTripSpec = {
  arbitrary: fc.record({ values, variables }).map(({ values: v, variables: vars }) => ({
    readings: [{ values: v }],
    ...(vars ? { variables: vars } : {}),
  })),
  expected(input: UplinkEncodeInput): Reading[] {
    const reading = input.readings[0] as Reading;
    const fill = fillPercent(reading.values['distance_mm'] as number, input.variables);
    return [{ values: { ...reading.values, ...(fill.fill_pct !== undefined ? { fill_pct: fill.fill_pct } : {}) } }];
  },
};
