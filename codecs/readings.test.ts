import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { distanceForFill, fillPercent, readingField } from './readings.ts';

describe('fillPercent', () => {
  it('measures both lengths from the sensor face: an empty bin reads 0 %, a full one 100 %', () => {
    // A 1,000 mm deep bin whose full line is 100 mm below the sensor face.
    const v = { container_depth_mm: 1000, sensor_offset_mm: 100 };
    expect(fillPercent(1000, v)).toEqual({ fill_pct: 0 }); // empty: the echo comes from the bottom
    expect(fillPercent(100, v)).toEqual({ fill_pct: 100 }); // full: the echo comes from the full line
    expect(fillPercent(550, v)).toEqual({ fill_pct: 50 });
    expect(fillPercent(50, v)).toEqual({ fill_pct: 100 });
    expect(fillPercent(5000, v)).toEqual({ fill_pct: 0 });
    expect(fillPercent(433, { container_depth_mm: '1000' })).toEqual({ fill_pct: 56.7 });
  });

  it('warns and gives no fill without a usable geometry', () => {
    expect(fillPercent(500, undefined).warning).toContain('container_depth_mm is not set');
    expect(fillPercent(500, { container_depth_mm: 0 }).fill_pct).toBeUndefined();
    expect(fillPercent(500, { container_depth_mm: -3 }).fill_pct).toBeUndefined();
    expect(fillPercent(500, { container_depth_mm: 1000, sensor_offset_mm: 'x' }).warning).toContain('sensor_offset_mm');
    expect(fillPercent(500, { container_depth_mm: 1000, sensor_offset_mm: 1000 }).warning).toContain('must be less than container_depth_mm');
  });

  it('distanceForFill is its inverse within rounding', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 400, max: 3000 }), fc.integer({ min: 0, max: 300 }), (tenths, depth, offset) => {
        const v = { container_depth_mm: depth, sensor_offset_mm: offset };
        const d = distanceForFill(tenths / 10, v) as number;
        expect(Math.abs((fillPercent(d, v).fill_pct as number) - tenths / 10)).toBeLessThanOrEqual(100 / (depth - offset) + 0.05);
      }),
    );
  });
});

describe('readingField', () => {
  it('knows the vocabulary and channel-suffixed variants', () => {
    expect(readingField('co2_ppm')?.unit).toBe('ppm');
    expect(readingField('temperature_c_ch3')?.unit).toBe('°C');
    expect(readingField('temperature')).toBeUndefined();
    expect(readingField('nope_ch1')).toBeUndefined();
  });
});
