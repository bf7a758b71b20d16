/**
 * The folder lock: an OS file lock held by the process that has the log open, released by the
 * kernel however that process ends. A second process is refused with LOG_LOCKED at once; after
 * the holder is SIGKILLed the folder opens again; a LOCK holding the PID of some unrelated live
 * process (an older version's lock file after a reboot reused the PID) does not block.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { DurableLog } from './index.ts';
import { tempDir } from './testing/tmp.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = resolve(HERE, '../..');
const HOLDER = join(HERE, 'testing', 'lock-holder.ts');

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function dir(): Promise<string> {
  const t = await tempDir('lock');
  cleanups.push(t.remove);
  return t.dir;
}

/** Starts a child that opens the log in `d`; resolves once it reports the log open. */
function holder(d: string): Promise<ChildProcess> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, ['--import', 'tsx', HOLDER, d], { stdio: ['ignore', 'pipe', 'pipe'], cwd: REPO_ROOT });
    let err = '';
    const guard = setTimeout(() => {
      child.kill('SIGKILL');
      rej(new Error(`lock holder did not open within 60 s: ${err}`));
    }, 60_000);
    child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
    child.stdout?.on('data', (c: Buffer) => {
      if (c.toString().startsWith('open')) {
        clearTimeout(guard);
        res(child);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(guard);
      rej(new Error(`lock holder exited with ${code}: ${err}`));
    });
    cleanups.push(async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
  });
}

function killed(child: ChildProcess): Promise<void> {
  return new Promise((res) => {
    if (child.exitCode !== null || child.signalCode !== null) return res();
    child.removeAllListeners('exit');
    child.on('exit', () => res());
    child.kill('SIGKILL');
  });
}

describe('durable log: folder lock', () => {
  it('refuses a second process with one clear LOG_LOCKED error, and opens once the holder is SIGKILLed', async () => {
    const d = await dir();
    const child = await holder(d);
    const refused = await DurableLog.open({ dir: d }).then(
      () => undefined,
      (e: unknown) => e as { code?: string; message: string },
    );
    expect(refused?.code).toBe('LOG_LOCKED');
    expect(refused?.message).toContain(d);
    expect(refused?.message).toMatch(/in use by another process.*stop it first/);
    await killed(child);
    // No stale lock: the kernel released it with the process.
    const log = await DurableLog.open({ dir: d, fsync_interval_ms: 1 });
    expect(log.isOpen).toBe(true);
    await log.close();
  }, 120_000);

  it('a second open in the same process is refused too', async () => {
    const d = await dir();
    const log = await DurableLog.open({ dir: d });
    await expect(DurableLog.open({ dir: d })).rejects.toMatchObject({ code: 'LOG_LOCKED' });
    await log.close();
    const again = await DurableLog.open({ dir: d });
    await again.close();
  });

  it('an old-style LOCK naming a live process that is not a gateway does not block the start', async () => {
    const d = await dir();
    // PID 1 (init) is alive on every machine and is certainly not a gateway.
    await writeFile(join(d, 'LOCK'), '1\n');
    const log = await DurableLog.open({ dir: d, fsync_interval_ms: 1 });
    expect(log.isOpen).toBe(true);
    await log.close();
    // The lock is now a SQLite file (locked by fcntl), not a PID.
    expect((await readFile(join(d, 'LOCK'))).subarray(0, 15).toString()).toBe('SQLite format 3');
  });
});
