/**
 * Receive windows from the forwarder's `tmst`, over real UDP sockets: three packet forwarders
 * whose concentrator counters run in real time (one wraps its 32-bit counter during the test)
 * and a gateway with a semtech_udp source. A forwarder here holds a datagram back for a while
 * after the uplink ended (a queue in the forwarder, a slow backhaul, a full socket buffer): the
 * datagram arrives late and only its tmst says how much of the receive windows is left. An
 * uplink held 1.5 s gets no RX1 answer (RX2 instead); one held 2.5 s gets none at all and is
 * counted; a join-request held 1.5 s still makes RX1 (5 s), one held 6.5 s is not joined at all
 * (no session, no DevNonce spent: its retry joins). The dedup window (5 s here, far
 * beyond RX1) closes as soon as all three connected gateways have reported a frame — so a
 * confirmed uplink heard by all is ACKed in RX1 — and runs its full length for an unconfirmed
 * frame one of them missed; a confirmed one closes at the answer deadline (`dedup_answer_ms`). Without the tmst timing the held uplinks would be answered in windows already
 * gone; without the early close nothing would be answered in time at all.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkConfig } from '../gateway/config.ts';
import { createGateway, type Gateway } from '../gateway/gateway.ts';
import { TestForwarder, until } from '../gateway/ns/testing/forwarder.ts';
import { renderRegistry } from '../gateway/registry/devices-file.ts';
import { writeDeviceKeysFile } from '../gateway/registry/keys-file.ts';
import { buildDataFrame } from '../lorawan/data-frame.ts';
import { buildJoinRequest } from '../lorawan/join.ts';
import { buildPushData, rxpkFor } from '../lorawan/udp/gateway.ts';
import { freePort } from '../support/free-port.ts';

const U32 = 0x1_0000_0000;
const dir = mkdtempSync(join(tmpdir(), 'edge-ns-windows-'));
const GW_A = '0016c001f15a0001';
const GW_B = '0016c001f15a0002';
const GW_C = '0016c001f15a0003';
const ABP = { devEui: '0000000000000b01', devAddr: 0x26011bdb, nwkSKey: Buffer.from('44024241ed4ce9a68c6a8bc055233fd4', 'hex'), appSKey: Buffer.from('ec925802ae430ca77fd3dd73cb2cc589', 'hex') };
const OTAA = { devEui: '3331383274356906', joinEui: 'aa13693363343639', appKey: Buffer.from('98929b92c49edba9676d646d3b612457', 'hex') };
let gateway: Gateway;
let port: number;
let a: TestForwarder;
let b: TestForwarder;
let c: TestForwarder;
/** concentrator boot offsets (µs at performance.now() = 0): A wraps its counter about 20 s into the test */
const boot: Record<string, number> = { [GW_A]: 0, [GW_B]: 123_456_789, [GW_C]: 4_000_000_000 };

async function metric(name: string, labels = ''): Promise<number> {
  const text = await gateway.metrics.registry.metrics();
  const re = new RegExp(`^${name}${labels ? `\\{${labels}\\}` : ''} (\\S+)$`, 'm');
  return Number(re.exec(text)?.[1] ?? 0);
}

/** The gateway's concentrator counter when the uplink ended `agoMs` ago (real time). */
function tmstOf(eui: string, agoMs: number): number {
  return Math.floor((boot[eui] as number) + (performance.now() - agoMs) * 1000) % U32;
}

/**
 * The uplink `phy` ends now at the forwarders in `by`; each holds its PUSH_DATA back `holdMs`
 * before sending it. Resolves once sent, with A's tmst (A answers: best SNR).
 */
async function hear(phy: Buffer, holdMs: number, by: TestForwarder[] = [a, b, c]): Promise<number> {
  const datagrams = by.map((f) => {
    const tmst = tmstOf(f.eui, 0);
    return { f, tmst, bytes: buildPushData({ gatewayEui: f.eui, rxpk: [rxpkFor({ phyPayload: phy, tmst, frequencyHz: 868_100_000, datr: 'SF9BW125', rssi: -80, lsnr: f === a ? 9 : 2, time: new Date() })] }).bytes };
  });
  // The forwarder's queue, not a wait for the server: the datagram leaves this much later.
  if (holdMs > 0) await new Promise((r) => setTimeout(r, holdMs));
  for (const d of datagrams) d.f.send(d.bytes);
  return datagrams.find((d) => d.f === a)?.tmst ?? -1;
}

let fCnt = 0;
const uplink = (confirmed: boolean): Buffer => buildDataFrame({ mType: confirmed ? 'ConfirmedDataUp' : 'UnconfirmedDataUp', devAddr: ABP.devAddr, fCnt: fCnt++, fCtrl: {}, fPort: 3, payload: Buffer.from([1, 2]) }, { nwkSKey: ABP.nwkSKey, appSKey: ABP.appSKey });

beforeAll(async () => {
  port = await freePort();
  // A's counter wraps 20 s from now.
  boot[GW_A] = (U32 - Math.floor((performance.now() + 20_000) * 1000) % U32) % U32;
  writeDeviceKeysFile(join(dir, 'keys.json'), [
    { devEui: ABP.devEui, activation: 'ABP', devAddr: ABP.devAddr.toString(16), nwkSKey: ABP.nwkSKey.toString('hex'), appSKey: ABP.appSKey.toString('hex') },
    { devEui: OTAA.devEui, activation: 'OTAA', joinEui: OTAA.joinEui, appKey: OTAA.appKey.toString('hex') },
  ]);
  writeFileSync(join(dir, 'devices.yaml'), renderRegistry([{ dev_eui: ABP.devEui, name: 'bin-1', model: 'dingtek/df703', tags: {}, variables: {} }]));
  const config = checkConfig(
    {
      name: 'windows',
      data_dir: './data',
      http: { listen: false },
      log: { level: 'silent' },
      registry: { devices_file: 'devices.yaml' },
      buffer: { fsync_interval_ms: 10 },
      sources: [{ type: 'semtech_udp', name: 'udp', listen: `127.0.0.1:${port}`, keys_file: 'keys.json', dedup_window_ms: 5000, gateway_keepalive_s: 2, adr: false }],
      sinks: [{ type: 'file', name: 'file' }],
    },
    join(dir, 'gateway.yaml'),
    {},
  );
  gateway = createGateway(config, { logStream: { write: () => true } as unknown as NodeJS.WritableStream });
  await gateway.start();
  a = new TestForwarder(GW_A, () => port);
  b = new TestForwarder(GW_B, () => port);
  c = new TestForwarder(GW_C, () => port);
  for (const f of [a, b, c]) {
    await f.open();
    f.startKeepalive(1000);
  }
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
  for (const f of [a, b, c]) f?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The forwarder refuses a PULL_RESP later than this before its tmst (TOO_LATE). */
const JIT_LEAD_MS = 42.5;

describe('receive windows from the forwarder tmst', () => {
  it('a confirmed uplink heard by all three connected gateways is ACKed in RX1 although the dedup window is 5 s (early close)', async () => {
    // Prompt datagrams first: they give the network server each gateway's clock offset.
    const heardAt = performance.now();
    const t = await hear(uplink(true), 0);
    const r = await a.nextResp(1);
    expect(r.txpk.tmst).toBe((t + 1_000_000) % U32);
    expect(r.txpk.freq).toBe(868.1);
    // In time for the forwarder's just-in-time queue, far inside the 5 s window.
    expect(r.at).toBeLessThan(heardAt + 1000 - JIT_LEAD_MS);
    expect(await metric('lorawan_edge_ns_dedup_wait_seconds_bucket', 'le="0.5"')).toBe(1);
    expect(b.resp).toHaveLength(0);
    expect(c.resp).toHaveLength(0);
  });

  it('an uplink whose datagram was held 1.5 s gets no RX1 answer: RX2 (tmst + 2 s, 869.525 MHz, SF12), in time', async () => {
    const rx2Before = await metric('lorawan_edge_ns_downlinks_total', 'outcome="rx2"');
    const heardAt = performance.now();
    const t = await hear(uplink(true), 1500);
    const r = await a.nextResp(2);
    expect(r.txpk.tmst).toBe((t + 2_000_000) % U32);
    expect(r.txpk).toMatchObject({ freq: 869.525, datr: 'SF12BW125' });
    expect(r.at).toBeLessThan(heardAt + 2000 - JIT_LEAD_MS);
    expect(await metric('lorawan_edge_ns_downlinks_total', 'outcome="rx2"')).toBe(rx2Before + 1);
  });

  it('an uplink whose datagram was held 2.5 s gets no answer at all, counted as too late; the frame itself is accepted', async () => {
    const sent = a.resp.length;
    await hear(uplink(true), 2500);
    await until(() => gateway.udpSources[0]?.networkServer?.sessions.get(ABP.devEui)?.fCntUpNext === fCnt, 'the uplink accepted', 30_000);
    const end = Date.now() + 30_000;
    while (Date.now() < end && (await metric('lorawan_edge_ns_answers_too_late_total', 'kind="data"')) < 1) await new Promise((r) => setTimeout(r, 20));
    expect(await metric('lorawan_edge_ns_answers_too_late_total', 'kind="data"')).toBe(1);
    expect(await metric('lorawan_edge_ns_rejected_total', 'reason="too_late"')).toBe(1);
    expect(a.resp).toHaveLength(sent);
    expect(b.resp).toHaveLength(0);
    expect(c.resp).toHaveLength(0);
  });

  it('a join-request whose datagram was held 1.5 s still gets its join-accept in RX1 (tmst + 5 s)', async () => {
    const n = a.resp.length;
    const heardAt = performance.now();
    const t = await hear(buildJoinRequest({ joinEui: OTAA.joinEui, devEui: OTAA.devEui, devNonce: 77 }, OTAA.appKey), 1500);
    const r = await a.nextResp(n + 1);
    expect(r.txpk.tmst).toBe((t + 5_000_000) % U32);
    expect(r.txpk.freq).toBe(868.1);
    expect(r.at).toBeLessThan(heardAt + 5000 - JIT_LEAD_MS);
  });

  it('a join-request held past both join-accept windows (6.5 s) is not joined: no PULL_RESP, counted, session and DevNonce unchanged, the retry joins', async () => {
    const ns = gateway.udpSources[0]?.networkServer;
    const before = ns?.sessions.get(OTAA.devEui);
    expect(before?.activation).toBe('OTAA'); // joined by the test above (DevNonce 77)
    const n = a.resp.length;
    const joinsBefore = await metric('lorawan_edge_ns_joins_total');
    await hear(buildJoinRequest({ joinEui: OTAA.joinEui, devEui: OTAA.devEui, devNonce: 78 }, OTAA.appKey), 6500);
    const end = Date.now() + 30_000;
    while (Date.now() < end && (await metric('lorawan_edge_ns_answers_too_late_total', 'kind="join-accept"')) < 1) await new Promise((r) => setTimeout(r, 20));
    expect(await metric('lorawan_edge_ns_answers_too_late_total', 'kind="join-accept"')).toBe(1);
    expect(await metric('lorawan_edge_ns_rejected_total', 'reason="too_late"')).toBe(2);
    expect(await metric('lorawan_edge_ns_joins_total')).toBe(joinsBefore);
    // The device's session is the one it has (not replaced by one it never heard of).
    expect(ns?.sessions.get(OTAA.devEui)).toBe(before);
    expect(a.resp).toHaveLength(n);
    // The device tries again with the same DevNonce (it never got an accept for it): not a reuse.
    const t = await hear(buildJoinRequest({ joinEui: OTAA.joinEui, devEui: OTAA.devEui, devNonce: 78 }, OTAA.appKey), 0);
    const r = await a.nextResp(n + 1);
    expect(r.txpk.tmst).toBe((t + 5_000_000) % U32);
    expect(await metric('lorawan_edge_ns_rejected_total', 'reason="devnonce_reuse"')).toBe(0);
    expect(ns?.sessions.get(OTAA.devEui)?.seq).toBe((before?.seq ?? 0) + 1);
  }, 60_000);

  it('across the wrap of the 32-bit counter the windows are still right', async () => {
    // Wait until A's counter has wrapped (bounded: it wraps 20 s after the start).
    await until(() => tmstOf(GW_A, 0) < 0x8000_0000, "A's tmst to wrap", 40_000);
    const n = a.resp.length;
    const t1 = await hear(uplink(true), 0);
    expect((await a.nextResp(n + 1)).txpk.tmst).toBe((t1 + 1_000_000) % U32);
    const t2 = await hear(uplink(true), 1500);
    expect((await a.nextResp(n + 2)).txpk).toMatchObject({ tmst: (t2 + 2_000_000) % U32, freq: 869.525 });
  }, 60_000);

  it('a confirmed frame one of the three gateways did not report is ACKed in RX1 at the answer deadline (dedup_answer_ms, 20 ms), not after the 5 s window', async () => {
    const closedAtDeadline = await metric('lorawan_edge_ns_dedup_closed_total', 'how="answer_deadline"');
    const n = a.resp.length;
    const heardAt = performance.now();
    const t = await hear(uplink(true), 0, [a, b]);
    const r = await a.nextResp(n + 1);
    expect(r.txpk.tmst).toBe((t + 1_000_000) % U32);
    expect(r.at).toBeLessThan(heardAt + 1000 - JIT_LEAD_MS);
    expect(await metric('lorawan_edge_ns_dedup_closed_total', 'how="answer_deadline"')).toBe(closedAtDeadline + 1);
  }, 60_000);

  it('an unconfirmed frame one of the three gateways did not report waits the full window (5 s)', async () => {
    const ns = gateway.udpSources[0]?.networkServer;
    const heardAt = performance.now();
    await hear(uplink(false), 0, [a, b]);
    await new Promise((r) => setTimeout(r, 1000));
    expect(ns?.sessions.get(ABP.devEui)?.fCntUpNext).toBe(fCnt - 1);
    await until(() => ns?.sessions.get(ABP.devEui)?.fCntUpNext === fCnt, 'the uplink accepted', 30_000);
    expect(performance.now() - heardAt).toBeGreaterThanOrEqual(4900);
  }, 60_000);
});
