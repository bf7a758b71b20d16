import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { counterOf, inboxDatagram } from './testing/inbox-datagrams.ts';
import { inboxMetrics } from './inbox-metrics.ts';
import { UdpInbox } from './udp-inbox.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = resolve(HERE, '../..');
const WRITER = join(HERE, 'testing', 'inbox-crash-writer.ts');
const dirs: string[] = [];
const tmp = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'udp-inbox-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const open = (dir: string): Promise<UdpInbox> => UdpInbox.open({ dir, fsync_interval_ms: 1, cursor_interval_ms: 5 }, inboxMetrics(new Registry()), (err) => {
  throw err;
});

describe('inbox journal', () => {
  it('replays exactly the entries not done, in id order, with their bytes; the cursor stops before the first open one', async () => {
    const dir = tmp();
    const a = await open(dir);
    expect(a.takeReplay()).toEqual([]);
    const ids: number[] = [];
    for (let c = 0; c < 10; c++) ids.push(await a.append('0016c001f1500001', inboxDatagram(c)));
    for (const id of ids) a.track(id, 2);
    // Entry 4 keeps one rxpk open; all others finish (out of order).
    for (const id of [...ids].reverse()) a.done(id === ids[3] ? [id] : [id, id]);
    expect(a.watermark).toBe((ids[3] as number) - 1);
    await a.close();
    const b = await open(dir);
    const replay = b.takeReplay();
    expect(replay.map((r) => r.id)).toEqual(ids.slice(3));
    expect(replay.map((r) => counterOf(r.entry.datagram))).toEqual([3, 4, 5, 6, 7, 8, 9]);
    expect(replay.every((r) => r.entry.datagram.equals(inboxDatagram(counterOf(r.entry.datagram))) && r.entry.gateway === '0016c001f1500001')).toBe(true);
    // A replayed datagram the forwarder sends again is recognised (N5), a new one is not.
    expect(b.resent('0016c001f1500001', inboxDatagram(5))).toBeDefined();
    expect(b.resent('0016c001f1500001', inboxDatagram(50))).toBeUndefined();
    expect(b.resent('0016c001f1500002', inboxDatagram(5))).toBeUndefined();
    for (const r of replay) b.track(r.id, 1);
    b.done(replay.map((r) => r.id));
    await b.close();
    const c = await open(dir);
    expect(c.takeReplay()).toEqual([]);
    await c.close();
  });

  it('recognises a resend while the first copy is being written, and only identical bytes', async () => {
    const dir = tmp();
    const a = await open(dir);
    const d = inboxDatagram(7);
    const first = a.append('0016c001f1500001', d);
    const again = a.resent('0016c001f1500001', Buffer.from(d));
    expect(again).toBeDefined();
    expect(await again).toBe(await first);
    const other = Buffer.from(d);
    other.writeUInt8(other.readUInt8(other.length - 1) ^ 1, other.length - 1); // same token, other bytes: a new datagram
    expect(a.resent('0016c001f1500001', other)).toBeUndefined();
    await a.close();
  });

  it('keeps every acknowledged entry not done through kill -9 at any moment (child process, real files)', async () => {
    const dir = tmp();
    // Kill delays and the writer's shuffling seeds: fast-check with a fixed seed.
    const runs = fc.sample(fc.record({ ms: fc.integer({ min: 50, max: 900 }), seed: fc.integer({ min: 1, max: 1e9 }) }), { seed: 1010, numRuns: 6 });
    const counterIds = new Map<number, number>(); // id → counter, from acks and replays
    const doneIds = new Set<number>();
    let next = 0;
    let acked = 0;
    for (const run of runs) {
      const lines = await runWriter(dir, next, run.seed, run.ms);
      expect(lines.some((l) => l.startsWith('start'))).toBe(true);
      // What the reopened journal holds must match what the child was told before it died.
      for (const l of lines) {
        const [what, a, b] = l.split(' ');
        if (what === 'ack') {
          counterIds.set(Number(a), Number(b));
          acked++;
          next = Math.max(next, Number(b) + 1);
        } else if (what === 'replay') {
          // An entry acknowledged just before a kill may have had no `ack` line out yet.
          if (counterIds.has(Number(a))) expect(counterIds.get(Number(a))).toBe(Number(b));
          else counterIds.set(Number(a), Number(b));
        }
        else if (what === 'done') doneIds.add(Number(a));
      }
      next += 1000; // datagrams appended but never acknowledged are not expected back
      const inbox = await open(dir);
      const replay = inbox.takeReplay();
      const cursor = inbox.committedCursor;
      await inbox.close();
      // N3: the cursor never passes an entry that was not done.
      for (const id of counterIds.keys()) if (id <= cursor) expect(doneIds.has(id)).toBe(true);
      // N1/N4: every acknowledged entry after the cursor is replayed, with its bytes; nothing invented.
      const replayed = new Map(replay.map((r) => [r.id, r.entry]));
      for (const [id, c] of counterIds) {
        if (id <= cursor) continue;
        const e = replayed.get(id);
        expect(e, `entry ${id} (datagram ${c}) acknowledged, not done, not replayed`).toBeDefined();
        expect(e?.datagram.equals(inboxDatagram(c))).toBe(true);
      }
      for (const r of replay) expect(r.entry.datagram.equals(inboxDatagram(counterOf(r.entry.datagram)))).toBe(true);
      const ids = replay.map((r) => r.id);
      expect([...ids].sort((x, y) => x - y)).toEqual(ids);
    }
    expect(acked).toBeGreaterThan(100);
    expect(doneIds.size).toBeGreaterThan(50);
  }, 180_000);
});

/** Runs the writer until it printed `start`, lets it work `ms`, SIGKILLs it; its stdout lines. */
function runWriter(dir: string, first: number, seed: number, ms: number): Promise<string[]> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', WRITER, dir, String(first), String(seed)], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    let partial = '';
    let stderr = '';
    const guard = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop() ?? '';
      for (const l of parts) {
        lines.push(l);
        if (l.startsWith('start')) setTimeout(() => child.kill('SIGKILL'), ms);
      }
    });
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(guard);
      if (signal !== 'SIGKILL') reject(new Error(`writer exited ${code}: ${stderr}`));
      else resolvePromise(lines);
    });
  });
}
