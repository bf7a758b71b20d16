/**
 * Disk full, on a real 2 MiB tmpfs (mounted by the test; root only, skipped otherwise): a write
 * that fails with ENOSPC keeps its batch and is retried with a bounded backoff until space
 * returns — the log is never left refusing appends "until reopened" — while it reports the stall;
 * `when_full` decides what happens meanwhile (`drop_oldest` frees space by deleting the oldest
 * sealed segment; `block` makes appends wait, up to block_timeout_ms).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DurableLog } from './index.ts';
import type { DurableLogConfig } from './index.ts';
import { isUplinkFor, uplinkFor, type TestUplink } from './testing/records.ts';
import { canMountTmpfs, mountTmpfs, type Tmpfs } from './testing/tmpfs.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function tmpfs(): Promise<Tmpfs> {
  const t = await mountTmpfs('2m');
  cleanups.push(() => t.unmount());
  return t;
}

async function openLog(t: Tmpfs, extra: Partial<DurableLogConfig>): Promise<DurableLog<TestUplink>> {
  const log = await DurableLog.open<TestUplink>({ dir: `${t.dir}/buffer`, fsync_interval_ms: 1, disk_full_retry_ms: 20, disk_full_retry_max_ms: 200, sinks: ['a'], ...extra });
  cleanups.push(() => log.close());
  return log;
}

async function until(what: string, check: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function readAll(log: DurableLog<TestUplink>): Promise<{ id: number; value: TestUplink }[]> {
  const r = log.reader('a');
  const out: { id: number; value: TestUplink }[] = [];
  for (let b = await r.read(1000); b.length > 0; b = await r.read(1000)) out.push(...b);
  await r.close();
  return out;
}

describe.skipIf(!canMountTmpfs)('durable log: disk full (real tmpfs)', () => {
  it('retries the failed write once space returns: nothing refused, nothing lost, and the stall is reported meanwhile', async () => {
    const t = await tmpfs();
    const log = await openLog(t, { when_full: 'block', block_timeout_ms: 0 });
    for (let i = 1; i <= 5; i++) await log.append(uplinkFor(i));
    await t.fill(0);
    const settled: number[] = [];
    const pending = Array.from({ length: 20 }, (_, k) => log.append(uplinkFor(6 + k)).then((id) => void settled.push(id)));
    await until('the stall', () => log.writeStall() !== undefined);
    expect(log.writeStall()?.reason).toMatch(/disk full writing .*ENOSPC/);
    expect(log.stats().disk_full_since).toBeGreaterThan(0);
    await until('a few retries', () => (log.writeStall()?.retries ?? 0) >= 3);
    expect(settled).toEqual([]); // not acknowledged while not durable
    await t.free();
    await Promise.all(pending);
    expect(log.writeStall()).toBeUndefined();
    expect(log.stats().disk_full_since).toBe(0);
    expect(log.stats().disk_full_retries).toBeGreaterThanOrEqual(3);
    expect(await log.append(uplinkFor(26))).toBe(26);
    const all = await readAll(log);
    expect(all.map((r) => r.id)).toEqual(Array.from({ length: 26 }, (_, i) => i + 1));
    expect(all.every((r) => isUplinkFor(r.id, r.value))).toBe(true);
    // And on disk: a reopen finds every record intact, no torn tail, nothing lost.
    await log.close();
    const again = await openLog(t, {});
    expect(again.stats()).toMatchObject({ truncated_bytes: 0, corrupt_records: 0, lost_acknowledged_records: 0 });
    expect((await readAll(again)).length).toBe(26);
  }, 120_000);

  it('when_full: drop_oldest deletes the oldest sealed segment to make room, and counts what the sink lost', async () => {
    const t = await tmpfs();
    const log = await openLog(t, { when_full: 'drop_oldest', segment_bytes: 64 * 1024, max_bytes: 1024 * 1024 * 1024 });
    await t.fill(400 * 1024);
    // ~300 B per record: about 5 MiB appended onto 400 KiB of free space.
    for (let i = 1; i <= 16_000; i += 200) {
      await Promise.all(Array.from({ length: 200 }, (_, k) => log.append(uplinkFor(i + k))));
    }
    const s = log.stats();
    expect(s.disk_full_retries).toBeGreaterThan(0);
    expect(s.segments_dropped).toBeGreaterThan(0);
    expect(s.sinks['a']?.dropped_records).toBeGreaterThan(0);
    expect(log.writeStall()).toBeUndefined();
    const all = await readAll(log);
    // What is left is the newest records, in order and intact, up to the last one appended.
    expect(all[all.length - 1]?.id).toBe(16_000);
    expect(all.every((r, i) => i === 0 || r.id === (all[i - 1]?.id ?? 0) + 1)).toBe(true);
    expect(all.every((r) => isUplinkFor(r.id, r.value))).toBe(true);
  }, 180_000);

  it('when_full: block rejects with LOG_FULL after block_timeout_ms while no space returns, and takes appends again once it does', async () => {
    const t = await tmpfs();
    const log = await openLog(t, { when_full: 'block', block_timeout_ms: 300 });
    await log.append(uplinkFor(1));
    await t.fill(0);
    // More than the slack of the file's last page: placed, then the write fails; kept and retried.
    const first = log.appendBatch(Array.from({ length: 30 }, (_, k) => uplinkFor(2 + k)));
    await until('the stall', () => log.writeStall() !== undefined);
    await expect(log.append(uplinkFor(32))).rejects.toMatchObject({ code: 'LOG_FULL', message: expect.stringMatching(/disk full/) as unknown });
    expect(log.stats().block_timeouts).toBe(1);
    await t.free();
    expect((await first).length).toBe(30);
    expect(await log.append(uplinkFor(32))).toBe(32);
  }, 120_000);
});
