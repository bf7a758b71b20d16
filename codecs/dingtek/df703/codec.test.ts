import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { fromHex, toHex } from '../../bytes.ts';
import { describeVectorFile } from '../../testing/vectors.ts';
import { roundTrip } from './arbitrary.ts';
import { codec } from './codec.ts';

const decode = (hex: string, fPort = 3) => codec.decodeUplink({ bytes: fromHex(hex) as Uint8Array, fPort });

/** A 17-byte data frame with the given body bytes 5..15 (hex, 11 bytes). */
const plain = (body: string): string => `8000010111${body}81`;

describeVectorFile(codec, 'dingtek/df703.json', {
  deviations: {
    'heartbeat upload with gps':
      'the reference codec converts float32 with a non-IEEE mantissa (m/0x7fffff) and returns strings "116.507430"/"40.038999"; ' +
      'lorawan-edge decodes IEEE-754 float32 LE and returns numbers 116.507423/40.038998',
  },
});

describe('dingtek/df703 uplink', () => {
  it('decodes a hand-built frame: level, signed temperature, negative angle, alarm nibbles, frame counter', () => {
    // level 0x0bb8 = 3000 mm, no GPS, temperature 0xe2 = -30 °C, angle sign 01 + 0x5a = -90°,
    // alarms 0x01 (fire only) and 0x10 (tilt only), frame counter 0x1234.
    expect(decode(plain('0bb8' + '00' + 'e2' + '015a' + '01' + '10' + '1234' + '00'))).toEqual({
      data: {
        level: 3000,
        alarmLevel: false,
        alarmFire: true,
        alarmFall: true,
        alarmBattery: false,
        angle: -90,
        temperature: -30,
        frameCounter: 0x1234,
      },
    });
  });

  it('temperature covers the whole signed byte', () => {
    expect(decode(plain('0064' + '00' + '80' + '0000' + '00' + '00' + '0001' + '00')).data?.['temperature']).toBe(-128);
    expect(decode(plain('0064' + '00' + '7f' + '0000' + '00' + '00' + '0001' + '00')).data?.['temperature']).toBe(127);
  });

  it('the angle sign comes from the low nibble of the sign byte; a zero angle is never -0', () => {
    expect(decode(plain('0064' + '00' + '14' + '001e' + '00' + '00' + '0001' + '00')).data?.['angle']).toBe(30);
    expect(decode(plain('0064' + '00' + '14' + '011e' + '00' + '00' + '0001' + '00')).data?.['angle']).toBe(-30);
    expect(Object.is(decode(plain('0064' + '00' + '14' + '0100' + '00' + '00' + '0001' + '00')).data?.['angle'], 0)).toBe(true);
  });

  it('decodes GPS as IEEE-754 float32 little-endian numbers (reference bug 1)', () => {
    const r = decode('800001011907d001cd03e942ef272042190000000000010081');
    expect(r.data?.['longitude']).toBe(116.507423);
    expect(r.data?.['latitude']).toBe(40.038998);
  });

  it('omits an impossible GPS position with a warning instead of emitting garbage', () => {
    // longitude float32 = NaN (ffffffff)
    const r = decode('800001011907d001ffffffffef272042190000000000010081');
    expect(r.data?.['longitude']).toBeUndefined();
    expect(r.data?.['level']).toBe(2000);
    expect(r.warnings).toEqual(['GPS position at offsets 8-15 is not a valid longitude/latitude (float32 LE); omitted']);
  });

  // Defect class: a parameter field constant instead of read from its byte (workMode was always 0).
  // Each field of the parameter frame is read from its own byte: distinct values in each.
  it('reads every parameter field from its own byte, workMode from byte 13', () => {
    for (const mode of [0, 1, 2, 0xff]) {
      const hex = '8000010319' + '0205' + '0c' + '0a' + '28' + '46' + '2d' + '01' + mode.toString(16).padStart(2, '0') + '00'.repeat(10) + '81';
      expect(decode(hex).data).toEqual({
        firmware: '2.5',
        uploadInterval: 12,
        detectInterval: 10,
        levelThreshold: 40,
        fireThreshold: 70,
        fallThreshold: 45,
        fallEnable: true,
        workMode: mode,
      });
    }
  });

  it('reports malformed frames precisely', () => {
    expect(decode('8000').errors).toEqual(['truncated payload: 2 byte(s), a DF703 frame header needs 5']);
    expect(decode('800001011907d000190000000000010081').errors).toEqual([
      'length mismatch: length byte at offset 4 says 25 bytes, frame has 17',
    ]);
    expect(decode('800001010681').errors).toEqual(['truncated payload: level needs 2 byte(s) at offset 5, 1 left']);
    expect(decode(plain('0064' + '02' + '14' + '0000' + '00' + '00' + '0001' + '00')).errors).toEqual([
      'bad GPS flag 2 at offset 7: expected 0 or 1',
    ]);
    expect(decode('8000010311' + '010418011e4b1e00000000' + '81').errors).toEqual(['parameter frame must be 25 bytes, got 17']);
    expect(decode('800001011107d000190000000000010081', 85).errors).toEqual(['unknown FPort']);
  });
});

describe('dingtek/df703 normalize', () => {
  it('maps data to bin-fill readings and warns when the geometry is missing', () => {
    const data = decode(plain('0320' + '00' + 'fd' + '010a' + '10' + '01' + '0005' + '00')).data!;
    expect(codec.normalizeUplink(data, {})).toEqual({
      readings: [
        {
          values: {
            distance_mm: 800,
            temperature_c: -3,
            tilt_deg: -10,
            alarm_full: true,
            alarm_fire: false,
            alarm_tilt: false,
            alarm_low_battery: true,
          },
        },
      ],
      warnings: ['no fill_pct: device variable container_depth_mm is not set (or not a positive number)'],
    });
    const withGeometry = codec.normalizeUplink(data, { variables: { container_depth_mm: 1000 } });
    expect(withGeometry.readings[0]?.values['fill_pct']).toBe(20);
    expect(withGeometry.warnings).toBeUndefined();
  });

  it('gives no readings for a parameter frame', () => {
    const data = decode('8000010319010418011e4b1e00000000000000000000000081').data!;
    expect(codec.normalizeUplink(data, {})).toEqual({ readings: [] });
  });

  it('rejects data of the wrong shape with an error', () => {
    expect(codec.normalizeUplink({ level: 'full' }, {}).errors).toEqual(['data.level must be a number']);
  });
});

describe('dingtek/df703 encodeUplink', () => {
  it('builds the 17-byte frame with documented defaults (20 °C, no tilt, no alarms, frame counter 0)', () => {
    const r = codec.encodeUplink({ readings: [{ values: { distance_mm: 2000 } }] });
    expect(r.fPort).toBe(3);
    expect(toHex(r.bytes ?? [])).toBe('800001011107d000140000000000000081');
  });

  it('derives the distance from fill_pct and the geometry', () => {
    const r = codec.encodeUplink({
      readings: [{ values: { fill_pct: 75, temperature_c: -7.4, tilt_deg: -12, alarm_full: true } }],
      variables: { container_depth_mm: 1100, sensor_offset_mm: 100 },
    });
    // distance = 1100 − (1100 − 100) × 0.75 = 350 = 0x015e; -7.4 °C rounds to -7 = 0xf9
    expect(toHex(r.bytes ?? [])).toBe('8000010111015e00f9010c1000000000' + '81');
  });

  it('writes GPS frames when a position is given and round-trips them', () => {
    const values = { distance_mm: 1234, latitude_deg: 52.520008, longitude_deg: 13.404954, temperature_c: 3 };
    const r = codec.encodeUplink({ readings: [{ values }] });
    expect(r.bytes).toHaveLength(25);
    const data = codec.decodeUplink({ bytes: r.bytes ?? [], fPort: 3 }).data!;
    expect(data['latitude']).toBe(52.520008);
    expect(data['longitude']).toBe(13.404954);
  });

  it('refuses what the frame cannot carry', () => {
    expect(codec.encodeUplink({ readings: [{ values: { fill_pct: 50 } }] }).errors).toEqual([
      'encodeUplink needs distance_mm (or fill_pct with container_depth_mm set)',
    ]);
    expect(codec.encodeUplink({ readings: [{ values: { distance_mm: 70000 } }] }).errors).toEqual([
      'distance_mm out of range: 70000 (allowed 0..65535)',
    ]);
    expect(codec.encodeUplink({ readings: [{ values: { distance_mm: 10 } }], fPort: 2 }).errors).toEqual([
      'DF703 sends on fPort 3 only, not 2',
    ]);
  });
});

describe('dingtek/df703 downlinks', () => {
  const settings: [string, number][] = [
    ['uploadInterval', 1],
    ['uploadInterval', 168],
    ['detectInterval', 60],
    ['levelThreshold', 15],
    ['levelThreshold', 255],
    ['fireThreshold', 0],
    ['fallThreshold', 90],
  ];
  it.each(settings)('%s = %d round-trips through encode and decode', (key, value) => {
    const enc = codec.encodeDownlink!({ data: { [key]: value } });
    expect(enc.errors).toBeUndefined();
    expect(codec.decodeDownlink!({ bytes: enc.bytes ?? [], fPort: enc.fPort ?? 0 }).data).toEqual({ [key]: value });
  });

  it('sends ASCII text with uppercase hex digits', () => {
    const enc = codec.encodeDownlink!({ data: { fallThreshold: 45 } });
    expect(String.fromCharCode(...(enc.bytes ?? []))).toBe('8002999904' + '2D' + '81');
  });

  it('rejects bad settings clearly', () => {
    expect(codec.encodeDownlink!({ data: { uploadInterval: 0 } }).errors).toEqual(['uploadInterval must be an integer 1..168 h, got 0']);
    expect(codec.encodeDownlink!({ data: { fallThreshold: 10.5 } }).errors).toEqual(['fallThreshold must be an integer 15..90 °, got 10.5']);
    expect(codec.encodeDownlink!({ data: { fallEnable: 1 } }).errors).toEqual(['fallEnable must be true or false']);
    expect(codec.encodeDownlink!({ data: { volume: 3 } }).errors?.[0]).toMatch(/^unknown setting "volume"/);
    expect(codec.encodeDownlink!({ data: { uploadInterval: 4, detectInterval: 10 } }).errors?.[0]).toMatch(/^one setting per downlink, got 2/);
  });

  it('decodes lowercase hex too and rejects what is not a DF703 command', () => {
    const text = (s: string) => Array.from(s, (c) => c.charCodeAt(0));
    expect(codec.decodeDownlink!({ bytes: text('80029999042d81'), fPort: 3 }).data).toEqual({ fallThreshold: 45 });
    expect(codec.decodeDownlink!({ bytes: text('80029999042D81'), fPort: 4 }).errors).toEqual(['DF703 downlinks use fPort 3, not 4']);
    expect(codec.decodeDownlink!({ bytes: text('800299990G2D81'), fPort: 3 }).errors?.[0]).toMatch(/^not a DF703 command/);
    expect(codec.decodeDownlink!({ bytes: text('80029999072D81'), fPort: 3 }).errors).toEqual([
      'unknown DF703 command 0x07: expected 01, 02, 03, 04, 08 or 09',
    ]);
    expect(codec.decodeDownlink!({ bytes: text('80029999040581'), fPort: 3 })).toEqual({
      data: { fallThreshold: 5 },
      warnings: ['fallThreshold 5 is outside 15..90 °'],
    });
  });

  it('decodes every option value instead of throwing (reference bug 3)', () => {
    for (let v = 0; v < 256; v++) {
      const enc = codec.encodeDownlink!({ data: { optionValue: v } });
      const dec = codec.decodeDownlink!({ bytes: enc.bytes ?? [], fPort: 3 });
      expect(dec.errors).toBeUndefined();
      expect(dec.data).toEqual(v === 0x0a ? { fallEnable: true } : v === 0x09 ? { fallEnable: false } : { optionValue: v });
    }
  });
});

describe('dingtek/df703 round trip', () => {
  // The same property as codecs/contract.test.ts, run here directly on this folder's arbitrary.
  it('normalize(decode(encodeUplink(x))) == expected(x) on the device grid', () => {
    fc.assert(
      fc.property(roundTrip.arbitrary, (input) => {
        const enc = codec.encodeUplink(input);
        const dec = codec.decodeUplink({ bytes: enc.bytes ?? [], fPort: enc.fPort ?? 0, ...(input.variables ? { variables: input.variables } : {}) });
        const norm = codec.normalizeUplink(dec.data ?? {}, input.variables ? { variables: input.variables } : {});
        expect(JSON.parse(JSON.stringify(norm.readings))).toEqual(JSON.parse(JSON.stringify(roundTrip.expected!(input))));
      }),
      { numRuns: 1000 },
    );
  });
});
