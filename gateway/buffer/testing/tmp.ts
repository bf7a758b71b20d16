/** Temporary folders for buffer tests, under os.tmpdir(), removed by the returned function. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export async function tempDir(label: string): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `lorawan-edge-buffer-${label}-`));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}
