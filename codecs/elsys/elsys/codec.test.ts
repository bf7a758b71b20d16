import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../bytes.ts';
import { describeVectorFile } from '../../testing/vectors.ts';
import { roundTrip } from './arbitrary.ts';
import { codec } from './codec.ts';

const decode = (hex: string, fPort = 5) => codec.decodeUplink({ bytes: fromHex(hex) as Uint8Array, fPort });

describeVectorFile(codec, 'elsys/elt-ultrasonic.json');
describeVectorFile(codec, 'elsys/ers-co2.json');

describe('elsys/elsys uplink', () => {
  it('decodes the worked example of the reference doc §7.2', () => {
    expect(decode('0100e202290400270506060308')).toEqual({ data: { temperature: 22.6, humidity: 41, light: 39, motion: 6, co2: 776 } });
  });

  it('decodes every documented type with its size', () => {
    const records: [string, Record<string, unknown>][] = [
      ['01ff38', { temperature: -20 }],
      ['0264', { humidity: 100 }],
      ['037f8001', { x: 127, y: -128, z: 1 }],
      ['04ffff', { light: 65535 }],
      ['05ff', { motion: 255 }],
      ['060fa0', { co2: 4000 }],
      ['070e10', { vdd: 3600 }],
      ['080bb8', { analog1: 3000 }],
      ['09000001000002', { lat: 1, long: 2 }],
      ['0a0102', { pulse1: 258 }],
      ['0bffffffff', { pulseAbs: 4294967295 }],
      ['0cfffb', { externalTemperature: -0.5 }],
      ['0d01', { digital: 1 }],
      ['0e0bb8', { distance: 3000 }],
      ['0f07', { accMotion: 7 }],
      ['1000c8ff9c', { irInternalTemperature: 20, irExternalTemperature: -10 }],
      ['1101', { occupancy: 1 }],
      ['12ff', { waterleak: 255 }],
      ['14000f7602', { pressure: 1013.25 }],
      ['155a28', { soundPeak: 90, soundAvg: 40 }],
      ['160010', { pulse2: 16 }],
      ['1700000100', { pulseAbs2: 256 }],
      ['180001', { analog2: 1 }],
      ['19000a', { externalTemperature2: 1 }],
      ['1a00', { digital2: 0 }],
      ['1b80000000', { analogUv: -2147483648 }],
      ['1c01f4', { tvoc: 500 }],
      ['3d01020304', { debug: '01020304' }],
    ];
    for (const [hex, data] of records) expect(decode(hex), hex).toEqual({ data });
  });

  it('decodes a Grid-EYE frame: reference + 64 tenths', () => {
    const pixels = Array.from({ length: 64 }, (_, i) => i);
    const r = decode('1314' + toHex(pixels));
    expect(r.data?.['grideye']).toEqual(pixels.map((p) => Math.round((20 + p / 10) * 10) / 10));
    expect(decode('1314' + toHex(pixels.slice(0, 63))).errors).toEqual([
      'truncated payload: Grid-EYE (type 0x13 at offset 0) needs 64 byte(s) at offset 2, 63 left',
    ]);
  });

  it('keeps the fields before an unknown type and names it in errors (never loops)', () => {
    expect(decode('0e0bb8' + '20' + '0102')).toEqual({
      data: { distance: 3000 },
      errors: ['unknown Elsys type 0x20 at offset 3: the remaining 3 byte(s) are not decoded'],
    });
    expect(decode('fe0102').errors).toEqual(['unknown Elsys type 0xfe at offset 0: nothing decoded']);
  });

  it('reports a truncated record as an error naming type and offset', () => {
    expect(decode('0100e2' + '14000f76')).toEqual({
      data: { temperature: 22.6 },
      errors: ['truncated payload: pressure (type 0x14 at offset 3) needs 4 byte(s) at offset 4, 3 left'],
    });
    expect(decode('01').errors).toEqual(['truncated payload: temperature (type 0x01 at offset 0) needs 2 byte(s) at offset 1, 0 left']);
  });

  it('decodes the same bytes on any port', () => {
    expect(decode('0e0bb8', 1)).toEqual(decode('0e0bb8', 223));
  });
});

describe('elsys/elsys normalize', () => {
  it('bin-fill: distance with fill_pct when the geometry is set, a warning otherwise', () => {
    const data = decode('0e0190' + '070dac').data!; // 400 mm, 3.5 V
    expect(codec.normalizeUplink(data, { variables: { container_depth_mm: 1200, sensor_offset_mm: 200 } })).toEqual({
      readings: [{ values: { distance_mm: 400, fill_pct: 80, battery_v: 3.5 } }],
    });
    expect(codec.normalizeUplink(data, {}).warnings).toEqual(['no fill_pct: device variable container_depth_mm is not set (or not a positive number)']);
  });

  it('air quality: co2, temperature, humidity, light, motion, tvoc', () => {
    const data = decode('0100e202290400270506060308' + '1c0096').data!;
    expect(codec.normalizeUplink(data, {})).toEqual({
      readings: [{ values: { temperature_c: 22.6, humidity_pct: 41, light_lux: 39, motion_count: 6, co2_ppm: 776, tvoc_ppb: 150 } }],
    });
  });

  it('occupancy 2 is occupied, 1 (pending) and 0 are not', () => {
    for (const [raw, occupied] of [
      [0, false],
      [1, false],
      [2, true],
    ] as const) {
      expect(codec.normalizeUplink({ occupancy: raw }, {}).readings[0]?.values['occupied']).toBe(occupied);
    }
  });

  it('omits an implausible barometric pressure with a warning (the ELT vector is synthetic)', () => {
    const n = codec.normalizeUplink({ pressure: 100729.105 }, {});
    expect(n.readings).toEqual([]);
    expect(n.warnings).toEqual(['pressure 100729.105 hPa is outside 300..1100 hPa: not a barometric reading, omitted']);
  });

  it('rejects a non-numeric field', () => {
    expect(codec.normalizeUplink({ co2: '776' }, {}).errors).toEqual(['data.co2 must be a number']);
  });
});

describe('elsys/elsys encodeUplink', () => {
  it('writes the records in type order on port 5 by default', () => {
    const r = codec.encodeUplink({ readings: [{ values: { co2_ppm: 776, temperature_c: 22.6, humidity_pct: 41, light_lux: 39, motion_count: 6 } }] });
    expect(r).toEqual({ bytes: Array.from(fromHex('0100e202290400270506060308')!), fPort: 5 });
  });

  it('derives the distance from fill_pct, reports ignored readings and refuses what it cannot carry', () => {
    const r = codec.encodeUplink({ readings: [{ values: { fill_pct: 50, pm2_5_ugm3: 3 } }], variables: { container_depth_mm: 1000 }, fPort: 1 });
    expect(toHex(r.bytes ?? [])).toBe('0e01f4');
    expect(r.fPort).toBe(1);
    expect(r.warnings).toEqual(['ignored (an Elsys frame cannot carry them): pm2_5_ugm3']);
    expect(codec.encodeUplink({ readings: [{ values: { pm10_ugm3: 3 } }] }).errors?.[0]).toMatch(/^encodeUplink: none of the readings/);
    expect(codec.encodeUplink({ readings: [{ values: { fill_pct: 3 } }] }).errors).toEqual([
      'encodeUplink: fill_pct needs container_depth_mm to derive distance_mm',
    ]);
    expect(codec.encodeUplink({ readings: [{ values: { humidity_pct: 300 } }] }).errors).toEqual(['humidity_pct out of range: 300 (allowed 0..255)']);
  });

  it('round-trips on its grid (the contract property, run on this folder)', () => {
    fc.assert(
      fc.property(roundTrip.arbitrary, (input) => {
        const enc = codec.encodeUplink(input);
        const dec = codec.decodeUplink({ bytes: enc.bytes ?? [], fPort: enc.fPort ?? 0 });
        const norm = codec.normalizeUplink(dec.data ?? {}, input.variables ? { variables: input.variables } : {});
        expect(JSON.parse(JSON.stringify(norm.readings))).toEqual(JSON.parse(JSON.stringify(roundTrip.expected!(input))));
      }),
      { numRuns: 1000 },
    );
  });
});
