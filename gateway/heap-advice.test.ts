import { describe, expect, it } from 'vitest';
import { heapAdvice } from './gateway.ts';

const MB = 1048576;

describe('heapAdvice', () => {
  it('is silent when the heap limit leaves room (the unit’s flags give 86 MB; a city district registry)', () => {
    expect(heapAdvice(1_000, 86 * MB)).toBeUndefined();
    expect(heapAdvice(10_000, 86 * MB)).toBeUndefined();
    expect(heapAdvice(100_000, 4096 * MB)).toBeUndefined();
  });

  it('warns with a suggestion when the registry makes the cap tight', () => {
    const a = heapAdvice(100_000, 86 * MB);
    expect(a).toMatchObject({ devices: 100_000, heapLimitMb: 86 });
    expect(a?.suggestedMb).toBeGreaterThanOrEqual(192);
    expect((a?.suggestedMb ?? 1) % 32).toBe(0);
  });
});
