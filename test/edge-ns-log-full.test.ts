/**
 * S6 with a full durable log (`buffer.when_full: block`, gateway/ns/batch-log-ids.ts): a batch
 * the log refuses after `block_timeout_ms` has its counters committed — and its confirmed
 * uplinks ACKed — and later records take the ids its S6 rows had predicted. The gateway (a real
 * child process, real UDP, a log of a few KiB in real files) runs against an InfluxDB stand-in
 * that answers 503 until the test lets it drain (a condition a real InfluxDB cannot produce on
 * demand: support/recording-server.ts): the log fills, batches are refused, then the sink drains
 * and later uplinks are stored with those ids; kill -9; the restarted gateway replays the
 * journal. Every frame whose PUSH_DATA was acknowledged — the ACKed confirmed one too — reaches
 * the sink, and each refused frame is `restored` exactly once. Before batch-log-ids.ts the
 * replay took the refused frames for stored (their predicted ids were below the log's next id)
 * and skipped them as `already_processed`: lost.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TestForwarder, until } from '../gateway/ns/testing/forwarder.ts';
import { renderRegistry } from '../gateway/registry/devices-file.ts';
import { writeDeviceKeysFile } from '../gateway/registry/keys-file.ts';
import { buildDataFrame } from '../lorawan/data-frame.ts';
import { buildPullData } from '../lorawan/udp/gateway.ts';
import { freePorts } from '../support/free-port.ts';
import { startRecordingServer, type RecordingServer } from '../support/recording-server.ts';
import { exited, startCrashGateway } from './edge-ns-crash-rig.ts';

const dir = mkdtempSync(join(tmpdir(), 'edge-ns-log-full-'));
const procs: ChildProcess[] = [];
const GW = '0016c001f15a00f1';
const ABP = { devEui: '0000000000000f01', devAddr: 0x26011f01, nwkSKey: Buffer.from('44024241ed4ce9a68c6a8bc055233fd6', 'hex'), appSKey: Buffer.from('ec925802ae430ca77fd3dd73cb2cc58b', 'hex') };
let fwd: TestForwarder | undefined;
let influx: RecordingServer | undefined;

afterAll(async () => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  await Promise.all(procs.map(exited));
  fwd?.close();
  await influx?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function metric(httpPort: number, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  return Number(new RegExp(`^${name}${labels ? `\\{${labels}\\}` : ''} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
}

async function waitFor(what: string, cond: () => Promise<boolean>, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The `fcnt`s of the device's `lorawan_uplink` points the InfluxDB stand-in accepted (204). */
function deliveredFCnts(server: RecordingServer, accepted: Set<number>): Set<number> {
  const out = new Set<number>();
  server.requests.forEach((req, i) => {
    if (!accepted.has(i)) return;
    for (const line of req.lines) {
      if (!line.startsWith('lorawan_uplink,') || !line.includes(`dev_eui=${ABP.devEui}`)) continue;
      const m = /[ ,]fcnt=(\d+)i/.exec(line);
      if (m) out.add(Number(m[1]));
    }
  });
  return out;
}

describe('edge network server: a batch the full log refuses (when_full: block) is not lost through kill -9', () => {
  it('every acknowledged frame, the ACKed one too, reaches the sink after the restart', async () => {
    const [udpPort, httpPort] = (await freePorts(2)) as [number, number];
    let draining = false;
    const accepted = new Set<number>();
    influx = await startRecordingServer((_req, i) => {
      if (!draining) return { status: 503, body: '{"error":"not yet"}' };
      accepted.add(i);
      return { status: 204 };
    });
    writeDeviceKeysFile(join(dir, 'keys.json'), [{ devEui: ABP.devEui, activation: 'ABP', devAddr: ABP.devAddr.toString(16), nwkSKey: ABP.nwkSKey.toString('hex'), appSKey: ABP.appSKey.toString('hex') }]);
    writeFileSync(join(dir, 'devices.yaml'), renderRegistry([{ dev_eui: ABP.devEui, name: 'bin-full', model: 'dingtek/df703', tags: {}, variables: {} }]));
    const config = join(dir, 'gateway.yaml');
    writeFileSync(
      config,
      JSON.stringify({
        name: 'log-full',
        data_dir: './data',
        http: { listen: `127.0.0.1:${httpPort}` },
        log: { level: 'warn' },
        registry: { devices_file: 'devices.yaml' },
        web: { enabled: false, store: { enabled: false } },
        // A log of 16 KiB that blocks when full and refuses a batch after 300 ms.
        buffer: { segment_bytes: 4096, max_bytes: 16_384, when_full: 'block', block_timeout_ms: 300, fsync_interval_ms: 20 },
        sources: [{ type: 'semtech_udp', name: 'udp', listen: `127.0.0.1:${udpPort}`, keys_file: 'keys.json' }],
        sinks: [{ type: 'influxdb', name: 'influx', url: influx.url, database: 'x', retry_max_backoff_ms: 200, flush_interval_ms: 50 }],
      }),
    );
    let gw = await startCrashGateway(config, httpPort, procs);
    fwd = new TestForwarder(GW, () => udpPort);
    await fwd.open();
    const f = fwd;
    let fCnt = 0;
    /** One uplink per PUSH_DATA, the next once the PUSH_ACK came (the datagram is in the journal). */
    const pushAcked = async (confirmed = false): Promise<number> => {
      const n = fCnt++;
      const acks = f.acks.length;
      f.push(buildDataFrame({ mType: confirmed ? 'ConfirmedDataUp' : 'UnconfirmedDataUp', devAddr: ABP.devAddr, fCnt: n, fCtrl: {}, fPort: 3, payload: Buffer.from([0x01, n & 0xff]) }, { nwkSKey: ABP.nwkSKey, appSKey: ABP.appSKey }));
      await until(() => f.acks.length > acks, `PUSH_ACK of FCnt ${n}`);
      return n;
    };
    const settled = async (): Promise<{ stored: number; refused: number }> => ({
      stored: await metric(httpPort, 'lorawan_edge_uplinks_received_total', 'source="udp"'),
      refused: await metric(httpPort, 'lorawan_edge_ns_rejected_total', 'reason="log_error"'),
    });

    // 1. The sink answers 503: the log fills, and batches are refused after block_timeout_ms.
    for (let i = 0; i < 400; i++) {
      await pushAcked();
      if (i % 20 === 19 && (await settled()).refused > 0) break;
    }
    await waitFor('a refused batch', async () => (await settled()).refused > 0);
    // A confirmed uplink into the full log: ACKed after the SQLite commit (S2/S6), then refused by the log.
    const resps = f.resp.length;
    await pushAcked(true);
    await f.nextResp(resps + 1);
    for (let i = 0; i < 5; i++) await pushAcked();
    const phase1 = fCnt;
    await waitFor('every frame of the full log stored or refused', async () => {
      const s = await settled();
      return s.stored + s.refused === phase1;
    });
    const refused = (await settled()).refused;
    expect(refused).toBeGreaterThan(0);

    // 2. The sink drains; later uplinks are stored and take the ids the refused batches' rows predicted.
    draining = true;
    for (let i = 0; i < 30; i++) await pushAcked();
    await waitFor('the later uplinks stored', async () => (await settled()).stored === phase1 - refused + 30);
    gw.kill('SIGKILL');
    await exited(gw);

    // 3. The restart replays the journal: the refused frames are restored, nothing else again.
    gw = await startCrashGateway(config, httpPort, procs);
    const acks = f.acks.length;
    f.send(buildPullData({ gatewayEui: GW }).bytes);
    await until(() => f.acks.length > acks, 'PULL_ACK after the restart');
    const all = Array.from({ length: fCnt }, (_, i) => i);
    await waitFor('every acknowledged frame at the sink', async () => all.every((n) => deliveredFCnts(influx as RecordingServer, accepted).has(n)), 30_000).catch(() => undefined);
    const delivered = deliveredFCnts(influx, accepted);
    expect(all.filter((n) => !delivered.has(n))).toEqual([]);
    // Restored: the refused frames, less any a refused batch had placed before it waited (stored, skipped).
    const restored = await metric(httpPort, 'lorawan_edge_ns_inbox_recovered_total', 'outcome="restored"');
    expect(restored).toBeGreaterThan(0);
    expect(restored).toBeLessThanOrEqual(refused);
    gw.kill('SIGTERM');
    await exited(gw);
  }, 240_000);
});
