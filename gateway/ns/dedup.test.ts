import { afterEach, describe, expect, it } from 'vitest';
import type { Rxpk } from '../../lorawan/udp/types.ts';
import { ConnectedGateways } from './connected-gateways.ts';
import { DedupWindow, type Reception } from './dedup.ts';

const rx = (tmst: number): Rxpk => ({ tmst, freq: 868.1, stat: 1, modu: 'LORA', datr: 'SF9BW125', size: 3, data: new Uint8Array([1, 2, 3]) });

describe('DedupWindow early close (connected gateways)', () => {
  let t = 1_000;
  const frames: Reception[][] = [];
  let duplicates = 0;
  const windows: DedupWindow[] = [];
  const make = (connected: ConnectedGateways): DedupWindow => {
    const d = new DedupWindow(200, (f) => frames.push(f.receptions), () => duplicates++, 100, () => t);
    d.isComplete = (r) => connected.allReported(r, t);
    windows.push(d);
    return d;
  };
  afterEach(() => {
    for (const d of windows) d.clear();
    windows.length = 0;
    frames.length = 0;
    duplicates = 0;
  });
  const data = new Uint8Array([9, 9, 9]);
  const rec = (gatewayEui: string, tmst = 5): Reception => ({ gatewayEui, rxpk: rx(tmst), receivedAt: t });

  it('closes as soon as every connected gateway has reported, not before', () => {
    const c = new ConnectedGateways(20_000);
    c.pulled('a', t);
    c.pulled('b', t);
    const d = make(c);
    d.add(data, rec('a'));
    expect(frames).toHaveLength(0);
    d.add(data, rec('b'));
    expect(frames).toHaveLength(1);
    expect(frames[0]?.map((r) => r.gatewayEui)).toEqual(['a', 'b']);
    expect(d.closedEarly).toBe(1);
    expect(d.size).toBe(0);
  });

  it('one connected gateway: no wait at all; its own second copy is still a duplicate, not a new frame', () => {
    const c = new ConnectedGateways(20_000);
    c.pulled('a', t);
    const d = make(c);
    d.add(data, rec('a'));
    expect(frames).toHaveLength(1);
    t += 50;
    d.add(data, rec('a'));
    expect(frames).toHaveLength(1);
    expect(duplicates).toBe(1);
    // the same bytes at another tmst: a second transmission, a frame of its own
    d.add(data, rec('a', 99));
    expect(frames).toHaveLength(2);
    // after the window's length the memory is gone (the network server judges a later copy)
    t += 500;
    d.add(data, rec('a', 99));
    expect(frames).toHaveLength(3);
  });

  it("after an early close with two gateways, either gateway's same copy is a duplicate; another tmst is a new frame", () => {
    const c = new ConnectedGateways(20_000);
    c.pulled('a', t);
    c.pulled('b', t);
    const d = make(c);
    d.add(data, rec('a', 5));
    d.add(data, rec('b', 6));
    expect(frames).toHaveLength(1);
    d.add(data, rec('b', 6));
    d.add(data, rec('a', 5));
    expect(duplicates).toBe(2);
    expect(frames).toHaveLength(1);
    d.add(data, rec('b', 7)); // b heard the bytes again: a second transmission
    d.add(data, rec('a', 8));
    expect(frames).toHaveLength(2);
    expect(frames[1]?.map((r) => [r.gatewayEui, r.rxpk.tmst])).toEqual([['b', 7], ['a', 8]]);
  });

  it('a gateway whose PULL_DATA is older than the horizon is not waited for; none connected = the full window', () => {
    const c = new ConnectedGateways(20_000);
    c.pulled('a', t - 30_000);
    const d = make(c);
    d.add(data, rec('a'));
    expect(frames).toHaveLength(0); // nobody connected: nothing known, the window runs
    c.pulled('b', t);
    d.add(new Uint8Array([7]), rec('b'));
    expect(frames).toHaveLength(1);
  });

  it("a device's later frame does not close early while its earlier one is still open (order kept)", () => {
    const c = new ConnectedGateways(20_000);
    c.pulled('a', t);
    c.pulled('b', t);
    const d = make(c);
    d.sequenceKey = (x) => x[0];
    const f10 = new Uint8Array([1, 10]);
    const f11 = new Uint8Array([1, 11]);
    d.add(f10, rec('b')); // heard by b only: waits for a
    d.add(f11, rec('a'));
    d.add(f11, rec('b')); // complete, but frame 10 of the same key is open
    expect(frames).toHaveLength(0);
    d.add(new Uint8Array([2, 1]), rec('a'));
    d.add(new Uint8Array([2, 1]), rec('b')); // another key: closes at once
    expect(frames).toHaveLength(1);
    d.flushAll();
    expect(frames.map((f) => f.length)).toEqual([2, 1, 2]);
  });

  it('without isComplete the window is waited out (ChirpStack behaviour)', async () => {
    const d = new DedupWindow(30, (f) => frames.push(f.receptions), () => duplicates++);
    windows.push(d);
    d.add(data, { gatewayEui: 'a', rxpk: rx(5), receivedAt: 0 });
    expect(frames).toHaveLength(0);
    const end = Date.now() + 5_000;
    while (frames.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
    expect(frames).toHaveLength(1);
  });
});
