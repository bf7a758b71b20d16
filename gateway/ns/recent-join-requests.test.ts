// The memory of accepted join-requests that tells another gateway's late copy from a DevNonce reuse.
import { describe, expect, it } from 'vitest';
import { RecentJoinRequests } from './recent-join-requests.ts';

const req = (nonce: number): Uint8Array => Uint8Array.from({ length: 23 }, (_, i) => (i === 17 ? nonce : i));

describe('RecentJoinRequests', () => {
  it('another gateway\'s copy of the same bytes within the horizon is late; the same gateway, other bytes, or later are not', () => {
    const r = new RecentJoinRequests(1000, 8);
    r.accept(req(1), ['gw1', 'gw2'], 0);
    expect(r.isLateCopy(req(1), ['gw3'], 999)).toBe(true);
    expect(r.isLateCopy(req(1), ['gw3', 'gw1'], 10)).toBe(false); // gw1 heard it again: a second transmission
    expect(r.isLateCopy(req(1), ['gw2'], 10)).toBe(false);
    expect(r.isLateCopy(req(2), ['gw3'], 10)).toBe(false);
    const mic = req(1);
    mic[22] = 0xff;
    expect(r.isLateCopy(mic, ['gw3'], 10)).toBe(false);
    expect(r.isLateCopy(req(1), ['gw3'], 1000)).toBe(false); // the horizon passed
    expect(r.size).toBe(0);
  });

  it('holds at most max entries, dropping the oldest', () => {
    const r = new RecentJoinRequests(60_000, 4);
    for (let n = 0; n < 10; n++) r.accept(req(n), ['gw1'], n);
    expect(r.size).toBe(4);
    expect(r.isLateCopy(req(5), ['gw2'], 20)).toBe(false);
    expect(r.isLateCopy(req(6), ['gw2'], 20)).toBe(true);
    expect(r.isLateCopy(req(9), ['gw2'], 20)).toBe(true);
  });

  it('a view into a larger buffer is keyed by its own bytes', () => {
    const r = new RecentJoinRequests();
    const big = new Uint8Array(64);
    big.set(req(3), 10);
    r.accept(big.subarray(10, 33), ['gw1'], 0);
    expect(r.isLateCopy(req(3), ['gw2'], 1)).toBe(true);
  });
});
