/** Small crash-safe file operations the durable log is built from. */
import type { FileHandle } from 'node:fs/promises';
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DurableLogError } from './errors.ts';

export function errno(err: unknown): string | undefined {
  return err instanceof Error && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}

/** fsync a directory, so that file creations, renames and unlinks in it are durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Writes all of `buf[0, length)` at `position` (loops over short writes). */
export async function writeAll(fh: FileHandle, buf: Buffer, length: number, position: number): Promise<void> {
  let done = 0;
  while (done < length) {
    const { bytesWritten } = await fh.write(buf, done, length - done, position + done);
    done += bytesWritten;
  }
}

/**
 * Replaces `dir/name` atomically: write `name.tmp`, fsync it, rename it over `name`, fsync the
 * folder. After a crash the file holds either the old or the new content, never a mix.
 */
export async function writeFileAtomic(dir: string, name: string, data: string): Promise<void> {
  const tmp = join(dir, `${name}.tmp`);
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, join(dir, name));
  await fsyncDir(dir);
}

/** Folders opened by this process, so a second open in the same process fails too. */
const openedHere = new Set<string>();

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errno(err) === 'EPERM';
  }
}

/**
 * One writer per folder: `LOCK` holds the owner's pid. A lock left by a process that no longer
 * runs (a crash, a SIGKILL) is taken over.
 */
export async function acquireLock(dir: string): Promise<() => Promise<void>> {
  const key = resolve(dir);
  if (openedHere.has(key)) throw new DurableLogError('LOG_LOCKED', `durable log ${dir} is already open in this process`);
  const path = join(dir, 'LOCK');
  for (let attempt = 0; ; attempt++) {
    try {
      const fh = await open(path, 'wx');
      try {
        await fh.writeFile(`${process.pid}\n`);
      } finally {
        await fh.close();
      }
      break;
    } catch (err) {
      if (errno(err) !== 'EEXIST' || attempt > 0) throw err;
      const owner = Number((await readFile(path, 'utf8').catch(() => '')).trim());
      if (Number.isSafeInteger(owner) && owner > 0 && owner !== process.pid && processAlive(owner)) {
        throw new DurableLogError('LOG_LOCKED', `durable log ${dir} is in use by process ${owner} (${path})`);
      }
      await unlink(path).catch(() => undefined);
    }
  }
  openedHere.add(key);
  return async () => {
    openedHere.delete(key);
    await unlink(path).catch(() => undefined);
  };
}
