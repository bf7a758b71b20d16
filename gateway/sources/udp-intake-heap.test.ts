/**
 * The intake worker's heap limits hold under the systemd unit's V8 heap flags (a child process
 * started with them), the main thread keeps its own, and the flags are back for later workers.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../codecs/package-root.ts';
import { heapFlagsOf } from './udp-intake-heap.ts';

/** The unit's node flags (what the gateway runs with). */
function unitFlags(): string[] {
  const unit = readFileSync(join(PACKAGE_ROOT, 'gateway', 'deploy', 'lorawan-edge.service'), 'utf8');
  const m = /^ExecStart=\S*node((?:\s+--\S+)*)\s/m.exec(unit);
  return (m?.[1] ?? '').trim().split(/\s+/).filter(Boolean);
}

const CHILD = `
import { Worker } from 'node:worker_threads';
import { getHeapStatistics } from 'node:v8';
import { workerWithOwnHeap } from ${JSON.stringify(join(PACKAGE_ROOT, 'gateway', 'sources', 'udp-intake-heap.ts'))};
// ESM: the workers inherit --input-type=module
const code = "import { parentPort } from 'node:worker_threads'; import { getHeapStatistics } from 'node:v8'; parentPort.postMessage(getHeapStatistics().heap_size_limit);";
const limitOf = (w) => new Promise((res, rej) => { w.once('message', (m) => { void w.terminate(); res(m); }); w.once('error', rej); });
const MB = 1048576;
const own = await limitOf(workerWithOwnHeap(code, { eval: true, resourceLimits: { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 16 } }));
const later = await limitOf(new Worker(code, { eval: true, resourceLimits: { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 16 } }));
process.stdout.write(JSON.stringify({ own: own / MB, later: later / MB, main: getHeapStatistics().heap_size_limit / MB }));
`;

describe('workerWithOwnHeap', () => {
  it('reads the heap flags from execArgv and NODE_OPTIONS (both spellings, both forms)', () => {
    expect([...heapFlagsOf(['--max-old-space-size=80', '--max-semi-space-size', '2', '--stack-size=900'], undefined)]).toEqual([
      ['max-old-space-size', '80'],
      ['max-semi-space-size', '2'],
    ]);
    expect([...heapFlagsOf(['--max_old_space_size=64'], '--max-old-space-size=40 --max_semi_space_size=1')]).toEqual([
      ['max-old-space-size', '64'],
      ['max-semi-space-size', '1'],
    ]);
    expect(heapFlagsOf(['--expose-gc'], '').size).toBe(0);
  });

  it("gives the worker its resourceLimits under the unit's flags, and leaves the main thread's and later workers' alone", () => {
    const flags = unitFlags();
    expect(flags).toContain('--max-old-space-size=80');
    const r = spawnSync(process.execPath, [...flags, '--import', 'tsx', '--input-type=module', '-e', CHILD], { cwd: PACKAGE_ROOT, encoding: 'utf8', timeout: 60_000, env: { ...process.env, NODE_OPTIONS: '' } });
    expect(r.status, r.stderr).toBe(0);
    const o = JSON.parse(r.stdout) as { own: number; later: number; main: number };
    // 16 MB old space + the young generation; a plain Worker gets the flags' 80 MB old space.
    expect(o.own).toBeLessThan(24);
    expect(o.later).toBeGreaterThan(80);
    expect(o.main).toBeGreaterThan(80);
  });
});
