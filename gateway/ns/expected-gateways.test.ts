import { describe, expect, it } from 'vitest';
import type { Rxpk } from '../../lorawan/udp/types.ts';
import { ConnectedGateways } from './connected-gateways.ts';
import type { Reception } from './dedup.ts';
import { ExpectedGateways, MAX_PER_DEVICE, MISSES_TO_FORGET } from './expected-gateways.ts';

const rx: Rxpk = { tmst: 5, freq: 868.1, stat: 1, modu: 'LORA', datr: 'SF9BW125', size: 3, data: new Uint8Array([1]) };
const by = (...euis: string[]): Reception[] => euis.map((gatewayEui) => ({ gatewayEui, rxpk: rx, receivedAt: 0 }));
const T = 1_000;

function make(euis: string[], maxDevices?: number): { e: ExpectedGateways; c: ConnectedGateways } {
  const c = new ConnectedGateways(20_000);
  for (const g of euis) c.pulled(g, T);
  return { e: new ExpectedGateways(c, maxDevices), c };
}

describe('ExpectedGateways', () => {
  it('a device never heard has no set; after one frame, that frame\'s gateways are what its next frame waits for', () => {
    const { e } = make(['a', 'b', 'c']);
    expect(e.covers('d1', by('a'), T)).toBe(false);
    e.learn('d1', by('a', 'b'));
    expect(e.covers('d1', by('a'), T)).toBe(false);
    expect(e.covers('d1', by('b', 'a'), T)).toBe(true);
    expect(e.covers('d1', by('a', 'b', 'c'), T)).toBe(true);
    expect(e.covers('d2', by('a', 'b'), T)).toBe(false);
  });

  it('a gateway that misses a frame stays expected for MISSES_TO_FORGET frames, then is forgotten', () => {
    const { e } = make(['a', 'b']);
    e.learn('d', by('a', 'b'));
    for (let i = 0; i < MISSES_TO_FORGET - 1; i++) {
      e.learn('d', by('a'));
      expect(e.covers('d', by('a'), T)).toBe(false);
    }
    // hearing it again resets its count
    e.learn('d', by('a', 'b'));
    for (let i = 0; i < MISSES_TO_FORGET - 1; i++) e.learn('d', by('a'));
    expect(e.covers('d', by('a'), T)).toBe(false);
    e.learn('d', by('a'));
    expect(e.covers('d', by('a'), T)).toBe(true);
  });

  it('a late copy makes its gateway expected at once', () => {
    const { e } = make(['a', 'b']);
    e.learn('d', by('a'));
    expect(e.covers('d', by('a'), T)).toBe(true);
    e.lateCopy('d', 'b');
    expect(e.covers('d', by('a'), T)).toBe(false);
    expect(e.covers('d', by('a', 'b'), T)).toBe(true);
  });

  it('an expected gateway that stopped sending PULL_DATA is not waited for; none connected = no early close', () => {
    const { e, c } = make(['a', 'b']);
    e.learn('d', by('a', 'b'));
    expect(e.covers('d', by('a'), T + 30_000)).toBe(false); // both gone: nothing known
    c.pulled('a', T + 30_000);
    expect(e.covers('d', by('a'), T + 30_000)).toBe(true); // b gone
  });

  it(`a device heard by more than ${MAX_PER_DEVICE} gateways has no set`, () => {
    const many = Array.from({ length: MAX_PER_DEVICE + 1 }, (_, i) => `g${i}`);
    const { e } = make(many);
    e.learn('d', by(...many));
    expect(e.size).toBe(0);
    expect(e.covers('d', by(...many), T)).toBe(false);
  });

  it('bounded in devices: past the bound the first one added is forgotten and its slot reused', () => {
    const { e } = make(['a']);
    for (let i = 0; i < 10; i++) e.learn(`d${i}`, by('a'));
    expect(e.size).toBe(10);
    const { e: small } = make(['a'], 4);
    for (let i = 0; i < 10; i++) small.learn(`d${i}`, by('a'));
    expect(small.size).toBe(4);
    expect(small.covers('d0', by('a'), T)).toBe(false);
    expect(small.covers('d9', by('a'), T)).toBe(true);
  });
});
