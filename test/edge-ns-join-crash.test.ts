/**
 * A `kill -9` between a join's SQLite commit (session, DevNonce) and the durable log's fsync of
 * its join record: the gateway child (bin/lorawan-edge gateway, `semtech_udp` source with the
 * inbox journal) is killed at exactly that instant by its test hook
 * (`LORAWAN_EDGE_TEST_CRASH=after-join-commit`, gateway/ns/network-server.ts). After the restart
 * the journal replays the join-request; its DevNonce is committed, and its S6 row (the log id the
 * record was about to get) says the record never reached the log: it is stored then — once, also
 * through a further restart. Before S6 covered joins, the replay skipped it as
 * `already_processed` and the join record was lost for good.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestForwarder, until } from '../gateway/ns/testing/forwarder.ts';
import { renderRegistry } from '../gateway/registry/devices-file.ts';
import { writeDeviceKeysFile } from '../gateway/registry/keys-file.ts';
import { buildJoinRequest } from '../lorawan/join.ts';
import { buildPullData } from '../lorawan/udp/gateway.ts';
import { freePort } from '../support/free-port.ts';
import { exited, readHeldRecords, startCrashGateway } from './edge-ns-crash-rig.ts';

const dir = mkdtempSync(join(tmpdir(), 'edge-ns-join-crash-'));
const GW = '0016c001f150001a';
const OTAA = { devEui: '3331383274356a01', joinEui: 'aa13693363343639', appKey: Buffer.from('98929b92c49edba9676d646d3b61245a', 'hex') };
const procs: ChildProcess[] = [];
let config: string;
let httpPort: number;
let udpPort: number;

async function metric(name: string, labels: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  return Number(new RegExp(`^${name}\\{${labels}\\} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
}

beforeAll(async () => {
  [udpPort, httpPort] = [await freePort(), await freePort()];
  const deadPort = await freePort();
  writeDeviceKeysFile(join(dir, 'keys.json'), [{ devEui: OTAA.devEui, activation: 'OTAA', joinEui: OTAA.joinEui, appKey: OTAA.appKey.toString('hex') }]);
  writeFileSync(join(dir, 'devices.yaml'), renderRegistry([{ dev_eui: OTAA.devEui, name: 'bin-j', model: 'dingtek/df703', tags: {}, variables: {} }]));
  config = join(dir, 'gateway.yaml');
  writeFileSync(
    config,
    JSON.stringify({
      name: 'join-crash',
      data_dir: './data',
      http: { listen: `127.0.0.1:${httpPort}` },
      log: { level: 'warn' },
      registry: { devices_file: 'devices.yaml' },
      web: { enabled: false, store: { enabled: false } },
      sources: [{ type: 'semtech_udp', name: 'udp', listen: `127.0.0.1:${udpPort}`, keys_file: 'keys.json', dedup_window_ms: 20 }],
      // Nobody listens there: the log keeps every record for the audit (readHeldRecords).
      sinks: [
        { type: 'influxdb', name: 'influx', url: `http://127.0.0.1:${deadPort}`, database: 'x', retry_max_backoff_ms: 1000 },
        { type: 'influxdb', name: 'hold', url: `http://127.0.0.1:${deadPort}`, database: 'x', retry_max_backoff_ms: 1000 },
      ],
    }),
  );
}, 60_000);

afterAll(async () => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  await Promise.all(procs.map(exited));
  rmSync(dir, { recursive: true, force: true });
});

describe('kill -9 between a join commit and the log fsync', () => {
  it('the join record reaches the log exactly once after the restart (inbox replay + S6 row)', async () => {
    // Only the first life gets the hook (the child inherits the environment at spawn).
    process.env['LORAWAN_EDGE_TEST_CRASH'] = 'after-join-commit';
    let gw: ChildProcess;
    try {
      gw = await startCrashGateway(config, httpPort, procs);
    } finally {
      delete process.env['LORAWAN_EDGE_TEST_CRASH'];
    }
    const fwd = new TestForwarder(GW, () => udpPort);
    await fwd.open();
    try {
      fwd.send(buildPullData({ gatewayEui: GW }).bytes);
      await until(() => fwd.acks.length > 0, 'PULL_ACK');
      fwd.push(buildJoinRequest({ joinEui: OTAA.joinEui, devEui: OTAA.devEui, devNonce: 0x0101 }, OTAA.appKey));
      // The hook kills the gateway right after the join's SQLite commit.
      await Promise.race([exited(gw), new Promise((_, reject) => setTimeout(() => reject(new Error('the gateway was not killed by its hook')), 30_000))]);
      expect(gw.signalCode).toBe('SIGKILL');
      expect(fwd.resp).toHaveLength(0); // no join-accept left: it waits for the log's fsync

      gw = await startCrashGateway(config, httpPort, procs);
      for (let i = 0; i < 300 && (await metric('lorawan_edge_ns_inbox_recovered_total', 'outcome="restored"')) < 1; i++) await new Promise((r) => setTimeout(r, 50));
      expect(await metric('lorawan_edge_ns_inbox_recovered_total', 'outcome="restored"')).toBe(1);
      expect(await metric('lorawan_edge_ns_rejected_total', 'reason="devnonce_reuse"')).toBe(0);
      gw.kill('SIGTERM');
      await exited(gw);

      // A third life replays nothing of it again (and would skip it: its record is below the log's next id).
      gw = await startCrashGateway(config, httpPort, procs);
      gw.kill('SIGKILL');
      await exited(gw);
    } finally {
      fwd.close();
    }
    const joins = (await readHeldRecords(dir)).filter((r) => r.kind === 'join');
    expect(joins).toHaveLength(1);
    expect(joins[0]).toMatchObject({ devEui: OTAA.devEui });
  }, 120_000);
});
