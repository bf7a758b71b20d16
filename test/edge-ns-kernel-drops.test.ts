/**
 * The deployed gateway's kernel drops in `/metrics`: the gateway process (bin/lorawan-edge) is
 * stopped with SIGSTOP — its socket's reader paused, as on a Pi whose main thread is behind —
 * while 40,000 PULL_DATA datagrams arrive on loopback; its receive buffer (4 MiB asked) holds a
 * part, the kernel drops the rest. After SIGCONT every datagram sent is either counted as
 * received (`lorawan_edge_udp_datagrams_total`) or as dropped by the kernel
 * (`lorawan_edge_udp_kernel_drops_total`), with the socket on the main thread and in the intake
 * worker. Before, the drops were in no metric.
 */
import type { ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildPullData } from '../lorawan/udp/gateway.ts';
import { writeDeviceKeysFile } from '../gateway/registry/keys-file.ts';
import { renderRegistry } from '../gateway/registry/devices-file.ts';
import { freePort } from '../support/free-port.ts';
import { startCrashGateway } from './edge-ns-crash-rig.ts';

const dir = mkdtempSync(join(tmpdir(), 'edge-ns-kernel-drops-'));
const procs: ChildProcess[] = [];
const SENT = 40_000;

afterAll(() => {
  for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

async function metric(httpPort: number, line: RegExp): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  return Number(line.exec(text)?.[1] ?? 0);
}

/** `n` PULL_DATA to the port, in rounds of 1,000 sends (each round's callbacks awaited). */
async function flood(port: number, n: number): Promise<void> {
  const s = createSocket('udp4');
  const msg = buildPullData({ gatewayEui: '0016c001f1500001', token: 1 }).bytes;
  for (let sent = 0; sent < n; sent += 1000) {
    await Promise.all(Array.from({ length: Math.min(1000, n - sent) }, () => new Promise<void>((r, j) => s.send(msg, port, '127.0.0.1', (err) => (err ? j(err) : r())))));
  }
  s.close();
}

describe('kernel drops of the gateway\'s UDP socket', () => {
  for (const intake of [false, true]) {
    it(`intake_thread: ${intake} — received + kernel drops = sent while the process was stopped`, async () => {
      const cfgDir = join(dir, `intake-${intake}`);
      mkdirSync(cfgDir, { recursive: true });
      const [udpPort, httpPort] = [await freePort(), await freePort()];
      writeDeviceKeysFile(join(cfgDir, 'keys.json'), []);
      writeFileSync(join(cfgDir, 'devices.yaml'), renderRegistry([]));
      const config = join(cfgDir, 'gateway.yaml');
      writeFileSync(
        config,
        JSON.stringify({
          name: 'drops',
          data_dir: './data',
          http: { listen: `127.0.0.1:${httpPort}` },
          log: { level: 'warn' },
          registry: { devices_file: 'devices.yaml' },
          sources: [{ type: 'semtech_udp', name: 'udp', listen: `127.0.0.1:${udpPort}`, keys_file: 'keys.json', intake_thread: intake }],
          sinks: [{ type: 'file', name: 'file' }],
        }),
      );
      const proc = await startCrashGateway(config, httpPort, procs);
      const received = /^lorawan_edge_udp_datagrams_total\{type="PULL_DATA"\} (\d+)$/m;
      const drops = /^lorawan_edge_udp_kernel_drops_total\{source="udp"\} (\d+)$/m;
      expect(await metric(httpPort, drops)).toBe(0);
      proc.kill('SIGSTOP');
      try {
        await flood(udpPort, SENT);
      } finally {
        proc.kill('SIGCONT');
      }
      const end = Date.now() + 60_000;
      let got = [0, 0];
      while (Date.now() < end) {
        got = [await metric(httpPort, received), await metric(httpPort, drops)];
        if ((got[0] ?? 0) + (got[1] ?? 0) >= SENT) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      const [read, dropped] = got as [number, number];
      expect(dropped).toBeGreaterThan(0);
      expect(read).toBeGreaterThan(0);
      expect(read + dropped).toBe(SENT);
      proc.kill('SIGTERM');
      await new Promise((r) => proc.once('exit', r));
    }, 120_000);
  }
});
