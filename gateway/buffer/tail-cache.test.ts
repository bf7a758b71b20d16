import { describe, expect, it } from 'vitest';
import { TailCache } from './tail-cache.ts';

describe('TailCache', () => {
  it('keeps the newest records within the count bound, consecutive', () => {
    const c = new TailCache<string>(3, 1_000);
    for (let id = 1; id <= 5; id++) c.add(id, `v${id}`, 10);
    expect(c.firstId).toBe(3);
    expect(c.take(2, 5, 10)).toBeUndefined();
    expect(c.take(3, 5, 10)).toEqual([
      { id: 3, value: 'v3' },
      { id: 4, value: 'v4' },
      { id: 5, value: 'v5' },
    ]);
    // Never past upTo (the last durable id), never more than max.
    expect(c.take(3, 4, 10)?.map((r) => r.id)).toEqual([3, 4]);
    expect(c.take(4, 5, 1)?.map((r) => r.id)).toEqual([4]);
    expect(c.take(5, 4, 10)).toBeUndefined();
    expect(c.take(6, 9, 10)).toBeUndefined();
  });

  it('evicts by bytes, and a gap in ids starts a new run', () => {
    const c = new TailCache<number>(100, 25);
    c.add(1, 1, 10);
    c.add(2, 2, 10);
    c.add(3, 3, 10);
    expect(c.firstId).toBe(2);
    c.add(7, 7, 5);
    expect(c.firstId).toBe(7);
    expect(c.size).toBe(1);
    c.add(8, 8, 30); // larger than the whole bound: cache emptied
    expect(c.size).toBe(0);
    c.add(9, 9, 1);
    expect(c.take(9, 9, 5)).toEqual([{ id: 9, value: 9 }]);
  });

  it('stays correct across compaction', () => {
    const c = new TailCache<number>(10, 1e9);
    for (let id = 1; id <= 20_000; id++) c.add(id, id * 2, 1);
    expect(c.firstId).toBe(19_991);
    expect(c.take(19_995, 20_000, 100)?.map((r) => r.value)).toEqual([39_990, 39_992, 39_994, 39_996, 39_998, 40_000]);
  });

  it('stays correct while the ring grows and wraps, and across a gap', () => {
    const c = new TailCache<number>(5_000, 1e9);
    for (let id = 1; id <= 3_000; id++) c.add(id, -id, 1); // grown 1024 → 2048 → 4096 on the way
    expect(c.take(1, 3_000, 10_000)?.map((r) => r.id)).toEqual(Array.from({ length: 3_000 }, (_, i) => i + 1));
    for (let id = 3_001; id <= 12_345; id++) c.add(id, -id, 1);
    expect(c.size).toBe(5_000);
    expect(c.firstId).toBe(7_346);
    const got = c.take(7_346, 12_345, 10_000) ?? [];
    expect(got).toHaveLength(5_000);
    expect(got.every((r, i) => r.id === 7_346 + i && r.value === -(7_346 + i))).toBe(true);
    c.add(20_000, 1, 1); // not the next id: a new run
    expect(c.size).toBe(1);
    expect(c.take(12_345, 20_000, 10)).toBeUndefined();
    expect(c.take(20_000, 20_000, 10)).toEqual([{ id: 20_000, value: 1 }]);
  });

  it('drops what every reader has, and keeps the rest in order', () => {
    const c = new TailCache<number>(100, 1e9);
    for (let id = 1; id <= 10; id++) c.add(id, id, 1);
    c.dropThrough(0);
    expect(c.size).toBe(10);
    c.dropThrough(6);
    expect(c.firstId).toBe(7);
    expect(c.take(5, 10, 10)).toBeUndefined();
    expect(c.take(7, 10, 10)?.map((r) => r.id)).toEqual([7, 8, 9, 10]);
    c.add(11, 11, 1); // the run continues after a drop
    expect(c.take(7, 11, 10)?.map((r) => r.id)).toEqual([7, 8, 9, 10, 11]);
    c.dropThrough(50);
    expect(c.size).toBe(0);
    c.add(12, 12, 1);
    expect(c.take(12, 12, 10)).toEqual([{ id: 12, value: 12 }]);
  });

  it('does nothing when turned off', () => {
    const c = new TailCache<number>(0, 1e9);
    c.add(1, 1, 1);
    expect(c.take(1, 1, 1)).toBeUndefined();
  });
});
