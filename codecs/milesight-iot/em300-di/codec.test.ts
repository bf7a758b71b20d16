import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../api.ts';
import { fromHex, toHex } from '../../bytes.ts';
import { describeVectorFile } from '../../testing/vectors.ts';
import { codec } from './codec.ts';

// Both the TTN vector and Milesight's README example decode as published: history entries leave
// gpio_type out, as TTN's codec and the README do (Milesight's current decoder adds it).
describeVectorFile(codec, 'milesight-iot/em300-di.json', { includeVendorDoc: true });

const decode = (hex: string, variables?: Record<string, unknown>, fPort = 85) =>
  codec.decodeUplink({ bytes: fromHex(hex) as Uint8Array, fPort, ...(variables ? { variables } : {}) });

describe('decodeUplink', () => {
  it('decodes a hand-built counter report: 55 %, 21.5 °C (0x00d7), 60 % (0x78/2), 1000000 pulses (0x000f4240)', () => {
    expect(decode('017537' + '0367d700' + '046878' + '05c840420f00')).toEqual({ data: { battery: 55, temperature: 21.5, humidity: 60, pulse: 1000000 } });
  });

  it('decodes negative temperatures', () => {
    expect(decode('036701ff').data).toEqual({ temperature: -25.5 });
    expect(decode('03670080').data).toEqual({ temperature: -3276.8 });
  });

  it('decodes the water record and its float32 without noise', () => {
    // 12.3 as float32 is 0x4144cccd (12.300000190734863), bytes cd cc 44 41
    expect(decode('05e1' + '6400' + '0a00' + 'cdcc4441').data).toEqual({ water_conv: 10, pulse_conv: 1, water: 12.3 });
  });

  it('reports alarms', () => {
    // TTN's codec gives the GPIO level as the raw byte; Milesight's decoder as "high"/"low".
    expect(decode('85000100').data).toEqual({ gpio: 1, gpio_alarm: 'gpio alarm release' });
    expect(decode('85000100', { naming: 'milesight' }).data).toEqual({ gpio: 'high', gpio_alarm: 'gpio alarm release' });
    expect(decode('050000').data).toEqual({ gpio: 0 });
    expect(decode('85e10a000a000000000001').data).toEqual({ water_conv: 1, pulse_conv: 1, water: 0, water_alarm: 'water outage timeout alarm' });
    expect(decode('85e10a000a000000000009')).toEqual({
      data: { water_conv: 1, pulse_conv: 1, water: 0, water_alarm: 'unknown' },
      warnings: ['water_alarm: unknown value 9 (0x09)'],
    });
  });

  it('decodes a digital-mode history entry (gpio instead of pulse) and warns about an unknown gpio_type', () => {
    expect(decode('20ce' + '80009265' + '6400' + '64' + '01' + '01' + '00000000').data).toEqual({
      history: [{ timestamp: 1704067200, temperature: 10, humidity: 50, gpio: 1 }],
    });
    expect(decode('20ce' + '80009265' + '6400' + '64' + '01' + '01' + '00000000', { naming: 'milesight' }).data).toEqual({
      history: [{ timestamp: 1704067200, temperature: 10, humidity: 50, gpio: 'high' }],
    });
    expect(decode('20ce' + '80009265' + '6400' + '64' + '07' + '01' + '00000000')).toEqual({
      data: { history: [{ timestamp: 1704067200, temperature: 10, humidity: 50 }] },
      warnings: ['history gpio_type 7 is neither 1 (gpio) nor 2 (counter): input value left out'],
    });
  });

  it('gives errors for truncated records, unknown ports and garbage', () => {
    expect(decode('21ce80009265c9ff510302000a000a000000403f'.slice(0, -2))).toEqual({
      errors: ['record 21 ce (history (water)) at offset 0: truncated payload: water needs 4 byte(s) at offset 16, 3 left'],
    });
    expect(decode('05e10a000a00')).toEqual({ errors: ['record 05 e1 (water) at offset 0: truncated payload: water needs 4 byte(s) at offset 6, 0 left'] });
    expect(decode('01755c05c800010000', undefined, 1)).toEqual({ errors: ['unknown FPort 1 (EM300-DI uplinks use 85)'] });
    expect(decode('6601').errors?.[0]).toContain('nothing decoded');
    // A record cut short after whole ones: the whole ones stay, the cut one is taken back entirely.
    expect(decode('01755c' + '85e10a000a0000000000')).toEqual({
      data: { battery: 92 },
      errors: ['record 85 e1 (water alarm) at offset 3: truncated payload: water_alarm needs 1 byte(s) at offset 13, 0 left'],
    });
  });

  it('decodes answers to configuration commands', () => {
    expect(decode('ff4e0100' + 'ffa10101011e000000' + 'ff170a00').data).toEqual({
      clear_counter: true,
      water_flow_timeout_alarm_settings: { enable: true, duration: 30 },
      time_zone: 10,
    });
  });
});

describe('normalizeUplink', () => {
  it('pulse count, and the meter index with liters_per_pulse and volume_offset_m3', () => {
    expect(codec.normalizeUplink({ pulse: 1500 }, { variables: { liters_per_pulse: 10, volume_offset_m3: 12.5 } })).toEqual({
      readings: [{ values: { pulse_count: 1500, volume_m3: 27.5 } }],
    });
    expect(codec.normalizeUplink({ pulse: 1500 }, {})).toEqual({
      readings: [{ values: { pulse_count: 1500 } }],
      warnings: ['no volume_m3 from pulse: device variable liters_per_pulse is not set'],
    });
  });

  it('water in the unit set on the device', () => {
    expect(codec.normalizeUplink({ water: 12.3 }, { variables: { water_unit: 'L' } }).readings).toEqual([{ values: { volume_m3: 0.0123 } }]);
    expect(codec.normalizeUplink({ water: 12.3 }, { variables: { water_unit: 'gallon' } })).toEqual({
      readings: [],
      warnings: ['device variable water_unit must be one of m3, m³, L, l, mL, ml, gal, got "gallon"'],
    });
  });

  it('water alarms: flow timeout → alarm_leak, outage timeout → alarm_dry; gpio → digital_input', () => {
    expect(codec.normalizeUplink({ gpio: 'low', water_alarm: 'water flow timeout alarm release' }, {}).readings).toEqual([
      { values: { digital_input: false, alarm_leak: false } },
    ]);
    expect(codec.normalizeUplink({ water_alarm: 'water outage timeout alarm' }, {}).readings).toEqual([{ values: { alarm_dry: true } }]);
  });

  it('one timed reading per history entry, oldest first, then the current values', () => {
    const data: JsonObject = { battery: 90, history: [{ timestamp: 1704067200, temperature: 1, humidity: 2, pulse: 3 }, { timestamp: 1704070800, temperature: 4, humidity: 5, gpio: 'high' }] };
    expect(codec.normalizeUplink(data, { variables: { liters_per_pulse: 1 } })).toEqual({
      readings: [
        { time: '2024-01-01T00:00:00.000Z', values: { temperature_c: 1, humidity_pct: 2, pulse_count: 3, volume_m3: 0.003 } },
        { time: '2024-01-01T01:00:00.000Z', values: { temperature_c: 4, humidity_pct: 5, digital_input: true } },
        { values: { battery_pct: 90 } },
      ],
    });
  });

  it('warns about history from an unset device clock', () => {
    expect(codec.normalizeUplink({ history: [{ timestamp: 3600, temperature: 1, humidity: 2 }] }, {})).toEqual({
      readings: [{ time: '1970-01-01T01:00:00.000Z', values: { temperature_c: 1, humidity_pct: 2 } }],
      warnings: ['history timestamp 3600 is before 2015: device clock not set?'],
    });
  });
});

describe('encodeUplink', () => {
  it('builds the counter report; battery defaults to 100 %', () => {
    expect(toHex(codec.encodeUplink({ readings: [{ values: { pulse_count: 256 } }] }).bytes ?? [])).toBe('01756405c800010000');
    // rounded to the device grid: -12.34 °C → -123 = 0xff85, 33.3 % → 67 half-percent steps = 0x43
    expect(toHex(codec.encodeUplink({ readings: [{ values: { battery_pct: 92, temperature_c: -12.34, humidity_pct: 33.3, pulse_count: 1 } }] }).bytes ?? [])).toBe(
      '01755c' + '036785ff' + '046843' + '05c801000000',
    );
  });

  it('derives pulses from volume_m3 with liters_per_pulse', () => {
    const r = codec.encodeUplink({ readings: [{ values: { volume_m3: 112.5 } }], variables: { liters_per_pulse: '10', volume_offset_m3: '100' } });
    expect(toHex(r.bytes ?? [])).toBe('01756405c8e2040000'); // (112.5 - 100) × 1000 / 10 = 1250 = 0x04e2
  });

  it('with water_unit: the water record, or the alarm record when an alarm is true', () => {
    const v = { water_unit: 'm3' };
    expect(toHex(codec.encodeUplink({ readings: [{ values: { volume_m3: 1234.5, alarm_leak: false } }], variables: v }).bytes ?? [])).toBe('01756405e10a000a0000509a44');
    expect(toHex(codec.encodeUplink({ readings: [{ values: { volume_m3: 1234.5, alarm_leak: true } }], variables: v }).bytes ?? [])).toBe('01756485e10a000a0000509a4403');
    expect(codec.encodeUplink({ readings: [{ values: { volume_m3: 1, alarm_leak: true, alarm_dry: true } }], variables: v }).errors?.[0]).toContain('one water alarm per frame');
  });

  it('takes simulator input: hourly history without climate values is skipped with one warning, unsupported alarms too', () => {
    const r = codec.encodeUplink({
      readings: [
        { time: '2024-01-01T00:00:00Z', values: { volume_m3: 1.2 } },
        { time: '2024-01-01T01:00:00Z', values: { volume_m3: 1.3 } },
        { values: { volume_m3: 1.35, pulse_count: 1350, flow_m3h: 0.05, alarm_leak: true, alarm_burst: false, battery_pct: 80 } },
      ],
    });
    expect(toHex(r.bytes ?? [])).toBe('01755005c846050000');
    expect(r.warnings).toEqual([
      'water alarm not sent: the EM300-DI reports water alarms with the water record only (set device variable water_unit and give volume_m3)',
      '2 earlier reading(s) not sent: a history record needs time, temperature_c, humidity_pct and pulse_count or digital_input',
    ]);
  });

  it('explains what is missing', () => {
    expect(codec.encodeUplink({ readings: [{ values: { battery_pct: 50 } }] }).errors).toEqual(['encodeUplink: give pulse_count, volume_m3 or digital_input']);
    expect(codec.encodeUplink({ readings: [{ values: { volume_m3: 5 } }] }).errors).toEqual([
      'encodeUplink: volume_m3 in counter mode needs device variable liters_per_pulse (or give pulse_count)',
    ]);
    expect(codec.encodeUplink({ readings: [{ values: { pulse_count: -1 } }] }).errors).toEqual(['pulse_count out of range: -1 (allowed 0..4294967295)']);
  });
});

describe('downlinks', () => {
  const encode = codec.encodeDownlink!;
  const decodeDl = codec.decodeDownlink!;

  it('encodes the counter commands and history fetch', () => {
    expect(toHex(encode({ data: { stop_counter: true, start_counter: true } }).bytes ?? [])).toBe('ff4e0101ff4e0102');
    expect(toHex(encode({ data: { stop_transmit: true, query_device_status: true } }).bytes ?? [])).toBe('fd6dffff28ff');
    expect(toHex(encode({ data: { pulse_filter_enable: false, collection_interval: 60 } }).bytes ?? [])).toBe('ffa30100ff023c00');
  });

  it('round-trips every command', () => {
    const data = {
      reboot: true,
      query_device_status: true,
      sync_time: true,
      report_interval: 64800,
      collection_interval: 600,
      time_zone: -120,
      clear_counter: true,
      stop_counter: true,
      start_counter: true,
      counter: 0,
      water_flow_alarm_settings: { enable: true, duration: 1 },
      water_flow_timeout_alarm_settings: { enable: false, duration: 64800 },
      water_outage_timeout_alarm_settings: { enable: true, duration: 1440 },
      pulse_conversion_settings: { enable: true, water: 0.1, pulse: 6553.5, unit: 'm³' },
      pulse_filter_enable: true,
      history_enable: false,
      clear_history: true,
      retransmit_enable: true,
      retransmit_interval: 1,
      fetch_history: { start_time: 0, end_time: 4294967295 },
      stop_transmit: true,
    };
    const enc = encode({ data });
    expect(enc.errors).toBeUndefined();
    expect(decodeDl({ bytes: enc.bytes ?? [], fPort: 85 })).toEqual({ data });
  });

  it('rejects bad values', () => {
    expect(encode({ data: { fetch_history: { start_time: 10, end_time: 5 } } }).errors).toEqual(['fetch_history.end_time must be an integer 10..4294967295, got 5']);
    expect(encode({ data: { pulse_conversion_settings: { enable: true, water: 1, pulse: 1, unit: 'litre' } } }).errors).toEqual([
      'pulse_conversion_settings.unit must be a string of at most 4 UTF-8 bytes',
    ]);
    expect(encode({ data: { water_flow_timeout_alarm_settings: { enable: true, duration: 0 } } }).errors?.[0]).toContain('duration must be an integer 1..64800');
    expect(decodeDl({ bytes: [0xfd, 0x99], fPort: 85 }).errors?.[0]).toContain('unknown FD command 0x99');
  });
});
