import { describe, expect, it } from 'vitest';
import { RecentDatagrams } from './inbox-recent.ts';

const GW = '0016c001f1500001';
/** a PUSH_DATA-shaped datagram: version, token (bytes 1-2), then `body` */
const dgram = (token: number, body = 'x'): Buffer => Buffer.concat([Buffer.from([2, token >> 8, token & 0xff, 0]), Buffer.from(body)]);

describe('RecentDatagrams (the inbox journal’s N5 memory)', () => {
  it('knows a datagram by gateway, token, length and bytes, with its entry id', async () => {
    const r = new RecentDatagrams(8);
    r.add(GW, dgram(1, 'abc'), 41);
    expect(await r.resent(GW, dgram(1, 'abc'))).toBe(41);
    expect(r.resent(GW, dgram(1, 'abd'))).toBeUndefined(); // same token and length, other bytes
    expect(r.resent(GW, dgram(1, 'abcd'))).toBeUndefined();
    expect(r.resent(GW, dgram(2, 'abc'))).toBeUndefined();
    expect(r.resent('0016c001f1500002', dgram(1, 'abc'))).toBeUndefined();
  });

  it('a datagram being written answers with its promise, then with the id; a failed write is forgotten', async () => {
    const r = new RecentDatagrams(8);
    let resolve: (id: number) => void = () => undefined;
    const p = new Promise<number>((res) => (resolve = res));
    const slot = r.add(GW, dgram(5), p);
    expect(r.resent(GW, dgram(5))).toBe(p);
    resolve(7);
    r.settled(slot, p, await p);
    expect(await r.resent(GW, dgram(5))).toBe(7);
    const failed = Promise.reject(new Error('disk full'));
    failed.catch(() => undefined);
    r.failed(r.add(GW, dgram(6), failed), failed);
    expect(r.resent(GW, dgram(6))).toBeUndefined();
  });

  it('remembers the last `capacity` datagrams; a token used again replaces the older one', async () => {
    const r = new RecentDatagrams(3);
    for (let t = 0; t < 5; t++) r.add(GW, dgram(t), t + 100);
    expect(r.size).toBe(3);
    expect(r.resent(GW, dgram(1))).toBeUndefined();
    expect(await r.resent(GW, dgram(2))).toBe(102);
    // The last three datagrams are now 3, 4 and 4': 2 has gone, 4 was replaced by 4'.
    r.add(GW, dgram(4, 'other'), 200);
    expect(r.resent(GW, dgram(4))).toBeUndefined();
    expect(await r.resent(GW, dgram(4, 'other'))).toBe(200);
    expect(r.resent(GW, dgram(2))).toBeUndefined();
    expect(await r.resent(GW, dgram(3))).toBe(103);
    expect(r.size).toBe(2);
  });

  it('a late resolution of a reused slot does not overwrite the newer datagram', async () => {
    const r = new RecentDatagrams(1);
    let resolve: (id: number) => void = () => undefined;
    const slow = new Promise<number>((res) => (resolve = res));
    const slot = r.add(GW, dgram(1), slow);
    r.add(GW, dgram(2), 9);
    resolve(1);
    r.settled(slot, slow, await slow);
    r.failed(slot, slow);
    expect(r.resent(GW, dgram(1))).toBeUndefined();
    expect(await r.resent(GW, dgram(2))).toBe(9);
  });

  it('past 16,384 gateways it forgets everything and starts again (bounded)', async () => {
    const r = new RecentDatagrams(4);
    r.add(GW, dgram(1), 1);
    for (let g = 0; g < 16_384; g++) r.add(`ff${g.toString(16).padStart(14, '0')}`, dgram(1), g);
    expect(r.resent(GW, dgram(1))).toBeUndefined();
    expect(r.size).toBeLessThanOrEqual(4);
    r.add(GW, dgram(1), 3);
    expect(await r.resent(GW, dgram(1))).toBe(3);
  });
});
