import { describe, expect, it } from 'vitest';
import { SoftAesKey } from '../../lorawan/aes-soft.ts';
import { AesKeyCache } from './session-keys-cache.ts';

describe('AesKeyCache', () => {
  it('returns the same prepared key for the same id and buffer, keeps at most max, evicts the least recently used', () => {
    const c = new AesKeyCache(4);
    const a = Buffer.alloc(16, 1);
    const b = Buffer.alloc(16, 2);
    const d = Buffer.alloc(16, 3);
    const e = Buffer.alloc(16, 4);
    const f = Buffer.alloc(16, 5);
    const ka = c.get('a', a);
    expect(c.get('a', a)).toBe(ka);
    expect(ka.bytes.equals(a)).toBe(true);
    const kb = c.get('b', b);
    c.get('d', d);
    c.get('e', e);
    c.get('a', a); // a is now the most recent
    const kf = c.get('f', f); // evicts b, whose key object is recycled for f
    expect(kf).toBe(kb);
    expect(kf.bytes.equals(f)).toBe(true);
    expect(kf.encryptEcb(Buffer.alloc(16)).equals(new SoftAesKey(f).encryptEcb(Buffer.alloc(16)))).toBe(true);
    expect(c.size).toBe(4);
    expect(c.get('a', a)).toBe(ka);
    expect(c.get('b', b).bytes.equals(b)).toBe(true);
    expect(c.size).toBe(4);
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
