import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DurableLog, DurableLogError, LogFullError } from './index.ts';
import type { DurableLogConfig, LogRecord } from './index.ts';
import { isUplinkFor, uplinkFor } from './testing/records.ts';
import type { TestUplink } from './testing/records.ts';
import { tempDir } from './testing/tmp.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function freshDir(): Promise<string> {
  const t = await tempDir('unit');
  cleanups.push(t.remove);
  return t.dir;
}

/** Tail cache off unless asked for: these tests are about what the files hold. */
async function openLog(config: Partial<DurableLogConfig> & { dir: string }): Promise<DurableLog<TestUplink>> {
  const log = await DurableLog.open<TestUplink>({ fsync_interval_ms: 2, read_cache_records: 0, ...config });
  cleanups.push(() => log.close());
  return log;
}

async function appendRange(log: DurableLog<TestUplink>, from: number, to: number): Promise<number[]> {
  const ids: number[] = [];
  for (let id = from; id <= to; id++) ids.push(id);
  return Promise.all(ids.map((id) => log.append(uplinkFor(id))));
}

async function readAll(log: DurableLog<TestUplink>, sink: string): Promise<LogRecord<TestUplink>[]> {
  const r = log.reader(sink);
  const out: LogRecord<TestUplink>[] = [];
  for (;;) {
    const batch = await r.read(500);
    if (batch.length === 0) break;
    out.push(...batch);
  }
  await r.close();
  return out;
}

const segmentFiles = async (dir: string) => (await readdir(dir)).filter((n) => n.endsWith('.seg')).sort();

describe('durable log: append, read, commit', () => {
  it('flushSoon() makes the pending batch durable without waiting out fsync_interval_ms, also behind a running flush', async () => {
    const log = await openLog({ dir: await freshDir(), fsync_interval_ms: 600_000 });
    const within = <T,>(p: Promise<T>): Promise<T | 'not durable'> => Promise.race([p, new Promise<'not durable'>((r) => setTimeout(() => r('not durable'), 30_000))]);
    const a = log.append(uplinkFor(1));
    log.flushSoon();
    expect(await within(a)).toBe(1);
    // B starts a flush; C arrives while it runs and asks too: the next flush follows at once.
    const b = log.append(uplinkFor(2));
    log.flushSoon();
    const c = log.append(uplinkFor(3));
    log.flushSoon();
    expect(await within(Promise.all([b, c]))).toEqual([2, 3]);
    log.flushSoon(); // nothing pending: no-op
  }, 90_000);

  it('assigns ids 1.. in call order, reads them back intact and in order', async () => {
    const dir = await freshDir();
    const log = await openLog({ dir, sinks: ['influx'] });
    expect(log.nextId).toBe(1);
    const ids = await appendRange(log, 1, 300);
    expect(ids).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    const recs = await readAll(log, 'influx');
    expect(recs.map((r) => r.id)).toEqual(ids);
    for (const r of recs) expect(isUplinkFor(r.id, r.value)).toBe(true);
    expect(recs[0]?.value.raw).toBeInstanceOf(Uint8Array);
  });

  it('appendBatch gives consecutive ids and resolves once; an empty batch resolves with []', async () => {
    const dir = await freshDir();
    const log = await openLog({ dir });
    await log.append(uplinkFor(1));
    const ids = await log.appendBatch([2, 3, 4, 5].map(uplinkFor));
    expect(ids).toEqual([2, 3, 4, 5]);
    expect(await log.appendBatch([])).toEqual([]);
    expect(log.stats().last_id).toBe(5);
  });

  it('a reader starts after the committed cursor and each sink has its own', async () => {
    const dir = await freshDir();
    const log = await openLog({ dir, sinks: ['a', 'b'] });
    await appendRange(log, 1, 20);
    await log.commit('a', 12);
    expect((await readAll(log, 'a')).map((r) => r.id)).toEqual([13, 14, 15, 16, 17, 18, 19, 20]);
    expect((await readAll(log, 'b')).length).toBe(20);
    // A lower commit never moves the cursor back.
    await log.commit('a', 3);
    expect(log.stats().sinks['a']?.committed).toBe(12);
    const cursor = JSON.parse(await readFile(join(dir, 'sink-a.cursor'), 'utf8')) as unknown;
    expect(cursor).toEqual({ format: 1, sink: 'a', committed: 12 });
  });

  it('reader.rewind() goes back to the committed cursor', async () => {
    const dir = await freshDir();
    const log = await openLog({ dir, sinks: ['a'] });
    await appendRange(log, 1, 10);
    const r = log.reader('a');
    expect((await r.read(4)).map((x) => x.id)).toEqual([1, 2, 3, 4]);
    await log.commit('a', 2);
    expect((await r.read(2)).map((x) => x.id)).toEqual([5, 6]);
    await r.rewind();
    expect((await r.read(3)).map((x) => x.id)).toEqual([3, 4, 5]);
    await r.close();
  });

  it('commit refuses ids that are not durable yet', async () => {
    const dir = await freshDir();
    const log = await openLog({ dir, sinks: ['a'] });
    await appendRange(log, 1, 3);
    await expect(log.commit('a', 4)).rejects.toMatchObject({ code: 'COMMIT_OUT_OF_RANGE' });
    await expect(log.commit('a', -1)).rejects.toMatchObject({ code: 'COMMIT_OUT_OF_RANGE' });
    await expect(log.commit('a', 1.5)).rejects.toMatchObject({ code: 'COMMIT_OUT_OF_RANGE' });
  });
});

describe('durable log: group commit', () => {
  it('resolves appends only after the fdatasync, one fsync for a whole batch', async () => {
    const dir = await freshDir();
    // A window far longer than the 50 ms look below, so a loaded machine's late timer cannot
    // let the fsync happen first.
    const log = await openLog({ dir, fsync_interval_ms: 2_000, sinks: ['a'] });
    const before = log.stats().fsyncs;
    let resolved = 0;
    const all = Array.from({ length: 500 }, (_, i) => log.append(uplinkFor(i + 1)).then((id) => (resolved++, id)));
    await new Promise((r) => setTimeout(r, 50));
    expect(resolved).toBe(0);
    expect(log.stats().last_id).toBe(0);
    expect(log.stats().pending_records).toBe(500);
    expect(await log.reader('a').read(10)).toEqual([]); // readers see durable records only
    await Promise.all(all);
    const s = log.stats();
    expect(s.last_id).toBe(500);
    expect(s.fsyncs - before).toBe(1);
    expect(s.fsync_seconds_total).toBeGreaterThan(0);
    expect(s.fsync_max_ms).toBeGreaterThanOrEqual(s.fsync_last_ms);
  });

  it('flushes before the interval when flush_bytes is reached', async () => {
    const dir = await freshDir();
    const log = await openLog({ dir, fsync_interval_ms: 60_000, flush_bytes: 4096 });
    const t0 = Date.now();
    await appendRange(log, 1, 40); // ~14 KiB
    expect(Date.now() - t0).toBeLessThan(30_000); // well below the 60 s interval, even loaded
    expect(log.stats().fsyncs).toBeGreaterThanOrEqual(3);
  });

  it('a single record is acknowledged within the interval (no waiting for a next one)', async () => {
    const dir = await freshDir();
    const log = await openLog({ dir, fsync_interval_ms: 30 });
    const t0 = performance.now();
    await log.append(uplinkFor(1));
    expect(performance.now() - t0).toBeLessThan(15_000); // not waiting for a next record forever
  });
});

describe('durable log: segments', () => {
  it('rotates by size, names segments by base id, reads across them', async () => {
    const dir = await freshDir();
    const log = await openLog({ dir, segment_bytes: 2048, sinks: ['a'] });
    await appendRange(log, 1, 60);
    const files = await segmentFiles(dir);
    expect(files.length).toBeGreaterThan(5);
    expect(files[0]).toBe('00000000000000000001.seg');
    for (const f of files) expect((await stat(join(dir, f))).size).toBeLessThanOrEqual(2048);
    expect(log.stats().segments).toBe(files.length);
    const sizes = await Promise.all(files.map(async (f) => (await stat(join(dir, f))).size));
    expect(log.stats().bytes).toBe(sizes.reduce((a, b) => a + b, 0));
    expect((await readAll(log, 'a')).map((r) => r.id)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
  });

  it('deletes a segment only when every cursor has passed it, never the active one', async () => {
    const dir = await freshDir();
    const log = await openLog({ dir, segment_bytes: 2048, sinks: ['a', 'b'] });
    await appendRange(log, 1, 60);
    const before = await segmentFiles(dir);
    await log.commit('a', 60);
    expect(await segmentFiles(dir)).toEqual(before);
    await log.commit('b', 30);
    // The commit queued the deletion; the unlink itself completes a moment later (bounded poll).
    for (let i = 0; i < 500 && (await segmentFiles(dir)).length >= before.length; i++) await new Promise((r) => setTimeout(r, 10));
    const middle = await segmentFiles(dir);
    expect(middle.length).toBeLessThan(before.length);
    // What is left still holds everything b has not committed.
    expect((await readAll(log, 'b')).map((r) => r.id)).toEqual(Array.from({ length: 30 }, (_, i) => i + 31));
    await log.commit('b', 60);
    await log.close();
    expect(await segmentFiles(dir)).toEqual([before[before.length - 1]]);
    expect(log.stats().segments_deleted).toBe(before.length - 1);
  });

  it('with no sink at all nothing is deleted', async () => {
    const dir = await freshDir();
    const log = await openLog({ dir, segment_bytes: 1024 });
    await appendRange(log, 1, 30);
    expect(log.stats().segments_deleted).toBe(0);
    expect(log.stats().first_id).toBe(1);
  });

  it('a sink first seen by reader() holds segments from then on, also across a restart', async () => {
    const dir = await freshDir();
    const log1 = await DurableLog.open<TestUplink>({ dir, segment_bytes: 1024, fsync_interval_ms: 1 });
    log1.reader('late');
    await log1.close();
    expect(existsSync(join(dir, 'sink-late.cursor'))).toBe(true);
    const log2 = await openLog({ dir, segment_bytes: 1024, sinks: ['a'] });
    await appendRange(log2, 1, 30);
    await log2.commit('a', 30);
    expect(log2.stats().first_id).toBe(1);
    expect((await readAll(log2, 'late')).length).toBe(30);
  });
});

describe('durable log: cursor_interval_ms', () => {
  const onDisk = async (dir: string, sink: string): Promise<number> => (JSON.parse(await readFile(join(dir, `sink-${sink}.cursor`), 'utf8')) as { committed: number }).committed;

  it('commits take effect at once, the file is written at most once per interval and at close; segments wait for the file', async () => {
    const dir = await freshDir();
    const log = await openLog({ dir, segment_bytes: 2048, sinks: ['a'], cursor_interval_ms: 60_000 });
    await appendRange(log, 1, 200);
    const writes0 = log.stats().cursor_writes;
    // The first commit after a quiet spell is written at once (bounded poll); the next ones wait out the interval.
    await log.commit('a', 10);
    for (let i = 0; i < 500 && (await onDisk(dir, 'a')) !== 10; i++) await new Promise((r) => setTimeout(r, 10));
    expect(await onDisk(dir, 'a')).toBe(10);
    await new Promise((r) => setTimeout(r, 100)); // the deletions that write allowed
    const segments = (await segmentFiles(dir)).length;
    for (let id = 11; id <= 200; id++) await log.commit('a', id);
    // Readers and committedOf follow the commits; the file and the deletions do not yet.
    expect(log.committedOf('a')).toBe(200);
    expect((await readAll(log, 'a')).length).toBe(0);
    await new Promise((r) => setTimeout(r, 200));
    expect(await onDisk(dir, 'a')).toBe(10);
    expect(log.stats().cursor_writes - writes0).toBe(1);
    expect(log.stats().sinks['a']?.committed).toBe(10);
    expect((await segmentFiles(dir)).length).toBe(segments);
    // close() writes what was committed since.
    await log.close();
    expect(await onDisk(dir, 'a')).toBe(200);
    const again = await openLog({ dir, sinks: ['a'], cursor_interval_ms: 60_000 });
    expect(again.committedOf('a')).toBe(200);
  });

  it('a short interval writes the latest position after it, without further commits', async () => {
    const dir = await freshDir();
    const log = await openLog({ dir, sinks: ['a'], cursor_interval_ms: 50 });
    await appendRange(log, 1, 30);
    for (let id = 1; id <= 30; id++) await log.commit('a', id);
    for (let i = 0; i < 1000 && (await onDisk(dir, 'a')) !== 30; i++) await new Promise((r) => setTimeout(r, 10));
    expect(await onDisk(dir, 'a')).toBe(30);
    expect(log.stats().cursor_writes).toBeLessThan(10);
  });

  it('is checked as a config key', async () => {
    await expect(DurableLog.open({ dir: await freshDir(), cursor_interval_ms: -1 })).rejects.toThrow('buffer.cursor_interval_ms: must be an integer >= 0');
  });

  it('an append waiting for space (when_full: block) does not wait out the interval: the commit that frees it is written at once', async () => {
    const log = await openLog({ dir: await freshDir(), segment_bytes: 1024, max_bytes: 2048, when_full: 'block', block_timeout_ms: 0, sinks: ['a'], cursor_interval_ms: 600_000 });
    const within = <T,>(p: Promise<T>, ms: number): Promise<T | 'waiting'> => Promise.race([p, new Promise<'waiting'>((r) => setTimeout(() => r('waiting'), ms))]);
    await log.append(uplinkFor(1));
    await log.commit('a', 1); // the interval runs from this write on
    let waiting: Promise<number> | undefined;
    for (let id = 2; id < 200 && !waiting; id++) {
      const p = log.append(uplinkFor(id));
      if ((await within(p, 300)) === 'waiting') waiting = p;
    }
    expect(waiting).toBeDefined();
    await log.commit('a', log.stats().last_id);
    expect(await within(waiting as Promise<number>, 20_000)).not.toBe('waiting');
  }, 60_000);
});

describe('durable log: restart', () => {
  it('keeps ids, cursors and data across close/open', async () => {
    const dir = await freshDir();
    const cfg = { dir, segment_bytes: 2048, sinks: ['a', 'b'], fsync_interval_ms: 1 };
    const log1 = await DurableLog.open<TestUplink>(cfg);
    await appendRange(log1, 1, 50);
    await log1.commit('a', 20);
    await log1.commit('b', 45);
    await log1.close();
    await log1.close(); // idempotent

    const log2 = await openLog(cfg);
    expect(log2.nextId).toBe(51);
    expect(log2.stats().sinks).toMatchObject({ a: { committed: 20, lag: 30 }, b: { committed: 45, lag: 5 } });
    expect(await log2.append(uplinkFor(51))).toBe(51);
    const a = await readAll(log2, 'a');
    expect(a.map((r) => r.id)).toEqual(Array.from({ length: 31 }, (_, i) => i + 21));
    for (const r of a) expect(isUplinkFor(r.id, r.value)).toBe(true);
  });

  it('ids continue past every cursor even when all segments are gone', async () => {
    const dir = await freshDir();
    const log1 = await DurableLog.open<TestUplink>({ dir, segment_bytes: 1024, sinks: ['a'], fsync_interval_ms: 1 });
    await appendRange(log1, 1, 40);
    await log1.commit('a', 40);
    await log1.close();
    for (const f of await segmentFiles(dir)) await rm(join(dir, f));
    const log2 = await openLog({ dir, segment_bytes: 1024 });
    expect(log2.nextId).toBe(41);
    expect(await log2.append(uplinkFor(41))).toBe(41);
  });

  it('leaves unknown files alone and removes interrupted cursor temp files', async () => {
    const dir = await freshDir();
    const log1 = await DurableLog.open<TestUplink>({ dir, sinks: ['a'], fsync_interval_ms: 1 });
    await appendRange(log1, 1, 3);
    await log1.close();
    await writeFile(join(dir, 'notes.txt'), 'keep me');
    await writeFile(join(dir, '123.seg.bak'), 'keep me too');
    await writeFile(join(dir, 'sink-a.cursor.tmp'), '{"format":1,"sink":"a","comm');
    const log2 = await openLog({ dir });
    expect((await readAll(log2, 'a')).length).toBe(3);
    const names = await readdir(dir);
    expect(names).toContain('notes.txt');
    expect(names).toContain('123.seg.bak');
    expect(names).not.toContain('sink-a.cursor.tmp');
  });

  it('one process per folder: a second open fails, an old-style stale lock is taken over (more in lock.test.ts)', async () => {
    const dir = await freshDir();
    const log = await openLog({ dir });
    await expect(DurableLog.open({ dir })).rejects.toMatchObject({ code: 'LOG_LOCKED' });
    await log.close();
    await writeFile(join(dir, 'LOCK'), '999999999\n'); // no such process
    const again = await openLog({ dir });
    expect(again.isOpen).toBe(true);
  });
});

describe('durable log: size cap', () => {
  it('drop_oldest deletes the oldest segments and counts what each sink lost', async () => {
    const dir = await freshDir();
    const log = await openLog({ dir, segment_bytes: 1024, max_bytes: 4096, when_full: 'drop_oldest', sinks: ['slow', 'fast'] });
    await appendRange(log, 1, 10);
    await log.commit('fast', 10);
    await appendRange(log, 11, 60);
    const s = log.stats();
    expect(s.bytes).toBeLessThanOrEqual(4096);
    expect(s.segments_dropped).toBeGreaterThan(0);
    const firstKept = s.first_id;
    expect(firstKept).toBeGreaterThan(11);
    expect(s.sinks['slow']?.dropped_records).toBe(firstKept - 1);
    expect(s.sinks['fast']?.dropped_records).toBe(firstKept - 1 - 10);
    expect(s.records_dropped).toBe(firstKept - 1);
    expect(s.sinks['slow']?.lag).toBe(60 - firstKept + 1);
    const slow = await readAll(log, 'slow');
    expect(slow[0]?.id).toBe(firstKept);
    expect(slow.map((r) => r.id)).toEqual(Array.from({ length: 60 - firstKept + 1 }, (_, i) => firstKept + i));
  });

  it('block makes appends wait until a sink commits, then lets them through', async () => {
    const dir = await freshDir();
    const log = await openLog({ dir, segment_bytes: 1024, max_bytes: 2048, when_full: 'block', block_timeout_ms: 0, sinks: ['a'] });
    const first = await appendRange(log, 1, 5);
    let done = false;
    const blocked = appendRange(log, 6, 12).then((ids) => ((done = true), ids));
    await new Promise((r) => setTimeout(r, 100));
    expect(done).toBe(false);
    expect(log.stats().blocked_appends).toBeGreaterThan(0);
    await log.commit('a', first[first.length - 1] as number);
    const r = log.reader('a');
    let committed = 5;
    while (!done) {
      const batch = await r.read(100, 200);
      if (batch.length > 0) {
        committed = (batch[batch.length - 1] as LogRecord<TestUplink>).id;
        await log.commit('a', committed);
      }
    }
    expect(await blocked).toEqual([6, 7, 8, 9, 10, 11, 12]);
    expect(log.stats().blocked_appends).toBe(0);
    expect(log.stats().bytes).toBeLessThanOrEqual(2048);
    await r.close();
  });

  it('block rejects with LOG_FULL when nothing is freed within block_timeout_ms', async () => {
    const dir = await freshDir();
    const log = await openLog({ dir, segment_bytes: 1024, max_bytes: 2048, when_full: 'block', block_timeout_ms: 100, sinks: ['stuck'] });
    const results = await Promise.allSettled(Array.from({ length: 12 }, (_, i) => log.append(uplinkFor(i + 1))));
    const rejected = results.filter((r) => r.status === 'rejected');
    expect(rejected.length).toBeGreaterThan(0);
    const reason = (rejected[0] as PromiseRejectedResult).reason as LogFullError;
    expect(reason).toBeInstanceOf(LogFullError);
    expect(reason.code).toBe('LOG_FULL');
    expect(reason.message).toMatch(/max_bytes 2048.*block_timeout_ms \(100 ms\).*stuck/);
    expect(log.stats().block_timeouts).toBe(rejected.length);
    // Accepted records are intact and in order.
    const ok = results.filter((r) => r.status === 'fulfilled').map((r) => (r as PromiseFulfilledResult<number>).value);
    expect(ok).toEqual(Array.from({ length: ok.length }, (_, i) => i + 1));
  });

  it('close() rejects appends still waiting for space', async () => {
    const dir = await freshDir();
    const log = await DurableLog.open<TestUplink>({ dir, segment_bytes: 1024, max_bytes: 2048, when_full: 'block', block_timeout_ms: 0, sinks: ['a'], fsync_interval_ms: 1 });
    const pending = Promise.allSettled(Array.from({ length: 12 }, (_, i) => log.append(uplinkFor(i + 1))));
    await new Promise((r) => setTimeout(r, 30));
    await log.close();
    const res = await pending;
    expect(res.some((r) => r.status === 'rejected' && (r.reason as DurableLogError).code === 'LOG_CLOSED')).toBe(true);
  });
});

describe('durable log: readers wait for data', () => {
  it('read(max, waitMs) returns as soon as a record becomes durable', async () => {
    const dir = await freshDir();
    const log = await openLog({ dir, sinks: ['a'] });
    const r = log.reader('a');
    const t0 = Date.now();
    const got = r.read(10, 60_000);
    setTimeout(() => void log.append(uplinkFor(1)), 30);
    expect((await got).map((x) => x.id)).toEqual([1]);
    // Woken by the append, not by the end of its 60 s wait (a wide gap, even on a loaded machine).
    expect(Date.now() - t0).toBeLessThan(30_000);
    expect(await r.read(10, 50)).toEqual([]);
    await r.close();
  });

  it('the async iterator yields records as they come and ends when the log closes', async () => {
    const dir = await freshDir();
    const log = await DurableLog.open<TestUplink>({ dir, sinks: ['a'], segment_bytes: 1024, fsync_interval_ms: 1 });
    const seen: number[] = [];
    const consumer = (async () => {
      for await (const rec of log.reader('a')) seen.push(rec.id);
    })();
    await appendRange(log, 1, 10);
    await appendRange(log, 11, 25);
    while (seen.length < 25) await new Promise((r) => setTimeout(r, 5));
    await log.close();
    await consumer;
    expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
  });
});

describe('durable log: errors and lifecycle', () => {
  it('checks its configuration with errors that name the key', () => {
    expect(() => new DurableLog({ dir: '/tmp/x', segment_bytes: 1024, max_bytes: 1500 })).toThrow(/buffer\.max_bytes/);
    expect(() => new DurableLog({ dir: '/tmp/x', when_full: 'drop_newest' as 'block' })).toThrow(/buffer\.when_full/);
    expect(() => new DurableLog({ dir: '/tmp/x', fsync_interval_ms: -1 })).toThrow(/buffer\.fsync_interval_ms/);
    expect(() => new DurableLog({ dir: '' })).toThrow(/buffer\.dir/);
    expect(() => new DurableLog({ dir: '/tmp/x', sinks: ['../etc'] })).toThrow(/sink name/);
  });

  it('refuses appends before open and after close, and records that are too large', async () => {
    const dir = await freshDir();
    const log = new DurableLog<unknown>({ dir, max_record_bytes: 100, fsync_interval_ms: 1 });
    await expect(log.append({ a: 1 })).rejects.toMatchObject({ code: 'LOG_NOT_OPEN' });
    await log.open();
    await expect(log.append({ big: 'x'.repeat(200) })).rejects.toMatchObject({ code: 'RECORD_TOO_LARGE' });
    await expect(log.appendBatch([{ a: 1 }, { big: 'x'.repeat(200) }])).rejects.toMatchObject({ code: 'RECORD_TOO_LARGE' });
    expect(log.nextId).toBe(1); // nothing of the refused batch was stored
    expect(() => log.reader('no/slash')).toThrow(DurableLogError);
    await log.close();
    await expect(log.append({ a: 1 })).rejects.toMatchObject({ code: 'LOG_CLOSED' });
    await expect(log.commit('a', 0)).rejects.toMatchObject({ code: 'LOG_CLOSED' });
    expect(() => log.reader('a')).toThrow(/closed/);
  });

  it('rejects values CBOR cannot hold without using an id', async () => {
    const dir = await freshDir();
    const log = await openLog({ dir });
    await expect(log.append({ f: () => 1 } as unknown as TestUplink)).rejects.toMatchObject({ code: 'UNENCODABLE_RECORD' });
    expect(await log.append(uplinkFor(1))).toBe(1);
  });

  it('a failed write puts the log in a failed state: appends reject, durable data stays readable', async () => {
    const dir = await freshDir();
    const log = await openLog({ dir, segment_bytes: 1024, sinks: ['a'] });
    await appendRange(log, 1, 2); // two records fill the first segment
    // The next segment file cannot be created: a folder is in the way.
    await mkdir(join(dir, '00000000000000000003.seg'));
    await expect(log.append(uplinkFor(3))).rejects.toMatchObject({ code: 'LOG_FAILED' });
    await expect(log.append(uplinkFor(4))).rejects.toMatchObject({ code: 'LOG_FAILED' });
    expect((await readAll(log, 'a')).map((r) => r.id)).toEqual([1, 2]);
    await log.commit('a', 2);
    await log.close();
    expect(await segmentFiles(dir)).toContain('00000000000000000001.seg'); // the writer never got past it
    // Reopening recovers; a folder that matches a segment name is not taken for a segment.
    const again = await openLog({ dir, segment_bytes: 1024, sinks: ['a'] });
    expect(again.nextId).toBe(3);
    await rm(join(dir, '00000000000000000003.seg'), { recursive: true });
    expect(await again.append(uplinkFor(3))).toBe(3);
    expect(await again.append(uplinkFor(4))).toBe(4);
  });

  it('close() flushes pending appends and leaves no timers behind', async () => {
    const timers = () => process.getActiveResourcesInfo().filter((t) => t === 'Timeout').length;
    const before = timers();
    const dir = await freshDir();
    const log = await DurableLog.open<TestUplink>({ dir, fsync_interval_ms: 10_000, when_full: 'block', segment_bytes: 1024, max_bytes: 2048, block_timeout_ms: 60_000, sinks: ['a'] });
    const r = log.reader('a');
    const waiting = r.read(10, 60_000);
    const acked = Promise.allSettled(Array.from({ length: 8 }, (_, i) => log.append(uplinkFor(i + 1))));
    await new Promise((res) => setTimeout(res, 20));
    expect(timers()).toBeGreaterThan(before);
    await log.close();
    const results = await acked;
    expect(results.filter((x) => x.status === 'fulfilled').length).toBeGreaterThan(0);
    await waiting;
    expect(timers()).toBeLessThanOrEqual(before);
    const again = await openLog({ dir });
    expect(again.nextId).toBe(results.filter((x) => x.status === 'fulfilled').length + 1);
  });

  it('removeSink() stops a sink from holding segments', async () => {
    const dir = await freshDir();
    const log = await openLog({ dir, segment_bytes: 1024, sinks: ['a', 'gone'] });
    await appendRange(log, 1, 30);
    await log.commit('a', 30);
    expect(log.stats().first_id).toBe(1);
    await log.removeSink('gone');
    expect(log.sinks).toEqual(['a']);
    expect(log.stats().first_id).toBeGreaterThan(1);
    expect(existsSync(join(dir, 'sink-gone.cursor'))).toBe(false);
  });
});

describe('durable log: tail cache', () => {
  it('hands a caught-up reader the appended values from memory, only once durable', async () => {
    const dir = await freshDir();
    const log = await openLog({ dir, sinks: ['a'], read_cache_records: 100, fsync_interval_ms: 50 });
    const r = log.reader('a');
    const values = Array.from({ length: 10 }, (_, i) => uplinkFor(i + 1));
    const appended = log.appendBatch(values);
    // Not durable yet: nothing to read, from memory or otherwise.
    expect(await r.read(100)).toEqual([]);
    await appended;
    const recs = await r.read(100);
    expect(recs.map((x) => x.id)).toEqual(values.map((_, i) => i + 1));
    // The very objects that were appended: no decoding happened.
    recs.forEach((x, i) => expect(x.value).toBe(values[i]));
    await r.close();
  });

  it('a reader that fell behind the cache reads the files, then switches back to memory', async () => {
    const dir = await freshDir();
    const log = await openLog({ dir, sinks: ['a'], read_cache_records: 20, segment_bytes: 4096 });
    await appendRange(log, 1, 100);
    const r = log.reader('a');
    const first = await r.read(50);
    // Ids 1..50 are older than the cache (81..100): decoded from disk, equal but not the same objects.
    expect(first.map((x) => x.id)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    for (const x of first) expect(isUplinkFor(x.id, x.value)).toBe(true);
    const rest = await r.read(100);
    expect(rest.map((x) => x.id)).toEqual(Array.from({ length: 50 }, (_, i) => i + 51));
    for (const x of rest) expect(isUplinkFor(x.id, x.value)).toBe(true);
    // Now caught up: new appends come from memory.
    const v = uplinkFor(101);
    await log.append(v);
    const next = await r.read(10);
    expect(next.map((x) => x.id)).toEqual([101]);
    expect(next[0]?.value).toBe(v);
    // A commit and a rewind still follow the cursor, wherever the records come from.
    await log.commit('a', 95);
    await r.rewind();
    expect((await r.read(100)).map((x) => x.id)).toEqual([96, 97, 98, 99, 100, 101]);
    await r.close();
  });

  it('is bounded by bytes: a record larger than the bound is read from the file', async () => {
    const dir = await freshDir();
    const log = await openLog({ dir, sinks: ['a'], read_cache_records: 100, read_cache_bytes: 1000 });
    const big = { ...uplinkFor(1), raw: new Uint8Array(5000).fill(7) };
    await log.append(big);
    await appendRange(log, 2, 3);
    const recs = await readAll(log, 'a');
    expect(recs.map((x) => x.id)).toEqual([1, 2, 3]);
    expect(recs[0]?.value).not.toBe(big);
    expect(Buffer.compare(Buffer.from(recs[0]?.value.raw ?? []), Buffer.from(big.raw))).toBe(0);
  });

  it('drops the records every sink has read at the next commit; a rewound reader gets them from the files', async () => {
    const dir = await freshDir();
    const log = await openLog({ dir, sinks: ['a', 'b'], read_cache_records: 100 });
    const values = Array.from({ length: 10 }, (_, i) => uplinkFor(i + 1));
    await log.appendBatch(values);
    const a = log.reader('a');
    expect((await a.read(100)).map((x) => x.id)).toEqual(values.map((_, i) => i + 1));
    await log.append(uplinkFor(11));
    // 'b' has no reader and committed nothing: every record stays cached for its first read.
    const b = log.reader('b');
    const fromB = await b.read(100);
    expect(fromB.map((x) => x.id)).toEqual(Array.from({ length: 11 }, (_, i) => i + 1));
    fromB.slice(0, 10).forEach((x, i) => expect(x.value).toBe(values[i]));
    expect((await a.read(100)).map((x) => x.id)).toEqual([11]);
    // Both readers have 1..11: the next commit drops them; id 12 comes from memory.
    const v12 = uplinkFor(12);
    await log.append(v12);
    const next = await a.read(100);
    expect(next.map((x) => x.id)).toEqual([12]);
    expect(next[0]?.value).toBe(v12);
    // A rewind to the committed cursor reads 1..11 from the segment files: equal, not the same objects.
    await a.rewind();
    const again = await a.read(100);
    expect(again.map((x) => x.id)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    for (const x of again) expect(isUplinkFor(x.id, x.value)).toBe(true);
    expect(again[0]?.value).not.toBe(values[0]);
    await a.close();
    await b.close();
  });

  it('a reader caught up with the last durable id does not open the segment files', async () => {
    const dir = await freshDir();
    const log = await openLog({ dir, sinks: ['a'], read_cache_records: 100 });
    await appendRange(log, 1, 5);
    // The active segment moved away (the writer keeps its open handle): a reader that looked
    // into it would fail (ENOENT). One served from the cache used to, on every read: after the
    // cached records it opened the active segment and scanned it from its first frame.
    const [seg] = await segmentFiles(dir);
    await rename(join(dir, seg as string), join(dir, 'away'));
    const r = log.reader('a');
    try {
      expect((await r.read(10)).map((x) => x.id)).toEqual([1, 2, 3, 4, 5]);
      expect(await r.read(10, 0)).toEqual([]);
      await log.append(uplinkFor(6));
      expect((await r.read(10, 20)).map((x) => x.id)).toEqual([6]);
    } finally {
      await rename(join(dir, 'away'), join(dir, seg as string));
    }
    await r.close();
  });
});
