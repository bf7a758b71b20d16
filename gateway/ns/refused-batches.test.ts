// What a refused batch's retry holds (R1) and how retries go (R3, R4), with stand-in appends.
import { describe, expect, it } from 'vitest';
import type { PipelineRecord } from '../pipeline/record.ts';
import { RefusedBatches, unplaced, type RefusedBatch, type RetryOutcome } from './refused-batches.ts';

const recs = (n: number): PipelineRecord[] => Array.from({ length: n }, (_, i) => ({ id: i }) as unknown as PipelineRecord);
const row = (fCnt: number): { devEui: string; fCnt: number; logId: number; entry: number } => ({ devEui: 'd1', fCnt, logId: 0, entry: fCnt + 100 });

describe('unplaced (R1)', () => {
  it('leaves out the unstorable records, the placed prefix and skipped ones; rows follow their records', () => {
    const r = recs(6);
    const rows = [row(0), row(1), row(3), row(4), row(5)];
    // record 2 unstorable; stored order 0,1,3,4,5; the first 2 stored (0, 1) placed; record 4 skipped (a join taken back)
    const u = unplaced(r, rows, [0, 1, 3, 4, 5], [2], 2, new Set([4]));
    expect(u.records).toEqual([r[3], r[5]]);
    expect(u.rows.map((x) => x.fCnt)).toEqual([3, 5]);
    expect(u.indices).toEqual([0, 1]);
    expect(unplaced(r, [], [], [], 0).records).toHaveLength(6);
    expect(unplaced(r, rows, [0, 1, 3, 4, 5], [], 6).records).toHaveLength(0);
  });
});

describe('RefusedBatches', () => {
  function rig(maxRecords: number) {
    const tries: { b: RefusedBatch; settle: (placed: number | 'ok') => void }[] = [];
    const stored: RefusedBatch[] = [];
    const again: number[] = [];
    const q = new RefusedBatches({
      maxRecords,
      retryMs: 5,
      attempt: (b): RetryOutcome => {
        let placed = 0;
        let done!: (v: void) => void;
        let fail!: (e: Error) => void;
        const durable = new Promise<void>((res, rej) => ((done = res), (fail = rej)));
        tries.push({ b, settle: (p) => (p === 'ok' ? done() : ((placed = p), fail(new Error('LOG_FULL')))) });
        return { durable, placed: () => placed };
      },
      stored: (b) => stored.push(b),
      refusedAgain: (b) => again.push(b.records.length),
    });
    return { q, tries, stored, again };
  }
  const until = async (cond: () => boolean): Promise<void> => {
    for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
    expect(cond()).toBe(true);
  };

  it('retries the oldest first, one at a time; a retry refused after placing a prefix tries only the rest; entries done once stored', async () => {
    const { q, tries, stored, again } = rig(100);
    const a: RefusedBatch = { ...unplaced(recs(4), [row(0), row(1), row(2), row(3)], [0, 1, 2, 3], [], 0), entries: [1, 2] };
    const b: RefusedBatch = { records: recs(2), rows: [], indices: [], entries: [3] };
    expect(q.hold(a)).toBe(true);
    expect(q.hold(b)).toBe(true);
    expect(q.records).toBe(6);
    await until(() => tries.length === 1);
    tries[0]?.settle(3); // placed 3 of 4, then refused
    await until(() => tries.length === 2);
    expect(again).toEqual([1]);
    expect(tries[1]?.b.records).toHaveLength(1);
    expect(tries[1]?.b.rows.map((x) => x.fCnt)).toEqual([3]);
    expect(tries[1]?.b.indices).toEqual([0]);
    expect(q.records).toBe(3);
    tries[1]?.settle('ok');
    await until(() => tries.length === 3);
    expect(stored.map((x) => x.entries)).toEqual([[1, 2]]);
    tries[2]?.settle('ok');
    await until(() => stored.length === 2);
    expect(q.records).toBe(0);
    expect(q.batches).toBe(0);
  });

  it('holds nothing past its bound, and nothing after close', () => {
    const { q } = rig(5);
    expect(q.hold({ records: recs(4), rows: [], indices: [], entries: [] })).toBe(true);
    expect(q.hold({ records: recs(2), rows: [], indices: [], entries: [] })).toBe(false);
    expect(q.records).toBe(4);
    q.close();
    expect(q.hold({ records: recs(1), rows: [], indices: [], entries: [] })).toBe(false);
  });
});
