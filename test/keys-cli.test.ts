/**
 * `lorawan-edge keys import` and the key flags of `devices add`, as a user runs them: a real
 * child process, the keys file on disk with its mode, exit codes 0 / 1 / 2.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../codecs/testing/paths.ts';

const BIN = join(REPO_ROOT, 'bin', 'lorawan-edge');
const dir = mkdtempSync(join(tmpdir(), 'keys-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const APP_KEY = '98929b92c49edba9676d646d3b612456';

function cli(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(BIN, args, { encoding: 'utf8', cwd: REPO_ROOT, timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('keys import / devices add --app-key', () => {
  it('imports the simulator JSON with its registry entries and CSV keys; the keys file is 0600; no key is printed', () => {
    const keys = join(dir, 'keys.json');
    const reg = join(dir, 'devices.yaml');
    const sim = join(dir, 'sim-keys.json');
    writeFileSync(sim, JSON.stringify({ version: 1, devices: [{ devEui: '3331383274356905', name: 'bin-1', catalogueId: 'dingtek/df703', activation: 'OTAA', joinEui: 'aa13693363343639', appKey: APP_KEY, variables: {}, tags: {} }] }), { mode: 0o600 });
    const r = cli(['keys', 'import', sim, '--keys', keys, '--registry', reg]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('1 OTAA');
    expect(statSync(keys).mode & 0o777).toBe(0o600);
    expect(readFileSync(reg, 'utf8')).toContain('dingtek/df703');

    const csv = join(dir, 'abp.csv');
    writeFileSync(csv, 'dev_eui,dev_addr,nwk_s_key,app_s_key\n0000000000000002,26011bda,44024241ed4ce9a68c6a8bc055233fd3,ec925802ae430ca77fd3dd73cb2cc588\n');
    expect(cli(['keys', 'import', csv, '--keys', keys]).code).toBe(0);
    const again = cli(['keys', 'import', csv, '--keys', keys]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('--replace');

    const add = cli(['devices', 'add', '--registry', reg, '--dev-eui', '0000000000000009', '--model', 'dingtek/df703', '--name', 'bin-9', '--keys', keys, '--join-eui', 'aa13693363343639', '--app-key', APP_KEY]);
    expect(add.stderr).toBe('');
    expect(add.code).toBe(0);
    const doc = JSON.parse(readFileSync(keys, 'utf8')) as { devices: { devEui: string }[] };
    expect(doc.devices.map((d) => d.devEui)).toEqual(['3331383274356905', '0000000000000002', '0000000000000009']);
    for (const out of [r, add]) expect(out.stdout + out.stderr).not.toContain(APP_KEY);

    expect(cli(['devices', 'add', '--registry', reg, '--dev-eui', '000000000000000a', '--model', 'dingtek/df703', '--name', 'x', '--keys', keys, '--app-key', APP_KEY]).code).toBe(2);
    // A hostile JSON import: one line naming the file and the key path, exit 1, nothing written.
    const hostile = join(dir, 'hostile.json');
    writeFileSync(hostile, `{"version":1,"devices":[{"devEui":"0000000000000010","activation":"OTAA","joinEui":"aa13693363343639","appKey":"${APP_KEY}","tags":{"__proto__":{"x":1}}}]}`);
    const before = readFileSync(keys, 'utf8');
    const bad = cli(['keys', 'import', hostile, '--keys', keys]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe(`${hostile}: key "devices[0].tags.__proto__" is not allowed (__proto__, constructor and prototype are reserved)\nnothing written: 1 problem(s)\n`);
    expect(bad.stdout + bad.stderr).not.toContain(APP_KEY);
    expect(readFileSync(keys, 'utf8')).toBe(before);

    chmodSync(keys, 0o644);
    const open = cli(['keys', 'import', csv, '--keys', keys, '--replace']);
    expect(open.code).toBe(1);
    expect(open.stderr).toContain(`${keys}: file mode 0644`);
  });
});
