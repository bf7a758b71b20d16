/**
 * `npm run demo -- --fleet perpignan|dijon`: the real command in a child process, on the file
 * sink (the InfluxDB path is the one test/demo.test.ts covers). The summary must speak of the
 * real communes, and a misspelt fleet costs one line and exit 2 before anything starts.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../codecs/testing/paths.ts';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function demo(args: string[]): { code: number | null; out: string; err: string } {
  const dir = mkdtempSync(join(tmpdir(), 'demo-fleet-test-'));
  dirs.push(dir);
  const r = spawnSync(process.execPath, [join(REPO_ROOT, 'bin', 'lorawan-edge'), 'demo', '--dir', dir, '--no-influxdb', ...args], { encoding: 'utf8', timeout: 240_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const PERPIGNAN = ['Perpignan', 'Canet-en-Roussillon', 'Saint-Estève', 'Cabestany', 'Rivesaltes', 'Bompas', 'Saint-Laurent-de-la-Salanque', 'Toulouges'];

describe('demo --fleet', () => {
  it('perpignan: the fleet of eight communes runs, and the summary names real communes', () => {
    const r = demo(['--fleet', 'perpignan', '--duration', '3d']);
    expect(r.code, r.out + r.err).toBe(0);
    expect(r.out).toMatch(/fleet\s+69 devices \(.*simulator\/fleets\/perpignan\.yaml\)/);
    expect(r.out).toMatch(/^\s+pav-\S+\s+fill_pct=\d/m);
    expect(r.out).toMatch(/^\s+eau-\S+\s+volume_m3=\d/m);
    expect(r.out).toMatch(/^\s+air-\S+\s+co2_ppm=\d/m);
    // The summary's list of bins to collect names each bin's commune (its `commune` tag).
    const named = PERPIGNAN.filter((c) => r.out.includes(c));
    expect(named.length, r.out).toBeGreaterThan(0);
    expect(r.out).not.toMatch(/^\s+\S+\s+(centre|west)\s+\d/m);
  }, 300_000);

  it('dijon: bins and the river stations of the Ouche and the Suzon', () => {
    const r = demo(['--fleet', 'dijon', '--duration', '1d']);
    expect(r.code, r.out + r.err).toBe(0);
    expect(r.out).toMatch(/fleet\s+36 devices \(.*simulator\/fleets\/dijon\.yaml\)/);
    expect(r.out).toMatch(/decode errors 0/);
  }, 300_000);

  it('a misspelt fleet: one line naming the flag, exit 2', () => {
    const r = demo(['--fleet', 'dijonn']);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toContain('--fleet: no fleet "dijonn" (did you mean "dijon"?)');
  }, 120_000);
});
