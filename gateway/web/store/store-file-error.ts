/**
 * Why the local store's SQLite file cannot be opened for writing, in words a person can act on.
 * SQLite says only "unable to open database file" or "attempt to write a readonly database" and
 * keeps the errno to itself, so the file system is asked the same question: the store file,
 * then its `-wal` and `-shm` files (WAL mode writes both beside it, so a read-only folder fails
 * even when the file itself is writable). The CLI prints `message` as its one line with the
 * exit code `cantCreate` → 73, otherwise 74 (README "Exit codes").
 */
import { accessSync, closeSync, constants, existsSync, openSync } from 'node:fs';
import { dirname } from 'node:path';

const WHY: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'the file system is read-only',
  ENOSPC: 'the disk is full',
  ENOENT: 'its folder does not exist',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EISDIR: 'it is a folder, not a file',
};

/** The local store's file cannot be opened or written: one line naming the file and the config key. */
export class StoreFileError extends Error {
  override readonly name = 'StoreFileError';
  constructor(
    message: string,
    /** the file (or its -wal/-shm companion) that cannot be written */
    readonly path: string,
    /** true: a permission, a read-only or full disk, a missing folder (exit 73); false: a folder where the file should be (74) */
    readonly cantCreate: boolean,
  ) {
    super(message);
  }
}

const errnoOf = (err: unknown): string | undefined => {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && code in WHY ? code : undefined;
};

/** The first of the store's files that cannot be opened (or created) for writing, and why. */
function probe(file: string): { path: string; code: string; creating: boolean } | undefined {
  for (const path of [file, `${file}-wal`, `${file}-shm`]) {
    try {
      if (existsSync(path)) closeSync(openSync(path, constants.O_RDWR));
      // Created by SQLite when missing: its folder must be writable (asked without creating it).
      else accessSync(dirname(path), constants.W_OK | constants.X_OK);
    } catch (err) {
      const code = errnoOf(err);
      if (code) return { path, code, creating: !existsSync(path) };
    }
  }
  return undefined;
}

/**
 * A StoreFileError for an open that failed with SQLite's `sqliteCode`, or undefined when the
 * failure is not about writing the file (the caller keeps the original error). `key`: the
 * config key that chose the file (`data_dir`, or `web.store.file` when it is set).
 */
export function storeFileError(file: string, key: string, sqliteCode: string | undefined): StoreFileError | undefined {
  if (!sqliteCode || !/^SQLITE_(CANTOPEN|READONLY|PERM|FULL|IOERR)/.test(sqliteCode)) return undefined;
  const why = probe(file) ?? (sqliteCode.startsWith('SQLITE_FULL') ? { path: file, code: 'ENOSPC', creating: false } : undefined);
  if (!why) return undefined;
  const what = why.path === file ? 'the local store' : `the local store's ${why.path.slice(file.length + 1)} file`;
  const where = why.creating ? `cannot create ${why.path} (${what}) in ${dirname(why.path)}` : `cannot write ${why.path} (${what})`;
  const fix = key === 'data_dir' ? 'give the gateway write access to it, or set another data_dir (or web.store.file)' : 'give the gateway write access to it, or set another web.store.file';
  return new StoreFileError(`${where}: ${WHY[why.code] as string} (${key}): ${fix}`, why.path, why.code !== 'EISDIR');
}
