import { describe, expect, it } from 'vitest';
import { ByteReader, PayloadError } from './bytes.ts';
import { defineCodec } from './define.ts';

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
});
