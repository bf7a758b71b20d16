/**
 * The simulator as Semtech UDP packet forwarders against a small test network server on
 * 127.0.0.1 (simulator/testing/udp-network-server.ts): what arrives on the socket verifies and
 * decrypts with the keys file (ABP) or the join's session keys (OTAA), decodes to the ledger's
 * readings, and shows exactly the faults the ledger lists.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type LoraPacketModule from 'lora-packet';
import { afterAll, describe, expect, it } from 'vitest';
import { openDataFrame } from '../lorawan/data-frame.ts';
import { reconstructFCnt } from '../lorawan/fcnt.ts';
import { parsePhyPayload, type DataFrame } from '../lorawan/phy-payload.ts';
import { parseFleet } from '../simulator/fleet.ts';
import { readKeysFile, type KeysFile } from '../simulator/keys-file.ts';
import { lookupForFleet } from '../simulator/lookup.ts';
import { readLedger, type LedgerEntry } from '../simulator/ledger.ts';
import { createSimulation, type SimulationOptions } from '../simulator/simulation.ts';
import { demoFleet } from '../simulator/testing/fleets.ts';
import { startTestNetworkServer, type ReceivedRxpk, type TestNetworkServer } from '../simulator/testing/udp-network-server.ts';

type LoraPacketLib = (typeof LoraPacketModule)['default'];
const lp = createRequire(import.meta.url)('lora-packet') as LoraPacketLib;

const dir = mkdtempSync(join(tmpdir(), 'lorawan-edge-sim-udp-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Keys {
  devEui: string;
  nwkSKey: Buffer;
  appSKey: Buffer;
}

/** DevAddr → keys: ABP from the keys file, OTAA from the sessions the server's join-accepts created. */
function keyring(keys: KeysFile, server: TestNetworkServer): Map<string, Keys> {
  const ring = new Map<string, Keys>();
  for (const d of keys.devices) {
    if (d.activation === 'ABP') ring.set(d.devAddr, { devEui: d.devEui, nwkSKey: Buffer.from(d.nwkSKey, 'hex'), appSKey: Buffer.from(d.appSKey, 'hex') });
  }
  for (const s of server.sessions.values()) ring.set(s.devAddr, { devEui: s.devEui, nwkSKey: s.nwkSKey, appSKey: s.appSKey });
  return ring;
}

interface Opened {
  rx: ReceivedRxpk;
  frame: DataFrame;
  keys: Keys;
  fCnt: number;
  micValid: boolean;
  payload: Buffer;
}

function openAll(server: TestNetworkServer, ring: Map<string, Keys>): Opened[] {
  const out: Opened[] = [];
  for (const rx of server.rxpk) {
    const parsed = parsePhyPayload(rx.rxpk.data);
    if (!parsed.ok || parsed.frame.kind !== 'data') continue;
    const frame = parsed.frame;
    const keys = ring.get(frame.devAddr.toString(16).padStart(8, '0'));
    if (!keys) throw new Error(`frame from unknown DevAddr ${frame.devAddr.toString(16)}`);
    const fc = reconstructFCnt(frame.fCnt16, 0);
    const fCnt = fc.ok ? fc.fCnt32 : frame.fCnt16;
    const opened = openDataFrame(frame, keys, fCnt);
    out.push({ rx, frame, keys, fCnt, micValid: opened.micValid, payload: opened.payload });
  }
  return out;
}

async function runUdp(
  name: string,
  count: number,
  options: Partial<SimulationOptions> = {},
  serverOptions: { answerJoins?: boolean; ackPushData?: boolean } = {},
): Promise<{ server: TestNetworkServer; ledger: LedgerEntry[]; keys: KeysFile; stats: Awaited<ReturnType<typeof runStats>> }> {
  const demo = await demoFleet();
  const fleet = typeof options.fleet === 'object' ? options.fleet : demo.fleet;
  const lookup = options.lookup ?? demo.lookup;
  const seed = options.seed ?? 1;
  const probe = await createSimulation({ fleet, lookup, seed });
  const server = await startTestNetworkServer({
    ...(serverOptions.answerJoins === false ? {} : { keys: probe.keys() }),
    ...(serverOptions.ackPushData === false ? { ackPushData: false } : {}),
  });
  const ledgerPath = join(dir, `${name}.jsonl`);
  const keysPath = join(dir, `${name}-keys.json`);
  const sim = await createSimulation({
    seed,
    speed: 'max',
    // Generous where the server answers (a late PUSH_ACK or join-accept on a loaded machine must
    // not count as missing); short where it never does, since drain() waits the timeout out.
    output: { type: 'udp', host: '127.0.0.1', port: server.port, ackTimeoutMs: serverOptions.ackPushData === false ? 500 : 5_000, keepaliveMs: 200 },
    ledger: ledgerPath,
    keys: keysPath,
    joinTimeoutMs: 5_000,
    ...options,
    fleet,
    lookup,
  });
  const stats = await runStats(sim, count);
  return { server, ledger: readLedger(ledgerPath), keys: readKeysFile(keysPath, { requirePrivateMode: true }), stats };
}

async function runStats(sim: Awaited<ReturnType<typeof createSimulation>>, count: number) {
  await sim.run({ count, realTimeMs: 30_000 });
  return sim.stop();
}

describe('simulator → Semtech UDP', () => {
  it('frames verify and decrypt with the keys, decode to the ledger readings; OTAA joins through PULL_RESP', async () => {
    const { server, ledger, keys, stats } = await runUdp('clean', 400);
    try {
      expect(ledger).toHaveLength(400);
      const otaa = keys.devices.filter((d) => d.activation === 'OTAA');
      // Every OTAA device joined through a join-accept the simulator decrypted, and said TX_ACK.
      expect(server.sessions.size).toBe(otaa.length);
      expect(stats.joins).toMatchObject({ requests: otaa.length, accepted: otaa.length, timedOut: 0 });
      expect(stats.downlinks.joinAccepts).toBe(otaa.length);
      expect(server.txAcks).toHaveLength(otaa.length);
      for (const a of server.txAcks) expect(a.txpkAck?.error).toBe('NONE');
      for (const e of ledger.filter((x) => otaa.some((d) => d.devEui === x.devEui))) expect(e.devAddr).toBe(server.sessions.get(e.devEui)?.devAddr);

      const opened = openAll(server, keyring(keys, server));
      const byKey = new Map(ledger.map((e) => [`${e.devEui}/${e.fCnt}`, e]));
      const devices = new Map(keys.devices.map((d) => [d.devEui, d]));
      const { lookup } = await demoFleet();
      for (const o of opened) {
        expect(o.micValid).toBe(true);
        const e = byKey.get(`${o.keys.devEui}/${o.fCnt}`) as LedgerEntry;
        expect(e, `${o.keys.devEui}/${o.fCnt}`).toBeDefined();
        expect(o.payload.toString('hex')).toBe(e.payloadHex);
        expect(o.frame.fPort).toBe(e.fPort);
        expect(e.gateways).toContainEqual({ id: o.rx.gatewayEui, rssi: o.rx.rxpk.rssi, snr: o.rx.rxpk.lsnr });
        expect(o.rx.rxpk).toMatchObject({ stat: 1, modu: 'LORA', codr: '4/5', datr: `SF${12 - e.dr}BW125`, freq: e.frequency / 1e6 });
        expect(o.rx.rxpk.time).toBe(`${e.time.slice(0, 23)}000Z`);
        // Decoding what arrived with the catalogue codec gives the ledger's readings.
        const found = lookup(e.catalogueId);
        const variables = devices.get(e.devEui)?.variables ?? {};
        const recvTime = new Date(e.time);
        const dec = found?.codec.decodeUplink({ bytes: o.payload, fPort: e.fPort, variables, recvTime });
        expect(found?.codec.normalizeUplink(dec?.data ?? {}, { variables, recvTime }).readings).toEqual(e.readings);
      }
      // Exactly one rxpk per gateway that heard each uplink.
      expect(opened).toHaveLength(ledger.reduce((n, e) => n + e.gateways.length, 0));

      // An independent implementation agrees on a sample of what arrived.
      for (const o of opened.filter((_, i) => i % 17 === 0)) {
        const pkt = lp.fromWire(Buffer.from(o.rx.rxpk.data));
        expect(lp.verifyMIC(pkt, o.keys.nwkSKey)).toBe(true);
        expect(lp.decrypt(pkt, o.keys.appSKey, o.keys.nwkSKey).toString('hex')).toBe(o.payload.toString('hex'));
      }

      // The forwarders: every PUSH_DATA acknowledged, keep-alives sent and acknowledged.
      const c = stats.output.counters;
      expect(c['pushAckMissing']).toBe(0);
      expect(c['pushAck']).toBe((c['pushData'] ?? 0) + (c['statPushData'] ?? 0));
      expect(c['pullData']).toBeGreaterThanOrEqual(2);
      expect(c['pullAck']).toBe(c['pullData']);
      expect([...server.pullData.keys()].sort()).toEqual(['0016c001f1530001', '0016c001f1530002']);
    } finally {
      await server.close();
    }
  });

  it('the receiving side sees exactly the faults the ledger lists', async () => {
    const { server, ledger, keys, stats } = await runUdp('faults', 600, {
      seed: 5,
      faults: { loss: 0.08, corruptMic: 0.08, replay: 0.08, duplicate: 0.08, gatewayOutages: [{ gateway: '0016c001f1530001', start: '2h', duration: '2h' }] },
    });
    try {
      const opened = openAll(server, keyring(keys, server));
      // Per device and counter: as many copies as the ledger says went out, with good or bad MICs.
      const expected = new Map<string, { good: number; bad: number }>();
      const key = (devEui: string, fCnt: number): string => `${devEui}/${fCnt}`;
      for (const e of ledger) {
        const k = key(e.devEui, e.fCnt);
        const x = expected.get(k) ?? { good: 0, bad: 0 };
        const copies = e.gateways.length + (e.faults.includes('duplicate') && e.gateways.length > 0 ? 1 : 0);
        if (e.faults.includes('corrupt-mic')) x.bad += copies;
        else x.good += copies;
        expected.set(k, x);
      }
      const seen = new Map<string, { good: number; bad: number }>();
      for (const o of opened) {
        const k = key(o.keys.devEui, o.fCnt);
        const x = seen.get(k) ?? { good: 0, bad: 0 };
        if (o.micValid) x.good++;
        else x.bad++;
        seen.set(k, x);
      }
      for (const [k, x] of expected) if (x.good + x.bad > 0) expect(seen.get(k), k).toEqual(x);
      expect([...seen.keys()].every((k) => expected.has(k))).toBe(true);
      // Replays repeat an earlier frame byte for byte: its counter arrives again, later.
      const replays = ledger.filter((e) => e.faults.includes('replay') && e.gateways.length > 0);
      expect(replays.length).toBeGreaterThan(3);
      for (const r of replays) {
        const copies = opened.filter((o) => o.keys.devEui === r.devEui && o.fCnt === r.fCnt);
        expect(new Set(copies.map((o) => Buffer.from(o.rx.rxpk.data).toString('hex'))).size).toBe(1);
        expect(copies.some((o) => o.rx.rxpk.time === `${r.time.slice(0, 23)}000Z`)).toBe(true);
      }
      // Lost frames never arrive; the gateway in its outage window sends nothing.
      expect(ledger.filter((e) => e.faults.includes('loss')).length).toBeGreaterThan(5);
      const outStart = Date.parse('2026-11-23T02:00:00Z');
      for (const o of opened) {
        const t = Date.parse(o.rx.rxpk.time as string);
        if (t >= outStart && t < outStart + 7_200_000) expect(o.rx.gatewayEui).not.toBe('0016c001f1530001');
      }
      expect(stats.faults['corrupt-mic']).toBeGreaterThan(5);
      // The ground truth does not depend on the output: without a network the same seed gives the
      // same ledger, but for the DevAddrs a network server assigns.
      const { fleet, lookup } = await demoFleet();
      const local: LedgerEntry[] = [];
      const offline = await createSimulation({ fleet, lookup, seed: 5, speed: 'max', faults: { loss: 0.08, corruptMic: 0.08, replay: 0.08, duplicate: 0.08, gatewayOutages: [{ gateway: '0016c001f1530001', start: '2h', duration: '2h' }] }, onUplink: (e) => local.push(e) });
      await offline.run({ count: 600 });
      await offline.stop();
      expect(local.map((e) => ({ ...e, devAddr: '' }))).toEqual(ledger.map((e) => ({ ...e, devAddr: '' })));
      expect(stats.faults['duplicate']).toBeGreaterThan(5);
      expect(stats.faults['gateway-outage']).toBeGreaterThan(0);
    } finally {
      await server.close();
    }
  });

  it('counts missing PUSH_ACKs and retries joins a network server does not answer', async () => {
    // Each unanswered join holds simulated time for joinTimeoutMs of real time: keep the fleet small.
    const fleet = parseFleet(`
name: silent
start: 2026-11-23T00:00:00Z
gateways: [{id: 0016c001f1530001, lat: 52.0908, lon: 5.1222}]
devices:
  - {device: dragino/ldds75, count: 2, activation: ABP, interval: 600, area: {lat: 52.0905, lon: 5.12, radiusM: 300}}
  - {device: dingtek/df703, count: 2, activation: OTAA, interval: 600, area: {lat: 52.0905, lon: 5.12, radiusM: 300}}
`);
    const { lookup } = await lookupForFleet(fleet);
    const { server, stats, ledger } = await runUdp('silent', 12, { fleet, lookup, joinTimeoutMs: 100 }, { answerJoins: false, ackPushData: false });
    try {
      const c = stats.output.counters;
      expect(c['pushData']).toBeGreaterThan(12);
      expect(c['pushAck']).toBe(0);
      expect(c['pushAckMissing']).toBe((c['pushData'] ?? 0) + (c['statPushData'] ?? 0));
      expect(stats.joins.accepted).toBe(0);
      expect(stats.joins.timedOut).toBeGreaterThan(2);
      expect(stats.joins.timedOut).toBe(server.joinRequests);
      // Only the ABP devices could report.
      expect(ledger).toHaveLength(12);
      expect(new Set(ledger.map((e) => e.catalogueId))).toEqual(new Set(['dragino/ldds75']));
    } finally {
      await server.close();
    }
  });
});
