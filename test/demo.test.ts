/**
 * `npm run demo` as a newcomer runs it: a real child process, no server prepared beforehand.
 * With influxd installed it uses a private InfluxDB; with --no-influxdb the file sink.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../codecs/testing/paths.ts';
import { which } from '../support/binaries.ts';

// The demo keeps its folder for the user to look at; the tests give it one and remove it.
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function demo(args: string[]): { code: number | null; out: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'demo-test-'));
  dirs.push(dir);
  const r = spawnSync(process.execPath, [join(REPO_ROOT, 'bin', 'lorawan-edge'), 'demo', '--dir', dir, ...args], { encoding: 'utf8', timeout: 180_000 });
  return { code: r.status, out: r.stdout + r.stderr, dir };
}

/** A private TMPDIR, to see what the demo leaves behind in its temporary folders. */
function privateTmp(): string {
  const tmp = mkdtempSync(join(tmpdir(), 'demo-tmp-'));
  dirs.push(tmp);
  return tmp;
}

const leftovers = (tmp: string): string[] => readdirSync(tmp).filter((f) => f.startsWith('lorawan-edge-'));

/** The closing summary both storage modes print. */
function expectSummary(out: string): void {
  expect(out).toMatch(/Example readings \(latest per device, from /);
  expect(out).toMatch(/^\s+bin-\S+\s+fill_pct=\d/m);
  expect(out).toMatch(/^\s+water-\S+\s+volume_m3=\d/m);
  expect(out).toMatch(/^\s+air-\S+\s+co2_ppm=\d/m);
  expect(out).toMatch(/Bins to collect at the round of \d{4}-\d{2}-\d{2} \(full, or passing 90 % before the next round\): /);
  expect(out).toMatch(/planner {2}http:\/\/127\.0\.0\.1:\d+\/planner/);
  // A progress line with the total and the percentage, at least the last one.
  expect(out).toMatch(/simulated .+ \/ .+ \(100 %\)/);
}

/** Every "next step" the demo prints names files that exist; the import one runs as printed. */
function expectNextStepsRun(out: string, cwd: string): void {
  const steps = out.split('\n').filter((l) => /^\s+(cp |\.\/bin\/lorawan-edge )/.test(l));
  expect(steps.length).toBe(3);
  const registryDir = mkdtempSync(join(tmpdir(), 'demo-next-'));
  dirs.push(registryDir);
  const importStep = (steps.find((l) => l.includes('devices import')) ?? '').replace(/#.*/, '').trim();
  const r = spawnSync('sh', ['-c', importStep.replace('--registry devices.yaml', `--registry ${join(registryDir, 'devices.yaml')}`)], { cwd, encoding: 'utf8', timeout: 60_000 });
  expect(r.status, r.stdout + r.stderr).toBe(0);
  expect(r.stdout).toMatch(/imported [1-9]\d* device/);
  const cp = (steps.find((l) => l.trim().startsWith('cp ')) ?? '').trim().split(/\s+/)[1] ?? '';
  expect(existsSync(join(cwd, cp)), cp).toBe(true);
}

function number(out: string, label: RegExp): number {
  return Number(label.exec(out)?.[1] ?? 'NaN');
}

describe('lorawan-edge demo', () => {
  it('runs the whole chain into a private InfluxDB and reports what arrived', () => {
    const { code, out, dir } = demo(['--duration', '12h']);
    expect(code, out).toBe(0);
    const sent = number(out, /uplinks sent by the simulator\s+(\d+)/);
    const heard = number(out, /\((\d+) heard by a gateway/);
    const received = number(out, /uplinks received by the gateway\s+(\d+)/);
    expect(sent).toBeGreaterThan(500);
    expect(received).toBe(heard);
    expect(out).toMatch(/readings bin-fill\s+\d+/);
    expect(out).toMatch(/readings water-meter\s+\d+/);
    expect(out).toMatch(/readings air-quality\s+\d+/);
    expect(out).toContain('Data went to a private InfluxDB');
    expect(out).toContain('rejected 0   decode errors 0');
    expectSummary(out);
    // The user's --dir is kept, with a log that says what the gateway did.
    expect(out).toContain('gateway.log');
    expect(statSync(join(dir, 'gateway.log')).size).toBeGreaterThan(0);
    expect(readFileSync(join(dir, 'gateway.log'), 'utf8')).toContain('gateway started');
    // The query printed for a private InfluxDB that is gone by now is not offered as runnable.
    expect(out).not.toMatch(/^\s+(curl|influx) /m);
    expect(out).toMatch(/pages\s+http:\/\/127\.0\.0\.1:\d+\//);
  }, 200_000);

  it('falls back to line-protocol files without InfluxDB: the same summary, its temporary folder removed', () => {
    const tmp = privateTmp();
    const r = spawnSync(process.execPath, [join(REPO_ROOT, 'bin', 'lorawan-edge'), 'demo', '--duration', '6h', '--no-influxdb'], {
      encoding: 'utf8',
      timeout: 180_000,
      cwd: REPO_ROOT,
      env: { ...process.env, TMPDIR: tmp },
    });
    const out = r.stdout + r.stderr;
    expect(r.status, out).toBe(0);
    expect(out).toMatch(/Data went to line-protocol files \(\d+ file\(s\), \d+ points/);
    expectSummary(out);
    if (which('influxd')) expect(out).not.toContain('not installed');
    expect(out).toContain('--no-influxdb');
    expect(leftovers(tmp)).toEqual([]);
    expectNextStepsRun(out, REPO_ROOT);
  }, 200_000);

  it.runIf(which('influxd') !== undefined)('--keep keeps the private InfluxDB running until Ctrl-C, and the printed query works', async () => {
    const tmp = privateTmp();
    const child = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'lorawan-edge'), 'demo', '--duration', '3h', '--keep'], {
      cwd: REPO_ROOT,
      env: { ...process.env, TMPDIR: tmp },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((ok) => child.once('close', ok));
    const killer = setTimeout(() => child.kill('SIGKILL'), 170_000);
    try {
      const deadline = Date.now() + 160_000;
      while (!/until Ctrl-C[\s\S]*curl .*\n/.test(out) && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      const curl = /^\s+(curl .*)$/m.exec(out)?.[1];
      expect(curl, out).toBeDefined();
      const q = spawnSync('sh', ['-c', curl ?? 'false'], { encoding: 'utf8', timeout: 30_000 });
      expect(q.status, q.stderr).toBe(0);
      expect(q.stdout).toContain('"name":"bin_fill"');
      child.kill('SIGINT');
      expect(await exited).toBe(0);
    } finally {
      clearTimeout(killer);
      child.kill('SIGKILL');
    }
    // InfluxDB's folder is gone with it; the demo folder is kept, as asked.
    expect(leftovers(tmp).filter((f) => f.startsWith('lorawan-edge-influxd-'))).toEqual([]);
    expect(leftovers(tmp).filter((f) => f.startsWith('lorawan-edge-demo-'))).toHaveLength(1);
  }, 200_000);
});
