/**
 * A data_dir in use: `lorawan-edge gateway` and `lorawan-edge replay` started on the data_dir of
 * a running process (here: another process holding its durable log, as a running gateway does)
 * print one line naming the data_dir and what to do, exit 75, and show no stack trace.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { EXIT_LOCKED } from '../cli/gateway.ts';
import { main } from '../cli/main.ts';
import { freePort } from '../support/free-port.ts';

const REPO_ROOT = resolve(import.meta.dirname, '..');
const HOLDER = join(REPO_ROOT, 'gateway', 'buffer', 'testing', 'lock-holder.ts');
const dir = mkdtempSync(join(tmpdir(), 'data-dir-lock-'));
let child: ChildProcess | undefined;
afterAll(() => {
  child?.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

function hold(bufferDir: string): Promise<ChildProcess> {
  return new Promise((res, rej) => {
    const c = spawn(process.execPath, ['--import', 'tsx', HOLDER, bufferDir], { stdio: ['ignore', 'pipe', 'pipe'], cwd: REPO_ROOT });
    const guard = setTimeout(() => rej(new Error('holder did not open within 60 s')), 60_000);
    c.stdout?.on('data', (b: Buffer) => {
      if (b.toString().startsWith('open')) {
        clearTimeout(guard);
        res(c);
      }
    });
    c.on('exit', (code) => rej(new Error(`holder exited ${code}`)));
  });
}

async function run(argv: string[]): Promise<{ code: number; stderr: string; stdout: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = '';
  let stderr = '';
  out.on('data', (b: Buffer) => (stdout += b.toString()));
  err.on('data', (b: Buffer) => (stderr += b.toString()));
  const code = await main(argv, { stdout: out, stderr: err, stdin: new PassThrough() });
  return { code, stdout, stderr };
}

describe('a data_dir in use by another lorawan-edge process', () => {
  it('gateway and replay print one line naming the data_dir and exit 75', async () => {
    const port = await freePort(); // nothing listens there; the gateway never gets that far
    const yaml = join(dir, 'gateway.yaml');
    writeFileSync(
      yaml,
      `data_dir: ./data\nhttp: { listen: false }\nlog: { level: silent }\nsources:\n  - type: chirpstack_mqtt\n    url: mqtt://127.0.0.1:${port}\nsinks:\n  - type: file\n    name: file\n`,
    );
    child = await hold(join(dir, 'data', 'buffer'));
    for (const verb of ['gateway', 'replay']) {
      const r = await run([verb, '--config', yaml]);
      expect(r.code, verb).toBe(EXIT_LOCKED);
      // A config warning (no registry) may come first; the lock is one line.
      const lines = r.stderr.trim().split('\n').filter((l) => !l.startsWith('warning: '));
      expect(lines, verb).toHaveLength(1);
      expect(lines[0]).toContain(`data_dir ${join(dir, 'data')} is in use`);
      expect(lines[0]).toMatch(/stop that one first/);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  }, 120_000);
});
