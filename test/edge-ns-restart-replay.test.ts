/**
 * The inbox journal's replay after a `kill -9` at the instant S6 has to cover for joins: the
 * gateway child (bin/lorawan-edge gateway, `semtech_udp` source with the inbox journal) is killed
 * with SIGKILL right after a batch with a join is committed to SQLite, before its records reach
 * the durable log — by its test hook (`LORAWAN_EDGE_TEST_CRASH=after-join-commit`,
 * gateway/ns/network-server.ts).
 *
 * 1. The join record reaches the log exactly once after the restart: the replayed join-request's
 *    DevNonce is committed, and its S6 row (the log id the record was about to get) says the
 *    record never reached the log, so it is stored then — once, also through a further restart.
 *    Before S6 covered joins the replay skipped it as `already_processed`: the record was lost.
 * 2. Another gateway's copy of a frame the replay handled is a `duplicate`, not a fault: a
 *    join-request and then a data uplink from forwarder A, the kill while the data frame is still
 *    in the dedup window (1 s, no early close); the restart replays both (the join record
 *    restored, the data frame accepted now). Forwarder B, whose PUSH_DATA of the same two frames
 *    was never acknowledged (the gateway was down), sends them now — after the replay's dedup
 *    window. Before, they were counted as `devnonce_reuse` and `late_copy`; now as two
 *    `duplicate`s, and nothing is stored twice.
 * 3. The same for a frame fully done before the kill (stored, the journal's cursor past it, so
 *    the restart does not replay it): another gateway's copy of that reception (its rxpk `time`
 *    before the restart) is a `duplicate` (it was a `replay`: the gateways that had reported it
 *    were kept in memory only); the same bytes heard after the restart are still a `replay`.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TestForwarder, until } from '../gateway/ns/testing/forwarder.ts';
import { renderRegistry } from '../gateway/registry/devices-file.ts';
import { writeDeviceKeysFile } from '../gateway/registry/keys-file.ts';
import { buildDataFrame } from '../lorawan/data-frame.ts';
import { buildJoinRequest } from '../lorawan/join.ts';
import { buildPullData } from '../lorawan/udp/gateway.ts';
import { freePort } from '../support/free-port.ts';
import { exited, readHeldRecords, startCrashGateway, uplinkCounts } from './edge-ns-crash-rig.ts';

const root = mkdtempSync(join(tmpdir(), 'edge-ns-restart-replay-'));
const GW_A = '0016c001f150001b';
const GW_B = '0016c001f150001c';
const ABP = { devEui: '0000000000000c01', devAddr: 0x26011c01, nwkSKey: Buffer.from('44024241ed4ce9a68c6a8bc055233fd5', 'hex'), appSKey: Buffer.from('ec925802ae430ca77fd3dd73cb2cc58a', 'hex') };
const OTAA = { devEui: '3331383274356a02', joinEui: 'aa13693363343639', appKey: Buffer.from('98929b92c49edba9676d646d3b61245a', 'hex') };
const procs: ChildProcess[] = [];
let httpPort: number;
let udpPort: number;

async function metric(name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  return Number(new RegExp(`^${name}${labels ? `\\{${labels}\\}` : ''} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
}

/** Polls `metric` until it reaches `value` (bounded: 15 s). */
async function metricReaches(name: string, labels: string, value: number): Promise<void> {
  for (let i = 0; i < 300 && (await metric(name, labels)) < value; i++) await new Promise((r) => setTimeout(r, 50));
}

/** A gateway folder `dir` (its own state) with both devices; returns the config's path. */
async function gatewayFiles(dir: string): Promise<string> {
  mkdirSync(dir, { recursive: true });
  [udpPort, httpPort] = [await freePort(), await freePort()];
  const deadPort = await freePort();
  writeDeviceKeysFile(join(dir, 'keys.json'), [
    { devEui: OTAA.devEui, activation: 'OTAA', joinEui: OTAA.joinEui, appKey: OTAA.appKey.toString('hex') },
    { devEui: ABP.devEui, activation: 'ABP', devAddr: ABP.devAddr.toString(16), nwkSKey: ABP.nwkSKey.toString('hex'), appSKey: ABP.appSKey.toString('hex') },
  ]);
  writeFileSync(
    join(dir, 'devices.yaml'),
    renderRegistry([
      { dev_eui: OTAA.devEui, name: 'bin-j', model: 'dingtek/df703', tags: {}, variables: {} },
      { dev_eui: ABP.devEui, name: 'bin-a', model: 'dingtek/df703', tags: {}, variables: {} },
    ]),
  );
  const config = join(dir, 'gateway.yaml');
  writeFileSync(
    config,
    JSON.stringify({
      name: 'restart-replay',
      data_dir: './data',
      http: { listen: `127.0.0.1:${httpPort}` },
      log: { level: 'warn' },
      registry: { devices_file: 'devices.yaml' },
      web: { enabled: false, store: { enabled: false } },
      sources: [{ type: 'semtech_udp', name: 'udp', listen: `127.0.0.1:${udpPort}`, keys_file: 'keys.json', dedup_window_ms: 1000, dedup_early_close: false, dedup_answer_ms: 1000 }],
      // Nobody listens there: the log keeps every record for the audit (readHeldRecords).
      sinks: [
        { type: 'influxdb', name: 'influx', url: `http://127.0.0.1:${deadPort}`, database: 'x', retry_max_backoff_ms: 1000 },
        { type: 'influxdb', name: 'hold', url: `http://127.0.0.1:${deadPort}`, database: 'x', retry_max_backoff_ms: 1000 },
      ],
    }),
  );
  return config;
}

/** Starts the gateway with the crash hook (only this life: the child inherits the environment at spawn). */
async function startWithHook(config: string): Promise<ChildProcess> {
  process.env['LORAWAN_EDGE_TEST_CRASH'] = 'after-join-commit';
  try {
    return await startCrashGateway(config, httpPort, procs);
  } finally {
    delete process.env['LORAWAN_EDGE_TEST_CRASH'];
  }
}

/** Resolves once the hook killed the gateway (bounded). */
async function killedByHook(gw: ChildProcess): Promise<void> {
  await Promise.race([exited(gw), new Promise((_, reject) => setTimeout(() => reject(new Error('the gateway was not killed by its hook')), 30_000))]);
  expect(gw.signalCode).toBe('SIGKILL');
}

async function forwarder(eui: string): Promise<TestForwarder> {
  const f = new TestForwarder(eui, () => udpPort);
  await f.open();
  f.send(buildPullData({ gatewayEui: eui }).bytes);
  await until(() => f.acks.length > 0, 'PULL_ACK');
  return f;
}

const joinRequest = (devNonce: number): Buffer => buildJoinRequest({ joinEui: OTAA.joinEui, devEui: OTAA.devEui, devNonce }, OTAA.appKey);

afterAll(async () => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  await Promise.all(procs.map(exited));
  rmSync(root, { recursive: true, force: true });
});

describe('inbox replay after a kill -9 between a join commit and the log fsync', () => {
  it('the join record reaches the log exactly once after the restart (inbox replay + S6 row)', async () => {
    const dir = join(root, 'once');
    const config = await gatewayFiles(dir);
    let gw = await startWithHook(config);
    const a = await forwarder(GW_A);
    try {
      a.push(joinRequest(0x0101));
      await killedByHook(gw);
      expect(a.resp).toHaveLength(0); // no join-accept left: it waits for the log's fsync

      gw = await startCrashGateway(config, httpPort, procs);
      await metricReaches('lorawan_edge_ns_inbox_recovered_total', 'outcome="restored"', 1);
      expect(await metric('lorawan_edge_ns_inbox_recovered_total', 'outcome="restored"')).toBe(1);
      expect(await metric('lorawan_edge_ns_rejected_total', 'reason="devnonce_reuse"')).toBe(0);
      gw.kill('SIGTERM');
      await exited(gw);

      // A third life replays nothing of it again (and would skip it: its record is below the log's next id).
      gw = await startCrashGateway(config, httpPort, procs);
      gw.kill('SIGKILL');
      await exited(gw);
    } finally {
      a.close();
    }
    const joins = (await readHeldRecords(dir)).filter((r) => r.kind === 'join');
    expect(joins).toHaveLength(1);
    expect(joins[0]).toMatchObject({ devEui: OTAA.devEui });
  }, 120_000);

  it("another gateway's copy of a join-request and of a data uplink the replay handled are duplicates", async () => {
    const dir = join(root, 'copies');
    const config = await gatewayFiles(dir);
    let gw = await startWithHook(config);
    const a = await forwarder(GW_A);
    const b = new TestForwarder(GW_B, () => udpPort);
    await b.open();
    try {
      const jr = joinRequest(0x0202);
      const up = buildDataFrame({ mType: 'UnconfirmedDataUp', devAddr: ABP.devAddr, fCnt: 0, fCtrl: {}, fPort: 3, payload: Buffer.from([1, 2]) }, { nwkSKey: ABP.nwkSKey, appSKey: ABP.appSKey });
      a.push(jr);
      // In the dedup window when the join's batch commits (and the hook kills the gateway).
      await new Promise((r) => setTimeout(r, 300));
      a.push(up);
      await killedByHook(gw);

      gw = await startCrashGateway(config, httpPort, procs);
      // The replay: the join record restored, the data frame accepted now.
      await metricReaches('lorawan_edge_ns_inbox_recovered_total', 'outcome="restored"', 1);
      await metricReaches('lorawan_edge_ns_uplinks_total', '', 1);
      expect(await metric('lorawan_edge_ns_inbox_recovered_total', 'outcome="restored"')).toBe(1);
      expect(await metric('lorawan_edge_ns_uplinks_total')).toBe(1);
      // B's copies, never acknowledged before the kill, come now (after the replay's dedup window).
      b.push(jr);
      b.push(up);
      await metricReaches('lorawan_edge_ns_rejected_total', 'reason="duplicate"', 2);
      expect(await metric('lorawan_edge_ns_rejected_total', 'reason="duplicate"')).toBe(2);
      for (const reason of ['devnonce_reuse', 'late_copy', 'replay']) expect(await metric('lorawan_edge_ns_rejected_total', `reason="${reason}"`), reason).toBe(0);
      gw.kill('SIGTERM');
      await exited(gw);
    } finally {
      a.close();
      b.close();
    }
    const records = await readHeldRecords(dir);
    expect(records.filter((r) => r.kind === 'join')).toHaveLength(1);
    expect([...uplinkCounts(records).entries()]).toEqual([[`${ABP.devEui}/0`, 1]]);
  }, 120_000);
  it("another gateway's copy of a frame done before the kill (not replayed) is a duplicate", async () => {
    const dir = join(root, 'done-copy');
    const config = await gatewayFiles(dir);
    let gw = await startCrashGateway(config, httpPort, procs);
    const a = await forwarder(GW_A);
    const b = new TestForwarder(GW_B, () => udpPort);
    await b.open();
    try {
      const up = buildDataFrame({ mType: 'UnconfirmedDataUp', devAddr: ABP.devAddr, fCnt: 7, fCtrl: {}, fPort: 3, payload: Buffer.from([7]) }, { nwkSKey: ABP.nwkSKey, appSKey: ABP.appSKey });
      const heard = new Date();
      a.push(up, { time: heard });
      // Done: stored, and the journal's cursor past its entry (so the restart does not replay it).
      await metricReaches('lorawan_edge_uplinks_received_total', 'source="udp"', 1);
      const cursorFile = join(dir, 'data', 'ns', 'inbox', 'sink-ns.cursor');
      await until(() => existsSync(cursorFile) && (JSON.parse(readFileSync(cursorFile, 'utf8')) as { committed: number }).committed >= 1, 'the journal cursor past the entry');
      gw.kill('SIGKILL');
      await exited(gw);

      gw = await startCrashGateway(config, httpPort, procs);
      expect(await metric('lorawan_edge_ns_inbox_replayed_total')).toBe(0);
      // B's copy of the same reception (its time), never acknowledged before the kill, comes now.
      b.push(up, { time: heard });
      await metricReaches('lorawan_edge_ns_rejected_total', 'reason="duplicate"', 1);
      expect(await metric('lorawan_edge_ns_rejected_total', 'reason="duplicate"')).toBe(1);
      for (const reason of ['late_copy', 'replay']) expect(await metric('lorawan_edge_ns_rejected_total', `reason="${reason}"`), reason).toBe(0);
      // The same bytes heard now (a replay by radio) are still a replay.
      b.push(up);
      await metricReaches('lorawan_edge_ns_rejected_total', 'reason="replay"', 1);
      expect(await metric('lorawan_edge_ns_rejected_total', 'reason="replay"')).toBe(1);
      gw.kill('SIGTERM');
      await exited(gw);
    } finally {
      a.close();
      b.close();
    }
    expect([...uplinkCounts(await readHeldRecords(dir)).entries()]).toEqual([[`${ABP.devEui}/7`, 1]]);
  }, 120_000);
});
