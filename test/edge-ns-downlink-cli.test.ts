/**
 * The `downlink` CLI while the daemon runs: a real CLI process writes the session store the
 * running gateway's network server uses. It must only add its row: the daemon's queue recovery
 * (`sent` rows — handed to a gateway, TX_ACK not back yet — to `pending`) is the daemon's at its
 * start. Before, every CLI run did it, so a downlink whose TX_ACK was still on its way (or that a
 * forwarder sending no TX_ACK left `sent` for good) was sent a second time at the next uplink,
 * ahead of the one just queued. The daemon's own recovery at a restart is kept and checked too.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../codecs/testing/paths.ts';
import { checkConfig } from '../gateway/config.ts';
import { createGateway, type Gateway } from '../gateway/gateway.ts';
import { renderRegistry } from '../gateway/registry/devices-file.ts';
import { writeDeviceKeysFile } from '../gateway/registry/keys-file.ts';
import { SemtechUdpSource } from '../gateway/sources/semtech-udp.ts';
import { TestForwarder, until } from '../gateway/ns/testing/forwarder.ts';
import { buildDataFrame, openDataFrame } from '../lorawan/data-frame.ts';
import { parsePhyPayload } from '../lorawan/phy-payload.ts';
import { buildPullData } from '../lorawan/udp/gateway.ts';
import type { Txpk } from '../lorawan/udp/types.ts';
import { freePort } from '../support/free-port.ts';

const run = promisify(execFile);
const BIN = join(REPO_ROOT, 'bin', 'lorawan-edge');
const dir = mkdtempSync(join(tmpdir(), 'edge-ns-downlink-cli-'));
const cfgPath = join(dir, 'gateway.yaml');
const GW = '0016c001f1500001';
const ABP = { devEui: '0000000000000a01', devAddr: 0x26011bda, nwkSKey: Buffer.from('44024241ed4ce9a68c6a8bc055233fd3', 'hex'), appSKey: Buffer.from('ec925802ae430ca77fd3dd73cb2cc588', 'hex') };
let gateway: Gateway;
let fwd: TestForwarder;
let storePath: string;
let fCnt = 0;

let configDoc: Record<string, unknown> = {};
function start(): Gateway {
  return createGateway(checkConfig(configDoc, cfgPath, {}), { logStream: { write: () => true } as unknown as NodeJS.WritableStream });
}

/** `lorawan-edge downlink` as its own process, the event loop (and so the daemon) running meanwhile. */
async function cliDownlink(fPort: number, hex: string): Promise<number> {
  const { stdout, stderr } = await run(BIN, ['downlink', '--config', cfgPath, '--dev-eui', ABP.devEui, '--fport', String(fPort), hex], { cwd: REPO_ROOT, timeout: 60_000 });
  expect(stderr).toBe('');
  const id = /queued downlink (\d+)/.exec(stdout)?.[1];
  expect(id).toBeDefined();
  return Number(id);
}

/** A queue row's state, read through a read-only connection (no recovery, no write). */
function state(id: number): string | undefined {
  const db = new Database(storePath, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('SELECT state FROM downlinks WHERE id = ?').get(id) as { state: string } | undefined)?.state;
  } finally {
    db.close();
  }
}

function uplink(): void {
  fwd.push(buildDataFrame({ mType: 'UnconfirmedDataUp', devAddr: ABP.devAddr, fCnt: fCnt++, fPort: 3, payload: Buffer.of(1, 2) }, ABP));
}

function downlinkOf(txpk: Txpk): { fPort: number | null | undefined; hex: string } {
  const parsed = parsePhyPayload(txpk.data);
  if (!parsed.ok || parsed.frame.kind !== 'data') throw new Error('not a data downlink');
  const o = openDataFrame(parsed.frame, ABP, parsed.frame.fCnt16);
  expect(o.micValid).toBe(true);
  return { fPort: parsed.frame.fPort, hex: o.payload.toString('hex') };
}

beforeAll(async () => {
  const port = await freePort();
  writeDeviceKeysFile(join(dir, 'keys.json'), [{ devEui: ABP.devEui, activation: 'ABP', devAddr: ABP.devAddr.toString(16), nwkSKey: ABP.nwkSKey.toString('hex'), appSKey: ABP.appSKey.toString('hex') }]);
  writeFileSync(join(dir, 'devices.yaml'), renderRegistry([{ dev_eui: ABP.devEui, name: 'bin-1', model: 'dingtek/df703', tags: {}, variables: {} }]));
  configDoc = {
    name: 'downlink-cli',
    data_dir: './data',
    http: { listen: false },
    log: { level: 'silent' },
    registry: { devices_file: 'devices.yaml' },
    buffer: { fsync_interval_ms: 10 },
    sources: [{ type: 'semtech_udp', name: 'udp', listen: `127.0.0.1:${port}`, keys_file: 'keys.json', dedup_window_ms: 30, gateways: [GW] }],
    sinks: [{ type: 'file', name: 'file' }],
  };
  writeFileSync(cfgPath, JSON.stringify(configDoc));
  gateway = start();
  await gateway.start();
  storePath = SemtechUdpSource.storePath(gateway.config.udp_sources[0] as { state_dir: string });
  fwd = new TestForwarder(GW, () => port);
  await fwd.open();
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
  fwd?.close();
  rmSync(dir, { recursive: true, force: true });
});

const ns = (): NonNullable<Gateway['udpSources'][number]['networkServer']> | undefined => gateway.udpSources[0]?.networkServer;

describe('the downlink CLI beside a running daemon', () => {
  it('queues its row and leaves a sent downlink (TX_ACK not back yet) as it is: sent once, then the new one', async () => {
    fwd.holdTxAcks = true; // the forwarder's TX_ACK for the first downlink is still on its way
    const a = await cliDownlink(10, 'aa01');
    await until(() => ns()?.hasQueued(ABP.devEui) === true, 'the daemon to see downlink A');
    uplink();
    expect(downlinkOf((await fwd.nextResp(1)).txpk)).toEqual({ fPort: 10, hex: 'aa01' });
    await until(() => state(a) === 'sent', 'A to be sent');

    const b = await cliDownlink(11, 'bb02');
    // Before: the CLI's open put A back to `pending` here.
    expect(state(a)).toBe('sent');
    expect(state(b)).toBe('pending');
    await until(() => ns()?.hasQueued(ABP.devEui) === true, 'the daemon to see downlink B');
    uplink();
    // Before: A went out a second time here, B only at the uplink after.
    expect(downlinkOf((await fwd.nextResp(2)).txpk)).toEqual({ fPort: 11, hex: 'bb02' });
    fwd.releaseTxAcks();
    await until(() => state(a) === 'done' && state(b) === 'done', 'both TX_ACKs to settle A and B');
    uplink(); // nothing queued any more: no third downlink
    await new Promise((r) => setTimeout(r, 300));
    expect(fwd.resp).toHaveLength(2);
  }, 120_000);

  it('the daemon still recovers at its start: a downlink left sent by a stop before its TX_ACK is sent again', async () => {
    fwd.holdTxAcks = true;
    const c = await cliDownlink(12, 'cc03');
    await until(() => ns()?.hasQueued(ABP.devEui) === true, 'the daemon to see downlink C');
    const n = fwd.resp.length;
    uplink();
    expect(downlinkOf((await fwd.nextResp(n + 1)).txpk)).toEqual({ fPort: 12, hex: 'cc03' });
    await until(() => state(c) === 'sent', 'C to be sent');
    await gateway.stop();
    fwd.releaseTxAcks(); // to a stopped gateway: lost, as a TX_ACK during a restart is
    expect(state(c)).toBe('sent');
    gateway = start();
    await gateway.start();
    expect(state(c)).toBe('pending');
    const acks = fwd.acks.length;
    fwd.send(buildPullData({ gatewayEui: GW }).bytes); // the downlink route, as the next keepalive
    await until(() => fwd.acks.length > acks, 'PULL_ACK after the restart');
    await until(() => ns()?.hasQueued(ABP.devEui) === true, 'the restarted daemon to see downlink C');
    uplink();
    expect(downlinkOf((await fwd.nextResp(n + 2)).txpk)).toEqual({ fPort: 12, hex: 'cc03' });
    await until(() => state(c) === 'done', 'C done after its TX_ACK');
  }, 120_000);
});
