/**
 * ADR state survives gateway restarts (session store, gateway/ns/adr-store.ts), over a real UDP
 * socket: half an SNR history before a restart and half after make one full history (a LinkADRReq
 * at the 20th uplink, not 20 uplinks after the restart); an ABP device whose extra channels are
 * configured (`abp_channels`) gets a mask of channels 0–7; once it refuses that mask it gets the
 * three default channels only, also after a restart.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkConfig, type GatewayConfig } from '../gateway/config.ts';
import { createGateway, type Gateway } from '../gateway/gateway.ts';
import { TestForwarder, until } from '../gateway/ns/testing/forwarder.ts';
import { renderRegistry } from '../gateway/registry/devices-file.ts';
import { writeDeviceKeysFile } from '../gateway/registry/keys-file.ts';
import { buildDataFrame, openDataFrame } from '../lorawan/data-frame.ts';
import { decodeMacCommands, encodeMacCommands } from '../lorawan/mac-commands.ts';
import { parsePhyPayload } from '../lorawan/phy-payload.ts';
import { buildPullData } from '../lorawan/udp/gateway.ts';
import type { Txpk } from '../lorawan/udp/types.ts';
import { freePort } from '../support/free-port.ts';

const dir = mkdtempSync(join(tmpdir(), 'edge-ns-adr-durable-'));
const GW = '0016c001f1500012';
const DEV = { devEui: '0000000000000e01', devAddr: '26011e01', nwkSKey: '44024241ed4ce9a68c6a8bc055233fd3', appSKey: 'ec925802ae430ca77fd3dd73cb2cc588' };
const keys = { nwkSKey: Buffer.from(DEV.nwkSKey, 'hex'), appSKey: Buffer.from(DEV.appSKey, 'hex') };
let gateway: Gateway | undefined;
let config: GatewayConfig;
let port: number;
let fwd: TestForwarder;
const silent = { write: () => true } as unknown as NodeJS.WritableStream;
const ns = () => gateway?.udpSources[0]?.networkServer;

async function restart(): Promise<void> {
  await gateway?.stop();
  gateway = createGateway(config, { logStream: silent });
  await gateway.start();
  if (fwd) {
    const n = fwd.acks.length;
    fwd.send(buildPullData({ gatewayEui: GW }).bytes);
    await until(() => fwd.acks.length > n, 'PULL_ACK');
  }
}

beforeAll(async () => {
  port = await freePort();
  writeDeviceKeysFile(join(dir, 'keys.json'), [{ devEui: DEV.devEui, activation: 'ABP', devAddr: DEV.devAddr, nwkSKey: DEV.nwkSKey, appSKey: DEV.appSKey }]);
  writeFileSync(join(dir, 'devices.yaml'), renderRegistry([]));
  config = checkConfig(
    {
      name: 'adr-durable',
      data_dir: './data',
      http: { listen: false },
      log: { level: 'silent' },
      registry: { devices_file: 'devices.yaml' },
      buffer: { fsync_interval_ms: 10 },
      sources: [{ type: 'semtech_udp', listen: `127.0.0.1:${port}`, keys_file: 'keys.json', dedup_window_ms: 20, abp_channels: [867_100_000, 867_300_000, 867_500_000, 867_700_000, 867_900_000] }],
      sinks: [{ type: 'file', name: 'file' }],
    },
    join(dir, 'gateway.yaml'),
    {},
  );
  await restart();
  fwd = new TestForwarder(GW, () => port);
  await fwd.open();
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
  fwd?.close();
  rmSync(dir, { recursive: true, force: true });
});

let fCnt = 0;
/** ADR uplinks at SF12, 5 dB SNR (margin 15 dB: ChirpStack's algorithm asks for DR5). */
async function uplinks(n: number, fOpts: Uint8Array = Buffer.alloc(0)): Promise<void> {
  for (let i = 0; i < n; i++) {
    const phy = buildDataFrame({ mType: 'UnconfirmedDataUp', devAddr: 0x26011e01, fCnt: fCnt++, fCtrl: { adr: true }, fOpts: i === 0 ? fOpts : Buffer.alloc(0), fPort: 2, payload: Buffer.of(i) }, keys);
    fwd.push(phy, { datr: 'SF12BW125', snr: 5 });
  }
  await until(() => ns()?.sessions.get(DEV.devEui)?.fCntUpNext === fCnt, `uplinks up to FCnt ${fCnt - 1}`);
}

function linkAdrReq(txpk: Txpk): unknown {
  const parsed = parsePhyPayload(txpk.data);
  if (!parsed.ok || parsed.frame.kind !== 'data') throw new Error('not a data downlink');
  expect(openDataFrame(parsed.frame, keys, parsed.frame.fCnt16).micValid).toBe(true);
  return decodeMacCommands('down', parsed.frame.fOpts).commands.map((c) => c.command);
}

describe('ADR state across restarts', () => {
  it('12 uplinks before a restart and 8 after make one full history: LinkADRReq with channels 0–7 (abp_channels)', async () => {
    await uplinks(12);
    await restart();
    expect(ns()?.adr.state(DEV.devEui)).toMatchObject({ dr: 0, txPowerIndex: 0, nbTrans: 1 });
    expect((ns()?.adr.state(DEV.devEui) as { history: unknown[] } | undefined)?.history).toHaveLength(12);
    await uplinks(7);
    expect(fwd.resp).toHaveLength(0);
    await uplinks(1);
    const { txpk } = await fwd.nextResp(1);
    expect(linkAdrReq(txpk)).toEqual([{ name: 'LinkADRReq', dataRate: 5, txPower: 0, chMask: 0x00ff, chMaskCntl: 0, nbTrans: 1 }]);
  });

  it('a refused channel mask is remembered through a restart: the next request names channels 0–2 only', async () => {
    await uplinks(1, encodeMacCommands('up', [{ name: 'LinkADRAns', powerAck: true, dataRateAck: true, channelMaskAck: false }]));
    await restart();
    expect(ns()?.adr.state(DEV.devEui)).toMatchObject({ maskRefused: true });
    await uplinks(19);
    const { txpk } = await fwd.nextResp(2);
    expect(linkAdrReq(txpk)).toEqual([{ name: 'LinkADRReq', dataRate: 5, txPower: 0, chMask: 0x0007, chMaskCntl: 0, nbTrans: 1 }]);
  });
});
