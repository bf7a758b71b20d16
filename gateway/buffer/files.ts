/** Small crash-safe file operations the durable log is built from. */
import type { FileHandle } from 'node:fs/promises';
import Database from 'better-sqlite3';
import { closeSync, constants, openSync } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
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

const LOCK_FILE = 'LOCK';

/**
 * One writer per folder, by an OS file lock that the kernel releases when the process dies —
 * however it dies (SIGKILL, power cut) — so there is no stale lock to take over and no PID to
 * guess about (after a reboot a recorded PID may belong to any other process).
 *
 * Node has no flock(2); SQLite takes fcntl(2) locks, and better-sqlite3 (already a dependency,
 * for the local store) is a well-kept binding. `LOCK` is a tiny SQLite database opened with
 * `locking_mode=EXCLUSIVE`: after its first write the connection keeps the exclusive lock until
 * it is closed or the process ends. A second process gets SQLITE_BUSY at once (busy timeout 0).
 * The file is never deleted (deleting it while another process has it open would let two
 * processes lock two different files). A `LOCK` left by an older version (a text file with a
 * PID) is not a database: it is replaced.
 */
export async function acquireLock(dir: string): Promise<() => Promise<void>> {
  const key = resolve(dir);
  if (openedHere.has(key)) throw new DurableLogError('LOG_LOCKED', `durable log ${dir} is already open in this process`);
  const path = join(dir, LOCK_FILE);
  let db: Database.Database;
  try {
    db = lockDatabase(path);
  } catch (err) {
    if (sqliteCode(err) !== 'SQLITE_NOTADB') throw lockError(dir, err);
    await unlink(path).catch(() => undefined);
    try {
      db = lockDatabase(path);
    } catch (again) {
      throw lockError(dir, again);
    }
  }
  openedHere.add(key);
  return () => {
    openedHere.delete(key);
    db.close();
    return Promise.resolve();
  };
}

function lockDatabase(path: string): Database.Database {
  const db = new Database(path, { timeout: 0 });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    db.pragma('journal_mode = MEMORY');
    db.pragma('synchronous = OFF');
    db.exec('CREATE TABLE IF NOT EXISTS owner (pid INTEGER NOT NULL, since TEXT NOT NULL)');
    // The write is what takes the exclusive lock (and keeps it, in EXCLUSIVE locking mode).
    db.transaction(() => {
      db.exec('DELETE FROM owner');
      db.prepare('INSERT INTO owner (pid, since) VALUES (?, ?)').run(process.pid, new Date().toISOString());
    }).immediate();
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

function sqliteCode(err: unknown): string | undefined {
  return err instanceof Error && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}

function lockError(dir: string, err: unknown): Error {
  const code = sqliteCode(err);
  if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
    return new DurableLogError(
      'LOG_LOCKED',
      `durable log ${dir} is in use by another process (a running gateway, or "lorawan-edge replay"); stop it first, or give this one another data_dir`,
    );
  }
  if (code === 'SQLITE_FULL') {
    // A disk full on the very first start: the LOCK database is the first file the log writes.
    // Said as the system error it is (ENOSPC on the file), so the CLI gives its one line.
    const path = join(dir, LOCK_FILE);
    return Object.assign(new Error(`ENOSPC: no space left on device, write '${path}'`, { cause: err }), { code: 'ENOSPC', errno: -28, syscall: 'write', path });
  }
  if (code?.startsWith('SQLITE_CANTOPEN') || code?.startsWith('SQLITE_READONLY') || code?.startsWith('SQLITE_PERM')) {
    // SQLite says only "unable to open database file" / "attempt to write a readonly database"
    // and keeps the errno to itself: ask the file system the same question (open it for writing)
    // to get the reason a person can act on — EACCES, EROFS, EPERM (immutable), EISDIR — as the
    // system error the CLI turns into one line naming the file.
    const why = openForWritingError(join(dir, LOCK_FILE));
    if (why) return Object.assign(why, { cause: err });
  }
  return err instanceof Error ? err : new Error(String(err));
}

/** The error opening `path` read-write (creating it if missing) gives, or undefined if it opens. */
function openForWritingError(path: string): NodeJS.ErrnoException | undefined {
  try {
    closeSync(openSync(path, constants.O_RDWR | constants.O_CREAT, 0o644));
    return undefined;
  } catch (err) {
    return errno(err) === undefined ? undefined : (err as NodeJS.ErrnoException);
  }
}
