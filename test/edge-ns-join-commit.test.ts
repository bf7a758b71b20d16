/**
 * Joins in the network server's group commit, over a real UDP socket and the real SQLite file:
 * a burst of join-requests is committed in a few transactions — counted as commit frames in
 * the store's write-ahead log, one fsync each with `synchronous=FULL` — not one per join; every
 * join-accept reaches the forwarder only once its session and DevNonce can be read from the
 * file by another connection; a join-request sent twice within one batch gets one join-accept
 * (the DevNonce is used from the moment its join is in a batch); and an uplink of a device's
 * old session committed in the same batch as its re-join does not overwrite the new session's
 * counters (after a restart the new session still counts from 0); a batch whose commit fails (the
 * file locked by another writer past the busy timeout) sends no join-accept and leaves the
 * device's current session in use.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkConfig } from '../gateway/config.ts';
import { createGateway, type Gateway } from '../gateway/gateway.ts';
import { TestForwarder, until } from '../gateway/ns/testing/forwarder.ts';
import { renderRegistry } from '../gateway/registry/devices-file.ts';
import { writeDeviceKeysFile } from '../gateway/registry/keys-file.ts';
import { SemtechUdpSource } from '../gateway/sources/semtech-udp.ts';
import { readSessions } from '../gateway/ns/session-store.ts';
import { buildDataFrame } from '../lorawan/data-frame.ts';
import { buildJoinRequest, openJoinAccept } from '../lorawan/join.ts';
import { deriveSessionKeys } from '../lorawan/session-keys.ts';
import { buildPullData } from '../lorawan/udp/gateway.ts';
import { freePort } from '../support/free-port.ts';

const dir = mkdtempSync(join(tmpdir(), 'edge-ns-join-commit-'));
const GW = '0016c001f15b0001';
const JOIN_EUI = 'aa13693363343639';
const BURST = 30;
/** device i: DevEUI 33313832743569(i), AppKey …(i) */
const devices = Array.from({ length: BURST + 1 }, (_, i) => ({
  devEui: `3331383274${(0x350000 + i).toString(16)}`,
  appKey: Buffer.from(`98929b92c49edba9676d646d3b61${(0x2400 + i).toString(16)}`, 'hex'),
}));
const rejoiner = devices[BURST] as (typeof devices)[number];
let gateway: Gateway;
let port: number;
let fwd: TestForwarder;

function config(): ReturnType<typeof checkConfig> {
  return checkConfig(
    {
      name: 'join-commit',
      data_dir: './data',
      http: { listen: false },
      log: { level: 'silent' },
      registry: { devices_file: 'devices.yaml' },
      buffer: { fsync_interval_ms: 10 },
      sources: [{ type: 'semtech_udp', name: 'udp', listen: `127.0.0.1:${port}`, keys_file: 'keys.json', dedup_window_ms: 100, adr: false }],
      sinks: [{ type: 'file', name: 'file' }],
    },
    join(dir, 'gateway.yaml'),
    {},
  );
}

const storePath = (): string => SemtechUdpSource.storePath(gateway.config.udp_sources[0] as { state_dir: string });
const ns = () => gateway.udpSources[0]?.networkServer;

async function rejected(reason: string): Promise<number> {
  const text = await gateway.metrics.registry.metrics();
  return Number(new RegExp(`^lorawan_edge_ns_rejected_total\\{reason="${reason}"\\} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
}

/** Which device a join-accept is for: the one whose AppKey opens it with a valid MIC. */
function acceptedDevice(data: Uint8Array): number {
  return devices.findIndex((d) => {
    const ja = openJoinAccept(data, d.appKey);
    return ja.ok && ja.joinAccept.micValid;
  });
}

/** Commit frames in the store's WAL since its last reset (salt): one per transaction. */
function walCommits(): { salt: string; commits: number } {
  const b = readFileSync(`${storePath()}-wal`);
  if (b.length < 32) return { salt: '', commits: 0 };
  const pageSize = b.readUInt32BE(8);
  const salt = b.subarray(16, 24);
  let commits = 0;
  for (let off = 32; off + 24 + pageSize <= b.length; off += 24 + pageSize) {
    if (!b.subarray(off + 8, off + 16).equals(salt)) break;
    if (b.readUInt32BE(off + 4) !== 0) commits++;
  }
  return { salt: salt.toString('hex'), commits };
}

async function restart(): Promise<void> {
  await gateway.stop();
  gateway = createGateway(config(), { logStream: { write: () => true } as unknown as NodeJS.WritableStream });
  await gateway.start();
  fwd.send(buildPullData({ gatewayEui: GW }).bytes);
}

beforeAll(async () => {
  port = await freePort();
  writeDeviceKeysFile(
    join(dir, 'keys.json'),
    devices.map((d) => ({ devEui: d.devEui, activation: 'OTAA' as const, joinEui: JOIN_EUI, appKey: d.appKey.toString('hex') })),
  );
  writeFileSync(join(dir, 'devices.yaml'), renderRegistry([]));
  gateway = createGateway(config(), { logStream: { write: () => true } as unknown as NodeJS.WritableStream });
  await gateway.start();
  fwd = new TestForwarder(GW, () => port);
  await fwd.open();
  fwd.startKeepalive(1000);
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
  fwd?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('joins in the group commit', () => {
  it(`${BURST} join-requests at once: a few transactions, not one per join; each join-accept only once its session and DevNonce are on disk`, async () => {
    const reader = new Database(storePath(), { readonly: true });
    const sessionRow = reader.prepare('SELECT dev_addr FROM sessions WHERE dev_eui = ?');
    const nonceRow = reader.prepare('SELECT 1 FROM dev_nonces WHERE dev_eui = ? AND dev_nonce = ?');
    // Checked the moment each PULL_RESP arrives (the forwarder's message handler runs first).
    const onDisk: boolean[] = [];
    const check = (msg: Buffer): void => {
      // PULL_RESPs only: PUSH_ACKs now arrive between them (a join-request's datagram is made
      // durable at once, its batch commits at once).
      if (msg[3] !== 0x03) return;
      const r = fwd.resp[fwd.resp.length - 1];
      const i = r ? acceptedDevice(r.txpk.data) : -1;
      const d = devices[i];
      if (d) onDisk.push(sessionRow.get(d.devEui) !== undefined && nonceRow.get(d.devEui, 1000 + i) !== undefined);
    };
    fwd.socket.on('message', check);
    const before = walCommits();
    for (let i = 0; i < BURST; i++) fwd.push(buildJoinRequest({ joinEui: JOIN_EUI, devEui: (devices[i] as (typeof devices)[number]).devEui, devNonce: 1000 + i }, (devices[i] as (typeof devices)[number]).appKey));
    await until(() => fwd.resp.length >= BURST, `${BURST} join-accepts`, 60_000);
    const after = walCommits();
    fwd.socket.off('message', check);
    reader.close();
    expect(after.salt).toBe(before.salt); // no WAL reset in between (a checkpoint needs 1000 pages)
    // One per batch of 20 ms: the burst arrives within a few batches (a transaction per join: ≥ 30).
    expect(after.commits - before.commits).toBeGreaterThan(0);
    expect(after.commits - before.commits).toBeLessThanOrEqual(8);
    expect(onDisk).toHaveLength(BURST);
    expect(onDisk.every(Boolean)).toBe(true);
    expect(ns()?.sessions.size).toBe(BURST);
  }, 90_000);

  it('the same join-request twice within one batch (a second transmission) gets one join-accept; the second is a DevNonce reuse', async () => {
    const n = fwd.resp.length;
    const reuse = await rejected('devnonce_reuse');
    const req = buildJoinRequest({ joinEui: JOIN_EUI, devEui: rejoiner.devEui, devNonce: 1 }, rejoiner.appKey);
    fwd.push(req);
    fwd.push(req);
    await until(() => fwd.resp.length >= n + 1, 'the join-accept', 30_000);
    const end = Date.now() + 30_000;
    while (Date.now() < end && (await rejected('devnonce_reuse')) < reuse + 1) await new Promise((r) => setTimeout(r, 20));
    expect(await rejected('devnonce_reuse')).toBe(reuse + 1);
    expect(await rejected('store_error')).toBe(0);
    expect(fwd.resp).toHaveLength(n + 1);
  });

  it("an uplink of the old session committed with the device's re-join leaves the new session's counters alone (after a restart it counts from 0)", async () => {
    const first = fwd.resp[fwd.resp.length - 1];
    const ja1 = first && openJoinAccept(first.txpk.data, rejoiner.appKey);
    if (!ja1?.ok) throw new Error('no join-accept for the re-joining device');
    const old = deriveSessionKeys(rejoiner.appKey, { joinNonce: ja1.joinAccept.joinNonce, netId: ja1.joinAccept.netId, devNonce: 1 });
    for (let f = 0; f < 5; f++) fwd.push(buildDataFrame({ mType: 'UnconfirmedDataUp', devAddr: ja1.joinAccept.devAddr, fCnt: f, fPort: 1, payload: Buffer.of(f) }, old));
    await until(() => ns()?.sessions.get(rejoiner.devEui)?.fCntUpNext === 5, 'the old session at FCnt 5', 30_000);
    // Frame 5 of the old session, then at once the re-join: one batch (20 ms) holds both.
    const n = fwd.resp.length;
    fwd.push(buildDataFrame({ mType: 'UnconfirmedDataUp', devAddr: ja1.joinAccept.devAddr, fCnt: 5, fPort: 1, payload: Buffer.of(5) }, old));
    fwd.push(buildJoinRequest({ joinEui: JOIN_EUI, devEui: rejoiner.devEui, devNonce: 2 }, rejoiner.appKey));
    const r = await fwd.nextResp(n + 1);
    const ja2 = openJoinAccept(r.txpk.data, rejoiner.appKey);
    if (!ja2.ok) throw new Error('second join-accept does not open');
    expect(ns()?.sessions.get(rejoiner.devEui)?.fCntUpNext).toBe(0);
    // Every uplink so far was opened with keys from the session's slot (session-key-table.ts).
    expect(ns()?.keySlots().unslottedLookups).toBe(0);
    await restart();
    const s = ns()?.sessions.get(rejoiner.devEui);
    expect(s?.devAddr).toBe(ja2.joinAccept.devAddr >>> 0);
    expect(s?.fCntUpNext).toBe(0);
    const keys = deriveSessionKeys(rejoiner.appKey, { joinNonce: ja2.joinAccept.joinNonce, netId: ja2.joinAccept.netId, devNonce: 2 });
    fwd.push(buildDataFrame({ mType: 'UnconfirmedDataUp', devAddr: ja2.joinAccept.devAddr, fCnt: 0, fPort: 1, payload: Buffer.of(9) }, keys));
    await until(() => ns()?.sessions.get(rejoiner.devEui)?.fCntUpNext === 1, 'frame 0 of the new session accepted', 30_000);
  }, 90_000);

  it('a re-join whose batch cannot be committed (another writer holds the file) sends no join-accept; the current session stays in use', async () => {
    const s2 = ns()?.sessions.get(rejoiner.devEui);
    const last = fwd.resp[fwd.resp.length - 1];
    const ja2 = last && openJoinAccept(last.txpk.data, rejoiner.appKey);
    if (!s2 || !ja2?.ok) throw new Error('no current session for the re-joining device');
    const keys = deriveSessionKeys(rejoiner.appKey, { joinNonce: ja2.joinAccept.joinNonce, netId: ja2.joinAccept.netId, devNonce: 2 });
    const n = fwd.resp.length;
    const failedBefore = await rejected('store_error');
    // The previous test's last frame is committed first (its batch must not be the one that fails).
    const reader = new Database(storePath(), { readonly: true });
    const committed = (): number | undefined => readSessions(reader).find((x) => x.devEui === rejoiner.devEui)?.fCntUpNext;
    await until(() => committed() === 1, 'frame 0 committed', 30_000);
    reader.close();
    // A second writer (as `lorawan-edge downlink` is) holds the write lock longer than the
    // store's busy timeout (5 s): the batch's transaction fails.
    const lock = new Database(storePath());
    lock.exec('BEGIN IMMEDIATE');
    try {
      fwd.push(buildJoinRequest({ joinEui: JOIN_EUI, devEui: rejoiner.devEui, devNonce: 3 }, rejoiner.appKey));
      const end = Date.now() + 60_000;
      while (Date.now() < end && (await rejected('store_error')) <= failedBefore) await new Promise((r) => setTimeout(r, 50));
    } finally {
      lock.exec('ROLLBACK');
      lock.close();
    }
    expect(await rejected('store_error')).toBe(failedBefore + 1);
    expect(ns()?.sessions.get(rejoiner.devEui)).toBe(s2);
    // The session the failed join would have replaced still takes the device's frames.
    fwd.push(buildDataFrame({ mType: 'UnconfirmedDataUp', devAddr: ja2.joinAccept.devAddr, fCnt: 1, fPort: 1, payload: Buffer.of(10) }, keys));
    await until(() => ns()?.sessions.get(rejoiner.devEui)?.fCntUpNext === 2, 'frame 1 of the current session accepted', 30_000);
    expect(fwd.resp).toHaveLength(n);
    // A later join goes through, and the new session's frames are opened from its slot, which
    // now holds the new keys (the failed join's keys were put there, then the old ones again).
    fwd.push(buildJoinRequest({ joinEui: JOIN_EUI, devEui: rejoiner.devEui, devNonce: 4 }, rejoiner.appKey));
    const r4 = await fwd.nextResp(n + 1);
    const ja4 = openJoinAccept(r4.txpk.data, rejoiner.appKey);
    if (!ja4.ok) throw new Error('the later join-accept does not open');
    const keys4 = deriveSessionKeys(rejoiner.appKey, { joinNonce: ja4.joinAccept.joinNonce, netId: ja4.joinAccept.netId, devNonce: 4 });
    await until(() => ns()?.sessions.get(rejoiner.devEui)?.devAddr === ja4.joinAccept.devAddr >>> 0, 'the new session in use', 30_000);
    fwd.push(buildDataFrame({ mType: 'UnconfirmedDataUp', devAddr: ja4.joinAccept.devAddr, fCnt: 0, fPort: 1, payload: Buffer.of(11) }, keys4));
    await until(() => ns()?.sessions.get(rejoiner.devEui)?.fCntUpNext === 1, 'frame 0 of the re-joined session accepted', 30_000);
    expect(ns()?.keySlots()).toEqual({ sessions: BURST + 1, unslottedLookups: 0 });
  }, 90_000);
});
