import { describe, expect, it } from 'vitest';
import { AesKeyCache } from './session-keys-cache.ts';

describe('AesKeyCache', () => {
  it('returns the same prepared key for the same buffer, keeps at most max, evicts the least recently used', () => {
    const c = new AesKeyCache(2);
    const a = Buffer.alloc(16, 1);
    const b = Buffer.alloc(16, 2);
    const d = Buffer.alloc(16, 3);
    const ka = c.get(a);
    expect(c.get(a)).toBe(ka);
    expect(ka.bytes.equals(a)).toBe(true);
    c.get(b);
    c.get(a); // a is now the most recent
    c.get(d); // evicts b
    expect(c.size).toBe(2);
    expect(c.get(a)).toBe(ka);
    const kb = c.get(b);
    expect(kb.bytes.equals(b)).toBe(true);
    expect(c.size).toBe(2);
  });
});
