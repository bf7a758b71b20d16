import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../bytes.ts';
import { runExampleFile } from '../../examples.ts';
import { describeVectorFile, loadVectorFile } from '../../testing/vectors.ts';
import { codec } from './codec.ts';

describeVectorFile(codec, 'milesight-iot/em310-udl.json');

describe('vendor README vector (field name "position")', () => {
  it('passes with variables.naming = milesight', () => {
    const file = loadVectorFile('milesight-iot/em310-udl.json');
    const vendor = (file.vendorDocExamples ?? []).map((ex) => ({ ...ex, variables: { naming: 'milesight' } }));
    expect(vendor.length).toBeGreaterThan(0);
    expect(runExampleFile(codec, { examples: vendor }).filter((o) => !o.pass)).toEqual([]);
  });
});

const decode = (hex: string, variables?: Record<string, unknown>, fPort = 85) =>
  codec.decodeUplink({ bytes: fromHex(hex) as Uint8Array, fPort, ...(variables ? { variables } : {}) });

describe('decodeUplink', () => {
  it('decodes a hand-built frame: battery 33 %, 1234 mm (0x04d2), normal', () => {
    expect(decode('017521' + '0382d204' + '040000')).toEqual({ data: { battery: 33, distance: 1234, tilt: 'normal' } });
  });

  it('decodes the records in any order and alone', () => {
    expect(decode('040001')).toEqual({ data: { tilt: 'tilt' } });
    expect(decode('0382ffff01750a')).toEqual({ data: { distance: 65535, battery: 10 } });
  });

  it('reports an unknown record as an error instead of stopping silently (reference-codec bug)', () => {
    // The vendor decoder `break`s out of its loop and returns what it had, without a word.
    expect(decode('01755c' + '050001' + '03824408')).toEqual({
      data: { battery: 92 },
      errors: ['unknown record: channel 0x05 type 0x00 at offset 3: the remaining 7 byte(s) were not decoded'],
    });
  });

  it('gives errors for truncated frames, keeping the whole records before the cut', () => {
    expect(decode('01755c0382')).toEqual({ data: { battery: 92 }, errors: ['record 03 82 (distance) at offset 3: truncated payload: distance needs 2 byte(s) at offset 5, 0 left'] });
    expect(decode('01755c03824408040001ff')).toEqual({
      data: { battery: 92, distance: 2116, tilt: 'tilt' },
      errors: ['truncated payload: record at offset 10 has channel id 0xff but no type byte'],
    });
    expect(decode('0400')).toEqual({ errors: ['record 04 00 (tilt) at offset 0: truncated payload: tilt needs 1 byte(s) at offset 2, 0 left'] });
  });

  it('rejects other ports and garbage', () => {
    expect(decode('01755c', undefined, 1)).toEqual({ errors: ['unknown FPort 1 (EM310-UDL uplinks use 85)'] });
    expect(decode('deadbeef').errors).toEqual(['unknown record: channel 0xde type 0xad at offset 0: nothing decoded (not a Milesight frame?)']);
  });

  it('decodes the distance alarm configuration answer', () => {
    expect(decode('ff06' + '84' + '6400' + 'f401' + '0500' + '0a00').data).toEqual({
      distance_alarm_config: { condition: 'outside', alarm_release_enable: true, threshold_min: 100, threshold_max: 500, lock_time: 5, continue_time: 10 },
    });
    expect(decode('ff0607000000000000000000').errors?.[0]).toContain('distance alarm condition 7 is not one of 0..4');
  });
});

describe('normalizeUplink', () => {
  it('gives distance, battery and the tilt alarm; fill_pct with geometry', () => {
    expect(codec.normalizeUplink({ battery: 92, distance: 2116, tilt: 'tilt' }, { variables: { container_depth_mm: 3100, sensor_offset_mm: 100 } })).toEqual({
      readings: [{ values: { distance_mm: 2116, fill_pct: 32.8, battery_pct: 92, alarm_tilt: true } }],
    });
  });

  it('without geometry: no fill_pct and the warning of fillPercent', () => {
    expect(codec.normalizeUplink({ distance: 500, position: 'normal' }, {})).toEqual({
      readings: [{ values: { distance_mm: 500, alarm_tilt: false } }],
      warnings: ['no fill_pct: device variable container_depth_mm is not set (or not a positive number)'],
    });
  });

  it('accepts data in Milesight naming and ignores unknown tilt values', () => {
    expect(codec.normalizeUplink({ position: 'tilt' }, {}).readings).toEqual([{ values: { alarm_tilt: true } }]);
    expect(codec.normalizeUplink({ tilt: 'unknown', battery: 5 }, {}).readings).toEqual([{ values: { battery_pct: 5 } }]);
    expect(codec.normalizeUplink({ sn: '6136b13046580000' }, {}).readings).toEqual([]);
  });
});

describe('encodeUplink', () => {
  it('builds the periodic report', () => {
    const r = codec.encodeUplink({ readings: [{ values: { distance_mm: 2116, battery_pct: 92, alarm_tilt: true } }] });
    expect(r.fPort).toBe(85);
    expect(toHex(r.bytes ?? [])).toBe('01755c03824408040001');
  });

  it('defaults battery to 100 % and tilt to normal, rounds to 1 mm', () => {
    expect(toHex(codec.encodeUplink({ readings: [{ values: { distance_mm: 299.6 } }] }).bytes ?? [])).toBe('01756403822c01040000');
  });

  it('derives the distance from fill_pct and the geometry', () => {
    const r = codec.encodeUplink({ readings: [{ values: { fill_pct: 75 } }], variables: { container_depth_mm: 1200, sensor_offset_mm: 200 } });
    expect(toHex(r.bytes ?? [])).toBe('0175640382c201040000'); // 1200 − (1200 − 200) × 0.75 = 450 mm
  });

  it('explains what is missing or out of range', () => {
    expect(codec.encodeUplink({ readings: [{ values: { fill_pct: 50 } }] }).errors).toEqual([
      'encodeUplink: fill_pct needs device variable container_depth_mm to derive distance_mm',
    ]);
    expect(codec.encodeUplink({ readings: [{ values: { battery_pct: 50 } }] }).errors?.[0]).toContain('distance_mm must be a finite number');
    expect(codec.encodeUplink({ readings: [{ values: { distance_mm: 70000 } }] }).errors).toEqual(['distance_mm out of range: 70000 (allowed 0..65535)']);
    expect(codec.encodeUplink({ readings: [{ values: { distance_mm: 10, battery_pct: 101 } }] }).errors).toEqual(['encodeUplink: battery_pct 101 is outside 0..100']);
    expect(codec.encodeUplink({ readings: [] }).errors).toEqual(['encodeUplink needs at least one reading {values: {...}}']);
  });

  it('uses the latest reading of the bin-fill simulator output and ignores what it has no record for', () => {
    const r = codec.encodeUplink({ readings: [{ values: { distance_mm: 900 } }, { values: { distance_mm: 812, temperature_c: 14.2, battery_pct: 71, alarm_fire: false, alarm_tilt: true, tilt_deg: 40 } }] });
    expect(toHex(r.bytes ?? [])).toBe('01754703822c03040001');
  });
});

describe('downlinks', () => {
  const encode = codec.encodeDownlink!;
  const decodeDl = codec.decodeDownlink!;

  it('encodes reboot, intervals and the distance alarm (thresholds in mm, no ×10)', () => {
    expect(encode({ data: { reboot: true } })).toEqual({ bytes: [0xff, 0x10, 0xff], fPort: 85 });
    expect(toHex(encode({ data: { collection_interval: 10, report_interval: 64800 } }).bytes ?? [])).toBe('ff020a00ff0320fd');
    expect(toHex(encode({ data: { distance_alarm_config: { condition: 'below', threshold_min: 250 } } }).bytes ?? [])).toBe('ff0609fa00000000000000');
  });

  it('round-trips every command', () => {
    const data = {
      reboot: true,
      collection_interval: 60,
      report_interval: 60,
      distance_alarm_config: { condition: 'disable', alarm_release_enable: false, threshold_min: -1, threshold_max: 32767, lock_time: 65535, continue_time: 0 },
    };
    const enc = encode({ data });
    expect(decodeDl({ bytes: enc.bytes ?? [], fPort: 85 })).toEqual({ data });
  });

  it('rejects bad commands', () => {
    expect(encode({ data: { collection_interval: 61 } }).errors).toEqual(['collection_interval must be an integer 10..60, got 61']);
    expect(encode({ data: { distance_alarm_config: { condition: 'over' } } }).errors?.[0]).toContain('condition must be one of disable, below, above, between, outside');
    expect(encode({ data: { beep: 1 } }).errors?.[0]).toContain('unknown downlink command "beep"');
    expect(decodeDl({ bytes: [0xff, 0x10, 0xff], fPort: 2 }).errors).toEqual(['unknown FPort 2 (EM310-UDL downlinks use 85)']);
    expect(decodeDl({ bytes: [0xff, 0x06, 0x01], fPort: 85 }).errors?.[0]).toContain('truncated payload');
  });
});
