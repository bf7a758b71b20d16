import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../bytes.ts';
import { runExampleFile } from '../../examples.ts';
import { describeVectorFile, loadVectorFile } from '../../testing/vectors.ts';
import { codec } from './codec.ts';

const TTN_EXAMPLE = 'Ambience Monitoring Sensors (example 1) - Milesight IoT';

// Default naming is TTN's: the public vector passes unchanged (activity, pm2.5, tvoc raw).
describeVectorFile(codec, 'milesight-iot/am319.json');

describe('public vectors in both namings', () => {
  const file = loadVectorFile('milesight-iot/am319.json');

  it('the TTN example gives tvoc_iaq 0.37 and pm2_5_ugm3 32 in the readings', () => {
    const ex = (file.examples ?? []).find((e) => e.description === TTN_EXAMPLE);
    const r = codec.decodeUplink({ bytes: fromHex(ex?.bytesHex ?? '') as Uint8Array, fPort: 85 });
    expect(r).toEqual({ data: ex?.expected });
    const values = codec.normalizeUplink(r.data ?? {}, {}).readings[0]?.values;
    expect(values?.['tvoc_iaq']).toBe(0.37);
    expect(values?.['pm2_5_ugm3']).toBe(32);
  });

  it("Milesight's README example passes with variables.naming = milesight", () => {
    const vendor = (file.vendorDocExamples ?? []).map((ex) => ({ ...ex, variables: { naming: 'milesight' } }));
    expect(vendor.length).toBeGreaterThan(0);
    expect(runExampleFile(codec, { examples: vendor }).filter((o) => !o.pass)).toEqual([]);
  });
});

const decode = (hex: string, variables?: Record<string, unknown>, fPort = 85) =>
  codec.decodeUplink({ bytes: fromHex(hex) as Uint8Array, fPort, ...(variables ? { variables } : {}) });

describe('decodeUplink', () => {
  it('decodes hand-built records: -0.1 °C, CO2 400 (0x0190), pressure 1013.2 (0x2794), HCHO 0.15, PM10 1000', () => {
    expect(decode('0367ffff' + '077d9001' + '09739427' + '0a7d0f00' + '0c7de803')).toEqual({
      data: { temperature: -0.1, co2: 400, pressure: 1013.2, hcho: 0.15, pm10: 1000 },
    });
  });

  it('keeps TVOC as IAQ index (08 7D, raw as TTN; /100 with naming milesight) and in µg/m³ (08 E6) under different keys', () => {
    expect(decode('087d6400' + '08e66400').data).toEqual({ tvoc: 100, tvoc_ugm3: 100 });
    expect(decode('087d6400' + '08e66400', { naming: 'milesight' }).data).toEqual({ tvoc: 1, tvoc_ugm3: 100 });
  });

  it("names the buzzer record as TTN does (beep yes/no), or Milesight's buzzer_status on/off", () => {
    expect(decode('0e0101' + '0b7d2000').data).toEqual({ beep: 'yes', 'pm2.5': 32 });
    expect(decode('0e0100').data).toEqual({ beep: 'no' });
    expect(decode('0e0101' + '0b7d2000', { naming: 'milesight' }).data).toEqual({ buzzer_status: 'on', pm2_5: 32 });
  });

  it('an unknown record after valid ones is an error; the records before it stay', () => {
    expect(decode('077da803' + '5501ff')).toEqual({ data: { co2: 936 }, errors: ['unknown record: channel 0x55 type 0x01 at offset 4: the remaining 3 byte(s) were not decoded'] });
  });

  it('decodes history (20 CE: 22 bytes, humidity as u16 / 2)', () => {
    expect(decode('20ce' + '00000000' + '0000' + 'c800' + '00' + '05' + 'ffff' + 'ffff' + 'ffff' + 'ffff' + 'ffff' + 'ffff').data).toEqual({
      history: [{ timestamp: 0, temperature: 0, humidity: 100, activity: 'idle', light_level: 5, co2: 65535, tvoc: 65535, pressure: 6553.5, 'pm2.5': 65535, pm10: 65535, hcho: 655.35 }],
    });
  });

  it('gives errors for truncated frames and other ports', () => {
    expect(decode('0b7d20')).toEqual({ errors: ['record 0b 7d (pm2_5) at offset 0: truncated payload: pm2_5 needs 2 byte(s) at offset 2, 1 left'] });
    expect(decode('077da803' + '0b7d20')).toEqual({ data: { co2: 936 }, errors: ['record 0b 7d (pm2_5) at offset 4: truncated payload: pm2_5 needs 2 byte(s) at offset 6, 1 left'] });
    expect(decode('0b7d2000', undefined, 86)).toEqual({ errors: ['unknown FPort 86 (AM319 uplinks use 85)'] });
  });

  it('decodes the answers to its configuration commands', () => {
    expect(decode('ff03b004ff6800ff2701').data).toEqual({ report_interval: 1200, history_enable: false, clear_history: true });
  });
});

describe('normalizeUplink', () => {
  it('maps every field to its normalized reading', () => {
    const data = { battery: 99, temperature: 21, humidity: 40, pir: 'idle', light_level: 4, co2: 700, tvoc: 1.2, tvoc_ugm3: 300, pressure: 990.5, hcho: 0.03, o3: 0.02, pm2_5: 7, pm10: 11, buzzer_status: 'on' };
    expect(codec.normalizeUplink(data, { variables: { naming: 'milesight' } })).toEqual({
      readings: [
        {
          values: {
            battery_pct: 99,
            temperature_c: 21,
            humidity_pct: 40,
            occupied: false,
            light_level: 4,
            co2_ppm: 700,
            tvoc_iaq: 1.2,
            tvoc_ugm3: 300,
            pressure_hpa: 990.5,
            hcho_mgm3: 0.03,
            o3_ppm: 0.02,
            pm2_5_ugm3: 7,
            pm10_ugm3: 11,
          },
        },
      ],
    });
  });

  it("reads TTN's naming by default ('activity', 'pm2.5', tvoc raw × 100)", () => {
    expect(codec.normalizeUplink({ activity: 'trigger', 'pm2.5': 32, tvoc: 37 }, {}).readings).toEqual([{ values: { occupied: true, pm2_5_ugm3: 32, tvoc_iaq: 0.37 } }]);
  });
});

describe('encodeUplink', () => {
  it('builds the report in the device order from the latest reading', () => {
    const r = codec.encodeUplink({ readings: [{ values: { pm10_ugm3: 48, co2_ppm: 936, temperature_c: 30.8, humidity_pct: 50.5, occupied: true, light_level: 2, tvoc_iaq: 0.37, pressure_hpa: 1008.6, hcho_mgm3: 0.04, pm2_5_ugm3: 32 } }] });
    expect(toHex(r.bytes ?? [])).toBe('0367340104686505000106cb02077da803087d2500097366270a7d04000b7d20000c7d3000');
  });

  it('takes the air-quality simulator output: rounds to the grid, ignores readings without a record', () => {
    const r = codec.encodeUplink({ readings: [{ values: { co2_ppm: 512, pm1_ugm3: 3.1, pm2_5_ugm3: 4.6, tvoc_ppb: 90, battery_pct: 77 } }] });
    expect(toHex(r.bytes ?? [])).toBe('01754d' + '077d0002' + '0b7d0500');
    expect(r.warnings).toBeUndefined();
  });

  it('turns complete earlier readings into history records, skips the others with a warning', () => {
    const full = { temperature_c: 20, humidity_pct: 45, occupied: false, light_level: 1, co2_ppm: 600, tvoc_ugm3: 50, pressure_hpa: 1000, pm2_5_ugm3: 3, pm10_ugm3: 4, hcho_mgm3: 0.01 };
    const r = codec.encodeUplink({ readings: [{ time: '2024-01-01T00:00:00Z', values: full }, { time: '2024-01-01T01:00:00Z', values: { co2_ppm: 1 } }, { values: { co2_ppm: 650 } }] });
    expect(toHex(r.bytes ?? [])).toBe('077d8a02' + '21ce80009265' + 'c800' + '5a00' + '00' + '01' + '5802' + '3200' + '1027' + '0300' + '0400' + '0100');
    expect(r.warnings).toEqual(['1 earlier reading(s) not sent: a history record needs time and every value of the record']);
  });

  it('explains bad input', () => {
    expect(codec.encodeUplink({ readings: [{ values: { flow_m3h: 1 } }] }).errors).toEqual(['encodeUplink: no AM319 reading given (co2_ppm, temperature_c, tvoc_iaq, …)']);
    expect(codec.encodeUplink({ readings: [{ values: { occupied: 'yes' } }] }).errors).toEqual(['encodeUplink: reading occupied must be a boolean']);
    expect(codec.encodeUplink({ readings: [{ values: { co2_ppm: 70000 } }] }).errors).toEqual(['co2_ppm out of range: 70000 (allowed 0..65535)']);
  });
});

describe('downlinks', () => {
  it('encodes and decodes its commands', () => {
    const data = { reboot: true, report_interval: 300, time_zone: 80, history_enable: true, clear_history: true };
    const enc = codec.encodeDownlink!({ data });
    expect(toHex(enc.bytes ?? [])).toBe('ff10ffff032c01ff175000ff6801ff2701');
    expect(codec.decodeDownlink!({ bytes: enc.bytes ?? [], fPort: 85 })).toEqual({ data });
    expect(codec.encodeDownlink!({ data: { buzzer: true } }).errors?.[0]).toContain('unknown downlink command "buzzer"');
  });
});
