/**
 * LDDS75 readings on the 8-byte frame's grid: battery in whole mV (0..16.383 V), distance in
 * whole mm (0 and 20 are the device's "no sensor" / "invalid" codes, so a fault is generated as
 * sensor_fault without a distance), DS18B20 temperature in 0.1 °C (i16). With container
 * geometry, normalize adds fill_pct.
 */
import fc from 'fast-check';
import type { Reading, UplinkEncodeInput } from '../../api.ts';
import { fillPercent } from '../../readings.ts';
import type { RoundTripSpec } from '../../testing/round-trip.ts';

const battery = fc.oneof(fc.integer({ min: 2500, max: 3700 }), fc.integer({ min: 0, max: 0x3fff })).map((mv) => mv / 1000);
const temperature = fc.oneof(fc.integer({ min: -550, max: 1250 }), fc.constantFrom(-32768, 32767, 0)).map((t) => t / 10);
const measurement = fc.oneof(
  fc
    .oneof(fc.integer({ min: 280, max: 7500 }), fc.integer({ min: 1, max: 65535 }))
    .filter((d) => d !== 20)
    .map((d) => ({ distance_mm: d, sensor_fault: false })),
  fc.constant({ sensor_fault: true }),
);

const variables = fc.option(
  fc.record({ container_depth_mm: fc.integer({ min: 100, max: 7500 }), sensor_offset_mm: fc.integer({ min: 0, max: 500 }) }),
  { nil: undefined },
);

export const roundTrip: RoundTripSpec = {
  arbitrary: fc.record({ battery, temperature, measurement, variables }).map(({ battery: b, temperature: t, measurement: m, variables: vars }) => ({
    readings: [{ values: { battery_v: b, temperature_c: t, ...m } }],
    ...(vars ? { variables: vars } : {}),
  })),
  expected(input: UplinkEncodeInput): Reading[] {
    const values = (input.readings[0] as Reading).values;
    const distance = values['distance_mm'];
    const fill = typeof distance === 'number' ? fillPercent(distance, input.variables).fill_pct : undefined;
    return [{ values: { ...values, ...(fill !== undefined ? { fill_pct: fill } : {}) } }];
  },
};
