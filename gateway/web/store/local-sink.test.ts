/**
 * Sink `local` on a real durable log: stopped mid-stream and restarted it catches up, and a crash
 * between the store's transaction and the log cursor's commit (the store ahead of the cursor)
 * applies nothing twice — every uplink counts exactly once. A record the store cannot take is
 * skipped alone.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DurableLog } from '../../buffer/index.ts';
import { tempDir } from '../../buffer/testing/tmp.ts';
import { createMetrics } from '../../metrics.ts';
import type { PipelineRecord } from '../../pipeline/record.ts';
import { RECORD_WIRE } from '../../pipeline/record-wire.ts';
import { T, uplinkRecord } from '../../schema/testing.ts';
import { LocalStore, type StoreOptions } from './local-store.ts';
import { LocalStoreSink, type LocalSinkOptions } from './local-sink.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const DEVICES = Array.from({ length: 10 }, (_, i) => `70b3d5e75e0000${String(i).padStart(2, '0')}`);
const rec = (n: number): PipelineRecord =>
  uplinkRecord(DEVICES[n % DEVICES.length] as string, { name: `d${n % DEVICES.length}`, tags: {} }, {
    id: `u${n}`,
    time: T + n * 1000,
    fCnt: n,
    decoded: { model: 'dingtek/df703', readings: [{ values: { fill_pct: n % 100 } }], warnings: [], errors: [], by: 'codec' },
  });

async function setup(extra: Partial<LocalSinkOptions> = {}): Promise<{ log: DurableLog<PipelineRecord>; storeOpts: StoreOptions; sink: () => LocalStoreSink }> {
  const tmp = await tempDir('local-sink');
  cleanups.push(tmp.remove);
  const log = await DurableLog.open<PipelineRecord>({ dir: join(tmp.dir, 'buffer'), sinks: ['local'], fsync_interval_ms: 5 }, { wire: RECORD_WIRE });
  cleanups.push(() => log.close());
  const storeOpts: StoreOptions = { file: join(tmp.dir, 'local.sqlite'), historyDays: 3650, framesPerDevice: 50, communeTag: 'commune', locationTags: { lat: 'lat', lon: 'lon' } };
  const warnings: string[] = [];
  const sink = (): LocalStoreSink =>
    new LocalStoreSink({
      name: 'local',
      log,
      store: storeOpts,
      metrics: createMetrics(),
      now: () => T,
      batchRecords: 100,
      ...extra,
      logger: { warn: (o) => void warnings.push(JSON.stringify(o)), error: (o) => void warnings.push(JSON.stringify(o)) },
    });
  return { log, storeOpts, sink };
}

async function until(what: string, ok: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function totals(file: Omit<StoreOptions, 'file'> & { file: string }): { uplinks: number; readings: number; frames: number } {
  const s = new LocalStore(file);
  try {
    let uplinks = 0;
    for (const d of DEVICES) uplinks += s.stateOf(d)?.uplinks ?? 0;
    const readings = (s.db.prepare('SELECT count(*) AS n FROM readings').get() as { n: number }).n;
    let frames = 0;
    for (const d of DEVICES) frames += s.frames(d, 1000).length;
    return { uplinks, readings, frames };
  } finally {
    s.close();
  }
}

describe('sink local', () => {
  it('stopped mid-stream and restarted, it catches up and counts every record once', async () => {
    const { log, storeOpts, sink } = await setup();
    const first = sink();
    await first.start();
    const appending = (async () => {
      for (let i = 0; i < 20; i++) await log.appendBatch(Array.from({ length: 50 }, (_, j) => rec(i * 50 + j)));
    })();
    await until('some records applied', () => first.applied >= 150);
    await first.stop();
    await first.close();
    const stoppedAt = log.committedOf('local');
    expect(stoppedAt).toBeLessThan(1000);
    await appending;
    const second = sink();
    await second.start();
    await until('caught up', () => second.pending() === 0 && log.committedOf('local') === 1000);
    await second.stop();
    await second.close();
    expect(totals(storeOpts)).toEqual({ uplinks: 1000, readings: 1000, frames: 500 });
  });

  it('a store ahead of the log cursor (crash before the cursor commit) skips what it has applied', async () => {
    const { log, storeOpts, sink } = await setup();
    await log.appendBatch(Array.from({ length: 300 }, (_, n) => rec(n)));
    // The crash: the store's transaction for the first 200 records committed, the cursor did not.
    const early = new LocalStore(storeOpts);
    const reader = log.reader('local');
    early.apply(await reader.read(200));
    await reader.close();
    early.close();
    expect(log.committedOf('local')).toBe(0);
    const s = sink();
    await s.start();
    await until('caught up', () => log.committedOf('local') === 300);
    await s.stop();
    await s.close();
    expect(totals(storeOpts)).toEqual({ uplinks: 300, readings: 300, frames: 300 });
  });

  it('a store worker that dies while the next batch is already read: a new one starts and every record counts once', async () => {
    const { log, storeOpts, sink } = await setup();
    const s = sink();
    await s.start();
    const appending = (async () => {
      for (let i = 0; i < 20; i++) await log.appendBatch(Array.from({ length: 50 }, (_, j) => rec(i * 50 + j)));
    })();
    await until('some records applied', () => s.applied >= 100);
    // The thread ends under the sink: the batch it was applying fails, the one read ahead is dropped.
    await (s as unknown as { worker: { close(): Promise<void> } }).worker.close();
    await appending;
    await until('caught up after the new worker', () => log.committedOf('local') === 1000, 60_000);
    expect(s.health().state).toBe('running');
    await s.stop();
    await s.close();
    expect(totals(storeOpts)).toEqual({ uplinks: 1000, readings: 1000, frames: 500 });
  });

  it('a pruning run stops at its step bound and the next one continues it until nothing is left', async () => {
    // 3 steps of at most 10 rows a run; 10 devices × 10 frames beyond the 2 kept + 2 of slack.
    const { log, storeOpts, sink } = await setup({ pruneStepRows: 10, pruneMaxSteps: 3, pruneAgainMs: 50, pruneEveryMs: 3_600_000 });
    storeOpts.framesPerDevice = 2;
    storeOpts.frameSlack = 2;
    await log.appendBatch(Array.from({ length: 120 }, (_, n) => rec(n)));
    const s = sink();
    await s.start();
    await until('applied', () => log.committedOf('local') === 120);
    await s.prune();
    expect(s.lastPrune).toMatchObject({ complete: false, steps: 3 });
    expect(s.lastPrune?.deleted).toBeLessThanOrEqual(30);
    await until('the continued runs finished', () => s.lastPrune?.complete === true);
    await s.stop();
    await s.close();
    // Rows in the table, not what the API shows (that is capped at framesPerDevice anyway).
    const store = new LocalStore(storeOpts);
    expect((store.db.prepare('SELECT count(*) AS n FROM frames').get() as { n: number }).n).toBe(10 * 2);
    store.close();
  });

  it('skips a record it cannot store, alone, and goes on', async () => {
    const { log, storeOpts, sink } = await setup();
    const bad = { ...rec(1), decoded: { model: 'm', readings: [{ values: null }], warnings: [], errors: [], by: 'codec' } } as unknown as PipelineRecord;
    await log.appendBatch([rec(0), bad, rec(2)]);
    const s = sink();
    await s.start();
    await until('caught up', () => log.committedOf('local') === 3);
    await s.stop();
    await s.close();
    expect(totals(storeOpts).uplinks).toBe(2);
  });
});
