import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ByteReader, fromHex } from '../../bytes.ts';
import {
  bcdValue,
  encodeTypeF,
  expandProfile,
  expandProfileInto,
  formatLocalTime,
  lvarDataLength,
  manufacturerCode,
  meterTimeToUtc,
  modifiers,
  parseTelegram,
  parseTplHeader,
  ProfilePoints,
  rawNumber,
  recordQuantity,
  scale,
  typeF,
  typeG,
  utcToMeterTime,
  zoneOffsetMinutes,
  type DataRecord,
} from './mbus.ts';

function bytes(hex: string): Uint8Array {
  const b = fromHex(hex);
  if (!b) throw new Error(`bad hex ${hex}`);
  return b;
}

function records(hex: string): DataRecord[] {
  return parseTelegram(bytes(hex)).records;
}

function only(hex: string): DataRecord {
  const r = records(hex);
  expect(r).toHaveLength(1);
  return r[0] as DataRecord;
}

describe('transport header', () => {
  it('reads no, short and long headers', () => {
    expect(parseTplHeader(new ByteReader(bytes('78')))).toEqual({ ci: 0x78, kind: 'none' });
    expect(parseTplHeader(new ByteReader(bytes('7a08100000')))).toEqual({ ci: 0x7a, kind: 'short', accessNumber: 8, status: 0x10, configuration: 0 });
    // long header of the public installation frame: ID 53885758 (BCD LE), manufacturer 0x2C37
    expect(parseTplHeader(new ByteReader(bytes('7258578853372c3c16d6100800')))).toEqual({
      ci: 0x72,
      kind: 'long',
      id: '53885758',
      manufacturer: manufacturerCode(0x2c37),
      version: 0x3c,
      medium: 0x16,
      accessNumber: 0xd6,
      status: 0x10,
      configuration: 0x0008,
    });
  });

  it('decodes manufacturer flags: 0x2C2D = KAM', () => {
    expect(manufacturerCode(0x2c2d)).toBe('KAM');
  });

  it('refuses encrypted transport layers and unknown CI fields', () => {
    // configuration word 0x0500: security mode 5 (AES-CBC) in bits 12..8
    expect(() => parseTelegram(bytes('7a08000005'))).toThrow('encrypted transport layer (security mode 5)');
    expect(() => parseTelegram(bytes('8c00'))).toThrow('unsupported CI field 0x8C at offset 0');
    expect(() => parseTelegram(bytes('7a08'))).toThrow('truncated payload: status needs 1 byte(s) at offset 2, 0 left');
  });
});

describe('data information block', () => {
  it('collects storage, tariff and subunit bits over DIFEs', () => {
    // DIF 0xC4: ext, storage LSB 1, int32; DIFE 0x9A: ext, tariff 1, storage 0xA; DIFE 0x41: subunit 1, storage 1
    const r = only('78c49a411301000000');
    expect(r).toMatchObject({ storage: 1 + 0xa * 2 + 1 * 32, tariff: 1, subunit: 2, func: 'instantaneous', coding: { kind: 'int', bytes: 4 } });
  });

  it('reads the function field', () => {
    expect(records('78123b0000223b0000323b0000').map((r) => r.func)).toEqual(['maximum', 'minimum', 'error']);
  });

  it('skips idle fillers and keeps manufacturer data after 0x0F / 0x1F', () => {
    const t = parseTelegram(bytes('782f2f01fd0c052f0fabcd'));
    expect(t.records).toHaveLength(1);
    expect(t.manufacturerData).toEqual({ offset: 8, data: bytes('abcd'), more: false });
    expect(parseTelegram(bytes('781f')).manufacturerData?.more).toBe(true);
  });

  it('rejects reserved special DIFs and endless extension chains', () => {
    expect(() => parseTelegram(bytes('783f'))).toThrow('unsupported special DIF 0x3F at offset 1');
    expect(() => parseTelegram(bytes(`7884${'80'.repeat(10)}0013`))).toThrow('record at offset 1: more than 10 DIFEs');
    expect(() => parseTelegram(bytes(`7804${'93'.repeat(11)}13`))).toThrow('record at offset 1: more than 10 VIFEs');
  });

  it('names the record and offsets when data is missing', () => {
    expect(() => parseTelegram(bytes('78023b00'))).toThrow(
      'truncated payload: data of the record at offset 1 (DIF 0x02, VIF 0x3B) needs 2 byte(s) at offset 3, 1 left',
    );
    expect(() => parseTelegram(bytes('7804'))).toThrow('truncated payload: VIF of the record at offset 1 needs 1 byte(s) at offset 2, 0 left');
  });
});

describe('value information block', () => {
  it('maps the primary table with its exponents', () => {
    expect(recordQuantity(only('780413' + '00000000'))).toEqual({ name: 'Volume', unit: 'm3', exponent: -3, kind: 'number' });
    expect(recordQuantity(only('78023b0000'))).toMatchObject({ name: 'Volume flow', unit: 'm3/h', exponent: -3 });
    expect(recordQuantity(only('78025a0000'))).toMatchObject({ name: 'Flow temperature', unit: 'C', exponent: -1 });
    expect(recordQuantity(only('780167' + '00'))).toMatchObject({ name: 'External temperature', exponent: 0 });
    expect(recordQuantity(only('780422' + '00000000'))).toMatchObject({ name: 'On time', unit: 'h' });
    expect(recordQuantity(only('78046d00000000'))).toMatchObject({ name: 'Date/time', kind: 'datetime' });
  });

  it('maps the FD and FB extension tables and plain-text units', () => {
    expect(recordQuantity(only('7802fd170000'))).toMatchObject({ name: 'Error flags', kind: 'bits' });
    expect(recordQuantity(only('7802fd4a0000'))).toMatchObject({ name: 'Voltage', unit: 'V', exponent: 1 });
    expect(recordQuantity(only('7802fb110000'))).toMatchObject({ name: 'Volume', unit: 'm3', exponent: 3 });
    // plain-text VIF: length 3, "L/h" sent reversed
    const plain = only('78017c03682f4c05');
    expect(plain.plainText).toBe('L/h');
    expect(recordQuantity(plain)).toMatchObject({ name: 'L/h', unit: 'L/h' });
  });

  it('leaves manufacturer VIFs to the codec', () => {
    const r = only('7802ff251000');
    expect(r).toMatchObject({ table: 'manufacturer', code: 0x25 });
    expect(recordQuantity(r)).toBeUndefined();
  });

  it('interprets combinable VIFEs', () => {
    expect(modifiers(only('7804933c00000000'))).toMatchObject({ qualifiers: ['Reverse'] });
    expect(modifiers(only('7804931500000000'))).toMatchObject({ recordError: 'no data available' });
    expect(modifiers(only('7804937400000000'))).toMatchObject({ exponent: -2 });
    expect(modifiers(only('7804932000000000'))).toMatchObject({ unknown: [0x20] });
    expect(only('780493ff0100000000')).toMatchObject({ manufacturerExtension: true, extensions: [] });
  });

  it('needs the VIFE of an extension table', () => {
    expect(() => parseTelegram(bytes('78027d0000'))).toThrow('record at offset 1: VIF 0x7D needs a VIFE from its extension table');
  });
});

describe('data field coding', () => {
  it('reads signed integers and treats the most negative value as invalid', () => {
    expect(rawNumber(only('78023bffff'))).toEqual({ ok: true, value: -1 });
    expect(rawNumber(only('78023b0080'))).toEqual({ ok: false, reason: 'invalid marker' });
    expect(rawNumber(only('78015b80'))).toEqual({ ok: false, reason: 'invalid marker' });
    expect(rawNumber(only('780613010000000001'))).toEqual({ ok: true, value: 2 ** 40 + 1 });
  });

  it('reads BCD with a negative sign nibble and rejects non-decimal digits', () => {
    expect(bcdValue(bytes('3412'))).toEqual({ ok: true, value: 1234 });
    expect(bcdValue(bytes('34f2'))).toEqual({ ok: true, value: -234 });
    expect(bcdValue(bytes('3a12'))).toEqual({ ok: false, reason: 'non-decimal BCD digit' });
    expect(rawNumber(only('780c1378563412'))).toEqual({ ok: true, value: 12345678 });
  });

  it('reads real32 and numeric LVARs', () => {
    expect(rawNumber(only('78053b0000c03f'))).toEqual({ ok: true, value: 1.5 });
    expect(rawNumber(only('780d13c23412'))).toEqual({ ok: true, value: 1234 });
    expect(rawNumber(only('780d13d23412'))).toEqual({ ok: true, value: -1234 });
  });

  it('sizes LVARs and rejects reserved length bytes', () => {
    expect([0x05, 0xc3, 0xd2, 0xe4, 0xf0, 0xf5, 0xf6].map(lvarDataLength)).toEqual([5, 3, 2, 4, 16, 48, 64]);
    expect(() => lvarDataLength(0xf8)).toThrow('reserved LVAR length byte 0xF8');
  });

  it('scales without binary noise', () => {
    expect(scale(7842202, -3)).toBe(7842.202);
    expect(scale(123016, -1)).toBe(12301.6);
    expect(scale(12, 2)).toBe(1200);
    expect(scale(0.1 + 0.2, 0, true)).toBe(0.3);
  });
});

describe('dates', () => {
  it('decodes type F with the hundred-year bits and the invalid flag', () => {
    expect(formatLocalTime(typeF(bytes('00331837')) as number)).toBe('2024-07-24T19:00:00.000');
    expect(formatLocalTime(typeF(bytes('00234111')) as number)).toBe('2010-01-01T03:00:00.000');
    expect(typeF(bytes('80331837'))).toBeUndefined(); // invalid flag
    expect(typeF(bytes('003f1837'))).toBeUndefined(); // hour 31
    expect(typeF(bytes('00333f32'))).toBeUndefined(); // 31 February
  });

  it('decodes type G and encodes type F', () => {
    expect(formatLocalTime(typeG(bytes('1f15')) as number)).toBe('2008-05-31T00:00:00.000');
    expect(encodeTypeF(Date.UTC(2024, 6, 24, 19, 0))).toEqual([0x00, 0x33, 0x18, 0x37]);
    expect(() => encodeTypeF(Date.UTC(2100, 0, 1))).toThrow('year 2100 outside 2000..2099');
  });
});

describe('compact profiles', () => {
  const profile = (hex: string): DataRecord => only(`780d9313${hex}`);
  const t0 = Date.UTC(2024, 0, 10, 12);

  it('walks an inverse profile back in time (positive increments, 8-bit)', () => {
    expect(expandProfile(profile('056101050000'), 'inverse', 100, t0)).toEqual([
      { raw: 95, time: t0 - 3_600_000 },
      { raw: 95, time: t0 - 2 * 3_600_000 },
      { raw: 95, time: t0 - 3 * 3_600_000 },
    ]);
  });

  it('walks a forward profile, 15-minute spacing', () => {
    expect(expandProfile(profile('04510f0203'), 'forward', 10, t0).map((p) => [p.raw, (p.time - t0) / 60_000])).toEqual([
      [12, 15],
      [15, 30],
    ]);
  });

  it('handles signed differences, negative increments and absolute values', () => {
    expect(expandProfile(profile('04e101ff02'), 'inverse', 10, t0).map((p) => p.raw)).toEqual([11, 9]);
    expect(expandProfile(profile('04a1010102'), 'inverse', 10, t0).map((p) => p.raw)).toEqual([11, 13]);
    expect(expandProfile(profile('0421010708'), 'inverse', 10, t0).map((p) => p.raw)).toEqual([7, 8]);
  });

  it('steps month ends for spacing 0xFE', () => {
    const may31 = Date.UTC(2008, 4, 31);
    expect(expandProfile(profile('047afe0100'), 'inverse', 5, may31).map((p) => formatLocalTime(p.time).slice(0, 10))).toEqual(['2008-04-30']);
  });

  it('rejects element sizes that do not divide the data and unsupported spacings', () => {
    expect(() => expandProfile(profile('056201010203'), 'inverse', 0, t0)).toThrow('3 element bytes are not a multiple of the 2-byte element size');
    // As TTN's codec: a spacing no time step has, or an invalid element, ends the profile (the
    // caller warns); the points before an invalid element stay.
    const points = new ProfilePoints();
    expect(expandProfileInto(profile('03610000'), 'inverse', 0, t0, points)).toBe(false);
    expect(points.list).toEqual([]);
    expect(expandProfileInto(profile('0661010100ffff'), 'inverse', 10, t0, points)).toBe(false);
    expect(points.list.map((p) => p.raw)).toEqual([9, 9]); // elements 1, 0, then 0xFF (invalid): 10 - 1, 9 - 0, stop
    expect(() => expandProfile(profile('03650100'), 'inverse', 0, t0)).toThrow('unsupported element coding 0x05');
    expect(expandProfileInto(profile('03690aff'), 'inverse', 0, t0, new ProfilePoints())).toBe(false);
  });
});

describe('meter time zone', () => {
  it('handles UTC, fixed offsets and IANA zones', () => {
    expect(zoneOffsetMinutes('UTC', 0)).toBe(0);
    expect(zoneOffsetMinutes('-05:30', 0)).toBe(-330);
    expect(zoneOffsetMinutes('Europe/Copenhagen', Date.UTC(2024, 6, 1))).toBe(120);
    expect(zoneOffsetMinutes('Europe/Copenhagen', Date.UTC(2024, 0, 1))).toBe(60);
    expect(zoneOffsetMinutes('Mars/Olympus', 0)).toBeUndefined();
  });

  it('converts wall clock to UTC and back', () => {
    const summer = Date.UTC(2024, 6, 24, 19, 0);
    expect(new Date(meterTimeToUtc(summer, 'Europe/Copenhagen') as number).toISOString()).toBe('2024-07-24T17:00:00.000Z');
    expect(utcToMeterTime(Date.UTC(2024, 6, 24, 17, 0), 'Europe/Copenhagen')).toBe(summer);
    expect(new Date(meterTimeToUtc(summer, '+01:00') as number).toISOString()).toBe('2024-07-24T18:00:00.000Z');
  });

  it('takes the summer-time instant in the repeated hour', () => {
    // 2023-10-29 02:30 happens twice in Copenhagen: 00:30Z (CEST) and 01:30Z (CET)
    expect(new Date(meterTimeToUtc(Date.UTC(2023, 9, 29, 2, 30), 'Europe/Copenhagen') as number).toISOString()).toBe('2023-10-29T00:30:00.000Z');
  });

  it('gives the result of the definition: offsets around the day, the earliest matching candidate', () => {
    // The definition, straight from its description; meterTimeToUtc short-cuts UTC and fixed
    // offsets and remembers IANA offsets, with the same results.
    const definition = (local: number, zone: string): number | undefined => {
      const here = zoneOffsetMinutes(zone, local);
      if (here === undefined) return undefined;
      const offsets = new Set([here, ...[-12, 12].map((h) => zoneOffsetMinutes(zone, local + h * 3_600_000) ?? here)]);
      const valid = [...offsets].map((o) => local - o * 60_000).filter((t) => zoneOffsetMinutes(zone, t) === (local - t) / 60_000);
      return valid.length > 0 ? Math.min(...valid) : local - here * 60_000;
    };
    const zones = ['UTC', 'Z', '+02:00', '-05:30', '-00:00', '+15:00', 'Europe/Copenhagen', 'America/New_York', 'Australia/Lord_Howe', 'Asia/Kathmandu', 'Nowhere/Zone'];
    // whole quarter hours around the 2024 summer-time changes, and anywhere in 1900..2100
    const locals = fc.oneof(
      fc.integer({ min: -4000, max: 4000 }).map((q) => Date.UTC(2024, 2, 31) + q * 900_000),
      fc.integer({ min: -4000, max: 4000 }).map((q) => Date.UTC(2024, 9, 27) + q * 900_000),
      fc.integer({ min: Date.UTC(1900, 0, 1), max: Date.UTC(2100, 0, 1) }),
    );
    fc.assert(
      fc.property(locals, fc.constantFrom(...zones), (local, zone) => {
        expect(Object.is(meterTimeToUtc(local, zone), definition(local, zone))).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });
});
