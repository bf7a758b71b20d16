import { describe, expect, it } from 'vitest';
import { chooseSpreadingFactor, distanceM, meanLink, randomPosition, receive } from './radio.ts';
import { Rng } from './rng.ts';

describe('radio model', () => {
  it('computes great-circle distances', () => {
    // 0.01° of latitude ≈ 1112 m
    expect(distanceM({ lat: 52, lon: 5 }, { lat: 52.01, lon: 5 })).toBeCloseTo(1112, -1);
  });

  it('loses signal with distance and picks higher spreading factors far away', () => {
    expect(meanLink(200).rssi).toBeGreaterThan(meanLink(2000).rssi);
    expect(chooseSpreadingFactor([150])).toBe(7);
    expect(chooseSpreadingFactor([6000])).toBeGreaterThan(chooseSpreadingFactor([1500]));
    expect(chooseSpreadingFactor([50_000])).toBe(12);
  });

  it('a near gateway hears almost every frame, a far one rarely; values are radio-like', () => {
    const rng = new Rng(9);
    let near = 0;
    let far = 0;
    for (let i = 0; i < 2000; i++) {
      for (const r of receive(rng, [300, 15_000], 7)) {
        if (r.gatewayIndex === 0) near++;
        else far++;
        expect(r.rssi).toBeLessThan(0);
        expect(r.snr).toBeLessThanOrEqual(13.5);
        expect(Number.isInteger(r.snr * 4)).toBe(true);
      }
    }
    expect(near).toBeGreaterThan(1950);
    expect(far).toBeLessThan(100);
  });

  it('random positions stay within the radius', () => {
    const rng = new Rng(4);
    for (let i = 0; i < 500; i++) {
      const p = randomPosition(rng, { lat: 52.09, lon: 5.12 }, 800);
      expect(distanceM(p, { lat: 52.09, lon: 5.12 })).toBeLessThanOrEqual(801);
    }
  });
});
