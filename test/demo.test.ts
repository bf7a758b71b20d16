/**
 * `npm run demo` as a newcomer runs it: a real child process, no server prepared beforehand.
 * With influxd installed it uses a private InfluxDB; with --no-influxdb the file sink.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../codecs/testing/paths.ts';

// The demo keeps its folder for the user to look at; the tests give it one and remove it.
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function demo(args: string[]): { code: number | null; out: string } {
  const dir = mkdtempSync(join(tmpdir(), 'demo-test-'));
  dirs.push(dir);
  const r = spawnSync(process.execPath, [join(REPO_ROOT, 'bin', 'lorawan-edge'), 'demo', '--dir', dir, ...args], { encoding: 'utf8', timeout: 180_000 });
  return { code: r.status, out: r.stdout + r.stderr };
}

function number(out: string, label: RegExp): number {
  return Number(label.exec(out)?.[1] ?? 'NaN');
}

describe('lorawan-edge demo', () => {
  it('runs the whole chain into a private InfluxDB and reports what arrived', () => {
    const { code, out } = demo(['--duration', '12h']);
    expect(code, out).toBe(0);
    const sent = number(out, /uplinks sent by the simulator\s+(\d+)/);
    const heard = number(out, /\((\d+) heard by a gateway/);
    const received = number(out, /uplinks received by the gateway\s+(\d+)/);
    expect(sent).toBeGreaterThan(500);
    expect(received).toBe(heard);
    expect(out).toMatch(/readings bin-fill\s+\d+/);
    expect(out).toMatch(/readings water-meter\s+\d+/);
    expect(out).toMatch(/readings air-quality\s+\d+/);
    expect(out).toContain('Data went to InfluxDB');
    expect(out).toMatch(/fill_pct=\d/);
    expect(out).toContain('rejected 0   decode errors 0');
    expect(out).toMatch(/pages\s+http:\/\/127\.0\.0\.1:\d+\//);
  }, 200_000);

  it('falls back to line-protocol files without InfluxDB', () => {
    const { code, out } = demo(['--duration', '6h', '--no-influxdb']);
    expect(code, out).toBe(0);
    expect(out).toMatch(/Data went to .*points \(\d+ file\(s\), \d+ points/);
    expect(out).toMatch(/^\s+bin_fill,\S*dev_eui=[0-9a-f]{16}/m);
  }, 200_000);
});
