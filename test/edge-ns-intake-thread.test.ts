/**
 * The `semtech_udp` source with its intake on a worker thread (`intake_thread: true`,
 * gateway/sources/udp-intake-worker.ts), over a real UDP socket and a real gateway: frames reach
 * the network server once durable in the journal and are ACKed; a confirmed uplink's ACK
 * (PULL_RESP) leaves from the listening socket and its TX_ACK comes back; a resent datagram is
 * journaled once; bad datagrams, unknown gateways and `stat` reach the main thread's counters, rejects
 * file and gateway status; /metrics has the intake's metric names; a worker that dies is reported in
 * the health and the gateway stops without waiting for it.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSocket } from 'node:dgram';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkConfig } from '../gateway/config.ts';
import { createGateway, type Gateway } from '../gateway/gateway.ts';
import { createMetrics } from '../gateway/metrics.ts';
import { RejectsFile } from '../gateway/rejects.ts';
import { SemtechUdpSource } from '../gateway/sources/semtech-udp.ts';
import { renderRegistry } from '../gateway/registry/devices-file.ts';
import { writeDeviceKeysFile } from '../gateway/registry/keys-file.ts';
import { buildDataFrame } from '../lorawan/data-frame.ts';
import { buildPushData, rxpkFor } from '../lorawan/udp/gateway.ts';
import { TestForwarder, until } from '../gateway/ns/testing/forwarder.ts';
import { freePort } from '../support/free-port.ts';

const dir = mkdtempSync(join(tmpdir(), 'edge-ns-intake-'));
const GW = '0016c001f1500001';
const ABP = { devEui: '0000000000000a01', devAddr: 0x26011bda, nwkSKey: Buffer.from('44024241ed4ce9a68c6a8bc055233fd3', 'hex'), appSKey: Buffer.from('ec925802ae430ca77fd3dd73cb2cc588', 'hex') };
let gateway: Gateway;
let port: number;
let fwd: TestForwarder;
/** what the gateway told its onFatal (a dead intake worker) */
const fatal: string[] = [];
/** the worker's backlog bound here, bytes (INTAKE_BACKLOG_BYTES, 4 MiB, is more than a loaded machine reliably reads in a burst) */
const BACKLOG_BYTES = 128 * 1024;

async function metric(name: string, labels = ''): Promise<number> {
  const text = await gateway.metrics.registry.metrics();
  const re = new RegExp(`^${name}${labels ? `\\{${labels}\\}` : ''} (\\S+)$`, 'm');
  return Number(re.exec(text)?.[1] ?? 0);
}

async function untilMetric(name: string, labels: string, atLeast: number): Promise<number> {
  const end = Date.now() + 15_000;
  for (;;) {
    const v = await metric(name, labels);
    if (v >= atLeast || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The metric once it stopped moving (500 ms unchanged; at most 20 s). */
async function settled(name: string, labels: string): Promise<number> {
  const end = Date.now() + 20_000;
  let last = await metric(name, labels);
  for (;;) {
    await new Promise((r) => setTimeout(r, 500));
    const v = await metric(name, labels);
    if (v === last || Date.now() > end) return v;
    last = v;
  }
}

let fCnt = 0;
const uplink = (confirmed: boolean): Buffer =>
  buildDataFrame({ mType: confirmed ? 'ConfirmedDataUp' : 'UnconfirmedDataUp', devAddr: ABP.devAddr, fCnt: fCnt++, fCtrl: { adr: false }, fPort: 3, payload: Buffer.from('0102', 'hex') }, { nwkSKey: ABP.nwkSKey, appSKey: ABP.appSKey });

beforeAll(async () => {
  port = await freePort();
  writeDeviceKeysFile(join(dir, 'keys.json'), [{ devEui: ABP.devEui, activation: 'ABP', devAddr: ABP.devAddr.toString(16), nwkSKey: ABP.nwkSKey.toString('hex'), appSKey: ABP.appSKey.toString('hex') }]);
  writeFileSync(join(dir, 'devices.yaml'), renderRegistry([{ dev_eui: ABP.devEui, name: 'bin-1', model: 'dingtek/df703', tags: {}, variables: {} }]));
  const config = checkConfig(
    {
      name: 'intake',
      data_dir: './data',
      http: { listen: false },
      log: { level: 'silent' },
      registry: { devices_file: 'devices.yaml' },
      buffer: { fsync_interval_ms: 10 },
      sources: [{ type: 'semtech_udp', name: 'udp', listen: `127.0.0.1:${port}`, keys_file: 'keys.json', dedup_window_ms: 30, gateways: [GW], max_datagram_bytes: 4096, intake_thread: true }],
      sinks: [{ type: 'file', name: 'file' }],
    },
    join(dir, 'gateway.yaml'),
    {},
  );
  const udp = config.udp_sources[0];
  if (udp) udp.intake_backlog_bytes = BACKLOG_BYTES;
  gateway = createGateway(config, { logStream: { write: () => true } as unknown as NodeJS.WritableStream, onFatal: (m) => fatal.push(m) });
  await gateway.start();
  fwd = new TestForwarder(GW, () => port);
  await fwd.open();
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
  fwd?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('semtech_udp with intake_thread: true', () => {
  it('journals, ACKs and hands frames over; a confirmed uplink is answered from the listening socket', async () => {
    const source = gateway.udpSources[0];
    expect(source?.config.intake_thread).toBe(true);
    const acksBefore = fwd.acks.length;
    fwd.push(uplink(false));
    await until(() => source?.networkServer?.sessions.get(ABP.devEui)?.fCntUpNext === 1, 'the first uplink');
    expect(fwd.acks.length).toBeGreaterThan(acksBefore); // its PUSH_ACK
    const t = fwd.push(uplink(true));
    const { txpk } = await fwd.nextResp(1);
    expect(txpk.tmst).toBe(t + 1_000_000);
    expect(await untilMetric('lorawan_edge_ns_uplinks_total', '', 2)).toBe(2);
    // The metrics the worker's work feeds, under today's names.
    expect(await untilMetric('lorawan_edge_udp_datagrams_total', 'type="PUSH_DATA"', 2)).toBe(2);
    expect(await untilMetric('lorawan_edge_udp_datagrams_total', 'type="TX_ACK"', 1)).toBe(1);
    expect(await metric('lorawan_edge_udp_datagrams_total', 'type="PULL_DATA"')).toBeGreaterThanOrEqual(1);
    expect(await untilMetric('lorawan_edge_ns_inbox_entries_total', '', 2)).toBe(2);
    expect(await metric('lorawan_edge_ns_inbox_commit_seconds_count')).toBe(2);
    expect(await metric('lorawan_edge_gateway_last_seen_seconds', `gateway="${GW}"`)).toBeGreaterThan(Date.now() / 1000 - 60);
  });

  it('journals a datagram the forwarder sends again once, and ACKs it again', async () => {
    const entries = await metric('lorawan_edge_ns_inbox_entries_total');
    const rx = rxpkFor({ phyPayload: uplink(false), tmst: 123_000_000, frequencyHz: 868_300_000, datr: 'SF9BW125', rssi: -80, lsnr: 5, time: new Date() });
    const datagram = buildPushData({ gatewayEui: GW, rxpk: [rx], token: 0x4242 }).bytes;
    const acked = (): number => fwd.acks.filter((a) => a[3] === 1 && a[1] === 0x42 && a[2] === 0x42).length;
    fwd.send(datagram);
    await until(() => acked() === 1, 'the first PUSH_ACK');
    fwd.send(datagram);
    await until(() => acked() === 2, 'the PUSH_ACK of the resend');
    expect(await untilMetric('lorawan_edge_ns_inbox_resends_total', 'state="known"', 1)).toBe(1);
    expect(await metric('lorawan_edge_ns_inbox_entries_total')).toBe(entries + 1);
  });

  it('counts and keeps bad datagrams, drops unknown gateways, takes stat; the daemon goes on', async () => {
    const header = (gw: string): Buffer => Buffer.concat([Buffer.of(2, 0x10, 0x01, 0), Buffer.from(gw, 'hex')]);
    fwd.send(Buffer.concat([header(GW), Buffer.from('{"rxpk":[{"tmst":')]));
    fwd.send(buildPushData({ gatewayEui: '0016c001f15000ff', rxpk: [] }).bytes);
    fwd.send(Buffer.concat([header(GW), Buffer.from(JSON.stringify({ stat: { time: '2026-12-07 14:00:00 GMT', rxnb: 7, rxok: 6, txnb: 1, ackr: 100 } }))]));
    expect(await untilMetric('lorawan_edge_ns_rejected_total', 'reason="bad_json"', 1)).toBe(1);
    expect(await untilMetric('lorawan_edge_ns_rejected_total', 'reason="unknown_gateway"', 1)).toBe(1);
    expect(await untilMetric('lorawan_edge_gateway_rx_packets', `gateway="${GW}"`, 7)).toBe(7);
    expect(gateway.udpSources[0]?.gatewayStatus.get(GW)?.rxok).toBe(6);
    // Kept with the raw datagram, as without the thread (the rejects file is written in the background).
    const kept = (reason: string): boolean =>
      existsSync(gateway.config.rejects.file) &&
      readFileSync(gateway.config.rejects.file, 'utf8').split('\n').some((l) => {
        // The last line may be half written while it is read.
        try {
          const r = JSON.parse(l) as { reason: string; payloadBase64?: string };
          return r.reason === reason && r.payloadBase64 !== undefined;
        } catch {
          return false;
        }
      });
    await until(() => kept('bad_json') && kept('unknown_gateway'), 'the rejects file');
    // Still answering.
    fwd.push(uplink(false));
    await until(() => gateway.udpSources[0]?.networkServer?.sessions.get(ABP.devEui)?.fCntUpNext === fCnt, 'an uplink after the bad ones');
  });

  it('a main thread that is behind: the worker accepts at most its backlog bound of bytes, sheds the rest unacknowledged and counted as overloaded; what it accepted is processed', async () => {
    const first = fCnt;
    const frame = (i: number): Buffer => buildPushData({ gatewayEui: GW, rxpk: [rxpkFor({ phyPayload: uplink(false), tmst: 200_000_000 + i * 1000, frequencyHz: 868_300_000, datr: 'SF9BW125', rssi: -80, lsnr: 5, time: new Date() })] }).bytes;
    const size = frame(0).length;
    fCnt = first;
    const backlog = Math.floor(BACKLOG_BYTES / size);
    const n = 3 * backlog;
    const frames = Array.from({ length: n }, (_, i) => frame(i));
    const entriesBefore = await metric('lorawan_edge_ns_inbox_entries_total');
    const uplinksBefore = await metric('lorawan_edge_ns_uplinks_total');
    // A sender on a thread of its own, counting the PUSH_ACKs, while this thread (the gateway's
    // main thread) is kept busy: [0] done, [1] PUSH_ACKs received once they stopped coming.
    const flag = new Int32Array(new SharedArrayBuffer(8));
    const sender = new Worker(
      `const { workerData: { frames, port, flag } } = require('node:worker_threads');
       const s = require('node:dgram').createSocket('udp4');
       let acks = 0;
       s.on('message', (m) => { if (m[3] === 1) acks++; });
       const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
       (async () => {
         for (const f of frames) await new Promise((r) => s.send(f, port, '127.0.0.1', r));
         for (let seen = -1, i = 0; seen !== acks && i < 100; i++) { seen = acks; await sleep(300); }
         Atomics.store(flag, 1, acks);
         Atomics.store(flag, 0, 1);
         s.close();
       })();`,
      { eval: true, workerData: { frames, port, flag } },
    );
    const end = Date.now() + 40_000;
    while (Atomics.load(flag, 0) === 0 && Date.now() < end) Atomics.wait(flag, 0, 0, 50);
    await sender.terminate();
    const ackedWhileBusy = Atomics.load(flag, 1);
    expect(ackedWhileBusy).toBeGreaterThan(0);
    expect(ackedWhileBusy).toBeLessThanOrEqual(backlog);
    const dropped = await settled('lorawan_edge_ns_rejected_total', 'reason="overloaded"');
    expect(dropped).toBeGreaterThan(0);
    // What was not dropped (here or, on a loaded machine, by the kernel) was journaled and every
    // entry is processed.
    const accepted = (await settled('lorawan_edge_ns_inbox_entries_total', '')) - entriesBefore;
    expect(accepted + dropped).toBeLessThanOrEqual(n);
    expect(await untilMetric('lorawan_edge_ns_uplinks_total', '', uplinksBefore + accepted)).toBe(uplinksBefore + accepted);
    fCnt = first + n;
  }, 60_000);

  it('a port in use: start fails with the system error the CLI explains (EADDRINUSE, bind, port)', async () => {
    const other = await freePort();
    const holder = createSocket('udp4');
    await new Promise<void>((r) => holder.bind(other, '127.0.0.1', () => r()));
    const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
    const src = new SemtechUdpSource(
      { ...(gateway.udpSources[0]?.config as SemtechUdpSource['config']), listen: `127.0.0.1:${other}`, state_dir: join(dir, 'ns-busy') },
      { log: { append: () => ({ rejected: [], durable: Promise.resolve() }) }, decode: { registry: () => ({ devices: [], byEui: new Map() }), catalogue: () => undefined, deviceProfiles: {}, now: Date.now }, metrics: createMetrics({ defaultMetrics: false }), rejects: new RejectsFile(join(dir, 'busy-rejects.jsonl')), logger: quiet },
    );
    try {
      const err = (await src.start().then(() => undefined, (e: unknown) => e)) as { code?: string; syscall?: string; port?: number } | undefined;
      expect(err).toMatchObject({ code: 'EADDRINUSE', syscall: 'bind', port: other });
    } finally {
      await src.close();
      holder.close();
    }
  });

  it('a worker that dies is reported in the health and to onFatal, and stop does not wait for it', async () => {
    const source = gateway.udpSources[0];
    if (!source) throw new Error('no source');
    expect(gateway.health()['source:udp']?.state).toBe('running');
    await source.intakeThread?.terminate();
    await until(() => gateway.health()['source:udp']?.state === 'failed', 'the health to say failed');
    expect(gateway.health()['source:udp']?.detail).toMatch(/UDP intake worker/);
    // Told once to the process (the CLI stops and exits 70: a restart brings the worker back).
    expect(fatal).toEqual([expect.stringMatching(/^source udp: UDP intake worker exited with code \d+$/)]);
    const started = Date.now();
    await gateway.stop();
    expect(Date.now() - started).toBeLessThan(20_000);
  });
});
