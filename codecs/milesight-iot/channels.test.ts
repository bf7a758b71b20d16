import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ByteWriter, fromHex } from '../bytes.ts';
import {
  BATTERY_RECORD,
  DEVICE_INFO_RECORDS,
  REBOOT,
  REPORT_INTERVAL,
  action,
  decodeCommands,
  decodeRecords,
  encodeCommands,
  flagCommand,
  float32Value,
  isoTime,
  namingOf,
  numberVariable,
  recordsResult,
  timeZoneCommand,
  uintCommand,
  type RecordSpec,
} from './channels.ts';

const DISTANCE: RecordSpec = { channel: 0x03, type: 0x82, name: 'distance', read: (r, ctx) => ctx.set('distance', r.u16le('distance')) };
const SPECS = [...DEVICE_INFO_RECORDS, BATTERY_RECORD, DISTANCE];
const COMMANDS = [
  REBOOT,
  REPORT_INTERVAL,
  action('clear_counter', [0xff, 0x4e, 0x01, 0x00]),
  action('stop_counter', [0xff, 0x4e, 0x01, 0x01]),
  flagCommand('history_enable', [0xff, 0x68]),
  timeZoneCommand(),
  uintCommand('counter', [0xff, 0x92, 0x01], 4, 0, 0xffffffff),
];

function decode(hex: string, variables: Record<string, unknown> = {}) {
  return decodeRecords(fromHex(hex) as Uint8Array, SPECS, { variables, commands: COMMANDS });
}

describe('decodeRecords', () => {
  it('reads a chain of records', () => {
    expect(decode('01755c03824408')).toEqual({ data: { battery: 92, distance: 2116 }, warnings: [], errors: [] });
  });

  // TS013: a frame that cannot be decoded whole has errors; what came before it stays.
  it('stops at an unknown record with an error naming channel, type and offset, keeping what came before', () => {
    expect(decode('01755c7701020304')).toEqual({
      data: { battery: 92 },
      warnings: [],
      errors: ['unknown record: channel 0x77 type 0x01 at offset 3: the remaining 5 byte(s) were not decoded'],
    });
  });

  it('a frame whose first record is unknown has errors and nothing decoded', () => {
    expect(decode('7701')).toEqual({ data: {}, warnings: [], errors: ['unknown record: channel 0x77 type 0x01 at offset 0: nothing decoded (not a Milesight frame?)'] });
    expect(recordsResult(decode('7701'))).toEqual({ errors: ['unknown record: channel 0x77 type 0x01 at offset 0: nothing decoded (not a Milesight frame?)'] });
  });

  it('names the record, offset and missing bytes of a truncated record, keeping the records before it', () => {
    expect(decode('01755c0382ff')).toEqual({ data: { battery: 92 }, warnings: [], errors: ['record 03 82 (distance) at offset 3: truncated payload: distance needs 2 byte(s) at offset 5, 1 left'] });
    expect(decode('01755c03').errors).toEqual(['truncated payload: record at offset 3 has channel id 0x03 but no type byte']);
    expect(decode('01755c03').data).toEqual({ battery: 92 });
    expect(recordsResult(decode('0175'))).toEqual({ errors: ['record 01 75 (battery) at offset 0: truncated payload: battery needs 1 byte(s) at offset 2, 0 left'] });
  });

  it('takes back the fields a cut-short record had already set', () => {
    const TWO: RecordSpec = {
      channel: 0x09,
      type: 0x01,
      name: 'pair',
      read(r, ctx) {
        ctx.set('first', r.u8('first'));
        ctx.set('second', r.u8('second'));
      },
    };
    const r = decodeRecords(fromHex('01755c090107') as Uint8Array, [...SPECS, TWO], { variables: {} });
    expect(r.data).toEqual({ battery: 92 });
    expect(r.errors).toEqual(['record 09 01 (pair) at offset 3: truncated payload: second needs 1 byte(s) at offset 6, 0 left']);
  });

  it('warns about a field sent twice and keeps the later value', () => {
    expect(decode('0175100175200382e803')).toEqual({ data: { battery: 32, distance: 1000 }, warnings: ['battery appears twice in the frame: the later value is kept'], errors: [] });
  });

  it('warns about a battery level above 100 %', () => {
    expect(decode('0175c8').warnings).toEqual(['battery 200 % is above 100 %']);
  });

  it('decodes device information records', () => {
    expect(decode('ff0bffff0101ff166136b13046580000ff090140ff0a0114ff0f02fffe01ffff0102').data).toEqual({
      device_status: 'on',
      ipso_version: 'v0.1',
      sn: '6136b13046580000',
      hardware_version: 'v1.4',
      firmware_version: 'v1.14',
      lorawan_class: 'Class C',
      reset_event: 'reset',
      tsl_version: 'v1.2',
    });
  });

  it('an unlisted enumerated value becomes "unknown" with the raw value in a warning', () => {
    expect(decode('ff0f09')).toEqual({ data: { lorawan_class: 'unknown' }, warnings: ['lorawan_class: unknown value 9 (0x09)'], errors: [] });
  });

  it('decodes answers to configuration commands, also on channel 0xFE', () => {
    expect(decode('ff03b004fe6801ff10ff').data).toEqual({ report_interval: 1200, history_enable: true, reboot: true });
  });

  it('prefers the longest matching command header', () => {
    expect(decode('ff4e0101').data).toEqual({ stop_counter: true });
    expect(decode('ff4e0100').data).toEqual({ clear_counter: true });
  });

  it('selects the naming from the device variable', () => {
    const w: string[] = [];
    expect(namingOf({}, w)).toBe('ttn');
    expect(namingOf({ naming: 'milesight' }, w)).toBe('milesight');
    expect(namingOf({ naming: 'chirpstack' }, w)).toBe('ttn');
    expect(w).toEqual(['device variable naming=chirpstack is not "ttn" or "milesight": using ttn']);
  });
});

describe('downlink commands', () => {
  it('encodes in the order of data and decodes back', () => {
    const data = { report_interval: 600, time_zone: -35, reboot: true, counter: 0xffffffff, history_enable: false };
    const bytes = encodeCommands(data, COMMANDS);
    expect(Buffer.from(bytes).toString('hex')).toBe('ff035802ff17ddffff10ffff9201ffffffffff6800');
    expect(decodeCommands(Uint8Array.from(bytes), COMMANDS)).toEqual(data);
  });

  it('accepts 1/0, "yes"/"no" and "enable"/"disable" for switches', () => {
    expect(encodeCommands({ reboot: 1, history_enable: 'enable' }, COMMANDS)).toEqual([0xff, 0x10, 0xff, 0xff, 0x68, 0x01]);
    expect(encodeCommands({ reboot: 'no', history_enable: 'disable' }, COMMANDS)).toEqual([0xff, 0x68, 0x00]);
  });

  it('rejects unknown commands, bad values and an empty result', () => {
    expect(() => encodeCommands({ rebot: true }, COMMANDS)).toThrow('unknown downlink command "rebot"');
    expect(() => encodeCommands({ report_interval: 30 }, COMMANDS)).toThrow('report_interval must be an integer 60..64800, got 30');
    expect(() => encodeCommands({ report_interval: '600' }, COMMANDS)).toThrow('report_interval must be an integer');
    expect(() => encodeCommands({ reboot: 'maybe' }, COMMANDS)).toThrow('reboot must be true or false');
    expect(() => encodeCommands({ reboot: false }, COMMANDS)).toThrow('nothing to send');
    expect(() => encodeCommands({ time_zone: 150 }, COMMANDS)).toThrow('time_zone must be an integer -120..140');
  });

  it('rejects unknown and truncated downlinks', () => {
    expect(() => decodeCommands(Uint8Array.from([0xff, 0x99, 0x00]), COMMANDS)).toThrow('unknown downlink command ff 99 at offset 0');
    expect(() => decodeCommands(Uint8Array.from([0xff, 0x03, 0x58]), COMMANDS)).toThrow('record ff 03 (report_interval) at offset 0: truncated payload');
    expect(() => decodeCommands(Uint8Array.from([0xff, 0x68, 0x02]), COMMANDS)).toThrow('history_enable at offset 2 must be 0 or 1, got 2');
  });
});

describe('value helpers', () => {
  it('float32Value gives the shortest decimal of a float32 and drops NaN/Infinity', () => {
    const f32 = (v: number): number => new DataView(Uint8Array.from(new ByteWriter().f32le(v).toArray()).buffer).getFloat32(0, true);
    expect(float32Value(f32(12.3))).toBe(12.3);
    expect(float32Value(f32(0.1))).toBe(0.1);
    expect(float32Value(f32(1234.5))).toBe(1234.5);
    expect(float32Value(f32(123456.789))).toBe(123456.79);
    expect(float32Value(Number.NaN)).toBeUndefined();
    expect(float32Value(Number.POSITIVE_INFINITY)).toBeUndefined();
  });

  it('float32Value is the first toPrecision length that reads back as the same float32', () => {
    // The definition, which float32Value computes without a bignum conversion per length.
    const definition = (single: number): number => {
      for (let digits = 1; digits <= 9; digits++) {
        const candidate = Number(single.toPrecision(digits));
        if (Math.fround(candidate) === single) return candidate;
      }
      return single;
    };
    const bits = new DataView(new ArrayBuffer(4));
    const singles = fc.oneof(
      fc.integer({ min: 0, max: 0xffffffff }).map((u) => {
        bits.setUint32(0, u);
        return bits.getFloat32(0);
      }),
      fc.integer({ min: -100_000_000, max: 100_000_000 }).map((k) => Math.fround(k / 1000)),
      fc.tuple(fc.integer({ min: -45, max: 38 }), fc.integer({ min: -50, max: 50 }), fc.constantFrom(1, -1, 5, -5, 1.5, 2.5, 9.5)).map(([p, ulps, m]) => {
        // around powers of ten and rounding midpoints, where a rounding can go either way
        bits.setFloat32(0, Math.fround(m * 10 ** p));
        bits.setUint32(0, (bits.getUint32(0) + ulps) >>> 0);
        return bits.getFloat32(0);
      }),
    );
    fc.assert(
      fc.property(singles, (single) => {
        if (!Number.isFinite(single)) return;
        expect(Object.is(float32Value(single), definition(single))).toBe(true);
      }),
      { numRuns: 20_000 },
    );
  });

  it('isoTime formats Unix seconds as UTC', () => {
    expect(isoTime(1665561758)).toBe('2022-10-12T08:02:38.000Z');
  });

  it('numberVariable accepts numbers and numeric strings', () => {
    expect(numberVariable({ a: 10 }, 'a')).toBe(10);
    expect(numberVariable({ a: ' 2.5 ' }, 'a')).toBe(2.5);
    expect(numberVariable({}, 'a')).toBeUndefined();
    expect(() => numberVariable({ a: 'ten' }, 'a')).toThrow('device variable a must be a non-negative number, got "ten"');
    const warnings: string[] = [];
    expect(numberVariable({ a: -1 }, 'a', warnings)).toBeUndefined();
    expect(warnings).toEqual(['device variable a must be a non-negative number, got -1']);
  });
});
