import { describe, expect, it } from 'vitest';
import { AesKeyCache } from './session-keys-cache.ts';

describe('AesKeyCache', () => {
  it('returns the same prepared key for the same id and buffer, keeps at most max, evicts the least recently used', () => {
    const c = new AesKeyCache(2);
    const a = Buffer.alloc(16, 1);
    const b = Buffer.alloc(16, 2);
    const d = Buffer.alloc(16, 3);
    const ka = c.get('a', a);
    expect(c.get('a', a)).toBe(ka);
    expect(ka.bytes.equals(a)).toBe(true);
    c.get('b', b);
    c.get('a', a); // a is now the most recent
    c.get('d', d); // evicts b
    expect(c.size).toBe(2);
    expect(c.get('a', a)).toBe(ka);
    expect(c.get('b', b).bytes.equals(b)).toBe(true);
    expect(c.size).toBe(2);
  });

  it('a new key buffer under the same id (a re-join) gets a new prepared key', () => {
    const c = new AesKeyCache(4);
    const k1 = c.get('dev', Buffer.alloc(16, 1));
    const k2 = c.get('dev', Buffer.alloc(16, 9));
    expect(k2).not.toBe(k1);
    expect(k2.bytes.equals(Buffer.alloc(16, 9))).toBe(true);
    expect(c.size).toBe(1);
  });
});
