/**
 * An ACK leaves once the batch's SQLite commit is durable, not after the durable log's fsync
 * (gateway/ns/README.md, S2/S6): the frame is already durable in the inbox journal. This proves
 * that such an ACK promises nothing a `kill -9` can lose: the gateway (a real child process)
 * runs with a 10 s log group commit, so the ACKed record is certainly not on disk when the
 * gateway is killed 1 s after the ACK; the restarted gateway replays the journal, stores the
 * frame as `restored`, and the log holds it exactly once. A second copy of the frame after the
 * restart is a replay, not a second record.
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
import { parsePhyPayload } from '../lorawan/phy-payload.ts';
import { freePorts } from '../support/free-port.ts';
import { exited, readHeldRecords, startCrashGateway, uplinkCounts } from './edge-ns-crash-rig.ts';

const dir = mkdtempSync(join(tmpdir(), 'edge-ns-ack-crash-'));
const procs: ChildProcess[] = [];
const GW = '0016c001f15a0001';
const ABP = { devEui: '0000000000000b01', devAddr: 0x26011bdb, nwkSKey: '44024241ed4ce9a68c6a8bc055233fd4', appSKey: 'ec925802ae430ca77fd3dd73cb2cc589' };
let fwd: TestForwarder | undefined;

afterAll(() => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  fwd?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function metric(httpPort: number, line: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  const hit = text.split('\n').find((l) => l.startsWith(`${line} `));
  return hit ? Number(hit.slice(line.length + 1)) : 0;
}

async function pollMetric(httpPort: number, line: string, want: number, what: string): Promise<void> {
  const end = Date.now() + 60_000;
  for (;;) {
    if ((await metric(httpPort, line)) >= want) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('edge network server: an ACK sent before the log fsync survives kill -9', () => {
  it('the ACKed frame is stored once after the restart (restored from the inbox journal)', async () => {
    const [udpPort, httpPort, deadPort] = (await freePorts(3)) as [number, number, number];
    writeDeviceKeysFile(join(dir, 'keys.json'), [{ devEui: ABP.devEui, activation: 'ABP', devAddr: ABP.devAddr.toString(16), nwkSKey: ABP.nwkSKey, appSKey: ABP.appSKey }]);
    writeFileSync(join(dir, 'devices.yaml'), renderRegistry([{ dev_eui: ABP.devEui, name: 'bin-ack', model: 'dingtek/df703', tags: {}, variables: {} }]));
    const config = join(dir, 'gateway.yaml');
    writeFileSync(
      config,
      JSON.stringify({
        name: 'ack-crash',
        data_dir: './data',
        http: { listen: `127.0.0.1:${httpPort}` },
        log: { level: 'warn' },
        registry: { devices_file: 'devices.yaml' },
        // The log's group commit far beyond the ACK: the kill below comes before its fsync.
        buffer: { fsync_interval_ms: 10_000 },
        sources: [{ type: 'semtech_udp', name: 'udp', listen: `127.0.0.1:${udpPort}`, keys_file: 'keys.json' }],
        // Never reachable: every record stays in the log for the audit (readHeldRecords).
        sinks: [
          { type: 'influxdb', name: 'influx', url: `http://127.0.0.1:${deadPort}`, database: 'x', retry_max_backoff_ms: 1000 },
          { type: 'influxdb', name: 'hold', url: `http://127.0.0.1:${deadPort}`, database: 'x', retry_max_backoff_ms: 1000 },
        ],
      }),
    );
    let gw = await startCrashGateway(config, httpPort, procs);
    fwd = new TestForwarder(GW, () => udpPort);
    await fwd.open();
    const keys = { nwkSKey: Buffer.from(ABP.nwkSKey, 'hex'), appSKey: Buffer.from(ABP.appSKey, 'hex') };
    const confirmed = buildDataFrame({ mType: 'ConfirmedDataUp', devAddr: ABP.devAddr, fCnt: 0, fCtrl: { adr: false }, fPort: 3, payload: Buffer.from('0102', 'hex') }, keys);
    fwd.push(confirmed);
    const { txpk } = await fwd.nextResp(1);
    // Killed 1 s after the ACK: long after the journal would have persisted a cursor past the
    // entry (every 100 ms) had the entry been marked done with the ACK, long before the log's 10 s
    // fsync. (Not a wait for an event: the gap is the scenario.)
    await new Promise((r) => setTimeout(r, 1000));
    gw.kill('SIGKILL');
    await exited(gw);
    const down = parsePhyPayload(txpk.data);
    expect(down.ok && down.frame.kind === 'data' && down.frame.fCtrl.ack).toBe(true);

    gw = await startCrashGateway(config, httpPort, procs);
    // The journal entry was still open (its record not durable): replayed and stored now.
    await pollMetric(httpPort, 'lorawan_edge_ns_inbox_recovered_total{outcome="restored"}', 1, 'the ACKed frame restored');
    expect(await metric(httpPort, 'lorawan_edge_ns_inbox_recovered_total{outcome="already_processed"}')).toBe(0);
    // The same frame again (the device missed the ACK): answered, not stored a second time.
    const acks = fwd.acks.length;
    fwd.send(buildPullData({ gatewayEui: GW }).bytes); // the new process's downlink route
    await until(() => fwd!.acks.length > acks, 'PULL_ACK after the restart');
    fwd.push(confirmed);
    await fwd.nextResp(2);
    await pollMetric(httpPort, 'lorawan_edge_ns_batch_stage_seconds_count{stage="log"}', 1, 'the restored record durable');
    gw.kill('SIGKILL');
    await exited(gw);

    const seen = uplinkCounts(await readHeldRecords(dir));
    expect(seen.get(`${ABP.devEui}/0`)).toBe(1);
    expect(seen.size).toBe(1);
  }, 180_000);
});
