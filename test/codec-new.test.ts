/**
 * `codec new` as an integrator runs it, in a copy of the project: a codec from the bin-fill
 * template and one started from an existing codec both pass `validate` and their contract test
 * before any edit; an existing id and a malformed id are refused in one line.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SHARED_DIR } from '../codecs/testing/paths.ts';

const ROOT = join(import.meta.dirname, '..');
let copy: string;

function cli(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(copy, 'bin', 'lorawan-edge'), ...args], { cwd: copy, encoding: 'utf8', env: { ...process.env, LORAWAN_EDGE_SHARED: SHARED_DIR }, timeout: 300_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  copy = mkdtempSync(join(tmpdir(), 'codec-new-'));
  const files = spawnSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' }).stdout.split('\0').filter(Boolean);
  for (const f of files) if (existsSync(join(ROOT, f))) cpSync(join(ROOT, f), join(copy, f), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'));
}, 120_000);
afterAll(() => rmSync(copy, { recursive: true, force: true }));

describe('codec new', () => {
  it('a bin-fill codec from the template and one from an existing codec pass validate and the contract as written', () => {
    const a = cli(['codec', 'new', 'acme/level-9', '--category', 'bin-fill', '--name', 'ACME Level 9']);
    expect(a.stderr).toBe('');
    expect(a.code).toBe(0);
    expect(a.stdout).toContain('wrote codecs/acme/level-9/codec.ts');
    expect(a.stdout).toContain('wrote devices/acme/level-9.yaml');
    expect(readFileSync(join(copy, 'codecs', 'registry.ts'), 'utf8')).toContain("import { codec as acmeLevel9 } from './acme/level-9/codec.ts';");
    const b = cli(['codec', 'new', 'milesight-iot/em500-river', '--from', 'milesight-iot/em500-udl']);
    expect(b.code).toBe(0);
    const v = cli(['validate']);
    expect(v.stdout + v.stderr).toMatch(/catalogue ok/);
    expect(v.code).toBe(0);
    const c = cli(['codec', 'test', 'acme/level-9', '--contract']);
    expect(c.stdout).toMatch(/Tests\s+\S*\d+ passed/);
    expect(c.code).toBe(0);
    const d = cli(['codec', 'test', 'milesight-iot/em500-river', '--contract']);
    expect(d.code).toBe(0);
  }, 600_000);

  it('refuses an existing id and a malformed one in one line', () => {
    const again = cli(['codec', 'new', 'dingtek/df703']);
    expect(again.code).toBe(1);
    expect(again.stderr.trim()).toBe('codec new: codecs/dingtek/df703/ exists already');
    const bad = cli(['codec', 'new', 'Not An Id']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^codec new: "Not An Id" is not a codec id/);
  });
});
