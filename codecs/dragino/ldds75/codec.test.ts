import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../api.ts';
import { fromHex, toHex } from '../../bytes.ts';
import { describeVectorFile } from '../../testing/vectors.ts';
import { roundTrip } from './arbitrary.ts';
import { codec } from './codec.ts';

const decode = (hex: string, fPort = 2) => codec.decodeUplink({ bytes: fromHex(hex) as Uint8Array, fPort });

// The firmware 1.1.4 codec's naming is the data format of this codec: every example must match.
describeVectorFile(codec, 'dragino/ldds75-114.json');
// The firmware 1.2 codec is buggy for 8-byte frames, but its two examples (a 4-byte frame and an
// unknown port) are reproduced: the 4-byte frame is reported as "No Sensor", with an error.
describeVectorFile(codec, 'dragino/ldds75.json');

describe('dragino/ldds75 uplink', () => {
  it('decodes a hand-built 8-byte frame', () => {
    // battery 0x0e10 = 3600 mV, distance 0x1d4c = 7500 mm, interrupt 0, temperature 0x00fa = 25.0 °C, sensor flag 1
    expect(decode('0e101d4c0000fa01')).toEqual({
      data: { Bat: 3.6, Distance: '7500 mm', Interrupt_flag: 0, TempC_DS18B20: '25.00', Sensor_flag: 1 },
    });
  });

  it('decodes the signed DS18B20 temperature', () => {
    expect(decode('0e100bb800fe0c01').data?.['TempC_DS18B20']).toBe('-50.00');
    expect(decode('0e100bb800ffff01').data?.['TempC_DS18B20']).toBe('-0.10');
  });

  it('masks the two top bits of the battery word', () => {
    expect(decode('ce100bb800000001').data?.['Bat']).toBe(3.6);
  });

  it('never reports distance 0 or 20 as a distance', () => {
    expect(decode('0e10000000000001')).toMatchObject({ data: { Distance: 'No Sensor' }, warnings: ['distance 0: no ultrasonic sensor detected'] });
    expect(decode('0e10001400000001')).toMatchObject({ data: { Distance: 'Invalid Reading' } });
    expect(decode('0e10001500000001').data?.['Distance']).toBe('21 mm');
    expect(decode('0e10000500')).toMatchObject({ data: { Distance: '5 mm' } });
  });

  it('rejects every length other than 8, 5 and the 4-byte "No Sensor" frame', () => {
    for (const n of [1, 2, 3, 6, 7, 9, 12]) {
      expect(decode('00'.repeat(n)).errors).toEqual([
        `unexpected frame length ${n}: LDDS75 frames are 8 bytes (current firmware) or 5 bytes (legacy)`,
      ]);
    }
    expect(decode('0d3b0aef00000001', 1).errors).toEqual(['unknown FPort']);
  });

  it('reports the 4-byte frame as "No Sensor" and says why', () => {
    const r = decode('0e1c0b05');
    expect(r.data).toEqual({ distance: 'No Sensor' });
    expect(r.errors?.[0]).toMatch(/^4-byte frame is no documented LDDS75 layout/);
    expect(r.warnings).toBeUndefined();
  });
});

describe('dragino/ldds75 normalize', () => {
  it('turns the string fields into numbers', () => {
    const data = decode('0ce405dc01ff8501').data!;
    expect(codec.normalizeUplink(data, { variables: { container_depth_mm: 3000, sensor_offset_mm: 0 } })).toEqual({
      readings: [{ values: { battery_v: 3.3, distance_mm: 1500, sensor_fault: false, temperature_c: -12.3, fill_pct: 50 } }],
    });
  });

  it('reports a missing sensor as sensor_fault, without distance or fill', () => {
    const data = decode('0e10000000000001').data!;
    const n = codec.normalizeUplink(data, { variables: { container_depth_mm: 1000 } });
    expect(n.readings).toEqual([{ values: { battery_v: 3.6, sensor_fault: true, temperature_c: 0 } }]);
    expect(n.warnings).toEqual(['distance 0: no ultrasonic sensor detected']);
  });

  it('rejects data it did not produce', () => {
    expect(codec.normalizeUplink({ Bat: 3.3, Distance: '12 cm' }, {}).errors?.[0]).toMatch(/^data.Distance must be/);
    expect(codec.normalizeUplink({ Distance: '12 mm' }, {}).errors).toEqual(['data.Bat must be a number (V)']);
    expect(codec.normalizeUplink({ Bat: 3.3, Distance: '12 mm', TempC_DS18B20: '' }, {}).errors?.[0]).toMatch(/^data.TempC_DS18B20/);
  });
});

describe('dragino/ldds75 encodeUplink', () => {
  it('builds the 8-byte frame with documented defaults (3.6 V, 0 °C)', () => {
    expect(codec.encodeUplink({ readings: [{ values: { distance_mm: 2799 } }] })).toEqual({ bytes: Array.from(fromHex('0e100aef00000001')!), fPort: 2 });
  });

  it('derives the distance from fill_pct and encodes a sensor fault as distance 0', () => {
    const fill = codec.encodeUplink({ readings: [{ values: { fill_pct: 40, battery_v: 3.387, temperature_c: -0.04 } }], variables: { container_depth_mm: 2000 } });
    expect(toHex(fill.bytes ?? [])).toBe('0d3b04b000000001');
    expect(toHex(codec.encodeUplink({ readings: [{ values: { sensor_fault: true } }] }).bytes ?? [])).toBe('0e10000000000001');
  });

  it('refuses values the frame cannot carry', () => {
    expect(codec.encodeUplink({ readings: [{ values: { distance_mm: 100, battery_v: 17 } }] }).errors).toEqual([
      'battery_v out of range: 17 V (allowed 0..16.383)',
    ]);
    expect(codec.encodeUplink({ readings: [{ values: {} }] }).errors?.[0]).toMatch(/^encodeUplink needs distance_mm/);
    expect(codec.encodeUplink({ readings: [{ values: { distance_mm: 100 } }], fPort: 3 }).errors).toEqual(['LDDS75 sends on fPort 2 only, not 3']);
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

describe('dragino/ldds75 downlinks', () => {
  it('round-trips the transmit interval and reset', () => {
    const commands: JsonObject[] = [{ transmitInterval: 1 }, { transmitInterval: 0xffffff }, { transmitInterval: 600 }, { reset: true }];
    for (const data of commands) {
      const enc = codec.encodeDownlink!({ data });
      expect(codec.decodeDownlink!({ bytes: enc.bytes ?? [], fPort: enc.fPort ?? 2 }).data).toEqual(data);
    }
  });

  it('rejects bad commands', () => {
    expect(codec.encodeDownlink!({ data: { transmitInterval: 0 } }).errors).toEqual(['transmitInterval must be an integer 1..16777215 s, got 0']);
    expect(codec.encodeDownlink!({ data: { reset: false } }).errors).toEqual(['reset must be true']);
    expect(codec.encodeDownlink!({ data: { interval: 5 } }).errors?.[0]).toMatch(/^unknown command "interval"/);
    expect(codec.encodeDownlink!({ data: { reset: true, transmitInterval: 5 } }).errors?.[0]).toMatch(/^one command per downlink/);
    expect(codec.decodeDownlink!({ bytes: [0x01, 0x00], fPort: 2 }).errors).toEqual(['unknown LDDS75 command 0100: expected 01 <u24 seconds> or 04ff']);
  });
});
