/**
 * The edge network server end to end, with real sockets and a real InfluxDB 1.6: the simulator
 * as Semtech UDP packet forwarders (OTAA joins answered by the gateway through PULL_RESP) →
 * source `semtech_udp` → durable log → InfluxDB. Every heard ledger uplink is stored exactly
 * once with the ledger's readings; every fault the simulator injects is counted as the ledger
 * says and nothing faulty reaches the sink.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../codecs/testing/paths.ts';
import { checkConfig } from '../gateway/config.ts';
import { createGateway, type Gateway } from '../gateway/gateway.ts';
import { renderRegistry } from '../gateway/registry/devices-file.ts';
import { writeDeviceKeysFile, type DeviceKeys } from '../gateway/registry/keys-file.ts';
import { CATEGORY_MEASUREMENT } from '../gateway/schema/native.ts';
import { createSimulation, type LedgerEntry, type SimulationOptions } from '../simulator/index.ts';
import { citySlice, demoFleet } from '../simulator/testing/fleets.ts';
import { freePort } from '../support/free-port.ts';
import { startInfluxd, type InfluxdServer } from '../support/influxd.ts';

const BIN = join(REPO_ROOT, 'bin', 'lorawan-edge');
let influx: InfluxdServer;
const dir = mkdtempSync(join(tmpdir(), 'edge-ns-'));

beforeAll(async () => {
  influx = await startInfluxd({ database: 'edge' });
}, 120_000);
afterAll(async () => {
  await influx?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

const quiet = { write: () => true } as unknown as NodeJS.WritableStream;

/** Keys file + registry for a simulation's devices, a gateway with a semtech_udp source. */
async function gatewayFor(
  name: string,
  sim: Awaited<ReturnType<typeof createSimulation>>,
  db: string,
  extra: Record<string, unknown> = {},
): Promise<{ gateway: Gateway; port: number; cfgDir: string }> {
  const cfgDir = join(dir, name);
  const port = await freePort();
  mkdirSync(cfgDir, { recursive: true });
  const keys = sim.keys().devices.map((d): DeviceKeys => (d.activation === 'OTAA' ? { devEui: d.devEui, activation: 'OTAA', joinEui: d.joinEui, appKey: d.appKey } : { devEui: d.devEui, activation: 'ABP', devAddr: d.devAddr, nwkSKey: d.nwkSKey, appSKey: d.appSKey }));
  writeDeviceKeysFile(join(cfgDir, 'keys.json'), keys);
  writeFileSync(join(cfgDir, 'devices.yaml'), renderRegistry(sim.devices.map((d) => ({ dev_eui: d.devEui, name: d.name, model: d.catalogueId, tags: d.tags, variables: d.variables }))));
  await influx.query(`CREATE DATABASE ${db}`, { method: 'POST' });
  const doc = {
      name,
      data_dir: './data',
      http: { listen: false },
      log: { level: 'warn' },
      registry: { devices_file: 'devices.yaml' },
      buffer: { fsync_interval_ms: 20 },
      sources: [{ type: 'semtech_udp', name: 'udp', listen: `127.0.0.1:${port}`, keys_file: 'keys.json', ...extra }],
      sinks: [{ type: 'influxdb', name: 'influx', url: influx.url, database: db, flush_interval_ms: 200 }],
  };
  writeFileSync(join(cfgDir, 'gateway.yaml'), JSON.stringify(doc));
  const config = checkConfig(doc, join(cfgDir, 'gateway.yaml'), {});
  return { gateway: createGateway(config, { logStream: quiet }), port, cfgDir };
}

async function waitForInflux(gateway: Gateway, db: string, want: number): Promise<number> {
  const until = Date.now() + 60_000;
  let n = 0;
  while (Date.now() < until) {
    const s = await influx.query('SELECT count(fcnt) FROM lorawan_uplink', { db });
    n = Number((s[0]?.values[0] as unknown[] | undefined)?.[1] ?? 0);
    if (n >= want && gateway.sinks.every((x) => x.pending() === 0)) break;
    await new Promise((r) => setTimeout(r, 300));
  }
  return n;
}

function counter(text: string, name: string, labels = ''): number {
  const re = new RegExp(`^${name}${labels ? `\\{${labels}\\}` : ''} (\\S+)$`, 'm');
  return Number(re.exec(text)?.[1] ?? 0);
}

type FleetAndLookup = Awaited<ReturnType<typeof demoFleet>>;

async function run(name: string, count: number, options: Partial<SimulationOptions> = {}, extra: Record<string, unknown> = {}, before?: (cfgDir: string, probe: Awaited<ReturnType<typeof createSimulation>>) => void, fleetOf: () => Promise<FleetAndLookup> = demoFleet) {
  const { fleet, lookup } = await fleetOf();
  const ledger: LedgerEntry[] = [];
  const probe = await createSimulation({ fleet, lookup, seed: options.seed ?? 7 });
  const db = name.replace(/-/g, '_');
  const { gateway, port, cfgDir } = await gatewayFor(name, probe, db, extra);
  before?.(cfgDir, probe);
  await gateway.start();
  const sim = await createSimulation({ fleet, lookup, seed: 7, speed: 'max', output: { type: 'udp', host: '127.0.0.1', port, ackTimeoutMs: 2000, keepaliveMs: 500 }, joinTimeoutMs: 5000, onUplink: (e) => ledger.push(e), ...options });
  await sim.run({ count, realTimeMs: 120_000 });
  const stats = await sim.stop();
  return { gateway, ledger, stats, db, sim };
}

describe('edge network server: simulator over UDP → gateway → InfluxDB', () => {
  it('OTAA joins through PULL_RESP; every heard uplink exactly once with the ledger readings', async () => {
    const { gateway, ledger, stats, db, sim } = await run('clean', 300);
    try {
      const otaa = sim.devices.filter((d) => d.keys.activation === 'OTAA').length;
      expect(stats.joins).toMatchObject({ requests: otaa, accepted: otaa, timedOut: 0 });
      const heard = ledger.filter((e) => e.gateways.length > 0);
      expect(heard.length).toBeGreaterThan(250);
      expect(await waitForInflux(gateway, db, heard.length)).toBe(heard.length);
      const metrics = await gateway.metrics.registry.metrics();
      expect(counter(metrics, 'lorawan_edge_ns_uplinks_total')).toBe(heard.length);
      // A copy from a second gateway that arrives after the dedup window (a loaded machine can
      // delay one past 200 ms) is rejected as `late_copy`, as it would be in the field; nothing
      // else may be rejected, and each late copy is one gateway missing from its record below.
      const lateCopies = counter(metrics, 'lorawan_edge_ns_rejected_total', 'reason="late_copy"');
      expect(metrics.split('\n').filter((l) => l.startsWith('lorawan_edge_ns_rejected_total{') && !l.includes('reason="late_copy"'))).toEqual([]);
      expect(lateCopies).toBeLessThanOrEqual(3);

      // Radio metadata as the ledger has it (best gateway, gateway count) and the readings.
      const rows = await influx.rows('SELECT * FROM lorawan_uplink', db);
      const byKey = new Map(rows.map((r) => [`${String(r['dev_eui'])}|${Number(r['time'])}`, r]));
      let missingGateways = 0;
      for (const e of heard) {
        const row = byKey.get(`${e.devEui}|${Date.parse(e.time)}`);
        expect(row, `${e.devEui} fCnt ${e.fCnt}`).toBeDefined();
        expect(row?.['fcnt']).toBe(e.fCnt);
        const missing = e.gateways.length - Number(row?.['gateway_count']);
        expect(missing, `${e.devEui} fCnt ${e.fCnt} gateway count`).toBeGreaterThanOrEqual(0);
        missingGateways += missing;
        if (missing === 0) expect(row?.['rssi']).toBe(Math.max(...e.gateways.map((g) => g.rssi)));
      }
      expect(missingGateways).toBe(lateCopies);
      for (const e of heard.slice(0, 60)) {
        const m = CATEGORY_MEASUREMENT[e.category] as string;
        for (const r of e.readings) {
          const t = Date.parse(r.time ?? e.time);
          const got = await influx.rows(`SELECT * FROM ${m} WHERE dev_eui = '${e.devEui}' AND time = ${t}ms`, db);
          expect(got, `${e.devEui} ${m} at ${t}`).toHaveLength(1);
          for (const [k, v] of Object.entries(r.values)) if (typeof v === 'number') expect(got[0]?.[k]).toBeCloseTo(v, 6);
        }
      }
    } finally {
      await gateway.stop();
    }
  }, 240_000);

  it('a slice of the city fleet (12 gateways, 1/20 of every group, OTAA): every join accepted, every heard uplink exactly once', async () => {
    const { gateway, ledger, stats, db, sim } = await run('city', 1500, {}, {}, undefined, () => citySlice(20));
    try {
      expect(new Set(sim.devices.map((d) => d.keys.activation))).toEqual(new Set(['OTAA']));
      // Every device joins once; a join-request no gateway heard (radio) is sent again, so
      // requests = accepted + not heard.
      expect(stats.joins.accepted).toBe(sim.devices.length);
      expect(stats.joins.timedOut).toBe(0);
      expect(stats.joins.requests).toBe(stats.joins.accepted + stats.joins.notHeard);
      const heard = ledger.filter((e) => e.gateways.length > 0);
      expect(heard.length).toBeGreaterThan(1000);
      expect(heard.some((e) => e.gateways.length > 1)).toBe(true);
      expect(await waitForInflux(gateway, db, heard.length)).toBe(heard.length);
      const rows = await influx.rows('SELECT * FROM lorawan_uplink', db);
      const byKey = new Map(rows.map((r) => [`${String(r['dev_eui'])}|${Number(r['time'])}`, r]));
      expect(byKey.size).toBe(heard.length);
      // At --speed max on a loaded machine a gateway's copy can reach the network server after
      // the dedup window: that frame is stored with fewer gateways, and the late copy is
      // rejected as `late_copy` (never stored twice). Each such row has ≥ 1 late_copy.
      let fewer = 0;
      for (const e of heard) {
        const row = byKey.get(`${e.devEui}|${Date.parse(e.time)}`);
        expect(row, `${e.devEui} fCnt ${e.fCnt}`).toBeDefined();
        expect(row?.['fcnt']).toBe(e.fCnt);
        const n = Number(row?.['gateway_count']);
        expect(n).toBeGreaterThanOrEqual(1);
        expect(n).toBeLessThanOrEqual(e.gateways.length);
        if (n < e.gateways.length) fewer++;
      }
      const metrics = await gateway.metrics.registry.metrics();
      expect(fewer).toBeLessThanOrEqual(counter(metrics, 'lorawan_edge_ns_rejected_total', 'reason="late_copy"'));
      expect(counter(metrics, 'lorawan_edge_ns_uplinks_total')).toBe(heard.length);
    } finally {
      await gateway.stop();
    }
  }, 300_000);

  it('each simulator fault is counted as the ledger says, and nothing faulty reaches InfluxDB', async () => {
    const faults = { loss: 0.06, corruptMic: 0.06, replay: 0.06, duplicate: 0.06, fcntReset: 0.02, gatewayOutages: [{ gateway: '0016c001f1530001', start: '2h', duration: '3h' }] };
    const { gateway, ledger, stats, db } = await run('faults', 500, { faults, seed: 11 }, { abp_fcnt_reset: 'accept_zero', dedup_window_ms: 300 });
    try {
      const has = (e: LedgerEntry, f: string): boolean => (e.faults as string[]).includes(f);
      const heard = ledger.filter((e) => e.gateways.length > 0);
      const bySeq = new Map(ledger.map((e) => [e.seq, e]));
      // A replay is recognisable only when its original arrived (else it is that frame's first copy).
      const rejectedReplay = heard.filter((e) => has(e, 'replay') && (bySeq.get(e.replayOf ?? -1)?.gateways.length ?? 0) > 0 && !has(bySeq.get(e.replayOf ?? -1) as LedgerEntry, 'corrupt-mic'));
      const badMic = heard.filter((e) => has(e, 'corrupt-mic'));
      const duplicates = heard.filter((e) => has(e, 'duplicate'));
      // An ABP device that restarts and sends frame 0 byte for byte as its earlier frame 0 is
      // indistinguishable from a replay of it: rejected as one (abp_fcnt_reset: accept_zero).
      const sameZero = heard.filter((e) => has(e, 'fcnt-reset') && e.fCnt === 0 && ledger.some((x) => x.seq < e.seq && x.devEui === e.devEui && x.fCnt === 0 && x.devAddr === e.devAddr && x.payloadHex === e.payloadHex && x.gateways.length > 0));
      rejectedReplay.push(...sameZero);
      const stored = heard.filter((e) => !has(e, 'corrupt-mic') && !rejectedReplay.includes(e));
      // A replay of a frame nobody heard is that frame's first copy — unless, at --speed max, the
      // device's next frame (minutes later in simulated time, milliseconds in real time) reached
      // the gateway first over another gateway's socket: then it is rightly a replay. Either way
      // it is counted once, as stored or as rejected.
      const ambiguous = stored.filter((e) => has(e, 'replay'));
      const certain = stored.filter((e) => !ambiguous.includes(e));
      for (const f of ['loss', 'corrupt-mic', 'replay', 'duplicate', 'fcnt-reset', 'gateway-outage']) expect(stats.faults[f as keyof typeof stats.faults], f).toBeGreaterThan(0);
      expect(stats.joins.timedOut).toBe(0);
      expect(stats.joins.accepted).toBe(stats.joins.requests - stats.joins.notHeard);

      const got = await waitForInflux(gateway, db, certain.length);
      if (got < certain.length) {
        const rows0 = await influx.rows('SELECT * FROM lorawan_uplink', db);
        const keys0 = new Set(rows0.map((r) => `${String(r['dev_eui'])}|${Number(r['time'])}`));
        console.log(stored.filter((e) => !keys0.has(`${e.devEui}|${Date.parse(e.time)}`)).map((e) => JSON.stringify({ seq: e.seq, dev: e.devEui, fCnt: e.fCnt, faults: e.faults, gws: e.gateways.length, replayOf: e.replayOf })));
        console.log((await gateway.metrics.registry.metrics()).split('\n').filter((l) => l.startsWith('lorawan_edge_ns_rejected_total{')).join('\n'));
      }
      expect(got).toBeGreaterThanOrEqual(certain.length);
      expect(got).toBeLessThanOrEqual(stored.length);
      const metrics = await gateway.metrics.registry.metrics();
      expect(counter(metrics, 'lorawan_edge_ns_rejected_total', 'reason="bad_mic"')).toBe(badMic.length);
      // A forced duplicate that reaches the gateway after the dedup window closed (a loaded
      // machine) is a byte-identical copy of a stored frame, i.e. a replay: the sum is exact.
      const replays = counter(metrics, 'lorawan_edge_ns_rejected_total', 'reason="replay"');
      const dups = counter(metrics, 'lorawan_edge_ns_rejected_total', 'reason="duplicate"');
      // Conservation: every heard, non-corrupt copy is stored once or rejected once.
      expect(got + replays + dups).toBe(stored.length + rejectedReplay.length + duplicates.length);
      expect(dups).toBeLessThanOrEqual(duplicates.length);
      expect(counter(metrics, 'lorawan_edge_ns_uplinks_total')).toBe(got);
      const resetAbp = heard.filter((e) => has(e, 'fcnt-reset') && e.fCnt === 0 && ledger.some((x) => x.devEui === e.devEui && x.seq < e.seq && x.devAddr === e.devAddr)).length;
      expect(counter(metrics, 'lorawan_edge_ns_fcnt_resets_total')).toBeLessThanOrEqual(resetAbp);

      // Exactly the stored set, with the gateways that heard each (outages leave theirs out).
      const rows = await influx.rows('SELECT * FROM lorawan_uplink', db);
      const byKey = new Map(rows.map((r) => [`${String(r['dev_eui'])}|${Number(r['time'])}`, r]));
      expect(byKey.size).toBe(got);
      for (const e of certain) {
        const row = byKey.get(`${e.devEui}|${Date.parse(e.time)}`);
        expect(row, `${e.devEui} seq ${e.seq} ${e.faults.join(',')}`).toBeDefined();
        expect(row?.['gateway_count']).toBe(e.gateways.length);
      }
    } finally {
      await gateway.stop();
    }
  }, 240_000);

  it('downlinks queued with the CLI (hex, and a catalogue command) reach the simulated devices in RX1', async () => {
    let queued: string[] = [];
    const { gateway, stats } = await run('downlink', 150, {}, {}, (cfgDir, probe) => {
      const abp = probe.devices.find((d) => d.keys.activation === 'ABP');
      const df703 = probe.devices.find((d) => d.catalogueId === 'dingtek/df703');
      const cfg = join(cfgDir, 'gateway.yaml');
      const hex = spawnSync(BIN, ['downlink', '--config', cfg, '--dev-eui', abp?.devEui ?? '', '--fport', '5', 'cafe'], { encoding: 'utf8', cwd: REPO_ROOT, timeout: 60_000 });
      const cmd = spawnSync(BIN, ['downlink', '--config', cfg, '--dev-eui', df703?.devEui ?? '', '--command', 'uploadInterval', '--arg', 'value=4'], { encoding: 'utf8', cwd: REPO_ROOT, timeout: 60_000 });
      expect(hex.stderr + cmd.stderr).toBe('');
      expect([hex.status, cmd.status]).toEqual([0, 0]);
      queued = [hex.stdout, cmd.stdout];
    });
    try {
      expect(queued[0]).toContain('FPort 5, cafe');
      expect(queued[1]).toMatch(/FPort 3, [0-9a-f]+/);
      // The simulator verified both frames (MIC with the session's NwkSKey) and counted them.
      expect(stats.downlinks.data).toBe(2);
      expect(stats.downlinks.badMic).toBe(0);
      const metrics = await gateway.metrics.registry.metrics();
      expect(counter(metrics, 'lorawan_edge_ns_downlinks_total', 'outcome="sent"')).toBe(2);
      expect(counter(metrics, 'lorawan_edge_ns_downlinks_total', 'outcome="rx2"')).toBe(0);
    } finally {
      await gateway.stop();
    }
  }, 240_000);
});
