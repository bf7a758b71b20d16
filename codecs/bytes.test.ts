import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ByteReader, ByteWriter, fromBase64, fromHex, PayloadError, round, toBytes, toHex } from './bytes.ts';

describe('ByteReader', () => {
  it('reads integers of every width and endianness', () => {
    const r = new ByteReader(Uint8Array.from([0xff, 0x01, 0x02, 0xfe, 0xff, 0x01, 0x02, 0x03, 0x80, 0x00, 0x00, 0x00]));
    expect(r.i8()).toBe(-1);
    expect(r.u16le()).toBe(0x0201);
    expect(r.i16le()).toBe(-2);
    expect(r.u24be()).toBe(0x010203);
    expect(r.i32be()).toBe(-0x80000000);
    expect(r.done).toBe(true);
  });

  it('throws PayloadError naming the field, offset and bytes left on truncation', () => {
    const r = new ByteReader(Uint8Array.from([1, 2, 3]));
    r.u16be();
    expect(() => r.u16be('distance')).toThrowError(new PayloadError('truncated payload: distance needs 2 byte(s) at offset 2, 1 left'));
  });

  it('reads IEEE-754 float32 in both orders', () => {
    // 0x42e903cd = 116.50742340087890625 (the DF703 GPS example)
    expect(new ByteReader(Uint8Array.from([0xcd, 0x03, 0xe9, 0x42])).f32le()).toBeCloseTo(116.507423, 6);
    expect(new ByteReader(Uint8Array.from([0x42, 0xe9, 0x03, 0xcd])).f32be()).toBeCloseTo(116.507423, 6);
  });

  it('ByteWriter output reads back identically (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffff }),
        fc.integer({ min: -0x8000, max: 0x7fff }),
        fc.integer({ min: 0, max: 0xffffff }),
        fc.integer({ min: -0x80000000, max: 0x7fffffff }),
        fc.integer({ min: 0, max: 2 ** 48 - 1 }),
        (a, b, c, d, e) => {
          const w = new ByteWriter().u16le(a).i16be(b).u24le(c).i32le(d).uintBE(e, 6);
          const r = new ByteReader(Uint8Array.from(w.toArray()));
          expect([r.u16le(), r.i16be(), r.u24le(), r.i32le(), r.uintBE(6)]).toEqual([a, b, c, d, e]);
        },
      ),
    );
  });

  it('ByteWriter refuses values out of range instead of wrapping', () => {
    expect(() => new ByteWriter().u8(256, 'battery')).toThrowError(/battery out of range: 256/);
    expect(() => new ByteWriter().i16le(40000)).toThrowError(PayloadError);
    expect(() => new ByteWriter().u16be(1.5)).toThrowError(PayloadError);
  });
});

describe('payload text forms', () => {
  it('parses hex with spaces, colons and 0x; rejects odd length and non-hex', () => {
    expect(toHex(fromHex('0x01 AB:ff') ?? [])).toBe('01abff');
    expect(fromHex('abc')).toBeUndefined();
    expect(fromHex('zz')).toBeUndefined();
    expect(fromHex('')?.length).toBe(0);
  });

  it('parses canonical base64 only', () => {
    expect(toHex(fromBase64('AXVc') ?? [])).toBe('01755c');
    expect(fromBase64('AXV')).toBeUndefined();
    expect(fromBase64('A$==')).toBeUndefined();
  });

  it('toBytes accepts Uint8Array/Buffer/number[] and names the bad element', () => {
    expect(Array.from(toBytes(Buffer.from([1, 2])) as Uint8Array)).toEqual([1, 2]);
    expect(toBytes([1, 2])).toEqual(new Uint8Array([1, 2]));
    expect(toBytes([1, 300])).toBe('bytes[1] is not a byte (0..255): 300');
    expect(toBytes('01')).toBe('bytes must be a byte array');
  });

  it('round() removes binary noise', () => {
    expect(round(0.1 * 3, 3)).toBe(0.3);
    expect(round(2.675, 2)).toBe(2.68);
    expect(round(-1.005, 2)).toBe(-1.01);
  });
});
