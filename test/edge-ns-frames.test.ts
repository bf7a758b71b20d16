/**
 * The edge network server frame by frame, over a real UDP socket acting as a packet forwarder:
 * frames built independently with lora-packet (the oracle) are accepted; a confirmed uplink gets
 * its ACK in RX1; LinkCheckReq / DeviceTimeReq are answered; a queued downlink goes out with the
 * next uplink; a TX_ACK error on RX1 falls back to RX2; a DevNonce is never accepted twice, also
 * after a restart; bad datagrams are counted under their reason and kept, and the daemon goes on.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type LoraPacketModule from 'lora-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkConfig } from '../gateway/config.ts';
import { createGateway, type Gateway } from '../gateway/gateway.ts';
import { SessionStore } from '../gateway/ns/session-store.ts';
import { renderRegistry } from '../gateway/registry/devices-file.ts';
import { writeDeviceKeysFile } from '../gateway/registry/keys-file.ts';
import { SemtechUdpSource } from '../gateway/sources/semtech-udp.ts';
import { buildDataFrame, openDataFrame } from '../lorawan/data-frame.ts';
import { buildJoinRequest, openJoinAccept } from '../lorawan/join.ts';
import { decodeMacCommands, encodeMacCommands } from '../lorawan/mac-commands.ts';
import { parsePhyPayload, type DataFrame } from '../lorawan/phy-payload.ts';
import { deriveSessionKeys } from '../lorawan/session-keys.ts';
import { buildPullData, buildPushData, rxpkFor } from '../lorawan/udp/gateway.ts';
import { TestForwarder, until } from '../gateway/ns/testing/forwarder.ts';
import type { Txpk } from '../lorawan/udp/types.ts';
import { freePort } from '../support/free-port.ts';

type LoraPacketLib = (typeof LoraPacketModule)['default'];
const lp = createRequire(import.meta.url)('lora-packet') as LoraPacketLib;

const root = mkdtempSync(join(tmpdir(), 'edge-ns-frames-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const GW = '0016c001f1500001';
const ABP = { devEui: '0000000000000a01', devAddr: '26011bda', nwkSKey: '44024241ed4ce9a68c6a8bc055233fd3', appSKey: 'ec925802ae430ca77fd3dd73cb2cc588' };
const OTAA = { devEui: '3331383274356905', joinEui: 'aa13693363343639', appKey: '98929b92c49edba9676d646d3b612456' };
const nwkSKey = Buffer.from(ABP.nwkSKey, 'hex');
const appSKey = Buffer.from(ABP.appSKey, 'hex');
// Both intakes: on the worker thread (`intake_thread: true`, the default) and on the main thread.
describe.each([true, false])('intake_thread: %s', (intakeThread) => {
  const dir = mkdtempSync(join(root, `intake-${intakeThread}-`));
  let gateway: Gateway;
  let port: number;
  let fwd: TestForwarder;

  async function metric(name: string, labels = ''): Promise<number> {
    const text = await gateway.metrics.registry.metrics();
    const re = new RegExp(`^${name}${labels ? `\\{${labels}\\}` : ''} (\\S+)$`, 'm');
    return Number(re.exec(text)?.[1] ?? 0);
  }

  function config(): ReturnType<typeof checkConfig> {
    return checkConfig(
      {
        name: 'frames',
        data_dir: './data',
        http: { listen: false },
        log: { level: 'silent' },
        registry: { devices_file: 'devices.yaml' },
        buffer: { fsync_interval_ms: 10 },
        sources: [{ type: 'semtech_udp', name: 'udp', listen: `127.0.0.1:${port}`, keys_file: 'keys.json', dedup_window_ms: 30, gateways: [GW, '0016c001f1500002'], max_datagram_bytes: 4096, intake_thread: intakeThread }],
        sinks: [{ type: 'file', name: 'file' }],
      },
      join(dir, 'gateway.yaml'),
      {},
    );
  }

  beforeAll(async () => {
    port = await freePort();
    writeDeviceKeysFile(join(dir, 'keys.json'), [
      { devEui: ABP.devEui, activation: 'ABP', devAddr: ABP.devAddr, nwkSKey: ABP.nwkSKey, appSKey: ABP.appSKey },
      { devEui: OTAA.devEui, activation: 'OTAA', joinEui: OTAA.joinEui, appKey: OTAA.appKey },
    ]);
    writeFileSync(join(dir, 'devices.yaml'), renderRegistry([{ dev_eui: ABP.devEui, name: 'bin-1', model: 'dingtek/df703', tags: {}, variables: {} }]));
    gateway = createGateway(config(), { logStream: { write: () => true } as unknown as NodeJS.WritableStream });
    await gateway.start();
    fwd = new TestForwarder(GW, () => port);
    await fwd.open();
  }, 60_000);

  afterAll(async () => {
    await gateway?.stop();
    fwd?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  let fCnt = 0;
  function lpUplink(confirmed: boolean, payload = Buffer.from('0102', 'hex')): Buffer {
    const pkt = lp.fromFields({ MType: confirmed ? 'Confirmed Data Up' : 'Unconfirmed Data Up', DevAddr: Buffer.from(ABP.devAddr, 'hex'), FCtrl: { ADR: true }, FCnt: fCnt++, FPort: 3, payload }, appSKey, nwkSKey);
    return pkt.getPHYPayload() as Buffer;
  }

  function openDown(txpk: Txpk): { frame: DataFrame; fOpts: ReturnType<typeof decodeMacCommands>; payload: Buffer } {
    const parsed = parsePhyPayload(txpk.data);
    if (!parsed.ok || parsed.frame.kind !== 'data') throw new Error('not a data downlink');
    const o = openDataFrame(parsed.frame, { nwkSKey, appSKey }, parsed.frame.fCnt16);
    expect(o.micValid).toBe(true);
    expect(lp.verifyMIC(lp.fromWire(Buffer.from(txpk.data)), nwkSKey)).toBe(true);
    return { frame: parsed.frame, fOpts: decodeMacCommands('down', parsed.frame.fOpts), payload: o.payload };
  }

  describe('edge network server frame by frame', () => {
    it('accepts frames built by lora-packet; a confirmed uplink gets its ACK in RX1 (tmst + 1 s, same frequency and DR)', async () => {
      fwd.push(lpUplink(false));
      await until(() => gateway.udpSources[0]?.networkServer?.sessions.get(ABP.devEui)?.fCntUpNext === 1);
      const confirmed = lpUplink(true);
      const t = fwd.push(confirmed);
      const { txpk } = await fwd.nextResp(1);
      expect(txpk).toMatchObject({ tmst: t + 1_000_000, freq: 868.3, datr: 'SF9BW125', ipol: true, imme: false });
      const down = openDown(txpk);
      expect(down.frame.fCtrl.ack).toBe(true);
      expect(down.frame.mType).toBe('UnconfirmedDataDown');
      expect(await metric('lorawan_edge_ns_uplinks_total')).toBe(2);
      expect(await metric('lorawan_edge_ns_acks_total')).toBe(1);
      // The same confirmed frame again (the ACK was lost): answered again, not stored again.
      fwd.push(confirmed);
      await fwd.nextResp(2);
      expect(await metric('lorawan_edge_ns_retransmissions_total')).toBe(1);
      expect(await metric('lorawan_edge_ns_uplinks_total')).toBe(2);
    });

    it('answers LinkCheckReq and DeviceTimeReq in FOpts', async () => {
      const fOpts = encodeMacCommands('up', [{ name: 'LinkCheckReq' }, { name: 'DeviceTimeReq' }]);
      const sent = new Date();
      fwd.push(buildDataFrame({ mType: 'UnconfirmedDataUp', devAddr: 0x26011bda, fCnt: fCnt++, fOpts, fPort: 3, payload: Buffer.of(1) }, { nwkSKey, appSKey }), { snr: 3, time: sent });
      const { txpk } = await fwd.nextResp(3);
      const cmds = openDown(txpk).fOpts.commands.map((c) => c.command);
      expect(cmds[0]).toEqual({ name: 'LinkCheckAns', margin: 16, gwCnt: 1 }); // SF9 floor -12.5 dB, SNR 3
      expect(cmds[1]?.name).toBe('DeviceTimeAns');
    });

    it('sends a queued downlink with the next uplink; an RX1 TX_ACK error falls back to RX2', async () => {
      const path = SemtechUdpSource.storePath(gateway.config.udp_sources[0] as { state_dir: string });
      const store = new SessionStore(path);
      const id = store.enqueue(ABP.devEui, 10, Buffer.from('cafe', 'hex'), false);
      store.close();
      // The daemon polls the queue (another process writes it) every second.
      await until(() => gateway.udpSources[0]?.networkServer?.hasQueued(ABP.devEui) === true, 'the queued downlink to be seen');
      fwd.txAckError = 'TOO_LATE';
      const t = fwd.push(lpUplink(false));
      const rx1 = await fwd.nextResp(4);
      expect(rx1.txpk.tmst).toBe(t + 1_000_000);
      const rx2 = await fwd.nextResp(5);
      expect(rx2.txpk).toMatchObject({ tmst: t + 2_000_000, freq: 869.525, datr: 'SF12BW125' });
      const down = openDown(rx2.txpk);
      expect(down.frame.fPort).toBe(10);
      expect(down.payload.toString('hex')).toBe('cafe');
      expect(await metric('lorawan_edge_ns_rejected_total', 'reason="tx_ack_too_late"')).toBe(1);
      await until(() => {
        const s = new SessionStore(path);
        const q = s.downlink(id);
        s.close();
        return q?.state === 'done';
      });
    });

    it('a confirmed downlink is retried until the device ACKs it, and its outcome recorded', async () => {
      const path = SemtechUdpSource.storePath(gateway.config.udp_sources[0] as { state_dir: string });
      const store = new SessionStore(path);
      const id = store.enqueue(ABP.devEui, 11, Buffer.from('beef', 'hex'), true);
      store.close();
      await until(() => gateway.udpSources[0]?.networkServer?.hasQueued(ABP.devEui) === true, 'the queued downlink to be seen');
      const state = (): string | undefined => {
        const st = new SessionStore(path);
        const q = st.downlink(id);
        st.close();
        return q ? `${q.state}/${q.attempts}/${q.outcome}` : undefined;
      };
      const n = fwd.resp.length;
      fwd.push(lpUplink(false));
      const first = openDown((await fwd.nextResp(n + 1)).txpk);
      expect(first.frame.mType).toBe('ConfirmedDataDown');
      expect(first.payload.toString('hex')).toBe('beef');
      await until(() => state() === 'awaiting_ack/1/', 'awaiting_ack');
      // The next uplink carries no ACK: sent again.
      fwd.push(lpUplink(false));
      const again = openDown((await fwd.nextResp(n + 2)).txpk);
      expect(again.frame.mType).toBe('ConfirmedDataDown');
      expect(again.frame.fCnt16).toBe(first.frame.fCnt16 + 1);
      await until(() => state() === 'awaiting_ack/2/', 'second attempt');
      // Now the device acknowledges (ACK bit in its uplink): done, nothing more is sent.
      const ack = lp.fromFields({ MType: 'Unconfirmed Data Up', DevAddr: Buffer.from(ABP.devAddr, 'hex'), FCtrl: { ACK: true }, FCnt: fCnt++, FPort: 3, payload: Buffer.of(1) }, appSKey, nwkSKey).getPHYPayload() as Buffer;
      fwd.push(ack);
      await until(() => state() === 'done/2/acked', 'acked');
      expect(await metric('lorawan_edge_ns_downlinks_total', 'outcome="acked"')).toBe(1);
      expect(fwd.resp).toHaveLength(n + 2);
    });

    it('a flood of junk datagrams does not push a confirmed uplink out of its RX1 window', async () => {
      const junk = Buffer.concat([Buffer.of(2, 0, 0, 0), Buffer.from(GW, 'hex'), Buffer.from('{"rxpk":[{"tmst":1,"freq":868.1,"stat":1,"modu":"LORA","datr":"SF7BW125","size":3,"data":"AQID"}]}')]);
      const n = fwd.resp.length;
      for (let i = 0; i < 2000; i++) fwd.send(i % 2 ? junk : Buffer.of(2, i & 0xff, 0, 9));
      const t = fwd.push(lpUplink(true));
      const { txpk } = await fwd.nextResp(n + 1);
      expect(txpk.tmst).toBe(t + 1_000_000);
      expect(openDown(txpk).frame.fCtrl.ack).toBe(true);
    });

    it('OTAA: join-accept decrypts with the AppKey (CFList, RX2 DR, RX1 delay); a reused DevNonce is rejected, also after a restart', async () => {
      const req = buildJoinRequest({ joinEui: OTAA.joinEui, devEui: OTAA.devEui, devNonce: 61838 }, Buffer.from(OTAA.appKey, 'hex'));
      const t = fwd.push(req);
      const { txpk } = await fwd.nextResp(9);
      expect(txpk.tmst).toBe(t + 5_000_000);
      const ja = openJoinAccept(txpk.data, Buffer.from(OTAA.appKey, 'hex'));
      expect(ja.ok && ja.joinAccept.micValid).toBe(true);
      if (!ja.ok) return;
      expect(ja.joinAccept).toMatchObject({ rx2DataRate: 0, rxDelay: 1, rx1DrOffset: 0, netId: 0x13 });
      expect(ja.joinAccept.cfList).toEqual({ type: 'frequencies', frequenciesHz: [867_100_000, 867_300_000, 867_500_000, 867_700_000, 867_900_000] });
      // An uplink in the new session, keys derived as the device does.
      const keys = deriveSessionKeys(Buffer.from(OTAA.appKey, 'hex'), { joinNonce: ja.joinAccept.joinNonce, netId: ja.joinAccept.netId, devNonce: 61838 });
      fwd.push(buildDataFrame({ mType: 'UnconfirmedDataUp', devAddr: ja.joinAccept.devAddr, fCnt: 0, fPort: 1, payload: Buffer.of(7) }, keys));
      await until(() => gateway.udpSources[0]?.networkServer?.sessions.get(OTAA.devEui)?.fCntUpNext === 1);

      fwd.push(req);
      await until(() => gatewayRejected('devnonce_reuse') === 1);
      expect(fwd.resp).toHaveLength(9);

      // Restart: the session, its counter and the nonce survive; no re-join is needed.
      await gateway.stop();
      gateway = createGateway(config(), { logStream: { write: () => true } as unknown as NodeJS.WritableStream });
      await gateway.start();
      fwd.send(buildPullData({ gatewayEui: GW }).bytes);
      const s = gateway.udpSources[0]?.networkServer?.sessions.get(OTAA.devEui);
      expect(s?.devAddr).toBe(ja.joinAccept.devAddr >>> 0);
      expect(s?.fCntUpNext).toBe(1);
      fwd.push(req);
      await until(() => gatewayRejected('devnonce_reuse') === 1);
      expect(fwd.resp).toHaveLength(9);
      fwd.push(buildDataFrame({ mType: 'UnconfirmedDataUp', devAddr: ja.joinAccept.devAddr, fCnt: 0, fPort: 1, payload: Buffer.of(7) }, keys));
      await until(() => gatewayRejected('replay') === 1);
      fwd.push(buildDataFrame({ mType: 'UnconfirmedDataUp', devAddr: ja.joinAccept.devAddr, fCnt: 1, fPort: 1, payload: Buffer.of(8) }, keys));
      await until(() => gateway.udpSources[0]?.networkServer?.sessions.get(OTAA.devEui)?.fCntUpNext === 2);
    });

    it('counts bad datagrams under their reason, keeps them in the rejects file, and goes on', async () => {
      const good = (): Buffer => buildPushData({ gatewayEui: GW, rxpk: [rxpkFor({ phyPayload: Buffer.of(1, 2, 3), tmst: 1, frequencyHz: 868_100_000, datr: 'SF7BW125', rssi: -50 })] }).bytes;
      const json = (text: string): Buffer => Buffer.concat([good().subarray(0, 12), Buffer.from(text)]);
      const cases: [string, Buffer][] = [
        ['malformed_datagram', Buffer.of(2, 0)],
        ['unknown_protocol_version', Buffer.concat([Buffer.of(9), good().subarray(1)])],
        ['unknown_datagram_type', Buffer.concat([good().subarray(0, 3), Buffer.of(0x7f), good().subarray(4)])],
        ['bad_json', json('{"rxpk":[{')],
        ['bad_base64', json('{"rxpk":[{"tmst":1,"freq":868.1,"stat":1,"modu":"LORA","datr":"SF7BW125","size":3,"data":"!!!"}]}')],
        ['oversized', Buffer.concat([good().subarray(0, 12), Buffer.alloc(5000, 0x20)])],
        ['unknown_gateway', buildPullData({ gatewayEui: 'ffffffffffffffff' }).bytes],
        ['crc_error', buildPushData({ gatewayEui: GW, rxpk: [rxpkFor({ phyPayload: Buffer.of(0x40, 1, 2, 3), tmst: 1, frequencyHz: 868_100_000, datr: 'SF7BW125', rssi: -50, stat: -1 })] }).bytes],
        ['bad_frame', good()],
        ['unknown_devaddr', (() => {
          const phy = buildDataFrame({ mType: 'UnconfirmedDataUp', devAddr: 0x01020304, fCnt: 0, fPort: 1, payload: Buffer.of(1) }, { nwkSKey, appSKey });
          return buildPushData({ gatewayEui: GW, rxpk: [rxpkFor({ phyPayload: phy, tmst: 1, frequencyHz: 868_100_000, datr: 'SF7BW125', rssi: -50 })] }).bytes;
        })()],
      ];
      for (const [, b] of cases) fwd.send(b);
      for (const [reason] of cases) await until(() => gatewayRejected(reason) >= 1, reason, 5_000);
      // Still working: a good frame is accepted.
      const before = await metric('lorawan_edge_ns_uplinks_total');
      fwd.push(lpUplink(false));
      await until(() => (gateway.udpSources[0]?.networkServer?.sessions.get(ABP.devEui)?.fCntUpNext ?? 0) === fCnt);
      expect(await metric('lorawan_edge_ns_uplinks_total')).toBe(before + 1);
      const rejects = readFileSync(gateway.config.rejects.file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { reason: string; payloadBase64?: string });
      for (const [reason] of cases) expect(rejects.some((r) => r.reason === reason && r.payloadBase64), reason).toBe(true);
      // No key in the rejects file or the metrics.
      const text = readFileSync(gateway.config.rejects.file, 'utf8') + (await gateway.metrics.registry.metrics());
      for (const k of [ABP.nwkSKey, ABP.appSKey, OTAA.appKey]) expect(text).not.toContain(k);
    });
  });

  function gatewayRejected(reason: string): number {
    const m = gateway.metrics.registry.getSingleMetric('lorawan_edge_ns_rejected_total') as unknown as { hashMap?: Record<string, { value: number; labels: { reason: string } }> } | undefined;
    for (const v of Object.values(m?.hashMap ?? {})) if (v.labels.reason === reason) return v.value;
    return 0;
  }
});
