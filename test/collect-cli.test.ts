/**
 * `lorawan-edge collect` as a planner runs it: a real child process reading a real local store
 * (SQLite, written by LocalStore as the gateway writes it), text, CSV and JSON output, and the
 * documented exit codes for what a person can get wrong.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../codecs/testing/paths.ts';
import type { CollectionList } from '../gateway/analytics/collection-list.ts';
import { writeFixtureStore } from '../gateway/web/store/planner-fixtures.ts';

const BIN = join(REPO_ROOT, 'bin', 'lorawan-edge');
const dir = mkdtempSync(join(tmpdir(), 'collect-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const now = Date.now();
// Tomorrow's date in UTC (the child runs with TZ=UTC).
const tomorrow = new Date(now + 86_400_000).toISOString().slice(0, 10);

beforeAll(() => writeFixtureStore(join(dir, 'local.sqlite'), now));

function cli(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(BIN, ['collect', ...args], { encoding: 'utf8', cwd: REPO_ROOT, timeout: 60_000, env: { ...process.env, TZ: 'UTC' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('lorawan-edge collect', () => {
  it("lists tomorrow's bins by commune with the expected fill, and the skipped collection", () => {
    const r = cli(['--date', tomorrow, '--data-dir', dir, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const list = JSON.parse(r.stdout) as CollectionList;
    const names = Object.fromEntries(list.groups.map((g) => [g.key, g.bins.map((b) => b.name)]));
    expect(names).toEqual({ north: ['north-full', 'north-filling'], south: ['south-skipped'] });
    const filling = list.groups[0]?.bins[1];
    // 84 % now at 10 %/day: about 84 + 10 × (hours to the 05:00 round) / 24 on arrival.
    const hours = (list.roundMs - now) / 3_600_000;
    expect(filling?.expectedFillPct).toBeCloseTo(84 + (10 * hours) / 24, 0);
    expect(list.skipped.map((s) => s.name)).toContain('south-skipped');
    expect(list.skipped.map((s) => s.name)).not.toContain('south-slow');
  });

  it('filters by commune; prints text and CSV', () => {
    const text = cli(['--date', tomorrow, '--data-dir', dir, '--commune', 'south']);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('south-skipped');
    expect(text.stdout).not.toContain('north-full');
    // How many past rounds south-skipped missed depends on the hour now (the fixture is relative
    // to the clock, rounds are at 05:00): the text must state the count the JSON gives, ≥ 1.
    const json = JSON.parse(cli(['--date', tomorrow, '--data-dir', dir, '--commune', 'south', '--json']).stdout) as CollectionList;
    expect(json.skipped.length).toBeGreaterThanOrEqual(1);
    expect(text.stdout).toContain(`Skipped collections: ${json.skipped.length}\n`);
    const csv = cli(['--date', tomorrow, '--data-dir', dir, '--csv']);
    expect(csv.code).toBe(0);
    const rows = csv.stdout.trim().split('\n');
    expect(rows[0]).toBe('commune,dev_eui,name,site,state,fill_pct,expected_fill_pct,reason');
    expect(rows).toHaveLength(4);
  });

  it('answers --help and gives one-line errors with documented exit codes', () => {
    const help = cli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--date <YYYY-MM-DD>');
    for (const [args, code, text] of [
      [['--data-dir', dir], 2, '--date'],
      [['--date', '2026-02-30', '--data-dir', dir], 2, 'not a date'],
      [['--date', tomorrow, '--data-dir', dir, '--round', '25:00'], 2, '--round'],
      [['--date', tomorrow, '--data-dir', dir, '--csv', '--json'], 2, 'exclude'],
      [['--date', tomorrow], 2, '--config'],
      [['--date', tomorrow, '--data-dir', join(dir, 'nope')], 74, 'no local store'],
    ] as [string[], number, string][]) {
      const r = cli(args);
      expect(r.code, args.join(' ')).toBe(code);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.stderr).toContain(text);
    }
    const junkDir = mkdtempSync(join(dir, 'junk-'));
    writeFileSync(join(junkDir, 'local.sqlite'), 'this is not sqlite');
    const junk = cli(['--date', tomorrow, '--data-dir', junkDir]);
    expect(junk.code).toBe(74);
    expect(junk.stderr.trim().split('\n')).toHaveLength(1);
  });
});
