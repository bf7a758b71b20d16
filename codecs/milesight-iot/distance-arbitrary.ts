/**
 * The round-trip pieces the Milesight distance sensors' arbitraries share (EM310-UDL, EM400-MUD,
 * EM500-UDL): the device variables to draw (none, Milesight's naming, a container geometry, and
 * any extra forms a codec adds, in that order so fixed seeds draw what they drew before), and
 * the expected reading: what was sent, plus fill_pct when the geometry gives one.
 */
import fc from 'fast-check';
import type { Reading, UplinkEncodeInput, Variables } from '../api.ts';
import { fillPercent } from '../readings.ts';

export function distanceVariables(maxDepthMm: number, ...extra: fc.Arbitrary<Variables>[]): fc.Arbitrary<Variables | undefined> {
  return fc.oneof(
    fc.constant(undefined),
    fc.constant({ naming: 'milesight' }),
    fc.record({ container_depth_mm: fc.integer({ min: 200, max: maxDepthMm }), sensor_offset_mm: fc.integer({ min: 0, max: 500 }) }),
    ...extra,
  );
}

export function expectedWithFill(input: UplinkEncodeInput): Reading[] {
  const values = { ...(input.readings[0]?.values ?? {}) };
  const fill = fillPercent(values['distance_mm'] as number, input.variables);
  if (fill.fill_pct !== undefined) values['fill_pct'] = fill.fill_pct;
  return [{ values }];
}
