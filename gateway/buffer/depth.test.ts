import { describe, expect, it } from 'vitest';
import { nestsDeeperThan } from './depth.ts';

const nested = (levels: number): unknown => {
  let v: unknown = 1;
  for (let i = 0; i < levels; i++) v = i % 3 === 0 ? [v] : i % 3 === 1 ? { k: v } : new Map([['m', v]]);
  return v;
};

describe('nestsDeeperThan', () => {
  it('counts arrays, objects and maps as levels; scalars, byte arrays and dates as leaves', () => {
    expect(nestsDeeperThan(5, 0)).toBe(false);
    expect(nestsDeeperThan('x', 0)).toBe(false);
    expect(nestsDeeperThan(Buffer.alloc(4), 0)).toBe(false);
    expect(nestsDeeperThan({ a: new Date(0), b: Buffer.alloc(2) }, 1)).toBe(false);
    for (const levels of [1, 2, 3, 10, 64]) {
      expect(nestsDeeperThan(nested(levels), levels)).toBe(false);
      expect(nestsDeeperThan(nested(levels), levels - 1)).toBe(true);
    }
  });

  it('measures 100,000 levels without recursion, and the shared stacks start empty at each call', () => {
    expect(nestsDeeperThan(nested(100_000), 1000)).toBe(true);
    expect(nestsDeeperThan([[1], { a: [2] }], 3)).toBe(false);
    expect(nestsDeeperThan([[1], { a: [2] }], 2)).toBe(true);
  });

  it('gives the same answers when the shared stacks are reused by values of every shape and width', () => {
    const wide = Array.from({ length: 10_000 }, (_, i) => (i % 2 ? { a: [i] } : [i]));
    expect(nestsDeeperThan(wide, 3)).toBe(false);
    expect(nestsDeeperThan(wide, 2)).toBe(true);
    for (let i = 0; i < 50; i++) {
      expect(nestsDeeperThan(nested(i % 9 + 1), i % 9 + 1)).toBe(false);
      expect(nestsDeeperThan(nested(i % 9 + 1), i % 9)).toBe(true);
      expect(nestsDeeperThan([1, [2, [3]], { x: 'y' }], 3)).toBe(false);
    }
  });

  it('a getter that measures another value on the way does not disturb the outer walk', () => {
    const inner = { get x(): unknown {
      expect(nestsDeeperThan(nested(5), 2)).toBe(true);
      return [[[1]]];
    } };
    expect(nestsDeeperThan({ a: inner }, 4)).toBe(true);
    expect(nestsDeeperThan({ a: inner }, 5)).toBe(false);
  });
});
