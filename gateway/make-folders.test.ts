import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeFolders } from './make-folders.ts';

const work = mkdtempSync(join(tmpdir(), 'make-folders-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('makeFolders', () => {
  it('creates every missing level, and is a no-op on an existing folder', () => {
    const deep = join(work, 'a', 'b', 'c');
    makeFolders(deep, 0o700);
    expect(statSync(deep).isDirectory()).toBe(true);
    expect(statSync(deep).mode & 0o777).toBe(0o700);
    expect(() => makeFolders(deep)).not.toThrow();
  });

  it('stops with the first error and its path: a file in the way', () => {
    writeFileSync(join(work, 'file'), 'x');
    expect(() => makeFolders(join(work, 'file', 'sub'))).toThrow(expect.objectContaining({ code: 'ENOTDIR' }) as Error);
  });

  // mkdirSync(…, { recursive: true }) never returns here (Node 20); a hang fails by the timeout.
  it.runIf(existsSync('/proc/self'))('answers ENOENT under /proc instead of spinning', () => {
    expect(() => makeFolders('/proc/lorawan-edge-test/x/y')).toThrow(expect.objectContaining({ code: 'ENOENT', path: '/proc/lorawan-edge-test' }) as Error);
  }, 10_000);
});
