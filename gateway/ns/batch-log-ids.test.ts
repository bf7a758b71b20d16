import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { DurableLog } from '../buffer/index.ts';
import { BatchLogIds, NOT_PLACED, REFUSED, type AppliedRows } from './batch-log-ids.ts';
import type { AppliedUplink } from './session-store.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function openLog(extra: Record<string, unknown> = {}): Promise<DurableLog<{ n: number; pad?: string }>> {
  const dir = mkdtempSync(join(tmpdir(), 'batch-log-ids-'));
  dirs.push(dir);
  return DurableLog.open({ dir, sinks: ['s'], fsync_interval_ms: 1, max_record_bytes: 200, ...extra });
}

/** S6 rows for records 0..n-1 as the batch's transaction predicts them (base + index). */
function predicted(base: number, n: number): AppliedRows {
  const indices = Array.from({ length: n }, (_, i) => i);
  return { base, indices, rows: indices.map((i) => ({ devEui: 'd', fCnt: i, logId: base + i, entry: 1 })), pruneThrough: 0 };
}

/** The rows as the store would hold them after each correction. */
function store(applied: AppliedRows): { rows: Map<number, number>; writes: number; write: (rows: AppliedUplink[]) => void } {
  const s = {
    rows: new Map(applied.rows.map((r) => [r.fCnt, r.logId])),
    writes: 0,
    write: (rows: AppliedUplink[]): void => {
      s.writes++;
      for (const r of rows) s.rows.set(r.fCnt, r.logId);
    },
  };
  return s;
}

describe('BatchLogIds (S6 rows kept true to where the log puts the records)', () => {
  it('writes nothing when the log places the whole batch at once', async () => {
    const log = await openLog();
    const applied = predicted(log.nextId, 3);
    const st = store(applied);
    const ids = new BatchLogIds(applied, 3, st.write);
    const r = log.appendEach([{ n: 0 }, { n: 1 }, { n: 2 }], ids.onPlaced);
    ids.settle(r.rejected.map((x) => x.index));
    expect(await r.durable).toEqual([1, 2, 3]);
    expect(st.writes).toBe(0);
    await log.close();
  });

  it('marks a refused record and shifts the later ones down', async () => {
    const log = await openLog();
    const applied = predicted(log.nextId, 3);
    const st = store(applied);
    const ids = new BatchLogIds(applied, 3, st.write);
    const r = log.appendEach([{ n: 0 }, { n: 1, pad: 'x'.repeat(400) }, { n: 2 }], ids.onPlaced);
    ids.settle(r.rejected.map((x) => x.index));
    expect(await r.durable).toEqual([1, 2]);
    expect([...st.rows]).toEqual([
      [0, 1],
      [1, REFUSED],
      [2, 2],
    ]);
    await log.close();
  });

  it('a batch that waits for space: NOT_PLACED at once, the real ids when it is placed', async () => {
    const log = await openLog({ segment_bytes: 512, max_bytes: 1024, when_full: 'block', block_timeout_ms: 10_000 });
    const pad = 'p'.repeat(150);
    const first = log.appendEach(Array.from({ length: 5 }, (_, n) => ({ n, pad })));
    const firstIds = await first.durable;
    // Full now: this batch waits behind nothing, and a second one behind it.
    const a = predicted(log.nextId, 2);
    const sa = store(a);
    const ia = new BatchLogIds(a, 2, sa.write);
    // Each placement is told before the records can be durable (their flush not yet started).
    const durableWhenTold: boolean[] = [];
    const ra = log.appendEach([{ n: 10, pad }, { n: 11, pad }], (first, firstId, count) => {
      durableWhenTold.push(log.lastDurableId >= firstId);
      ia.onPlaced(first, firstId, count);
    });
    ia.settle([]);
    const b = predicted(log.nextId, 1);
    const sb = store(b);
    const ib = new BatchLogIds(b, 1, sb.write);
    const rb = log.appendEach([{ n: 20, pad }], ib.onPlaced);
    ib.settle([]);
    // Both predicted the same ids; neither placed them.
    expect(b.base).toBe(a.base);
    expect([...sa.rows.values(), ...sb.rows.values()]).toEqual([NOT_PLACED, NOT_PLACED, NOT_PLACED]);
    // The sink confirms everything: segments go, the waiters are placed in order.
    await log.commit('s', firstIds[firstIds.length - 1] as number);
    const [idsA, idsB] = await Promise.all([ra.durable, rb.durable]);
    expect([...sa.rows.values()]).toEqual(idsA);
    expect([...sb.rows.values()]).toEqual(idsB);
    expect(idsB[0]).toBe(a.base + 2); // not what b predicted: its rows were corrected
    expect(durableWhenTold.length).toBeGreaterThan(0);
    expect(durableWhenTold.every((d) => !d)).toBe(true);
    await log.close();
  });

  it('a batch the full log refuses keeps NOT_PLACED (a later record takes its predicted id)', async () => {
    const log = await openLog({ segment_bytes: 512, max_bytes: 1024, when_full: 'block', block_timeout_ms: 50 });
    const pad = 'p'.repeat(150);
    const firstIds = await log.appendEach(Array.from({ length: 5 }, (_, n) => ({ n, pad }))).durable;
    const a = predicted(log.nextId, 1);
    const sa = store(a);
    const ia = new BatchLogIds(a, 1, sa.write);
    const ra = log.appendEach([{ n: 10, pad }], ia.onPlaced);
    ia.settle([]);
    await expect(ra.durable).rejects.toThrow(/full/);
    await log.commit('s', firstIds[firstIds.length - 1] as number);
    const [later] = await log.appendEach([{ n: 11 }]).durable;
    expect(later).toBe(a.base);
    expect([...sa.rows.values()]).toEqual([NOT_PLACED]);
    await log.close();
  });
});

/**
 * The invariant against a real log (model-based, fixed seed): batches of random sizes with
 * unstorable records among them, appended while the log fills and is drained at random moments,
 * some refused after block_timeout_ms. Afterwards every row names where its record really is: the
 * id the log gave it, REFUSED for an unstorable one, NOT_PLACED for one never placed.
 */
describe('BatchLogIds against a filling and draining log (property)', () => {
  it('every row ends at its record’s real id, REFUSED or NOT_PLACED', async () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('append' as const), sizes: fc.array(fc.constantFrom(60, 120, 400), { minLength: 1, maxLength: 5 }) }),
      fc.record({ kind: fc.constant('drain' as const) }),
      fc.record({ kind: fc.constant('pause' as const) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 3, maxLength: 14 }), async (ops) => {
        const log = await openLog({ segment_bytes: 512, max_bytes: 1024, when_full: 'block', block_timeout_ms: 40 });
        let tag = 0;
        const batches: { applied: AppliedRows; st: ReturnType<typeof store>; tags: number[]; refusedIdx: number[]; outcome: Promise<number[] | 'refused'> }[] = [];
        // Where each record really is: the sink reads every durable record (tag → id) before it
        // confirms it (segments then go, and the log has room again).
        const where = new Map<number, number>();
        const reader = log.reader('s');
        const drain = async (): Promise<void> => {
          let last = 0;
          for (let b = await reader.read(1000); b.length > 0; b = await reader.read(1000)) {
            for (const rec of b) where.set(rec.value.n, rec.id);
            last = (b[b.length - 1] as { id: number }).id;
          }
          if (last > 0) await log.commit('s', last);
        };
        for (const o of ops) {
          if (o.kind === 'drain') await drain();
          else if (o.kind === 'pause') await new Promise((r) => setTimeout(r, 60)); // longer than block_timeout_ms: waiters are refused
          else {
            const tags = o.sizes.map(() => tag++);
            const values = o.sizes.map((size, i) => ({ n: tags[i] as number, pad: 'x'.repeat(size === 400 ? 400 : size) }));
            const applied = predicted(log.nextId, values.length);
            const st = store(applied);
            const ids = new BatchLogIds(applied, values.length, st.write);
            const r = log.appendEach(values, ids.onPlaced);
            const refusedIdx = r.rejected.map((x) => x.index);
            ids.settle(refusedIdx);
            batches.push({ applied, st, tags, refusedIdx, outcome: r.durable.catch(() => 'refused' as const) });
          }
        }
        // Drain until every waiter is placed or refused.
        for (let i = 0; i < 100; i++) {
          await drain();
          await new Promise((r) => setTimeout(r, 5));
          const settled = await Promise.race([Promise.all(batches.map((b) => b.outcome)).then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 5))]);
          if (settled) break;
        }
        const outcomes = await Promise.all(batches.map((b) => b.outcome));
        await drain();
        await reader.close();
        await log.close();
        batches.forEach((b, k) => {
          b.tags.forEach((t, i) => {
            const row = b.st.rows.get(i);
            if (b.refusedIdx.includes(i)) expect(row, `batch ${k} record ${i}`).toBe(REFUSED);
            else expect(row, `batch ${k} record ${i} (${String(outcomes[k])})`).toBe(where.get(t) ?? NOT_PLACED);
          });
        });
      }),
      { seed: 20261207, numRuns: 25, endOnFailure: true },
    );
  }, 120_000);
});
