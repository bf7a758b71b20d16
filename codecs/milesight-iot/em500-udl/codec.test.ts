import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../bytes.ts';
import { codec } from './codec.ts';

// examples.json (TTN's bytes, the vendor decoder example, error cases) runs in ../../contract.test.ts.

const decode = (hex: string, variables?: Record<string, unknown>, fPort = 85) =>
  codec.decodeUplink({ bytes: fromHex(hex) as Uint8Array, fPort, ...(variables ? { variables } : {}) });

describe('milesight-iot/em500-udl', () => {
  it('gives distance in metres as TTN (raw / 1000), millimetres with naming milesight; distance_mm either way', () => {
    expect(decode('0382d204')).toEqual({ data: { distance: 1.234 } });
    expect(decode('0382d204', { naming: 'milesight' })).toEqual({ data: { distance: 1234 } });
    expect(codec.normalizeUplink({ distance: 1.234 }, {}).readings).toEqual([{ values: { distance_mm: 1234 } }]);
    expect(codec.normalizeUplink({ distance: 1234 }, { variables: { naming: 'milesight' } }).readings).toEqual([{ values: { distance_mm: 1234 } }]);
  });

  it('reads the distance unsigned (TTN reads it signed)', () => {
    expect(decode('0382ffff').data).toEqual({ distance: 65.535 });
  });

  it('builds the periodic report from readings, also from fill_pct and the geometry', () => {
    expect(toHex(codec.encodeUplink({ readings: [{ values: { distance_mm: 30, battery_pct: 92 } }] }).bytes ?? [])).toBe('01755c03821e00');
    const r = codec.encodeUplink({ readings: [{ values: { fill_pct: 50 } }], variables: { container_depth_mm: 2000 } });
    expect(toHex(r.bytes ?? [])).toBe('0175640382e803');
    expect(codec.encodeUplink({ readings: [{ values: { battery_pct: 50 } }] }).errors?.[0]).toMatch(/distance_mm must be a finite number/);
  });
});
