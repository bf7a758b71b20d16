/**
 * Elsys readings on the TLV grid: any non-empty subset of what the frame carries, each value
 * quantized as its record stores it (0.1 °C i16, whole % / lx / ppm / ppb / mm, mV, 1/63 g
 * rounded to 3 decimals, 0.001 hPa within the plausible barometric range). Sometimes with
 * container geometry, when normalize adds fill_pct to a distance.
 */
import fc from 'fast-check';
import type { Reading, UplinkEncodeInput } from '../../api.ts';
import { round } from '../../bytes.ts';
import { fillPercent } from '../../readings.ts';
import type { RoundTripSpec } from '../../testing/round-trip.ts';

const acceleration = fc.integer({ min: -128, max: 127 }).map((c) => round(c / 63, 3));

const values = fc
  .record(
    {
      temperature_c: fc.oneof(fc.integer({ min: -400, max: 850 }), fc.constantFrom(-32768, 32767)).map((t) => t / 10),
      humidity_pct: fc.integer({ min: 0, max: 100 }),
      acceleration_x_g: acceleration,
      acceleration_y_g: acceleration,
      acceleration_z_g: acceleration,
      light_lux: fc.integer({ min: 0, max: 65535 }),
      motion_count: fc.integer({ min: 0, max: 255 }),
      co2_ppm: fc.integer({ min: 0, max: 65535 }),
      battery_v: fc.integer({ min: 0, max: 65535 }).map((mv) => mv / 1000),
      pulse_count: fc.oneof(fc.nat(), fc.constant(0xffffffff)),
      digital_input: fc.boolean(),
      distance_mm: fc.integer({ min: 0, max: 65535 }),
      occupied: fc.boolean(),
      pressure_hpa: fc.integer({ min: 300_000, max: 1_100_000 }).map((p) => p / 1000),
      tvoc_ppb: fc.integer({ min: 0, max: 65535 }),
    },
    { requiredKeys: [] },
  )
  // The three axes travel in one record: all or none.
  .map((v) => {
    const axes = ['acceleration_x_g', 'acceleration_y_g', 'acceleration_z_g'] as const;
    if (axes.some((a) => v[a] !== undefined)) for (const a of axes) v[a] ??= 0;
    return v;
  })
  .filter((v) => Object.keys(v).length > 0);

const variables = fc.option(
  fc.record({ container_depth_mm: fc.integer({ min: 100, max: 5000 }), sensor_offset_mm: fc.integer({ min: 0, max: 500 }) }),
  { nil: undefined },
);

export const roundTrip: RoundTripSpec = {
  arbitrary: fc.record({ values, variables, fPort: fc.integer({ min: 1, max: 223 }) }).map(({ values: v, variables: vars, fPort }) => ({
    readings: [{ values: v as Reading['values'] }],
    fPort,
    ...(vars ? { variables: vars } : {}),
  })),
  expected(input: UplinkEncodeInput): Reading[] {
    const values = (input.readings[0] as Reading).values;
    const distance = values['distance_mm'];
    const fill = typeof distance === 'number' ? fillPercent(distance, input.variables).fill_pct : undefined;
    return [{ values: { ...values, ...(fill !== undefined ? { fill_pct: fill } : {}) } }];
  },
};
