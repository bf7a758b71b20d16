/**
 * Sink `mqtt` with a real Mosquitto: records of the edge network server are published as
 * ChirpStack v4 `up` events (JSON) on application/<id>/device/<devEui>/event/up, QoS 1; while
 * the broker is down they stay in the log behind the sink's own cursor and arrive late, not never.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkConfig } from '../gateway/config.ts';
import { createGateway, type Gateway } from '../gateway/gateway.ts';
import { TestForwarder, until } from '../gateway/ns/testing/forwarder.ts';
import { renderRegistry } from '../gateway/registry/devices-file.ts';
import { writeDeviceKeysFile } from '../gateway/registry/keys-file.ts';
import { parseEventJson, type UplinkEvent } from '../lorawan/chirpstack/events.ts';
import { buildDataFrame } from '../lorawan/data-frame.ts';
import { freePort } from '../support/free-port.ts';
import { startMosquitto, type MosquittoServer } from '../support/mosquitto.ts';

const dir = mkdtempSync(join(tmpdir(), 'edge-ns-mqtt-'));
const GW = '0016c001f1500009';
const DEV = { devEui: '0000000000000b01', devAddr: '26011bdb', nwkSKey: '44024241ed4ce9a68c6a8bc055233fd3', appSKey: 'ec925802ae430ca77fd3dd73cb2cc588' };
let broker: MosquittoServer;
let gateway: Gateway;
let port: number;

beforeAll(async () => {
  broker = await startMosquitto();
  port = await freePort();
  writeDeviceKeysFile(join(dir, 'keys.json'), [{ devEui: DEV.devEui, activation: 'ABP', devAddr: DEV.devAddr, nwkSKey: DEV.nwkSKey, appSKey: DEV.appSKey }]);
  writeFileSync(join(dir, 'devices.yaml'), renderRegistry([{ dev_eui: DEV.devEui, name: 'bin-m', model: 'dingtek/df703', tags: { commune: 'centre' }, variables: {} }]));
  const config = checkConfig(
    {
      name: 'mqtt-sink',
      data_dir: './data',
      http: { listen: false },
      log: { level: 'silent' },
      registry: { devices_file: 'devices.yaml' },
      buffer: { fsync_interval_ms: 10 },
      sources: [{ type: 'semtech_udp', listen: `127.0.0.1:${port}`, keys_file: 'keys.json', dedup_window_ms: 20 }],
      sinks: [{ type: 'mqtt', name: 'up', url: broker.url, application_id: 'app-1', reconnect_ms: 200 }],
    },
    join(dir, 'gateway.yaml'),
    {},
  );
  gateway = createGateway(config, { logStream: { write: () => true } as unknown as NodeJS.WritableStream });
  await gateway.start();
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
  await broker?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

describe('sink mqtt', () => {
  it('publishes ChirpStack v4 up events, QoS 1, and delivers what the log kept through a broker outage', async () => {
    const fwd = new TestForwarder(GW, () => port);
    await fwd.open();
    const got: UplinkEvent[] = [];
    const topics: string[] = [];
    const sub = await mqtt.connectAsync(broker.url, { clientId: 'edge-ns-sub', clean: false, reconnectPeriod: 200 });
    await sub.subscribeAsync('application/+/device/+/event/up', { qos: 1 });
    sub.on('message', (topic, payload) => {
      const e = parseEventJson('up', payload);
      if (e.ok && e.event.kind === 'up') {
        got.push(e.event);
        topics.push(topic);
      }
    });
    const keys = { nwkSKey: Buffer.from(DEV.nwkSKey, 'hex'), appSKey: Buffer.from(DEV.appSKey, 'hex') };
    const payload = Buffer.from('800001011107d000190000000000010081', 'hex');
    const up = (fCnt: number): Buffer => buildDataFrame({ mType: 'UnconfirmedDataUp', devAddr: 0x26011bdb, fCnt, fCtrl: { adr: true }, fPort: 3, payload }, keys);
    try {
      for (let f = 0; f < 3; f++) fwd.push(up(f));
      await until(() => got.length === 3, 'three up events');
      expect(topics[0]).toBe(`application/app-1/device/${DEV.devEui}/event/up`);
      expect(got.map((e) => e.fCnt)).toEqual([0, 1, 2]);
      const e = got[0] as UplinkEvent;
      expect(Buffer.from(e.data).toString('hex')).toBe(payload.toString('hex'));
      expect(e.deviceInfo).toMatchObject({ devEui: DEV.devEui, deviceName: 'bin-m', applicationId: 'app-1', tags: { commune: 'centre' } });
      expect(e.devAddr).toBe(DEV.devAddr);
      expect(e.rxInfo[0]).toMatchObject({ gatewayId: GW, rssi: -80, snr: 5 });
      expect(e.object).toBeDefined();

      // Broker down: the uplinks are still accepted and kept; published once it is back.
      await broker.stop();
      for (let f = 3; f < 5; f++) fwd.push(up(f));
      await until(() => (gateway.udpSources[0]?.networkServer?.sessions.get(DEV.devEui)?.fCntUpNext ?? 0) === 5, 'uplinks accepted while the broker is down');
      expect(got).toHaveLength(3);
      await broker.start();
      // QoS 1 may deliver an event twice around the outage: wait for every fCnt, not a count.
      await until(() => new Set(got.map((x) => x.fCnt)).size >= 5, 'the kept events after the outage', 30_000);
      expect([...new Set(got.map((x) => x.fCnt))].sort()).toEqual([0, 1, 2, 3, 4]);
    } finally {
      await sub.endAsync();
      fwd.close();
    }
  }, 90_000);
});
