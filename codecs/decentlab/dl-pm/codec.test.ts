import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { JsonObject, Reading } from '../../api.ts';
import { fromHex, toHex } from '../../bytes.ts';
import { jsonEqual, runExampleFile, type ExampleFile } from '../../examples.ts';
import { describeVectorFile } from '../../testing/vectors.ts';
import { roundTrip } from './arbitrary.ts';
import { crc16Modbus } from '../protocol.ts';
import { codec } from './codec.ts';

describeVectorFile(codec, 'decentlab/dl-pm.json');

const EXAMPLE_1 = '021b50000f0c25002500270027002701f50107012c012d012d012d67bd618dbd10';

function decode(hex: string, fPort = 1, variables?: Record<string, unknown>) {
  return codec.decodeUplink({ bytes: fromHex(hex) as Uint8Array, fPort, ...(variables ? { variables } : {}) });
}

function valueOf(data: unknown, key: string): unknown {
  return (data as Record<string, { value: unknown }>)[key]?.value;
}

describe('decentlab/dl-pm examples.json', () => {
  it('passes', () => {
    const file = JSON.parse(readFileSync(new URL('./examples.json', import.meta.url), 'utf8')) as ExampleFile;
    expect(runExampleFile(codec, file).filter((o) => !o.pass)).toEqual([]);
  });
});

describe('decentlab/dl-pm uplink', () => {
  it('decodes a hand-built frame with every group', () => {
    // version 2, id 0x0102, flags 0x000f, battery 3.456 V, PM words 1..10, T 0x8000, RH 0x4000, p 0xc350
    const pm = '000a' + '0014' + '001e' + '0028' + '0032' + '003c' + '0046' + '0050' + '005a' + '0064';
    const r = decode('02' + '0102' + '000f' + '0d80' + pm + '8000' + '4000' + 'c350');
    expect(r.errors).toBeUndefined();
    expect(r.data?.['device_id']).toBe(258);
    expect(valueOf(r.data, 'battery_voltage')).toBe(3.456);
    expect(valueOf(r.data, 'pm1_0_mass_concentration')).toBe(1);
    expect(valueOf(r.data, 'pm10_mass_concentration')).toBe(4);
    expect(valueOf(r.data, 'typical_particle_size')).toBe(50);
    expect(valueOf(r.data, 'pm10_number_concentration')).toBe(10);
    expect(valueOf(r.data, 'air_temperature')).toBeCloseTo(175.72 / 2 - 46.85, 12); // 41.01
    expect(valueOf(r.data, 'air_humidity')).toBe(125 / 4 - 6); // 25.25
    expect(valueOf(r.data, 'barometric_pressure')).toBe(100000);
    expect(codec.normalizeUplink(r.data ?? {}).readings[0]?.values['pressure_hpa']).toBe(1000);
  });

  it('gives an error for every truncation of a full frame, keeping the whole groups before the cut', () => {
    const bytes = fromHex(EXAMPLE_1) as Uint8Array;
    for (let n = 1; n < bytes.length; n++) {
      const r = codec.decodeUplink({ bytes: bytes.subarray(0, n), fPort: 1 });
      expect(r.errors?.[0], `length ${n}`).toMatch(n < 5 ? /truncated payload: .* at offset \d/ : /truncated payload: sensor flags 0x000f need 33 bytes, got \d+/);
      // The header and the whole groups before the cut stay: battery from 7 bytes, PM from 27, T/RH from 31.
      expect(r.data?.['device_id'], `length ${n}`).toBe(n < 5 ? undefined : 6992);
      expect(r.data?.['battery_voltage'] !== undefined, `length ${n}`).toBe(n >= 7);
      expect(r.data?.['pm10_number_concentration'] !== undefined, `length ${n}`).toBe(n >= 27);
      expect(r.data?.['air_temperature'] !== undefined, `length ${n}`).toBe(n >= 31);
      expect(r.data?.['barometric_pressure'], `length ${n}`).toBeUndefined();
    }
  });

  it('rejects over-long frames and unknown layouts', () => {
    expect(decode(EXAMPLE_1 + '00').errors).toEqual(['over-long payload: sensor flags 0x000f need 33 bytes, got 34']);
    expect(decode('021b5080010c25').errors).toEqual(['unknown sensor flags 0x8000 in 0x8001 at offset 3: frame layout unknown']);
    expect(decode('001b5000010c25').errors).toEqual(['unsupported protocol version 0 at offset 0 (expected 2)']);
  });

  it('accepts the port set with variable uplink_fport and rejects port 1 then', () => {
    expect(decode('021b5000010c25', 20, { uplink_fport: 20 }).data?.['device_id']).toBe(6992);
    expect(decode('021b5000010c25', 1, { uplink_fport: 20 }).errors?.[0]).toMatch(/^unknown fPort 1/);
  });
});

describe('decentlab/dl-pm normalize', () => {
  it('maps the vector example to the air-quality readings', () => {
    const r = decode(EXAMPLE_1);
    expect(codec.normalizeUplink(r.data ?? {})).toEqual({
      readings: [
        {
          values: {
            battery_v: 3.109,
            pm1_ugm3: 3.7,
            pm2_5_ugm3: 3.9,
            pm4_ugm3: 3.9,
            pm10_ugm3: 3.9,
            temperature_c: 24.35660461425781,
            humidity_pct: 41.63221740722656,
            pressure_hpa: 968,
          },
        },
      ],
    });
  });

  it('clips humidity to 0..100 with a warning and ignores malformed data', () => {
    const n = codec.normalizeUplink({ air_humidity: { value: 104.2 }, air_temperature: { value: 'hot' }, battery_voltage: 3 });
    expect(n.readings).toEqual([{ values: { humidity_pct: 100 } }]);
    expect(n.warnings).toEqual(['humidity 104.2 %RH clipped to 100']);
  });
});

describe('decentlab/dl-pm encodeUplink', () => {
  it('fills defaults: battery 3.0 V, missing PM fractions from the next smaller one, T/RH partner', () => {
    const enc = codec.encodeUplink({ readings: [{ values: { pm2_5_ugm3: 8.4, pm10_ugm3: 20, temperature_c: -12.5 } }] });
    expect(enc.fPort).toBe(1);
    const n = codec.normalizeUplink(codec.decodeUplink({ bytes: enc.bytes ?? [], fPort: 1 }).data ?? {});
    const v = n.readings[0]?.values ?? {};
    expect(v['battery_v']).toBe(3);
    expect([v['pm1_ugm3'], v['pm2_5_ugm3'], v['pm4_ugm3'], v['pm10_ugm3']]).toEqual([0, 8.4, 8.4, 20]);
    expect(v['temperature_c']).toBeCloseTo(-12.5, 2);
    expect(v['humidity_pct']).toBeCloseTo(50, 2);
    expect(v['pressure_hpa']).toBeUndefined();
  });

  it('sends the latest reading and ignores readings it cannot carry (the simulator\'s air readings)', () => {
    const readings: Reading[] = [
      { values: { temperature_c: 1 } },
      { values: { co2_ppm: 612, tvoc_ppb: 80, battery_pct: 90, pm2_5_ugm3: 5, temperature_c: 2, humidity_pct: 60, pressure_hpa: 1000 } },
    ];
    const v = codec.normalizeUplink(codec.decodeUplink({ bytes: codec.encodeUplink({ readings }).bytes ?? [], fPort: 1 }).data ?? {}).readings[0]?.values;
    expect(Object.keys(v ?? {}).sort()).toEqual(['battery_v', 'humidity_pct', 'pm10_ugm3', 'pm1_ugm3', 'pm2_5_ugm3', 'pm4_ugm3', 'pressure_hpa', 'temperature_c']);
    expect(v?.['temperature_c']).toBeCloseTo(2, 2);
    expect(v?.['pressure_hpa']).toBe(1000);
  });

  it('encodes the vector example from its readings', () => {
    const n = codec.normalizeUplink(decode(EXAMPLE_1).data ?? {});
    const enc = codec.encodeUplink({ readings: n.readings, variables: { device_id: 6992 } });
    // Number concentrations and particle size are not readings: they are sent as 0.
    expect(toHex(enc.bytes ?? [])).toBe('021b50000f0c25' + '0025002700270027' + '0000'.repeat(6) + '67bd618dbd10');
  });

  it('rejects values the frame cannot carry', () => {
    expect(codec.encodeUplink({ readings: [{ values: { humidity_pct: 101 } }] }).errors).toEqual(['encodeUplink: humidity_pct 101 is outside 0..100']);
    expect(codec.encodeUplink({ readings: [{ values: { temperature_c: -50 } }] }).errors?.[0]).toMatch(/temperature_c -50 is out of range/);
    expect(codec.encodeUplink({ readings: [{ values: { pm10_ugm3: -1 } }] }).errors?.[0]).toMatch(/pm10_ugm3 -1 is out of range/);
    expect(codec.encodeUplink({ readings: [{ values: { battery_v: 'low' } }] }).errors?.[0]).toMatch(/battery_v must be a finite number/);
    expect(codec.encodeUplink({ readings: [] }).errors?.[0]).toMatch(/at least one reading/);
    expect(codec.encodeUplink({ readings: [{ values: {} }], fPort: 2 }).errors?.[0]).toMatch(/fPort 1, not 2/);
  });

  it('round-trips on the device grid (same property as the contract test)', () => {
    fc.assert(
      fc.property(roundTrip.arbitrary, (input) => {
        const enc = codec.encodeUplink(input);
        const dec = codec.decodeUplink({ bytes: enc.bytes ?? [], fPort: enc.fPort ?? 0 });
        const n = codec.normalizeUplink(dec.data ?? {});
        return jsonEqual(n.readings, input.readings);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('decentlab/dl-pm downlink', () => {
  it('computes CRC-16/MODBUS', () => {
    expect(crc16Modbus([0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39])).toBe(0x4b37); // the CRC catalogue check value
    expect(crc16Modbus([0x00, 0x02, 0x0e, 0x10])).toBe(0x48a4);
  });

  it('round-trips every command', () => {
    for (const command of ['set period', 'set dr + save', 'set adr on', 'set param 15 + save', 'set sensor_period 9', 'set port', 'sleep', 'factory reset']) {
      const takesParam = !/adr|sleep|reset/.test(command);
      const data: JsonObject = takesParam ? { command, parameter: 65535 } : { command };
      const enc = codec.encodeDownlink?.({ data });
      expect(enc?.errors, command).toBeUndefined();
      expect(enc?.fPort).toBe(1);
      expect(codec.decodeDownlink?.({ bytes: enc?.bytes ?? [], fPort: 1 }).data).toEqual(data);
    }
  });

  it('reports bad downlinks', () => {
    const enc = (data: Record<string, string | number>) => codec.encodeDownlink?.({ data });
    expect(enc({ command: 'set period' })?.errors).toEqual(['command "set period" needs an integer parameter 0..65535, got undefined']);
    expect(enc({ command: 'set period', parameter: 70000 })?.errors?.[0]).toMatch(/0..65535, got 70000/);
    expect(enc({ command: 'self destruct' })?.errors?.[0]).toMatch(/^unknown command "self destruct": expected one of set period, /);
    expect(enc({ command: 'reset', parameter: 5 })).toEqual({ bytes: [0xfe, 0xfe, 0, 0, 0x3c, 0x50], fPort: 1, warnings: ['command "reset" takes no parameter; ignored'] });

    const dec = (hex: string, fPort = 1) => codec.decodeDownlink?.({ bytes: fromHex(hex) as Uint8Array, fPort });
    expect(dec('000102587e52')?.errors).toEqual(['invalid CRC 0x7e52 (expected 0x7e51 for 00010258)']);
    expect(dec('00010258')?.errors).toEqual(['invalid downlink length 4: expected 6 bytes (command, parameter, CRC)']);
    expect(dec('000102587e51', 2)?.errors).toEqual(['invalid fPort 2: DL-PM downlinks use fPort 1']);
    expect(dec('00ff0000' + crc16Modbus([0, 0xff, 0, 0]).toString(16).padStart(4, '0'))?.errors).toEqual(['unknown command 0x00ff at offset 0']);
    const resetWithParam = [0xfe, 0xfe, 0, 1];
    const r = dec(toHex([...resetWithParam, crc16Modbus(resetWithParam) >> 8, crc16Modbus(resetWithParam) & 0xff]));
    expect(r).toEqual({ data: { command: 'reset' }, warnings: ['command "reset" takes no parameter but carries 1'] });
  });
});
