import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../bytes.ts';
import { codec } from './codec.ts';

// examples.json (TTN's example, Milesight's payload-description examples, error cases) runs in
// ../../contract.test.ts.

const decode = (hex: string, variables?: Record<string, unknown>, fPort = 85) =>
  codec.decodeUplink({ bytes: fromHex(hex) as Uint8Array, fPort, ...(variables ? { variables } : {}) });

describe('milesight-iot/em400-mud decodeUplink', () => {
  it('reads the alarm bytes as TTN does: booleans; Milesight strings with naming milesight', () => {
    expect(decode('8367e800008482410600')).toEqual({ data: { temperature: 23.2, temperature_abnormal: false, distance: 1601, distance_alarming: false } });
    expect(decode('8482410600', { naming: 'milesight' })).toEqual({ data: { distance: 1601, distance_alarm: 'threshold_alarm_release' } });
  });

  it('reads a negative temperature (i16) and an undocumented position byte as tilt, with a warning', () => {
    expect(decode('0367f6ff').data).toEqual({ temperature: -1 });
    expect(decode('050002')).toEqual({ data: { position: 'tilt' }, warnings: ['position byte 2 is not 0 or 1 (read as tilt, as TTN\'s codec does)'] });
  });

  it('keeps the records before a cut or an unknown record, and says what stopped it', () => {
    expect(decode('01755c036701')).toEqual({
      data: { battery: 92 },
      errors: ['record 03 67 (temperature) at offset 3: truncated payload: temperature needs 2 byte(s) at offset 5, 1 left'],
    });
    expect(decode('deadbeef').errors).toEqual(['unknown record: channel 0xde type 0xad at offset 0: nothing decoded (not a Milesight frame?)']);
  });
});

describe('milesight-iot/em400-mud normalizeUplink', () => {
  it('gives distance, fill, battery, temperature, tilt and the two threshold alarms', () => {
    const data = { battery: 92, temperature: 25.7, distance: 2116, position: 'tilt', distance_alarming: true, temperature_abnormal: false };
    expect(codec.normalizeUplink(data, { variables: { container_depth_mm: 3000, sensor_offset_mm: 100 } })).toEqual({
      readings: [{ values: { distance_mm: 2116, fill_pct: 30.5, battery_pct: 92, temperature_c: 25.7, alarm_tilt: true, alarm_full: true, alarm_fire: false } }],
    });
  });
});

describe('milesight-iot/em400-mud encodeUplink', () => {
  it('builds the periodic report, and the alarm records when an alarm is given', () => {
    expect(toHex(codec.encodeUplink({ readings: [{ values: { distance_mm: 2116, battery_pct: 92, temperature_c: 25.7, alarm_tilt: true } }] }).bytes ?? [])).toBe(
      '01755c0367010104824408050001',
    );
    expect(toHex(codec.encodeUplink({ readings: [{ values: { distance_mm: 1601, temperature_c: 23.2, alarm_full: true, alarm_fire: true } }] }).bytes ?? [])).toBe(
      '0175648367e80001848241060105' + '0000',
    );
  });

  it('derives the distance from fill_pct and explains what is missing', () => {
    const r = codec.encodeUplink({ readings: [{ values: { fill_pct: 50 } }], variables: { container_depth_mm: 1000 } });
    expect(toHex(r.bytes ?? [])).toBe('0175640482f401050000');
    expect(codec.encodeUplink({ readings: [{ values: { fill_pct: 50 } }] }).errors).toEqual(['encodeUplink: fill_pct needs device variable container_depth_mm to derive distance_mm']);
    expect(codec.encodeUplink({ readings: [{ values: { distance_mm: 10, alarm_full: 'yes' } }] }).errors).toEqual(['encodeUplink: alarm_full must be a boolean, got "yes"']);
  });
});

describe('milesight-iot/em400-mud downlinks', () => {
  it('round-trips reboot, report interval and working mode; rejects an unknown mode', () => {
    const data = { reboot: true, report_interval: 600, working_mode: 'standard' };
    const enc = codec.encodeDownlink!({ data });
    expect(toHex(enc.bytes ?? [])).toBe('ff10ffff035802ff7100');
    expect(codec.decodeDownlink!({ bytes: enc.bytes ?? [], fPort: 85 })).toEqual({ data });
    expect(codec.encodeDownlink!({ data: { working_mode: 'trash' } }).errors?.[0]).toContain('working_mode must be one of standard, bin, parking');
  });
});
