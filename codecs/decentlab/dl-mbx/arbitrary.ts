/**
 * Round-trip readings for the DL-MBX on the device's grid: distance 1 mm (u16) or a sensor fault
 * (0 valid samples), battery 1 mV; with and without container geometry (then fill_pct too).
 */
import fc from 'fast-check';
import type { Reading, ReadingValue, UplinkEncodeInput } from '../../api.ts';
import { fillPercent } from '../../readings.ts';
import type { RoundTripSpec } from '../../testing/round-trip.ts';
import { battery } from './codec.ts';

export const roundTrip: RoundTripSpec = {
  arbitrary: fc
    .record({
      distance: fc.option(fc.integer({ min: 0, max: 0xffff }), { nil: undefined }),
      fault: fc.boolean(),
      mv: fc.integer({ min: 0, max: 0xffff }),
      deviceId: fc.integer({ min: 0, max: 0xffff }),
      geometry: fc.option(fc.record({ container_depth_mm: fc.integer({ min: 200, max: 10000 }), sensor_offset_mm: fc.integer({ min: 0, max: 500 }) }), { nil: undefined }),
    })
    .map(({ distance, fault, mv, deviceId, geometry }): UplinkEncodeInput => {
      const values: Record<string, ReadingValue> = { battery_v: battery(mv) };
      if (fault) values['sensor_fault'] = true;
      else if (distance !== undefined) Object.assign(values, { distance_mm: distance, sensor_fault: false });
      return { readings: [{ values }], variables: { device_id: deviceId, ...(geometry ?? {}) } };
    }),
  expected(input): Reading[] {
    const values = { ...(input.readings[0]?.values ?? {}) };
    if (typeof values['distance_mm'] === 'number') {
      const fill = fillPercent(values['distance_mm'], input.variables);
      if (fill.fill_pct !== undefined) values['fill_pct'] = fill.fill_pct;
    }
    return [{ values }];
  },
};
