/**
 * A pseudo-terminal pair from socat (Debian package `socat`), as tests use it: the CLI opens
 * `host`, an emulated device answers on `device`. `kill()` ends socat, which is what unplugging a
 * USB serial adapter looks like to the host (EIO on the next write, then close).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PtyPair {
  host: string;
  device: string;
  kill(): Promise<void>;
  dispose(): Promise<void>;
}

export async function startPtyPair(timeoutMs = 10_000): Promise<PtyPair> {
  const dir = mkdtempSync(join(tmpdir(), 'lorawan-edge-pty-'));
  const host = join(dir, 'ttyHOST');
  const device = join(dir, 'ttyDEV');
  const child: ChildProcess = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${host}`, `pty,raw,echo=0,link=${device}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + timeoutMs;
  while (!(existsSync(host) && existsSync(device) && stderr.includes('starting data transfer loop'))) {
    if (child.exitCode !== null) throw new Error(`socat exited: ${stderr.trim()}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`socat did not create the pty pair within ${timeoutMs} ms: ${stderr.trim()}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  const kill = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  return {
    host,
    device,
    kill,
    async dispose() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
