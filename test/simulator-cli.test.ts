/**
 * `lorawan-edge simulate` as a user runs it: reproducible ledgers (byte-identical for the same
 * seed), a private keys file the registry format accepts, a UDP run with its summary, and
 * one-line usage errors with exit code 2.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../cli/main.ts';
import type { Io } from '../cli/usage.ts';
import { REPO_ROOT } from '../codecs/testing/paths.ts';
import { readKeysFile } from '../simulator/keys-file.ts';
import { createSimulation } from '../simulator/simulation.ts';
import { readLedger } from '../simulator/ledger.ts';
import { DEMO_FLEET } from '../simulator/testing/fleets.ts';
import { startTestNetworkServer } from '../simulator/testing/udp-network-server.ts';

const BIN = join(REPO_ROOT, 'bin', 'lorawan-edge');
const dir = mkdtempSync(join(tmpdir(), 'lorawan-edge-sim-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(BIN, args, { cwd: REPO_ROOT, timeout: 60_000, encoding: 'utf8' }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

async function inProcess(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = new PassThrough();
  const errs = new PassThrough();
  let stdout = '';
  let stderr = '';
  out.on('data', (c: Buffer) => (stdout += c.toString()));
  errs.on('data', (c: Buffer) => (stderr += c.toString()));
  const io: Io = { stdout: out, stderr: errs, stdin: new PassThrough() };
  const code = await main(['simulate', ...args], io);
  return { code, stdout, stderr };
}

describe('lorawan-edge simulate', () => {
  it('the same seed writes a byte-identical ledger; keys are written 0600 in the registry format', async () => {
    const run = (name: string, seed: string): Promise<{ code: number; stdout: string; stderr: string }> =>
      cli([
        'simulate', '--fleet', DEMO_FLEET, '--dry-run', '--speed', 'max', '--count', '300', '--seed', seed,
        '--loss', '5%', '--replay', '0.05', '--corrupt-mic', '0.05', '--duplicate', '0.05', '--fcnt-reset', '0.01',
        '--gateway-outage', 'gw-station@1h+2h', '--ledger', join(dir, `${name}.jsonl`), '--keys', join(dir, `${name}-keys.json`),
      ]);
    const [a, b, c] = await Promise.all([run('a', '5'), run('b', '5'), run('c', '6')]);
    for (const r of [a, b, c]) {
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/Uplinks: 300 sent/);
      expect(r.stdout).toMatch(/Faults: loss \d+ · corrupt-mic \d+/);
    }
    const la = readFileSync(join(dir, 'a.jsonl'));
    expect(la.equals(readFileSync(join(dir, 'b.jsonl')))).toBe(true);
    expect(la.equals(readFileSync(join(dir, 'c.jsonl')))).toBe(false);
    const ledger = readLedger(join(dir, 'a.jsonl'));
    expect(ledger).toHaveLength(300);
    expect(ledger.map((e) => e.seq)).toEqual(ledger.map((_, i) => i + 1));
    for (const f of ['loss', 'replay', 'corrupt-mic', 'duplicate', 'gateway-outage']) expect(ledger.some((e) => (e.faults as string[]).includes(f)), f).toBe(true);

    const keysPath = join(dir, 'a-keys.json');
    expect(statSync(keysPath).mode & 0o777).toBe(0o600);
    const keys = readKeysFile(keysPath, { requirePrivateMode: true });
    expect(keys.devices).toHaveLength(30);
    expect(readFileSync(keysPath).equals(readFileSync(join(dir, 'b-keys.json')))).toBe(true);
    const abp = keys.devices.find((d) => d.activation === 'ABP');
    expect(abp).toMatchObject({ catalogueId: 'dragino/ldds75', tags: { commune: 'west', stream: 'residual' }, variables: { container_depth_mm: 1600 } });
    // Every ledger device is in the keys file.
    const euis = new Set(keys.devices.map((d) => d.devEui));
    expect(ledger.every((e) => euis.has(e.devEui))).toBe(true);
  });

  it('sends over UDP (joins answered through PULL_RESP) and prints the forwarders’ summary', async () => {
    const probe = await createSimulation({ fleet: DEMO_FLEET, seed: 3 });
    const server = await startTestNetworkServer({ keys: probe.keys() });
    try {
      const r = await cli(['simulate', '--fleet', DEMO_FLEET, '--seed', '3', '--udp', `127.0.0.1:${server.port}`, '--speed', 'max', '--count', '150', '--ack-timeout', '500ms']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/Uplinks: 150 sent/);
      expect(r.stdout).toMatch(/Joins: 25 requests, 25 accepted/);
      expect(r.stdout).toMatch(/PUSH_DATA \(\d+ stat\), \d+ PUSH_ACK, 0 missing/);
      expect(r.stdout).toMatch(/25 PULL_RESP, 25 TX_ACK/);
      expect(server.sessions.size).toBe(25);
      expect(server.rxpk.length).toBeGreaterThanOrEqual(150 + 25);
    } finally {
      await server.close();
    }
  });

  it('--help, and one-line usage errors with exit code 2', async () => {
    const help = await inProcess(['--help']);
    expect(help.code).toBe(0);
    for (const opt of ['--udp', '--mqtt', '--format', '--count', '--duration', '--speed', '--seed', '--ledger', '--keys', '--loss', '--corrupt-mic', '--replay', '--duplicate', '--gateway-outage']) {
      expect(help.stdout).toContain(opt);
    }
    const cases: [string[], RegExp][] = [
      [['--dry-run'], /--fleet is required/],
      [['--fleet', DEMO_FLEET], /choose exactly one output/],
      [['--fleet', DEMO_FLEET, '--dry-run', '--udp', '127.0.0.1:1700'], /choose exactly one output/],
      [['--fleet', DEMO_FLEET, '--udp', 'nowhere'], /--udp must be <host:port>/],
      [['--fleet', DEMO_FLEET, '--mqtt', 'http://x'], /--mqtt URL must start with mqtt/],
      [['--fleet', DEMO_FLEET, '--mqtt', 'mqtt://127.0.0.1:1', '--format', 'xml'], /--format must be/],
      [['--fleet', DEMO_FLEET, '--dry-run', '--loss', '5'], /for percent write 5%/],
      [['--fleet', DEMO_FLEET, '--dry-run', '--count', '0'], /--count must be a positive integer/],
      [['--fleet', DEMO_FLEET, '--dry-run', '--duration', 'forever'], /--duration must be a duration/],
      [['--fleet', DEMO_FLEET, '--dry-run', '--speed', 'fast'], /--speed must be/],
      [['--fleet', DEMO_FLEET, '--dry-run', '--gateway-outage', 'gw-nope@1h+1h'], /no gateway with id or name "gw-nope"/],
      [['--fleet', join(dir, 'missing.yaml'), '--dry-run'], /cannot read/],
      [['--fleet', DEMO_FLEET, '--dry-run', '--bogus'], /bogus/],
    ];
    for (const [args, message] of cases) {
      const r = await inProcess(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.stderr, args.join(' ')).toMatch(message);
    }
  });
});
