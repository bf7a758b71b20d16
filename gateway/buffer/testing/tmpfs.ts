/**
 * A real small filesystem for disk-full tests: a tmpfs of `size` mounted on a fresh temporary
 * folder (needs root; `undefined` otherwise, and the tests that need it are skipped), and a
 * filler file that takes all free space but `leaveBytes`.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, open, rm, statfs, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Tmpfs {
  dir: string;
  /** Fills the filesystem up to `leaveBytes` free (one filler file); returns its path. */
  fill(leaveBytes?: number): Promise<string>;
  /** Deletes the filler: space returns. */
  free(): Promise<void>;
  unmount(): Promise<void>;
}

export const canMountTmpfs = process.platform === 'linux' && process.getuid?.() === 0;

export async function mountTmpfs(size = '2m'): Promise<Tmpfs> {
  const dir = await mkdtemp(join(tmpdir(), 'lorawan-edge-tmpfs-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe', timeout: 30_000 });
  const filler = join(dir, 'filler');
  return {
    dir,
    async fill(leaveBytes = 0) {
      const fh = await open(filler, 'a');
      try {
        const chunk = Buffer.alloc(4096, 0xaa);
        // Bounded: a 2 MiB filesystem holds at most a few hundred chunks.
        for (let i = 0; i < 100_000; i++) {
          const st = await statfs(dir);
          const free = st.bavail * st.bsize;
          if (free <= leaveBytes) break;
          try {
            await fh.write(chunk, 0, Math.min(chunk.length, free - leaveBytes));
          } catch {
            break; // ENOSPC: full
          }
        }
      } finally {
        await fh.close();
      }
      return filler;
    },
    async free() {
      await unlink(filler).catch(() => undefined);
    },
    async unmount() {
      try {
        execFileSync('umount', [dir], { stdio: 'pipe', timeout: 30_000 });
      } catch {
        execFileSync('umount', ['-l', dir], { stdio: 'pipe', timeout: 30_000 });
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
