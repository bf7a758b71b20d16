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
});
