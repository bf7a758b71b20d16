import { afterEach, describe, expect, it } from 'vitest';
import type { Rxpk } from '../../lorawan/udp/types.ts';
import { ConnectedGateways } from './connected-gateways.ts';
import { DedupWindow, type Reception } from './dedup.ts';
import { ExpectedGateways } from './expected-gateways.ts';

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

  it('forget: a copy of a forgotten early-closed frame opens a window of its own, not a late copy', () => {
    const c = new ConnectedGateways(20_000);
    c.pulled('a', t);
    const d = make(c);
    const late: string[] = [];
    d.onLateCopy = (_device, r) => late.push(r.gatewayEui);
    d.add(data, rec('a'));
    expect(frames).toHaveLength(1); // complete with its only connected gateway
    d.add(data, rec('b', 7));
    expect(late).toEqual(['b']);
    d.forget(data);
    d.add(data, rec('c', 9));
    expect(late).toEqual(['b']);
    expect(d.size).toBe(1);
  });

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

describe('DedupWindow with expected gateways (50 connected) and an answer deadline', () => {
  let t = 1_000;
  const closed: { receptions: string[]; how: string }[] = [];
  const late: string[] = [];
  let duplicates = 0;
  const windows: DedupWindow[] = [];
  const GWS = Array.from({ length: 50 }, (_, i) => `g${i}`);
  /** the network server's wiring: device = first byte, `needsAnswer` = second byte 1 */
  const make = (answerMs = Infinity): { d: DedupWindow; e: ExpectedGateways } => {
    const c = new ConnectedGateways(20_000);
    for (const g of GWS) c.pulled(g, t);
    const e = new ExpectedGateways(c);
    const d = new DedupWindow(200, (f) => closed.push({ receptions: f.receptions.map((r) => r.gatewayEui), how: f.closed }), () => duplicates++, 100, () => t);
    d.isComplete = (r, device, answer) => (answer && device !== undefined && e.covers(device, r, t)) || c.allReported(r, t);
    d.sequenceKey = (x) => x[0];
    d.deviceOf = (x) => `dev${x[0]}`;
    d.onClosed = (device, r) => e.learn(device, r);
    d.onLateCopy = (device, r) => {
      late.push(r.gatewayEui);
      if (device) e.lateCopy(device, r.gatewayEui);
    };
    d.answerMs = answerMs;
    d.needsAnswer = (x) => x[1] === 1;
    windows.push(d);
    return { d, e };
  };
  afterEach(() => {
    for (const d of windows) d.clear();
    windows.length = 0;
    closed.length = 0;
    late.length = 0;
    duplicates = 0;
  });
  const rec = (gatewayEui: string, tmst = 5): Reception => ({ gatewayEui, rxpk: rx(tmst), receivedAt: t });
  const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
  const until = async (what: () => boolean): Promise<void> => {
    const end = Date.now() + 5_000;
    while (!what() && Date.now() < end) await sleep(5);
  };

  it("a device's first frame waits the full window; once its gateway is known, its next frame closes with that gateway's copy", async () => {
    const { d } = make();
    d.add(new Uint8Array([1, 1, 10]), rec('g7'));
    expect(closed).toHaveLength(0); // 49 other connected gateways might hear it
    t += 200;
    await until(() => closed.length === 1);
    expect(closed[0]).toEqual({ receptions: ['g7'], how: 'window' });
    d.add(new Uint8Array([1, 1, 11]), rec('g7'));
    expect(closed[1]).toEqual({ receptions: ['g7'], how: 'complete' });
    expect(d.closedEarly).toBe(1);
  });

  it('heard by two: closes when both reported, and the record lists both', () => {
    const { d, e } = make();
    e.learn('dev2', [rec('g3'), rec('g4')]);
    d.add(new Uint8Array([2, 1, 10]), rec('g4'));
    expect(closed).toHaveLength(0);
    d.add(new Uint8Array([2, 1, 10]), rec('g3'));
    expect(closed).toEqual([{ receptions: ['g4', 'g3'], how: 'complete' }]);
  });

  it("a gateway new to the device, whose copy comes after the early close: a late copy (not a frame), expected from then on; the same copy again is a duplicate", () => {
    const { d, e } = make();
    e.learn('dev3', [rec('g1')]);
    const f = new Uint8Array([3, 1, 10]);
    d.add(f, rec('g1'));
    expect(closed).toHaveLength(1);
    d.add(f, rec('g2', 9));
    expect(late).toEqual(['g2']);
    expect(closed).toHaveLength(1);
    d.add(f, rec('g2', 9));
    expect(duplicates).toBe(1);
    // the next frame waits for g2 too
    d.add(new Uint8Array([3, 1, 11]), rec('g1'));
    expect(closed).toHaveLength(1);
    d.add(new Uint8Array([3, 1, 11]), rec('g2'));
    expect(closed.at(-1)).toEqual({ receptions: ['g1', 'g2'], how: 'complete' });
  });

  it('a frame that needs no answer waits for every copy even when its device\'s gateways have reported (its record lists every gateway)', async () => {
    const { d, e } = make();
    e.learn('dev9', [rec('g1')]);
    d.add(new Uint8Array([9, 0, 10]), rec('g1'));
    expect(closed).toHaveLength(0);
    d.add(new Uint8Array([9, 0, 10]), rec('g2', 8)); // a gateway at the edge of its range, this time
    t += 200;
    await until(() => closed.length === 1);
    expect(closed[0]).toEqual({ receptions: ['g1', 'g2'], how: 'window' });
    expect(late).toEqual([]);
  });

  it('a frame that needs an answer closes at its deadline; copies after it are late copies', async () => {
    const { d } = make(20);
    const f = new Uint8Array([4, 1, 10]); // unknown device, needs an answer
    d.add(f, rec('g5'));
    d.add(new Uint8Array([5, 0, 10]), rec('g5')); // no answer needed: no deadline
    t += 25;
    await until(() => closed.length === 1);
    await sleep(30);
    expect(closed).toEqual([{ receptions: ['g5'], how: 'answer_deadline' }]);
    d.add(f, rec('g6'));
    expect(late).toEqual(['g6']);
    t += 200;
    await until(() => closed.length === 2);
    expect(closed[1]).toEqual({ receptions: ['g5'], how: 'window' });
  });

  it('the answer deadline keeps the frame order: a frame whose older frame of the same key is open waits for the window', async () => {
    const { d } = make(20);
    d.add(new Uint8Array([6, 0, 10]), rec('g1'));
    d.add(new Uint8Array([6, 1, 11]), rec('g1'));
    t += 25;
    await sleep(40);
    expect(closed).toHaveLength(0);
    t += 200;
    await until(() => closed.length === 2);
    expect(closed.map((c) => c.how)).toEqual(['window', 'window']);
  });
});
