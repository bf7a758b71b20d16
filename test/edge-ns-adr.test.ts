/**
 * ADR in the edge network server, over a real UDP socket acting as a packet forwarder, with
 * uplinks built by lora-packet (the oracle): a device that sets the ADR bit gets a LinkADRReq
 * after 20 uplinks with margin to spare (ChirpStack's default algorithm: SF12 at SNR 5 dB →
 * DR5), its LinkADRAns is taken, and its data rate is kept in the session (also across a
 * restart); a device without the ADR bit is never asked, whatever its margin.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type LoraPacketModule from 'lora-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkConfig } from '../gateway/config.ts';
import { createGateway, type Gateway } from '../gateway/gateway.ts';
import { renderRegistry } from '../gateway/registry/devices-file.ts';
import { writeDeviceKeysFile } from '../gateway/registry/keys-file.ts';
import { SessionStore } from '../gateway/ns/session-store.ts';
import { SemtechUdpSource } from '../gateway/sources/semtech-udp.ts';
import { decodeMacCommands, encodeMacCommands } from '../lorawan/mac-commands.ts';
import { openDataFrame } from '../lorawan/data-frame.ts';
import { parsePhyPayload } from '../lorawan/phy-payload.ts';
import { TestForwarder, until } from '../gateway/ns/testing/forwarder.ts';
import { freePort } from '../support/free-port.ts';

type LoraPacketLib = (typeof LoraPacketModule)['default'];
const lp = createRequire(import.meta.url)('lora-packet') as LoraPacketLib;

const dir = mkdtempSync(join(tmpdir(), 'edge-ns-adr-'));
const GW = '0016c001f1500011';
const ADR = { devEui: '0000000000000b01', devAddr: '26011c01', nwkSKey: '44024241ed4ce9a68c6a8bc055233fd3', appSKey: 'ec925802ae430ca77fd3dd73cb2cc588' };
const FIXED = { devEui: '0000000000000b02', devAddr: '26011c02', nwkSKey: '54024241ed4ce9a68c6a8bc055233fd3', appSKey: 'fc925802ae430ca77fd3dd73cb2cc588' };
let gateway: Gateway;
let port: number;
let fwd: TestForwarder;

function start(): Gateway {
  const cfg = checkConfig(
    {
      name: 'adr',
      data_dir: './data',
      http: { listen: false },
      log: { level: 'silent' },
      registry: { devices_file: 'devices.yaml' },
      buffer: { fsync_interval_ms: 10 },
      sources: [{ type: 'semtech_udp', name: 'udp', listen: `127.0.0.1:${port}`, keys_file: 'keys.json', dedup_window_ms: 30 }],
      sinks: [{ type: 'file', name: 'file' }],
    },
    join(dir, 'gateway.yaml'),
    {},
  );
  return createGateway(cfg, { logStream: { write: () => true } as unknown as NodeJS.WritableStream });
}

async function metric(name: string, labels = ''): Promise<number> {
  const text = await gateway.metrics.registry.metrics();
  const re = new RegExp(`^${name}${labels ? `\\{${labels}\\}` : ''} (\\S+)$`, 'm');
  return Number(re.exec(text)?.[1] ?? 0);
}

beforeAll(async () => {
  port = await freePort();
  writeDeviceKeysFile(join(dir, 'keys.json'), [
    { devEui: ADR.devEui, activation: 'ABP', devAddr: ADR.devAddr, nwkSKey: ADR.nwkSKey, appSKey: ADR.appSKey },
    { devEui: FIXED.devEui, activation: 'ABP', devAddr: FIXED.devAddr, nwkSKey: FIXED.nwkSKey, appSKey: FIXED.appSKey },
  ]);
  writeFileSync(join(dir, 'devices.yaml'), renderRegistry([]));
  gateway = start();
  await gateway.start();
  fwd = new TestForwarder(GW, () => port);
  await fwd.open();
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
  fwd?.close();
  rmSync(dir, { recursive: true, force: true });
});

const fCnts = new Map<string, number>();
function uplink(dev: typeof ADR, adr: boolean, fOpts: Uint8Array = Buffer.alloc(0)): Buffer {
  const fCnt = fCnts.get(dev.devEui) ?? 0;
  fCnts.set(dev.devEui, fCnt + 1);
  const pkt = lp.fromFields(
    { MType: 'Unconfirmed Data Up', DevAddr: Buffer.from(dev.devAddr, 'hex'), FCtrl: { ADR: adr }, FCnt: fCnt, FOpts: Buffer.from(fOpts), FPort: 2, payload: Buffer.of(fCnt & 0xff) },
    Buffer.from(dev.appSKey, 'hex'),
    Buffer.from(dev.nwkSKey, 'hex'),
  );
  return pkt.getPHYPayload() as Buffer;
}

const session = (devEui: string) => gateway.udpSources[0]?.networkServer?.sessions.get(devEui);

describe('edge network server ADR', () => {
  it('a device without the ADR bit keeps its DR and is never asked to change it', async () => {
    for (let i = 0; i < 25; i++) fwd.push(uplink(FIXED, false), { datr: 'SF12BW125', snr: 9 });
    await until(() => session(FIXED.devEui)?.fCntUpNext === 25, 'the 25 uplinks of the fixed-DR device');
    expect(session(FIXED.devEui)).toMatchObject({ dr: 0, adr: false });
    expect(fwd.resp).toHaveLength(0);
    expect(await metric('lorawan_edge_ns_adr_total', 'outcome="requested"')).toBe(0);
  });

  it('after 20 ADR uplinks at SF12 with 5 dB SNR, sends LinkADRReq DR5 in RX1; takes the LinkADRAns', async () => {
    for (let i = 0; i < 19; i++) fwd.push(uplink(ADR, true), { datr: 'SF12BW125', snr: 5 });
    await until(() => session(ADR.devEui)?.fCntUpNext === 19, 'the first 19 ADR uplinks');
    expect(fwd.resp).toHaveLength(0); // the history is not full yet
    const t = fwd.push(uplink(ADR, true), { datr: 'SF12BW125', snr: 5 });
    const { txpk } = await fwd.nextResp(1);
    expect(txpk).toMatchObject({ tmst: t + 1_000_000, datr: 'SF12BW125' });
    const parsed = parsePhyPayload(txpk.data);
    if (!parsed.ok || parsed.frame.kind !== 'data') throw new Error('not a data downlink');
    expect(openDataFrame(parsed.frame, { nwkSKey: Buffer.from(ADR.nwkSKey, 'hex'), appSKey: Buffer.from(ADR.appSKey, 'hex') }, parsed.frame.fCnt16).micValid).toBe(true);
    expect(parsed.frame.fCtrl.adr).toBe(true);
    // margin = 5 − (−20) − 10 = 15 dB → 5 steps → DR5, TX power index 0, NbTrans 1, channels 0–2 (ABP)
    expect(decodeMacCommands('down', parsed.frame.fOpts).commands.map((c) => c.command)).toEqual([{ name: 'LinkADRReq', dataRate: 5, txPower: 0, chMask: 0x0007, chMaskCntl: 0, nbTrans: 1 }]);
    expect(await metric('lorawan_edge_ns_adr_total', 'outcome="requested"')).toBe(1);

    // The device obeys: its next uplink is at SF7 and carries LinkADRAns with every ack bit.
    fwd.push(uplink(ADR, true, encodeMacCommands('up', [{ name: 'LinkADRAns', powerAck: true, dataRateAck: true, channelMaskAck: true }])), { datr: 'SF7BW125', snr: 5 });
    await until(() => session(ADR.devEui)?.fCntUpNext === 21, 'the uplink with LinkADRAns');
    await until(() => gateway.udpSources[0]?.networkServer?.adr.state(ADR.devEui)?.dr === 5, 'the new DR');
    expect(await metric('lorawan_edge_ns_adr_total', 'outcome="accepted"')).toBe(1);
    expect(session(ADR.devEui)).toMatchObject({ dr: 5, adr: true });
    // No second request: the new DR has no history yet, and DR5 at 5 dB has no margin left.
    expect(fwd.resp).toHaveLength(1);
  });

  it('keeps the device DR in the durable session (read back after a restart)', async () => {
    await gateway.stop();
    const store = new SessionStore(SemtechUdpSource.storePath(gateway.config.udp_sources[0] as { state_dir: string }));
    const s = store.loadSessions().find((x) => x.devEui === ADR.devEui);
    store.close();
    expect(s).toMatchObject({ dr: 5, adr: true, fCntUpNext: 21 });
    gateway = start();
    await gateway.start();
    expect(session(ADR.devEui)).toMatchObject({ dr: 5, adr: true });
  });
});
