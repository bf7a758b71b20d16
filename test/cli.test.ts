/**
 * The `lorawan-edge` command as a user runs it: a real child process, real stdin/stdout, exit
 * codes 0 / 1 / 2 as documented.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../codecs/testing/paths.ts';
import { billionLaughs } from '../support/hostile-yaml.ts';

const BIN = join(REPO_ROOT, 'bin', 'lorawan-edge');

function cli(args: string[], input?: string): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(BIN, args, { input: input ?? '', encoding: 'utf8', cwd: REPO_ROOT, timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('lorawan-edge CLI', () => {
  it('--help lists the commands and exits 0', () => {
    const r = cli(['--help']);
    expect(r.code).toBe(0);
    for (const verb of ['decode', 'devices', 'codec', 'validate', 'demo']) expect(r.stdout).toContain(verb);
  });

  it('no command: help and exit 2; unknown command: one line and exit 2', () => {
    expect(cli([]).code).toBe(2);
    const r = cli(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('unknown command "frobnicate"');
  });

  it('decode prints one JSON object with data, errors, warnings, readings (hex)', () => {
    const r = cli(['decode', '--device', 'dingtek/df703', '--fport', '3', '--var', 'container_depth_mm=1200', '800001011107d000190000000000010081']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(Object.keys(out).sort()).toEqual(['data', 'errors', 'readings', 'warnings']);
    expect(out['errors']).toEqual([]);
    const readings = out['readings'] as { values: Record<string, unknown> }[];
    expect(readings[0]?.values['distance_mm']).toBe(2000);
    // 2000 mm seen in a 1200 mm deep container: empty (clamped at 0 %).
    expect(readings[0]?.values['fill_pct']).toBe(0);
  });

  it('decode accepts base64 and gives the same result as hex', () => {
    const hex = cli(['decode', '--device', 'milesight-iot/em310-udl', '--fport', '85', '01755c03824408040001']);
    const b64 = cli(['decode', '--device', 'milesight-iot/em310-udl', '--fport', '85', Buffer.from('01755c03824408040001', 'hex').toString('base64')]);
    expect(hex.code).toBe(0);
    expect(JSON.parse(b64.stdout)).toEqual(JSON.parse(hex.stdout));
    expect((JSON.parse(hex.stdout) as { data: Record<string, unknown> }).data['distance']).toBe(2116);
  });

  it('decode exits 1 with errors for a bad frame, and 2 for usage errors', () => {
    const bad = cli(['decode', '--device', 'dingtek/df703', '--fport', '3', '8000']);
    expect(bad.code).toBe(1);
    const out = JSON.parse(bad.stdout) as { data: unknown; errors: string[] };
    expect(out.data).toBeNull();
    expect(out.errors.length).toBeGreaterThan(0);

    for (const args of [
      ['decode', '--fport', '3', '00'],
      ['decode', '--device', 'nope/nope', '--fport', '3', '00'],
      ['decode', '--device', 'dingtek/df703', '00'],
      ['decode', '--device', 'dingtek/df703', '--fport', 'x', '00'],
      ['decode', '--device', 'dingtek/df703', '--fport', '3', 'not-a-payload!'],
      ['decode', '--device', 'dingtek/df703', '--fport', '3', '--bogus', '00'],
      ['decode', '--device', 'dingtek/df703', '--fport', '3', '--var', 'novalue', '00'],
    ]) {
      const r = cli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
    }
  });

  it('decode --jsonl writes exactly one result line per input line, in order, bad lines included', () => {
    const lines = [
      JSON.stringify({ fPort: 85, bytesHex: '01755c03824408040001' }),
      'this is not json',
      JSON.stringify({ fPort: 85, bytesBase64: Buffer.from('01755c03824408040001', 'hex').toString('base64') }),
      JSON.stringify({ fPort: 85 }),
      '',
      JSON.stringify({ fPort: 85, bytesHex: '0175' }),
      JSON.stringify({ fPort: 85, bytesHex: '01755c03824408040001', variables: { container_depth_mm: 3000 } }),
    ];
    const r = cli(['decode', '--device', 'milesight-iot/em310-udl', '--jsonl'], `${lines.join('\n')}\n`);
    expect(r.code).toBe(1);
    const out = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as { data: Record<string, unknown> | null; errors: string[]; readings: { values: Record<string, unknown> }[] });
    expect(out).toHaveLength(lines.length);
    expect(out[0]?.data?.['distance']).toBe(2116);
    expect(out[1]?.errors[0]).toContain('not JSON');
    expect(out[2]?.data).toEqual(out[0]?.data);
    expect(out[3]?.errors[0]).toContain('bytesHex');
    expect(out[4]?.errors.length).toBe(1);
    expect(out[5]?.errors.length).toBeGreaterThan(0);
    expect(out[6]?.readings[0]?.values['fill_pct']).toBeCloseTo((1 - 2116 / 3000) * 100, 0);
  });

  it('devices lists every catalogue entry', () => {
    const r = cli(['devices']);
    expect(r.code).toBe(0);
    for (const id of ['milesight-iot/em310-udl', 'dingtek/df703', 'kamstrup/flowiq2200', 'generic/cayenne-lpp', 'elsys/ers-co2']) {
      expect(r.stdout).toContain(id);
    }
    const json = JSON.parse(cli(['devices', '--json']).stdout) as { id: string }[];
    expect(json.length).toBeGreaterThanOrEqual(12);
  });

  it('codec test runs the examples and prints pass/fail per example', () => {
    const one = cli(['codec', 'test', 'dingtek/df703', '--verbose']);
    expect(one.code).toBe(0);
    expect(one.stdout).toMatch(/^PASS dingtek\/df703 uplink/m);
    expect(one.stdout).toMatch(/\d+ passed, 0 failed/);
    const all = cli(['codec', 'test']);
    expect(all.code).toBe(0);
    expect(cli(['codec', 'test', 'nope/nope']).code).toBe(2);
  });

  it('validate passes on the shipped catalogue', () => {
    const r = cli(['validate']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/catalogue ok: \d+ device\(s\)/);
  });

  it('devices add / import / registered manage the gateway registry; bad rows write nothing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cli-registry-'));
    try {
      const reg = join(dir, 'devices.yaml');
      const add = cli(['devices', 'add', '--registry', reg, '--dev-eui', 'A8:40:41:00:01:81:C9:E2', '--model', 'dingtek/df703', '--name', 'bin-1', '--tag', 'commune=centre', '--var', 'container_depth_mm=1200']);
      expect(add.stderr).toBe('');
      expect(add.code).toBe(0);
      expect(cli(['devices', 'add', '--registry', reg, '--dev-eui', 'a84041000181c9e2', '--model', 'dingtek/df703', '--name', 'again']).code).toBe(1);
      writeFileSync(join(dir, 'ok.csv'), 'dev_eui,name,model,tag:commune,var:container_depth_mm\n0000000000000002,bin-2,milesight-iot/em310-udl,west,1400\n');
      writeFileSync(join(dir, 'bad.csv'), 'dev_eui,name,model\n0000000000000003,bin-3,dingtek/df703\nnot-an-eui,bin-4,nope/nope\n');
      const before = readFileSync(reg, 'utf8');
      const bad = cli(['devices', 'import', join(dir, 'bad.csv'), '--registry', reg]);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toContain('line 3, column dev_eui');
      expect(bad.stderr).toContain('line 3, column model');
      expect(readFileSync(reg, 'utf8')).toBe(before);
      expect(cli(['devices', 'import', join(dir, 'ok.csv'), '--registry', reg]).code).toBe(0);
      const listed = JSON.parse(cli(['devices', 'registered', '--registry', reg, '--json']).stdout) as { dev_eui: string; variables: Record<string, unknown> }[];
      expect(listed.map((d) => d.dev_eui)).toEqual(['a84041000181c9e2', '0000000000000002']);
      expect(listed[1]?.variables['container_depth_mm']).toBe(1400);
      expect(cli(['devices', 'add', '--dev-eui', 'x']).code).toBe(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('lorawan-edge CLI: hostile files and operator mistakes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cli-hostile-'));
  const gatewayYaml = (extra = ''): string => `sources:\n  - {type: chirpstack_mqtt, url: "mqtt://127.0.0.1:1"}\nhttp: {listen: false}\n${extra}`;
  const noStack = (text: string): void => expect(text).not.toMatch(/^\s+at /m);

  it('gateway --check: an alias bomb or __proto__ in gateway.yaml exits 78 with one line naming file and key', () => {
    try {
      writeFileSync(join(dir, 'bomb.yaml'), `${gatewayYaml()}${billionLaughs('x_')}`);
      const bomb = cli(['gateway', '--check', '--config', join(dir, 'bomb.yaml')]);
      expect(bomb.code).toBe(78);
      expect(bomb.stderr.trim().split('\n')).toHaveLength(1);
      expect(bomb.stderr).toMatch(/bomb\.yaml: \(yaml\): the document expands to more than \d+ nodes/);
      writeFileSync(join(dir, 'proto.yaml'), `${gatewayYaml()}__proto__:\n  data_dir: /tmp/hijacked\n`);
      const proto = cli(['gateway', '--check', '--config', join(dir, 'proto.yaml')]);
      expect(proto.code).toBe(78);
      expect(proto.stderr).toMatch(/proto\.yaml: __proto__: key "__proto__" is not allowed/);
      expect(proto.stdout).not.toContain('config ok');
    } finally {
      rmSync(join(dir, 'bomb.yaml'), { force: true });
    }
  });

  it('devices add into a registry holding an alias bomb fails fast, clearly, and leaves no temp file', () => {
    const reg = join(dir, 'bomb-devices.yaml');
    writeFileSync(reg, `${billionLaughs()}devices: []\n`);
    const r = cli(['devices', 'add', '--registry', reg, '--dev-eui', 'a84041000181c9e2', '--model', 'dingtek/df703', '--name', 'bin-1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/bomb-devices\.yaml: \(yaml\): the document expands to more than \d+ nodes/);
    noStack(r.stderr);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('gateway --check and start load the registry: a bad one exits 78 with file, line and field; a missing one too; an empty one warns', () => {
    writeFileSync(join(dir, 'devices.yaml'), 'devices:\n  - dev_eui: a84041000181c9e2\n    name: bin-1\n    model: dingtek/df703\n    tags: {time: morning}\n');
    writeFileSync(join(dir, 'gw.yaml'), gatewayYaml('data_dir: ./data\nregistry: {devices_file: devices.yaml}\n'));
    for (const args of [['--check'], []]) {
      const r = cli(['gateway', ...args, '--config', join(dir, 'gw.yaml')]);
      expect(r.code).toBe(78);
      expect(r.stderr).toMatch(/devices\.yaml: line 5, devices\[0\]\.tags\.time: device "bin-1" \(a84041000181c9e2\): tag "time" is InfluxDB's timestamp/);
      noStack(r.stderr);
    }
    // InfluxDB 2 discards every point with a tag `_field`: refused at load, naming file, device and key.
    writeFileSync(join(dir, 'devices-v2.yaml'), 'devices:\n  - dev_eui: a84041000181c9e2\n    name: bin-1\n    model: dingtek/df703\n    tags: {commune: centre, _field: x}\n');
    writeFileSync(join(dir, 'gw-v2.yaml'), gatewayYaml('data_dir: ./data\nregistry: {devices_file: devices-v2.yaml}\n'));
    const v2 = cli(['gateway', '--check', '--config', join(dir, 'gw-v2.yaml')]);
    expect(v2.code).toBe(78);
    expect(v2.stderr.trim().split('\n')).toEqual([expect.stringMatching(/devices-v2\.yaml: line 5, devices\[0\]\.tags\._field: device "bin-1" \(a84041000181c9e2\): tag "_field" is reserved by InfluxDB 2/)]);
    writeFileSync(join(dir, 'gw-typo.yaml'), gatewayYaml('registry: {devices_file: devcies.yaml}\n'));
    const missing = cli(['gateway', '--check', '--config', join(dir, 'gw-typo.yaml')]);
    expect(missing.code).toBe(78);
    expect(missing.stderr).toMatch(/devcies\.yaml: \(file\): the registry file does not exist/);
    writeFileSync(join(dir, 'empty.yaml'), '');
    writeFileSync(join(dir, 'gw-empty.yaml'), gatewayYaml('registry: {devices_file: empty.yaml}\n'));
    const empty = cli(['gateway', '--check', '--config', join(dir, 'gw-empty.yaml')]);
    expect(empty.code).toBe(0);
    expect(empty.stderr).toMatch(/warning: .*empty\.yaml: \(file\): the registry is empty/);
  });

  it('devices registered with a misspelt registry is an error, not an empty table', () => {
    const r = cli(['devices', 'registered', '--registry', join(dir, 'typo.yaml')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/typo\.yaml: \(file\): the registry file does not exist/);
  });

  it('unknown values are usage errors listing the valid ones with "did you mean"', () => {
    const cat = cli(['devices', '--category', 'bins']);
    expect(cat.code).toBe(2);
    expect(cat.stderr).toContain('unknown category "bins" (did you mean "bin-fill"?); expected one of bin-fill, water-meter, air-quality, generic');
    const typo = cli(['decode', '--device', 'dingtek/df703', '--fport', '3', '--var', 'container_dept_mm=1200', '800001011107d000190000000000010081']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('container_dept_mm: unknown variable (did you mean "container_depth_mm"?)');
    const abc = cli(['decode', '--device', 'dingtek/df703', '--fport', '3', '--var', 'container_depth_mm=abc', '--var', 'sensor_offset_mm=-5', '800001011107d000190000000000010081']);
    expect(abc.code).toBe(2);
    expect(abc.stderr).toContain('container_depth_mm: must be a number, got "abc"; sensor_offset_mm: must be at least 0');
    const add = cli(['devices', 'add', '--registry', join(dir, 'new.yaml'), '--dev-eui', 'a84041000181c9e2', '--model', 'dingtek/df703', '--name', 'b', '--var', 'container_depth_mm=1e999']);
    expect(add.code).toBe(1);
    expect(add.stderr).toContain('device.variables.container_depth_mm: must be a finite number');
    const serial = cli(['provision', 'serial', '--port', join(dir, 'no-such-tty'), '--model', 'dingtek/df703', '--var', 'container_dept_mm=1200']);
    expect(serial.code).toBe(2);
    expect(serial.stderr).toContain('container_dept_mm: unknown variable (did you mean "container_depth_mm"?)');
    writeFileSync(join(dir, 'gw-replay.yaml'), gatewayYaml('data_dir: ./replay-data\n'));
    const model = cli(['replay', '--config', join(dir, 'gw-replay.yaml'), '--model', 'dingtek/df730']);
    expect(model.code).toBe(2);
    expect(model.stderr).toContain('unknown catalogue id "dingtek/df730" (did you mean "dingtek/df703"?)');
    const range = cli(['replay', '--config', join(dir, 'gw-replay.yaml'), '--since', '2026-06-02T00:00:00Z', '--until', '2026-06-01T00:00:00Z']);
    expect(range.code).toBe(2);
    expect(range.stderr).toContain('--since (2026-06-02T00:00:00Z) is after --until');
    rmSync(dir, { recursive: true, force: true });
  });
});
