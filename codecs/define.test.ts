import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ByteReader, PayloadError } from './bytes.ts';
import { defineCodec, findNonJson } from './define.ts';

const base = {
  id: 'test/codec',
  name: 'test',
  category: 'generic' as const,
  fPorts: [1],
  normalizeUplink: () => ({ readings: [] }),
  encodeUplink: () => ({ bytes: [1], fPort: 1 }),
};

describe('defineCodec', () => {
  it('turns PayloadError into errors and other exceptions into internal errors', () => {
    const c = defineCodec({
      ...base,
      decodeUplink: ({ bytes }) => {
        if (bytes[0] === 1) throw new TypeError('boom');
        return { data: { v: new ByteReader(bytes).u16be('value') } };
      },
    });
    expect(c.decodeUplink({ bytes: [1, 2], fPort: 1 })).toEqual({ errors: ['internal decoder error: boom'] });
    expect(c.decodeUplink({ bytes: [2], fPort: 1 }).errors?.[0]).toMatch(/^truncated payload: value needs 2 byte/);
    expect(c.decodeUplink({ bytes: [2, 3], fPort: 1 })).toEqual({ data: { v: 0x0203 } });
  });

  it('reports non-JSON values instead of returning them', () => {
    const c = defineCodec({ ...base, decodeUplink: () => ({ data: { a: { b: Number.NaN } } }) });
    expect(c.decodeUplink({ bytes: [1], fPort: 1 }).errors).toEqual(['decoder produced a non-JSON value at data.a.b = NaN']);
    const d = defineCodec({ ...base, decodeUplink: () => ({ data: { when: new Date(0) as never } }) });
    expect(d.decodeUplink({ bytes: [1], fPort: 1 }).errors?.[0]).toContain('data.when (not a plain object)');
  });

  it('rejects empty payloads unless the codec accepts them, and bad ports', () => {
    const c = defineCodec({ ...base, decodeUplink: () => ({ data: {} }) });
    expect(c.decodeUplink({ bytes: [], fPort: 1 }).errors?.[0]).toContain('empty payload');
    expect(c.decodeUplink({ bytes: [1], fPort: 0 }).errors?.[0]).toContain('MAC commands');
    expect(c.decodeUplink({ bytes: [1], fPort: 224 }).errors?.[0]).toContain('reserved');
    expect(c.decodeUplink({ bytes: [1], fPort: 1.5 }).errors?.[0]).toContain('invalid fPort');
    const e = defineCodec({ ...base, acceptsEmpty: true, decodeUplink: () => ({ data: { empty: true } }) });
    expect(e.decodeUplink({ bytes: [], fPort: 1 })).toEqual({ data: { empty: true } });
  });

  it('wraps the downlink functions the same way', () => {
    const c = defineCodec({
      ...base,
      decodeUplink: () => ({ data: {} }),
      encodeDownlink: ({ data }) => {
        if (typeof data['interval'] !== 'number') throw new PayloadError('interval must be a number');
        return { bytes: [data['interval']], fPort: 1 };
      },
      decodeDownlink: ({ bytes }) => ({ data: { interval: new ByteReader(bytes).u16be() } }),
    });
    expect(c.encodeDownlink?.({ data: { interval: 'x' } })).toEqual({ errors: ['interval must be a number'] });
    expect(c.encodeDownlink?.(null as never).errors?.[0]).toContain('input must be an object');
    expect(c.decodeDownlink?.({ bytes: [1], fPort: 1 }).errors?.[0]).toContain('truncated');
  });

  it('findNonJson gives the path of the first non-JSON value, as a plain recursive walk would', () => {
    // The definition; findNonJson runs a faster walk first and builds paths only on failure.
    const reference = (value: unknown, path = 'data', depth = 0): string | undefined => {
      if (depth > 64) return `${path} (nested too deep)`;
      if (value === null || typeof value === 'string' || typeof value === 'boolean') return undefined;
      if (typeof value === 'number') return Number.isFinite(value) ? undefined : `${path} = ${value}`;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          const bad = reference(value[i], `${path}[${i}]`, depth + 1);
          if (bad) return bad;
        }
        return undefined;
      }
      if (typeof value === 'object') {
        const proto = Object.getPrototypeOf(value) as unknown;
        if (proto !== Object.prototype && proto !== null) return `${path} (not a plain object)`;
        for (const k in value) {
          const bad = reference((value as Record<string, unknown>)[k], `${path}.${k}`, depth + 1);
          if (bad) return bad;
        }
        return undefined;
      }
      return `${path} (${typeof value})`;
    };
    const values = fc.anything({ withBoxedValues: true, withMap: true, withNullPrototype: true, withDate: true, withTypedArray: true, withSparseArray: true, withBigInt: true });
    fc.assert(
      fc.property(values, fc.integer({ min: 0, max: 66 }), (value, depth) => {
        expect(findNonJson(value)).toBe(reference(value));
        expect(findNonJson(value, 'p', depth)).toBe(reference(value, 'p', depth));
      }),
      { numRuns: 5000 },
    );
    const nest = (n: number, leaf: unknown): unknown => (n === 0 ? leaf : { k: nest(n - 1, leaf) });
    for (let n = 62; n <= 66; n++) {
      for (const leaf of [1, 'x', null, {}, [], [1], Number.NaN]) expect(findNonJson(nest(n, leaf))).toBe(reference(nest(n, leaf)));
    }
  });
});
