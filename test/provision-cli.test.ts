/**
 * `lorawan-edge provision` end to end, as a technician runs it: the real CLI process against an
 * emulated device on a socat pty pair, and against a gRPC server speaking ChirpStack's API.
 * Asserts what lands where (device, registry, keys file, ChirpStack), that a rerun writes
 * nothing, and that no key ever reaches standard output or standard error.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator } from '../devices/provisioning/testing/emulator.ts';
import { startFakeChirpStack, type FakeChirpStack } from '../devices/provisioning/testing/fake-chirpstack.ts';
import { startPtyPair } from '../devices/provisioning/testing/pty.ts';

const BIN = join(import.meta.dirname, '..', 'bin', 'lorawan-edge');
const KEY_A = '2b7e151628aed2a6abf7158809cf4f3c';
const KEY_B = '000102030405060708090a0b0c0d0e0f';

function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

const noKeys = (r: { stdout: string; stderr: string }, ...keys: string[]): void => {
  for (const k of keys) {
    expect(r.stdout.toLowerCase()).not.toContain(k.toLowerCase());
    expect(r.stderr.toLowerCase()).not.toContain(k.toLowerCase());
  }
};

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'provision-cli-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('provision serial', () => {
  it('provisions an emulated RUI3 device, writes registry, keys (0600) and record, and prints no key', async () => {
    const pty = await startPtyPair();
    const device = await startEmulator(pty.device, { dialect: 'rui3', state: { devEui: 'AC1F09FFFE0000A1' } });
    try {
      const registry = join(dir, 'devices.yaml');
      const keys = join(dir, 'keys.json');
      const record = join(dir, 'provisioned.csv');
      const r = await cli(['provision', 'serial', '--port', pty.host, '--model', 'dingtek/df703', '--app-key', KEY_A, '--join-eui', '70b3d57ed0000001', '--join-test', '--join-timeout', '10', '--name', 'bin-test-1', '--tag', 'commune=Cabestany', '--registry', registry, '--keys', keys, '--record', record, '--operator', 'tech-1']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/DevEUI ac1f09fffe0000a1/);
      expect(r.stdout).toMatch(/read back app key •+4f3c: matches/);
      expect(r.stdout).toMatch(/join test: joined/);
      noKeys(r, KEY_A);
      expect(device.state.appKey.toLowerCase()).toBe(KEY_A);
      expect(readFileSync(registry, 'utf8')).toContain('ac1f09fffe0000a1');
      expect(statSync(keys).mode & 0o777).toBe(0o600);
      expect(JSON.parse(readFileSync(keys, 'utf8')).devices[0]).toMatchObject({ devEui: 'ac1f09fffe0000a1', appKey: KEY_A, joinEui: '70b3d57ed0000001' });
      const rec = readFileSync(record, 'utf8');
      expect(rec).toMatch(/^time,operator,dev_eui,join_eui,key_fingerprint/);
      expect(rec).toContain('tech-1,ac1f09fffe0000a1,70b3d57ed0000001,sha256:');
      expect(rec).not.toContain(KEY_A);
      // The same device again: nothing changes in the registry or the keys file.
      const again = await cli(['provision', 'serial', '--port', pty.host, '--dialect', 'rui3', '--model', 'dingtek/df703', '--app-key', KEY_A, '--join-eui', '70b3d57ed0000001', '--name', 'bin-test-1', '--tag', 'commune=Cabestany', '--registry', registry, '--keys', keys]);
      expect(again.code).toBe(0);
      expect(again.stdout).toMatch(/registry .*: unchanged/);
      expect(again.stdout).toMatch(/keys .*: unchanged/);
    } finally {
      await device.close();
      await pty.dispose();
    }
  });

  it('a device error, a missing port and a bad option each end in one line and a non-zero exit', async () => {
    const pty = await startPtyPair();
    const device = await startEmulator(pty.device, { dialect: 'dragino', errors: { 'AT+APPKEY=': 'AT_PARAM_ERROR' } });
    try {
      const r = await cli(['provision', 'serial', '--port', pty.host, '--dialect', 'dragino', '--model', 'dragino/ldds75', '--app-key', KEY_B]);
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/AT_PARAM_ERROR/);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      noKeys(r, KEY_B);
    } finally {
      await device.close();
      await pty.dispose();
    }
    const missing = await cli(['provision', 'serial', '--port', '/dev/ttyNOPE-lorawan-edge', '--dialect', 'rui3', '--model', 'dingtek/df703']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^provision serial: no serial device at \/dev\/ttyNOPE-lorawan-edge/);
    const usage = await cli(['provision', 'serial', '--port', '/dev/x', '--model', 'nope/nope']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/unknown model "nope\/nope"/);
  });
});

describe('provision chirpstack', () => {
  let cs: FakeChirpStack;
  beforeAll(async () => {
    cs = await startFakeChirpStack();
  });
  afterAll(async () => cs.stop());

  const csv = (rows: string[]): string => {
    const f = join(dir, `batch-${Math.random().toString(36).slice(2)}.csv`);
    writeFileSync(f, ['DEV_EUI;Name;Model;Join_EUI;App_Key;tag:commune;var:container_depth_mm', ...rows].join('\n'));
    return f;
  };

  it('creates profile, application and devices with the AppKey in nwkKey; a rerun makes no writes; a change updates only that device', async () => {
    const file = csv([`a840410000000201;bin-201;dingtek/df703;70b3d57ed0000001;${KEY_A};Cabestany;1200`, `a840410000000202;bin-202;dingtek/df703;70b3d57ed0000001;${KEY_B};Cabestany;1100`, `a840410000000203;bin-203;acme/bin-sensor;70b3d57ed0000001;${KEY_B};Perpignan;900`]);
    const args = ['provision', 'chirpstack', '--server', `127.0.0.1:${cs.port}`, '--tenant', cs.tenantId, '--application', 'waste-bins', '--csv', file];
    const env = { CHIRPSTACK_API_TOKEN: cs.token };
    const first = await cli(args, env);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/created 3, updated 0, unchanged 0, failed 0/);
    noKeys(first, KEY_A, KEY_B, cs.token);
    expect(cs.keys.get('a840410000000201')?.getNwkKey()).toBe(KEY_A);
    expect(cs.keys.get('a840410000000201')?.getAppKey()).toBe('');
    expect(cs.devices.get('a840410000000201')?.getTagsMap().get('commune')).toBe('Cabestany');
    expect(cs.devices.get('a840410000000201')?.getVariablesMap().get('container_depth_mm')).toBe('1200');
    // Two catalogue models: two device profiles; the script codec's source went into the second.
    const profiles = [...cs.profiles.values()];
    expect(profiles.map((p) => p.getName()).sort()).toEqual(['lorawan-edge acme/bin-sensor', 'lorawan-edge dingtek/df703']);
    expect(profiles.find((p) => p.getName().includes('acme'))?.getPayloadCodecScript()).toContain('decodeUplink');

    const writesBefore = cs.calls.filter((c) => c.write).length;
    const second = await cli(args, env);
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/created 0, updated 0, unchanged 3, failed 0/);
    expect(cs.calls.filter((c) => c.write).length).toBe(writesBefore);

    const changed = csv([`a840410000000201;bin-201;dingtek/df703;70b3d57ed0000001;${KEY_A};Cabestany;1250`, `a840410000000202;bin-202;dingtek/df703;70b3d57ed0000001;${KEY_A};Cabestany;1100`]);
    const third = await cli([...args.slice(0, -1), changed], env);
    expect(third.stdout).toMatch(/created 0, updated 2, unchanged 0, failed 0/);
    expect(cs.keys.get('a840410000000202')?.getNwkKey()).toBe(KEY_A);
    const newWrites = cs.calls.filter((c) => c.write).slice(writesBefore).map((c) => c.method);
    expect(newWrites.sort()).toEqual(['DeviceService/Update', 'DeviceService/UpdateKeys']);
  });

  it('--dry-run writes nothing; a bad token is one line naming UNAUTHENTICATED', async () => {
    const file = csv([`a840410000000301;bin-301;dingtek/df703;70b3d57ed0000001;${KEY_A};Cabestany;1200`]);
    const writes = cs.calls.filter((c) => c.write).length;
    const dry = await cli(['provision', 'chirpstack', '--server', `127.0.0.1:${cs.port}`, '--tenant', cs.tenantId, '--application', 'waste-bins', '--csv', file, '--dry-run'], { CHIRPSTACK_API_TOKEN: cs.token });
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/dry run: would be created 1/);
    expect(cs.calls.filter((c) => c.write).length).toBe(writes);
    const bad = await cli(['provision', 'chirpstack', '--server', `127.0.0.1:${cs.port}`, '--tenant', cs.tenantId, '--application', 'waste-bins', '--csv', file], { CHIRPSTACK_API_TOKEN: 'wrong-token' });
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/UNAUTHENTICATED/);
    expect(bad.stderr).not.toContain('wrong-token');
  });

  it('--watch reports the join and first uplink of each device and names the one never heard', async () => {
    const file = csv([`a840410000000601;bin-601;dingtek/df703;70b3d57ed0000001;${KEY_A};Cabestany;1200`, `a840410000000602;bin-602;dingtek/df703;70b3d57ed0000001;${KEY_B};Cabestany;1200`]);
    const run = cli(['provision', 'chirpstack', '--server', `127.0.0.1:${cs.port}`, '--tenant', cs.tenantId, '--application', 'waste-bins', '--csv', file, '--watch', '15s'], { CHIRPSTACK_API_TOKEN: cs.token });
    // Once both streams are open, the first device joins and sends an uplink; the second is silent.
    const until = Date.now() + 60_000;
    while (cs.watchers('a840410000000601') === 0 || cs.watchers('a840410000000602') === 0) {
      if (Date.now() > until) throw new Error('the CLI never opened the event streams');
      await new Promise((r) => setTimeout(r, 50));
    }
    cs.emitEvent('a840410000000601', 'join', { devAddr: '01020304' });
    cs.emitEvent('a840410000000601', 'up', { fCnt: 0, rxInfo: [{ rssi: -97, snr: 4.5 }, { rssi: -88, snr: 7 }] });
    const r = await run;
    expect(r.stdout).toMatch(/a840410000000601 bin-601: joined/);
    expect(r.stdout).toMatch(/a840410000000601 bin-601: first uplink fCnt 0, heard by 2 gateway\(s\), best RSSI -88 dBm, SNR 7 dB/);
    expect(r.stdout).toMatch(/watch: 1 of 2 joined and sent an uplink; not heard: bin-602/);
    expect(r.code).toBe(1);
  });

  it('warns when a device keeps Milesight\'s published default AppKey', async () => {
    const file = csv(['24e124136b316787;am319-1;milesight-iot/am319;24e124c0002a0001;5572404c696e6b4c6f52613230313823;Perpignan;']);
    const r = await cli(['provision', 'chirpstack', '--server', `127.0.0.1:${cs.port}`, '--tenant', cs.tenantId, '--application', 'air', '--csv', file], { CHIRPSTACK_API_TOKEN: cs.token });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/warning: line 2: 24e124136b316787 uses Milesight's published default AppKey/);
    expect(r.stderr).not.toContain('5572404c');
  });

  it('serial provisioning can register the device on ChirpStack in the same run', async () => {
    const pty = await startPtyPair();
    const device = await startEmulator(pty.device, { dialect: 'e5', state: { devEui: '2CF7F12000000701' } });
    try {
      const r = await cli(['provision', 'serial', '--port', pty.host, '--model', 'dingtek/df703', '--join-eui', '70b3d57ed0000001', '--app-key', 'generate', '--name', 'bin-701', '--server', `127.0.0.1:${cs.port}`, '--tenant', cs.tenantId, '--application', 'waste-bins'], { CHIRPSTACK_API_TOKEN: cs.token });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/detected e5/);
      expect(r.stdout).toMatch(/2cf7f12000000701 bin-701: created/);
      // The generated key is on the device and on ChirpStack, and nowhere in the output.
      const key = device.state.appKey.toLowerCase();
      expect(cs.keys.get('2cf7f12000000701')?.getNwkKey()).toBe(key);
      noKeys(r, key);
    } finally {
      await device.close();
      await pty.dispose();
    }
  });

  it('batch puts the same CSV into the registry and the keys file in one run, idempotently', async () => {
    const file = csv([`a840410000000801;bin-801;dingtek/df703;70b3d57ed0000001;${KEY_A};Cabestany;1200`, `a840410000000802;bin-802;dingtek/df703;70b3d57ed0000001;${KEY_B};Cabestany;1100`]);
    const registry = join(dir, 'batch-devices.yaml');
    const keys = join(dir, 'batch-keys.json');
    const first = await cli(['provision', 'batch', '--csv', file, '--registry', registry, '--keys', keys]);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/registry .*: created 2, updated 0, unchanged 0/);
    expect(first.stdout).toMatch(/keys .*\(0600\): created 2, updated 0, unchanged 0/);
    noKeys(first, KEY_A, KEY_B);
    expect(statSync(keys).mode & 0o777).toBe(0o600);
    const again = await cli(['provision', 'batch', '--csv', file, '--registry', registry, '--keys', keys]);
    expect(again.stdout).toMatch(/registry .*: created 0, updated 0, unchanged 2/);
    expect(again.stdout).toMatch(/keys .*: created 0, updated 0, unchanged 2/);
  });

  it('a batch with problems is refused whole, every problem listed with line and column', async () => {
    const file = csv([`a840410000000401;bin-401;dingtek/df703;70b3d57ed0000001;${KEY_A};Cabestany;1200`, 'a84041000000040;bin-402;dingtek/nope;70b3d57ed000000;abc;Cabestany;1100', `a840410000000401;bin-403;dingtek/df703;70b3d57ed0000001;${KEY_A};Cabestany;1100`]);
    const calls = cs.calls.length;
    const r = await cli(['provision', 'chirpstack', '--server', `127.0.0.1:${cs.port}`, '--tenant', cs.tenantId, '--application', 'waste-bins', '--csv', file], { CHIRPSTACK_API_TOKEN: cs.token });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/line 3, column join_eui: must be 16 hex digits/);
    expect(r.stderr).toMatch(/line 3, column app_key: must be 32 hex digits/);
    expect(r.stderr).toMatch(/line 3, column dev_eui: /);
    expect(r.stderr).toMatch(/line 3, column model: unknown catalogue id/);
    expect(r.stderr).toMatch(/line 4, column dev_eui: DevEUI a840410000000401 is also on line 2/);
    expect(cs.calls.length).toBe(calls);
  });
});

describe('provision labels and scan', () => {
  it('labels writes an SVG per device and a PDF; scan reads a TR005 code back into the registry', async () => {
    const file = join(dir, 'labels.csv');
    writeFileSync(file, `dev_eui,name,model,join_eui,tag:site\na840410000000501,bin-501,dingtek/df703,70b3d57ed0000001,"Place de la République, Cabestany"\n`);
    const out = join(dir, 'labels');
    const r = await cli(['provision', 'labels', '--csv', file, '--out', out, '--profile-id', 'A8400001']);
    expect(r.code).toBe(0);
    const svg = readFileSync(join(out, 'a840410000000501.svg'), 'utf8');
    expect(svg).toContain('<title>LW:D0:70B3D57ED0000001:A840410000000501:A8400001</title>');
    expect(readFileSync(join(out, 'labels.pdf')).subarray(0, 5).toString()).toBe('%PDF-');
    const registry = join(dir, 'scanned.yaml');
    const s = await cli(['provision', 'scan', 'LW:D0:70B3D57ED0000001:A840410000000501:A8400001', '--registry', registry, '--model', 'dingtek/df703', '--name', 'bin-501']);
    expect(s.code).toBe(0);
    expect(s.stdout).toMatch(/registry .*: created/);
    expect(readFileSync(registry, 'utf8')).toMatch(/dev_eui: a840410000000501/);
    const bad = await cli(['provision', 'scan', 'LW:D0:nothex']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^provision scan: TR005: the JoinEUI/);
  });
});
