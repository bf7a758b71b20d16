import { describe, expect, it } from 'vitest';
import { nativeCodec } from './registry.ts';
import { waterLevelMm, withWaterLevel } from './readings.ts';

const hex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'));

describe('river level stations: water_level_mm from the same distance codecs', () => {
  it('is mount_height_mm − distance_mm, rounded; undefined for a bin (no mount height)', () => {
    expect(waterLevelMm(3200, { mount_height_mm: 4500 })).toBe(1300);
    expect(waterLevelMm(4700, { mount_height_mm: 4500 })).toBe(-200); // below the gauge zero
    expect(waterLevelMm(3200.4, { mount_height_mm: '4500' })).toBe(1300);
    expect(waterLevelMm(3200, {})).toBeUndefined();
    expect(waterLevelMm(3200, { mount_height_mm: -1 })).toBeUndefined();
    expect(waterLevelMm(3200, undefined)).toBeUndefined();
  });

  it('EM500-UDL, DL-MBX and LDDS75 readings gain water_level_mm with a mount height, and lose the fill warning', () => {
    const cases: [string, number, string][] = [
      ['milesight-iot/em500-udl', 85, '01756403821e00'], // 30 mm
      ['decentlab/dl-mbx', 1, ''],
      ['dragino/ldds75', 2, ''],
    ];
    for (const [id, fPort, frame] of cases) {
      const codec = nativeCodec(id);
      expect(codec, id).toBeDefined();
      if (!codec) continue;
      // Each codec's own encoder gives a frame for 2,345 mm (the em500 vector is the vendor's).
      const bytes = frame ? hex(frame) : codec.encodeUplink({ readings: [{ values: { distance_mm: 2345, battery_pct: 90, battery_v: 3.6 } }] }).bytes;
      expect(bytes, id).toBeDefined();
      const decoded = codec.decodeUplink({ bytes: bytes ?? [], fPort });
      expect(decoded.errors ?? [], id).toEqual([]);
      const station = codec.normalizeUplink(decoded.data ?? {}, { variables: { mount_height_mm: 4000 } });
      const distance = station.readings[0]?.values['distance_mm'];
      expect(typeof distance, id).toBe('number');
      expect(station.readings[0]?.values['water_level_mm'], id).toBe(4000 - (distance as number));
      expect((station.warnings ?? []).filter((w) => w.includes('container_depth_mm')), id).toEqual([]);
      expect(station.readings[0]?.values['fill_pct'], id).toBeUndefined();
      const bin = codec.normalizeUplink(decoded.data ?? {}, { variables: { container_depth_mm: 3000 } });
      expect(bin.readings[0]?.values['water_level_mm'], id).toBeUndefined();
      expect(bin.readings[0]?.values['fill_pct'], id).toBeTypeOf('number');
    }
  });

  it('leaves readings without a distance alone', () => {
    const r = withWaterLevel({ readings: [{ values: { battery_pct: 80 } }], warnings: ['x'] }, { mount_height_mm: 100 });
    expect(r).toEqual({ readings: [{ values: { battery_pct: 80 } }], warnings: ['x'] });
  });
});
