import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Reading } from '../../api.ts';
import { fromHex, toHex } from '../../bytes.ts';
import { describeVectorFile } from '../../testing/vectors.ts';
import { roundTrip } from './arbitrary.ts';
import { codec, MISSING_BASE_TIME } from './codec.ts';

// No deviations: the reference's zone-less timestamps are kept in `data` (the meter gives no
// zone); normalizeUplink applies the meter_timezone variable.
describeVectorFile(codec, 'kamstrup/flowiq2200.json');

const MIDNIGHT = '78446d0020f32a4413ec00000052ff25100042ff1c0500623b0000523b0000615b80515b80';
const GUIDE = '7a08000000446d002cfd284413c1aa77004d9313186201270122012201260122012201210127012201220127012f';

function decode(hex: string, fPort = 1) {
  return codec.decodeUplink({ bytes: fromHex(hex) as Uint8Array, fPort });
}

describe('kamstrup/flowiq2200 decoding', () => {
  it('decodes a hand-built current-values telegram', () => {
    // 04 13 volume int32 1 L: 0x00012345 = 74565 L; 02 3B flow int16: 0xFFF6 = -10 L/h;
    // 02 FF 25 info codes 0x0009 = dry + burst; 01 FD 0C model/version 3
    const r = decode('780413452301' + '00' + '023bf6ff' + '02ff250900' + '01fd0c03');
    expect(r.warnings).toEqual([]);
    expect(r.data).toEqual({
      values: [
        { Type: 'Volume', Value: 74.565, Unit: 'm3', Timestamp: null },
        { Type: 'Volume flow', Value: -0.01, Unit: 'm3/h', Timestamp: null },
        { Type: 'Dry', Value: true, Unit: 'NA', Timestamp: null },
        { Type: 'Reverse', Value: false, Unit: 'NA', Timestamp: null },
        { Type: 'Leak', Value: false, Unit: 'NA', Timestamp: null },
        { Type: 'Burst', Value: true, Unit: 'NA', Timestamp: null },
        { Type: 'Tamper', Value: false, Unit: 'NA', Timestamp: null },
        { Type: 'Low Battery', Value: false, Unit: 'NA', Timestamp: null },
        { Type: 'Low Ambient Temperature', Value: false, Unit: 'NA', Timestamp: null },
        { Type: 'High Ambient Temperature', Value: false, Unit: 'NA', Timestamp: null },
        { Type: 'Model/Version', Value: 3, Unit: 'NA', Timestamp: null },
      ],
      latestVolume: 74.565,
    });
  });

  it('names tariffs, subunits and functions in the type', () => {
    // DIF 0x84 DIFE 0x10: tariff 1; DIF 0xA4 (minimum) DIFE 0x40: subunit 1
    const r = decode('788410130a000000a440130b000000');
    expect(r.data?.['values']).toEqual([
      { Type: 'Volume (tariff 1)', Value: 0.01, Unit: 'm3', Timestamp: null },
      { Type: 'Min Volume (subunit 1)', Value: 0.011, Unit: 'm3', Timestamp: null },
    ]);
    expect(r.data?.['latestVolume']).toBeUndefined();
  });

  it('marks the ALD invalid value 0xFFF and record-error VIFEs as invalid', () => {
    const r = decode('7802ff1cff0f04931500000000');
    expect(r.data?.['values']).toEqual([
      { Type: 'ALD last day', Value: null, Unit: 'Invalid', Timestamp: null },
      { Type: 'Volume', Value: null, Unit: 'Invalid', Timestamp: null },
    ]);
    expect(r.warnings).toEqual(['Invalid value among data', 'Invalid value among data']);
  });

  it('warns about unknown VIFs and manufacturer codes but keeps the raw value', () => {
    const r = decode('78016f0502ff191234');
    expect(r.data?.['values']).toEqual([
      { Type: 'Unknown VIF 0x6F', Value: 5, Unit: 'NA', Timestamp: null },
      { Type: 'Manufacturer specific 0x19', Value: 0x3412, Unit: 'NA', Timestamp: null },
    ]);
    expect(r.warnings).toEqual([
      'unknown VIF 0x6F in the record at offset 1',
      'unknown Kamstrup manufacturer-specific VIFE 0x19 in the record at offset 4',
    ]);
  });

  it('needs a base time for a profile', () => {
    const r = decode('784413030000004d93130461010100');
    expect(r.errors).toEqual([MISSING_BASE_TIME]);
    expect(r.data).toEqual({ values: [] });
  });

  it('reports truncation, encryption, bad CI and ports as errors without data', () => {
    expect(decode(GUIDE.slice(0, 60))).toEqual({
      errors: ['truncated payload: data of the record at offset 17 (DIF 0x4D, VIF 0x93) needs 24 byte(s) at offset 21, 9 left'],
    });
    expect(decode('7a0800000500').errors).toEqual(['encrypted transport layer (security mode 5) cannot be decoded: the meter must send unencrypted OMS']);
    expect(decode('0413').errors).toEqual(['unsupported CI field 0x04 at offset 0 (expected 0x78, 0x7A or 0x72)']);
    expect(decode(GUIDE, 3).errors).toEqual(['unknown fPort 3: the flowIQ 2200 sends its OMS telegrams on fPort 1']);
  });

  it('takes latestVolume from storage 0 when present, else the newest timed volume', () => {
    expect(decode('78446d00331837441303000000041305000000').data?.['latestVolume']).toBe(0.005);
  });
});

// Defect class: units and value-type names differing from TTN's mbusparser, and invalid
// profile values kept where TTN's codec warns and leaves them out.
describe('kamstrup/flowiq2200 names, units and profiles as TTN', () => {
  it('spells temperature units "C" and qualified types with TTN\'s prefix ("Reverse Volume", "Max …")', () => {
    // 01 5B flow temperature int8 1 °C; 01 67 external temperature; 84 3C volume with VIFE 3C;
    // 12 3B max volume flow int16
    const r = decode('78' + '015b0c' + '0167fb' + '04933c10270000' + '123b2c01');
    expect(r.data?.['values']).toEqual([
      { Type: 'Flow temperature', Value: 12, Unit: 'C', Timestamp: null },
      { Type: 'External temperature', Value: -5, Unit: 'C', Timestamp: null },
      { Type: 'Reverse Volume', Value: 10, Unit: 'm3', Timestamp: null },
      { Type: 'Max Volume flow', Value: 0.3, Unit: 'm3/h', Timestamp: null },
    ]);
    expect(codec.normalizeUplink(r.data ?? {}, {}).readings[0]?.values).toMatchObject({ water_temperature_c: 12, temperature_c: -5, volume_reverse_m3: 10 });
  });

  it('stops a profile at an invalid element with TTN\'s warning, keeping the points before it', () => {
    // date 2024-01-01 00:00 (type F), volume 1000 L, inverse profile hourly, 1-byte increments 5, 0xFF, 7
    const r = decode('78' + '446d00200131' + '4413e8030000' + '4d931305610105ff07');
    const volumes = (r.data?.['values'] as { Type: string; Value: unknown; Timestamp: string | null }[]).filter((v) => v.Type === 'Volume');
    expect(volumes.map((v) => [v.Value, v.Timestamp])).toEqual([
      [1, '2024-01-01T00:00:00.000'],
      [0.995, '2023-12-31T23:00:00.000'],
    ]);
    expect(r.warnings).toEqual(['Invalid value among profile values or timestamps for profile values']);
  });
});

describe('kamstrup/flowiq2200 normalization', () => {
  it('gives one timed reading per history value, oldest first, in UTC', () => {
    const { readings } = codec.normalizeUplink(decode(GUIDE).data ?? {}, {});
    expect(readings).toHaveLength(12);
    expect(readings[0]).toEqual({ time: '2023-08-29T01:00:00.000Z', values: { volume_m3: 7839.289 } });
    expect(readings[11]).toEqual({ time: '2023-08-29T12:00:00.000Z', values: { volume_m3: 7842.497 } });
  });

  it('applies meter_timezone (IANA or fixed offset) to the wall-clock timestamps', () => {
    const data = decode(MIDNIGHT).data ?? {};
    const cph = codec.normalizeUplink(data, { variables: { meter_timezone: 'Europe/Copenhagen' } });
    expect(cph.readings.map((r) => r.time)).toEqual(['2023-10-18T22:00:00.000Z']);
    expect(cph.readings[0]?.values).toMatchObject({ volume_m3: 0.236, alarm_tamper: true, alarm_leak: false });
    // min/max flows, invalid temperatures and ALD are not normalized readings
    expect(Object.keys(cph.readings[0]?.values ?? {})).not.toContain('flow_m3h');
    const fixed = codec.normalizeUplink(data, { variables: { meter_timezone: '-05:00' } });
    expect(fixed.readings[0]?.time).toBe('2023-10-19T05:00:00.000Z');
  });

  it('warns about an unusable meter_timezone and uses UTC', () => {
    const n = codec.normalizeUplink(decode(MIDNIGHT).data ?? {}, { variables: { meter_timezone: 'Middle/Earth' } });
    expect(n.readings[0]?.time).toBe('2023-10-19T00:00:00.000Z');
    expect(n.warnings).toEqual(['device variable meter_timezone "Middle/Earth" is not UTC, ±HH:MM or an IANA zone; using UTC']);
  });

  it('converts other flow units and maps error flags', () => {
    // 02 43 volume flow m3/min 10^-4 (0x43): 50 → 0.005 m³/min = 0.3 m³/h; FD 17 error flags 0
    const n = codec.normalizeUplink(decode('7802433200' + '02fd170000').data ?? {}, {});
    expect(n.readings).toEqual([{ values: { flow_m3h: 0.3, alarm_device_error: false } }]);
  });

  it('merges the values of one instant wherever they come in the list, and sorts instants oldest first', () => {
    const at = (Type: string, Value: number | boolean, Timestamp: string | null, Unit = 'm3') => ({ Type, Value, Unit, Timestamp });
    const [t1, t2, t3] = ['2024-07-24T01:00:00.000', '2024-07-24T02:00:00.000', '2024-07-24T03:00:00.000'];
    const data = {
      values: [
        at('Volume', 2, t2),
        at('Leak', false, t2, 'NA'),
        at('Volume', 1, t1),
        at('Volume', 3, t3),
        at('Leak', true, t2, 'NA'), // back to an earlier instant, not next to its other values
        at('Volume', 9, t2), // numbers: the first record of the instant wins
        at('Flow temperature', 12, t1, 'C'), // between the instants seen so far
        at('Volume', 7, null),
      ],
    };
    expect(codec.normalizeUplink(data, {}).readings).toEqual([
      { time: '2024-07-24T01:00:00.000Z', values: { volume_m3: 1, water_temperature_c: 12 } },
      { time: '2024-07-24T02:00:00.000Z', values: { volume_m3: 2, alarm_leak: true } },
      { time: '2024-07-24T03:00:00.000Z', values: { volume_m3: 3 } },
      { values: { volume_m3: 7 } },
    ]);
    // Ascending and descending lists give the same readings.
    const rising = { values: [at('Volume', 1, t1), at('Volume', 2, t2), at('Volume', 3, t3)] };
    const falling = { values: [...rising.values].reverse() };
    expect(codec.normalizeUplink(falling, {}).readings).toEqual(codec.normalizeUplink(rising, {}).readings);
  });

  it('ignores data that is not the decoder shape', () => {
    expect(codec.normalizeUplink({ values: 'x' }, {}).readings).toEqual([]);
    expect(codec.normalizeUplink({ values: [1, null, { Type: 'Volume', Value: '3' }] }, {}).readings).toEqual([]);
  });
});

describe('kamstrup/flowiq2200 device side', () => {
  const hourly = (litres: number[], end = '2024-07-24T19:00:00.000Z'): Reading[] =>
    litres.map((l, i) => ({ time: new Date(Date.parse(end) - (litres.length - 1 - i) * 3_600_000).toISOString(), values: { volume_m3: l / 1000 } }));

  it('builds the periodic report by hand-checked bytes', () => {
    const enc = codec.encodeUplink({ readings: hourly([0, 3, 3]) });
    // 7A ACC(=hours since 1970 & 0xFF) 00 0000 | 44 6D 00331837 | 44 13 03000000 | 4D 93 13 04 61 01 00 03 | 42 FF 25 0000
    const acc = (Date.parse('2024-07-24T19:00:00.000Z') / 3_600_000) & 0xff;
    expect(toHex(enc.bytes ?? [])).toBe(`7a${acc.toString(16).padStart(2, '0')}000000446d00331837441303000000` + '4d9313046101' + '0003' + '42ff250000');
    expect(enc.fPort).toBe(1);
  });

  it('uses 16-bit, 32-bit and signed elements when needed', () => {
    const data16 = codec.decodeUplink({ bytes: codec.encodeUplink({ readings: hourly([0, 300, 600]) }).bytes ?? [], fPort: 1 }).data;
    expect((data16?.['values'] as unknown[]).slice(0, 3)).toMatchObject([{ Value: 0.6 }, { Value: 0.3 }, { Value: 0 }]);
    const signed = codec.encodeUplink({ readings: hourly([100, 50]) }).bytes ?? [];
    expect(toHex(signed)).toContain('4d931303e101ce'); // control 0xE1: signed differences, int8: -50
    const big = codec.encodeUplink({ readings: hourly([0, 70_000]) }).bytes ?? [];
    expect(toHex(big)).toContain('4d9313066401'); // control 0x64: int32 elements
  });

  it('refuses times off the hourly grid or between minutes', () => {
    const odd = hourly([1, 2]);
    (odd[0] as Reading).time = '2024-07-24T17:30:00.000Z';
    expect(codec.encodeUplink({ readings: odd }).errors?.[0]).toMatch(/reading 0 is not 1 h before the last one/);
    expect(codec.encodeUplink({ readings: hourly([1], '2024-07-24T19:00:30.000Z') }).errors).toEqual([
      'encodeUplink: the log time must be a whole minute (type F has no seconds)',
    ]);
    expect(codec.encodeUplink({ readings: [{ values: { volume_m3: 1 } }] }).errors).toEqual(['encodeUplink: the last reading needs a time (or pass input.time)']);
  });

  it('defaults the log time to the full hour of input.time', () => {
    const enc = codec.encodeUplink({ readings: [{ values: { volume_m3: 1 } }], time: new Date('2024-07-24T19:42:10Z') });
    const n = codec.normalizeUplink(codec.decodeUplink({ bytes: enc.bytes ?? [], fPort: 1 }).data ?? {}, {});
    expect(n.readings[0]?.time).toBe('2024-07-24T19:00:00.000Z');
  });
});

describe('kamstrup/flowiq2200 round trip (same property as the contract test, static import)', () => {
  it('normalize(decode(encodeUplink(x))) == x.readings', () => {
    fc.assert(
      fc.property(roundTrip.arbitrary, (input) => {
        const variables = input.variables ? { variables: input.variables } : {};
        const enc = codec.encodeUplink(input);
        const dec = codec.decodeUplink({ bytes: enc.bytes ?? [], fPort: enc.fPort ?? 0, ...variables });
        expect(codec.normalizeUplink(dec.data ?? {}, variables).readings).toEqual(input.readings);
      }),
      { numRuns: 1000 },
    );
  });
});
