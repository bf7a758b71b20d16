import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_FCNT_GAP, reconstructFCnt } from './fcnt.ts';

describe('reconstructFCnt', () => {
  it('takes the expected counter and small gaps', () => {
    expect(reconstructFCnt(0, 0)).toEqual({ ok: true, fCnt32: 0, retransmission: false, lost: 0, rolledOver: false });
    expect(reconstructFCnt(10, 5)).toMatchObject({ ok: true, fCnt32: 10, lost: 5 });
    expect(reconstructFCnt(5 + MAX_FCNT_GAP, 5)).toMatchObject({ ok: true, lost: MAX_FCNT_GAP });
  });

  it('rolls over the 16-bit boundary', () => {
    expect(reconstructFCnt(2, 0x10000)).toMatchObject({ ok: true, fCnt32: 0x10002, rolledOver: false });
    expect(reconstructFCnt(0, 0xffff)).toMatchObject({ ok: true, fCnt32: 0x10000, rolledOver: true, lost: 1 });
    expect(reconstructFCnt(0, 0x10000)).toMatchObject({ ok: true, fCnt32: 0x10000, rolledOver: false, lost: 0 });
    expect(reconstructFCnt(3, 0xfffe)).toMatchObject({ ok: true, fCnt32: 0x10003, rolledOver: true, lost: 5 });
    expect(reconstructFCnt(0x0010, 0x1fff0)).toMatchObject({ ok: true, fCnt32: 0x20010, rolledOver: true });
  });

  it('recognises a retransmission of the last frame, also across a boundary', () => {
    expect(reconstructFCnt(4, 5)).toMatchObject({ ok: true, fCnt32: 4, retransmission: true });
    expect(reconstructFCnt(0xffff, 0x10000)).toMatchObject({ ok: true, fCnt32: 0xffff, retransmission: true });
    // nothing received yet: 0xffff is not a retransmission of anything
    expect(reconstructFCnt(0xffff, 0).ok).toBe(false);
  });

  it('rejects old counters as replay and big jumps as too far', () => {
    expect(reconstructFCnt(3, 5)).toMatchObject({ ok: false, reason: 'replay', message: expect.stringContaining('2 behind') });
    expect(reconstructFCnt(0xfff0, 0x10005)).toMatchObject({ ok: false, reason: 'replay' });
    expect(reconstructFCnt(6 + MAX_FCNT_GAP, 5)).toMatchObject({ ok: false, reason: 'too-far', message: expect.stringContaining('16385 ahead') });
    expect(reconstructFCnt(40_000, 0)).toMatchObject({ ok: false, reason: 'too-far' });
  });

  it('honours a configured max gap', () => {
    expect(reconstructFCnt(110, 100, { maxGap: 10 })).toMatchObject({ ok: true, lost: 10 });
    expect(reconstructFCnt(111, 100, { maxGap: 10 })).toMatchObject({ ok: false, reason: 'too-far' });
    expect(reconstructFCnt(100, 100, { maxGap: 0 })).toMatchObject({ ok: true });
    expect(() => reconstructFCnt(1, 0, { maxGap: 70_000 })).toThrow(RangeError);
  });

  it('reports an exhausted 32-bit counter', () => {
    expect(reconstructFCnt(0xffff, 0xffffffff)).toMatchObject({ ok: true, fCnt32: 0xffffffff });
    expect(reconstructFCnt(0, 0x100000000)).toMatchObject({ ok: false, reason: 'exhausted' });
    expect(reconstructFCnt(5, 0xfffffffe)).toMatchObject({ ok: false, reason: 'exhausted' });
  });

  it('rejects arguments out of range', () => {
    expect(() => reconstructFCnt(0x10000, 0)).toThrow(RangeError);
    expect(() => reconstructFCnt(1, -1)).toThrow(RangeError);
  });

  it('property: every counter within the window ahead is recovered exactly from its low 16 bits', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff - MAX_FCNT_GAP }), fc.integer({ min: 0, max: MAX_FCNT_GAP }), (e, gap) => {
        const actual = e + gap;
        const r = reconstructFCnt(actual % 0x10000, e);
        expect(r).toMatchObject({ ok: true, fCnt32: actual });
      }),
      { numRuns: 5000 },
    );
  });

  it('property: a counter 2..16384 behind is never accepted', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 0xffffffff }), fc.integer({ min: 2, max: 16384 }), (e, behind) => {
        fc.pre(e - behind >= 0);
        expect(reconstructFCnt((e - behind) % 0x10000, e).ok).toBe(false);
      }),
      { numRuns: 5000 },
    );
  });
});
