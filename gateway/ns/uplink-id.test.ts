import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { uplinkId } from './network-server.ts';

describe('uplinkId', () => {
  it('is the UUID-shaped SHA-1 of devEui/seq/fCnt it always was (record ids stay stable across versions)', () => {
    const h = createHash('sha1').update('70b3d57ed0000001/3/42').digest('hex');
    const id = uplinkId('70b3d57ed0000001', 3, 42);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(id.slice(0, 8)).toBe(h.slice(0, 8));
    expect(id.slice(-12)).toBe(h.slice(20, 32));
    expect(uplinkId('70b3d57ed0000001', 3, 42)).toBe(id);
    expect(uplinkId('70b3d57ed0000001', 3, 43)).not.toBe(id);
    // Pinned: what the createHash version gave for this frame.
    expect(id).toBe('d1a29c62-e3cf-5d14-b5a0-d3bf9827bf18');
  });

  it('gives the same ids as the template-of-slices form it replaced, for every variant nibble', () => {
    const old = (devEui: string, seq: number, fCnt32: number): string => {
      const h = createHash('sha1').update(`${devEui}/${seq}/${fCnt32}`).digest('hex');
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h.slice(16, 18), 16) & 0x3f) | 0x80).toString(16)}${h.slice(18, 20)}-${h.slice(20, 32)}`;
    };
    const variants = new Set<string>();
    for (let f = 0; f < 500; f++) {
      const id = uplinkId('70b3d57ed0000001', f % 7, f);
      expect(id).toBe(old('70b3d57ed0000001', f % 7, f));
      variants.add(id.charAt(19));
    }
    expect([...variants].sort()).toEqual(['8', '9', 'a', 'b']);
  });
});
