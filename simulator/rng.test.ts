import { describe, expect, it } from 'vitest';
import { Rng } from './rng.ts';

describe('Rng', () => {
  it('is reproducible for the same seed and differs for another', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const c = new Rng(43);
    const sa = Array.from({ length: 100 }, () => a.u32());
    expect(Array.from({ length: 100 }, () => b.u32())).toEqual(sa);
    expect(Array.from({ length: 100 }, () => c.u32())).not.toEqual(sa);
    expect(new Rng('city').next()).toBe(new Rng('city').next());
  });

  it('gives roughly uniform and normal distributions', () => {
    const r = new Rng(7);
    const n = 20_000;
    let sum = 0;
    let sumG = 0;
    let sumG2 = 0;
    const buckets = new Array<number>(10).fill(0);
    for (let i = 0; i < n; i++) {
      const u = r.next();
      expect(u).toBeGreaterThanOrEqual(0);
      expect(u).toBeLessThan(1);
      sum += u;
      buckets[Math.floor(u * 10)]! += 1;
      const g = r.gaussian();
      sumG += g;
      sumG2 += g * g;
    }
    expect(sum / n).toBeCloseTo(0.5, 1);
    for (const b of buckets) expect(Math.abs(b - n / 10)).toBeLessThan(n / 10 / 5);
    expect(sumG / n).toBeCloseTo(0, 1);
    expect(Math.sqrt(sumG2 / n)).toBeCloseTo(1, 1);
    for (let i = 0; i < 1000; i++) {
      const k = r.int(3, 5);
      expect(k >= 3 && k <= 5 && Number.isInteger(k)).toBe(true);
    }
  });

  it('forks independent but reproducible streams', () => {
    const a = new Rng(1).fork('dev-1');
    const b = new Rng(1).fork('dev-1');
    expect(a.u32()).toBe(b.u32());
    expect(new Rng(1).fork('dev-1').u32()).not.toBe(new Rng(1).fork('dev-2').u32());
  });
});
