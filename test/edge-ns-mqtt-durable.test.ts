/**
 * The edge network server's MQTT side across restarts and broker outages, with a real Mosquitto
 * and a real UDP forwarder:
 *
 * - a `…/command/down` published while the gateway is stopped waits in the sink's persistent
 *   session, is queued when the gateway starts, and reaches the device in RX1 of its next uplink;
 * - an `object` command is encoded by the device's catalogue codec (DF703 `uploadInterval`); one
 *   the codec refuses is counted (`command_encode_error`) and reported as a `log` event
 *   (DOWNLINK_CODEC);
 * - events name the device as the registry does (`deviceName`, model, tags) and the application
 *   as configured;
 * - the outcome of a confirmed downlink acknowledged while the broker is down survives a gateway
 *   restart in the outbox and is published once after it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nativeCodec } from '../codecs/registry.ts';
import { checkConfig, type GatewayConfig } from '../gateway/config.ts';
import { createGateway, type Gateway } from '../gateway/gateway.ts';
import { TestForwarder, until } from '../gateway/ns/testing/forwarder.ts';
import { renderRegistry } from '../gateway/registry/devices-file.ts';
import { writeDeviceKeysFile } from '../gateway/registry/keys-file.ts';
import { buildDataFrame, openDataFrame } from '../lorawan/data-frame.ts';
import { parsePhyPayload } from '../lorawan/phy-payload.ts';
import { buildPullData } from '../lorawan/udp/gateway.ts';
import type { Txpk } from '../lorawan/udp/types.ts';
import { freePort } from '../support/free-port.ts';
import { startMosquitto, type MosquittoServer } from '../support/mosquitto.ts';

const dir = mkdtempSync(join(tmpdir(), 'edge-ns-mqtt-durable-'));
const GW = '0016c001f150000d';
const DEV = { devEui: '0000000000000d01', devAddr: '26011d0d', nwkSKey: '44024241ed4ce9a68c6a8bc055233fd3', appSKey: 'ec925802ae430ca77fd3dd73cb2cc588' };
const keys = { nwkSKey: Buffer.from(DEV.nwkSKey, 'hex'), appSKey: Buffer.from(DEV.appSKey, 'hex') };
const TOPIC = `application/app-d/device/${DEV.devEui}/command/down`;
let broker: MosquittoServer;
let gateway: Gateway | undefined;
let config: GatewayConfig;
let port: number;
let fwd: TestForwarder;
let app: MqttClient;
const events: { kind: string; body: Record<string, unknown> }[] = [];

const silent = { write: () => true } as unknown as NodeJS.WritableStream;
const gw = (): Gateway => gateway as Gateway;
const ns = () => gw().udpSources[0]?.networkServer;

async function startGateway(): Promise<void> {
  gateway = createGateway(config, { logStream: silent });
  await gateway.start();
  await until(() => gw().mqttSinks[0]?.health().state === 'running', 'the MQTT sink connected');
  // The new process learns the forwarder's downlink route from its next PULL_DATA.
  if (fwd) {
    const acks = fwd.acks.length;
    fwd.send(buildPullData({ gatewayEui: GW }).bytes);
    await until(() => fwd.acks.length > acks, 'PULL_ACK after the restart');
  }
}

async function metric(name: string, labels = ''): Promise<number> {
  const text = await gw().metrics.registry.metrics();
  const re = new RegExp(`^${name}${labels ? `\\{${labels}\\}` : ''} (\\S+)$`, 'm');
  return Number(re.exec(text)?.[1] ?? 0);
}

beforeAll(async () => {
  broker = await startMosquitto();
  port = await freePort();
  writeDeviceKeysFile(join(dir, 'keys.json'), [{ devEui: DEV.devEui, activation: 'ABP', devAddr: DEV.devAddr, nwkSKey: DEV.nwkSKey, appSKey: DEV.appSKey }]);
  writeFileSync(join(dir, 'devices.yaml'), renderRegistry([{ dev_eui: DEV.devEui, name: 'bin-quai-3', model: 'dingtek/df703', tags: { commune: 'centre' }, variables: {} }]));
  config = checkConfig(
    {
      name: 'durable',
      data_dir: './data',
      http: { listen: false },
      log: { level: 'silent' },
      registry: { devices_file: 'devices.yaml' },
      buffer: { fsync_interval_ms: 10 },
      sources: [{ type: 'semtech_udp', listen: `127.0.0.1:${port}`, keys_file: 'keys.json', dedup_window_ms: 20, confirmed_retries: 0 }],
      sinks: [{ type: 'mqtt', name: 'up', url: broker.url, application_id: 'app-d', application_name: 'drop-off points', reconnect_ms: 200 }],
    },
    join(dir, 'gateway.yaml'),
    {},
  );
  await startGateway();
  fwd = new TestForwarder(GW, () => port);
  await fwd.open();
  // The application: a persistent session too, so it misses nothing across a broker restart.
  app = await mqtt.connectAsync(broker.url, { clientId: 'edge-ns-durable-app', clean: false, reconnectPeriod: 200 });
  await app.subscribeAsync('application/app-d/device/+/event/+', { qos: 1 });
  app.on('message', (topic, payload) => {
    const kind = topic.split('/').pop() as string;
    if (kind !== 'up') events.push({ kind, body: JSON.parse(payload.toString()) as Record<string, unknown> });
  });
}, 60_000);

afterAll(async () => {
  await app?.endAsync();
  await gateway?.stop();
  fwd?.close();
  await broker?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

let fCnt = 0;
const up = (ack = false): Buffer => buildDataFrame({ mType: 'UnconfirmedDataUp', devAddr: 0x26011d0d, fCnt: fCnt++, fCtrl: { ack }, fPort: 3, payload: Buffer.of(1) }, keys);

function openDown(txpk: Txpk): { fPort: number | null; payload: Buffer; confirmed: boolean } {
  const parsed = parsePhyPayload(txpk.data);
  if (!parsed.ok || parsed.frame.kind !== 'data') throw new Error('not a data downlink');
  const o = openDataFrame(parsed.frame, keys, parsed.frame.fCnt16);
  expect(o.micValid).toBe(true);
  return { fPort: parsed.frame.fPort, payload: o.payload, confirmed: parsed.frame.mType === 'ConfirmedDataDown' };
}

async function command(body: unknown): Promise<void> {
  await app.publishAsync(TOPIC, JSON.stringify(body), { qos: 1 });
}

/** An uplink and the downlink it gets in RX1. */
async function uplinkAndDownlink(ack = false): Promise<Txpk> {
  const n = fwd.resp.length;
  const t = fwd.push(up(ack));
  const { txpk } = await fwd.nextResp(n + 1);
  expect(txpk.tmst).toBe(t + 1_000_000);
  return txpk;
}

describe('edge NS MQTT side, durable', () => {
  it('a command published while the gateway is stopped is queued at its start and reaches the device in RX1', async () => {
    await gw().stop();
    gateway = undefined;
    await command({ devEui: DEV.devEui, confirmed: false, fPort: 10, data: Buffer.from('0badc0de', 'hex').toString('base64'), id: 'while-stopped' });
    await startGateway();
    await until(() => ns()?.hasQueued(DEV.devEui) === true, 'the command delivered by the broker and queued');
    expect(openDown(await uplinkAndDownlink())).toEqual({ fPort: 10, payload: Buffer.from('0badc0de', 'hex'), confirmed: false });
    await until(() => events.some((e) => e.kind === 'txack' && e.body['queueItemId'] === 'while-stopped'), 'event/txack of the command');
    const txack = events.find((e) => e.body['queueItemId'] === 'while-stopped')?.body;
    // ChirpStack v4 names the device by its name, the application by its configured name.
    expect(txack).toMatchObject({ gatewayId: GW, deviceInfo: { devEui: DEV.devEui, deviceName: 'bin-quai-3', deviceProfileName: 'dingtek/df703', applicationId: 'app-d', applicationName: 'drop-off points', tags: { commune: 'centre' } } });
  });

  it('an object command is encoded by the device codec; one it refuses is counted and reported as a DOWNLINK_CODEC log event', async () => {
    const expected = nativeCodec('dingtek/df703')?.encodeDownlink?.({ data: { uploadInterval: 4 } });
    expect(expected?.bytes?.length).toBeGreaterThan(0);
    await command({ devEui: DEV.devEui, confirmed: false, fPort: 3, object: { uploadInterval: 4 }, id: 'obj-1' });
    await until(() => ns()?.hasQueued(DEV.devEui) === true, 'the object command queued');
    expect(openDown(await uplinkAndDownlink())).toEqual({ fPort: expected?.fPort ?? 3, payload: Buffer.from(expected?.bytes ?? []), confirmed: false });

    await command({ devEui: DEV.devEui, fPort: 3, object: { uploadInterval: 999 }, id: 'obj-bad' });
    await until(() => events.some((e) => e.kind === 'log' && e.body['code'] === 'DOWNLINK_CODEC'), 'event/log DOWNLINK_CODEC');
    expect(events.find((e) => e.body['code'] === 'DOWNLINK_CODEC')?.body).toMatchObject({ level: 'ERROR', context: { queueItemId: 'obj-bad', error: expect.stringContaining('uploadInterval') }, deviceInfo: { deviceName: 'bin-quai-3' } });
    expect(await metric('lorawan_edge_ns_rejected_total', 'reason="command_encode_error"')).toBe(1);
    expect(ns()?.hasQueued(DEV.devEui)).toBe(false);
  });

  it('the outcome of a confirmed downlink acknowledged while the broker is down is kept through a restart and published once', async () => {
    await command({ devEui: DEV.devEui, confirmed: true, fPort: 11, data: 'AQI=', id: 'conf-1' });
    await until(() => ns()?.hasQueued(DEV.devEui) === true, 'the confirmed command queued');
    expect(openDown(await uplinkAndDownlink())).toMatchObject({ fPort: 11, confirmed: true });
    await until(() => events.some((e) => e.kind === 'txack' && e.body['queueItemId'] === 'conf-1'), 'event/txack of the confirmed command');

    await broker.stop();
    await until(() => gw().mqttSinks[0]?.health().state !== 'running', 'the sink noticed the outage');
    // The device acknowledges; the ack event cannot be published now: it waits in the outbox.
    const n = ns()?.sessions.get(DEV.devEui)?.fCntUpNext ?? 0;
    fwd.push(up(true));
    await until(() => ns()?.sessions.get(DEV.devEui)?.fCntUpNext === n + 1, 'the acknowledging uplink');
    await until(() => (ns()?.outbox.size() ?? 0) === 1, 'the ack outcome in the outbox');
    await gw().stop();
    gateway = undefined;

    await broker.start();
    await until(() => app.connected, 'the application reconnected');
    await startGateway();
    await until(() => events.some((e) => e.kind === 'ack'), 'event/ack after the restart');
    await until(() => ns()?.outbox.size() === 0, 'the outbox emptied');
    // A later event on the same connection: a duplicate of the ack would have come before it.
    await command({ devEui: DEV.devEui, confirmed: false, fPort: 12, data: 'AA==', id: 'after' });
    await until(() => ns()?.hasQueued(DEV.devEui) === true, 'the last command queued');
    await uplinkAndDownlink();
    await until(() => events.some((e) => e.body['queueItemId'] === 'after'), 'event/txack of the last command');
    const acks = events.filter((e) => e.kind === 'ack');
    expect(acks).toHaveLength(1);
    expect(acks[0]?.body).toMatchObject({ queueItemId: 'conf-1', acknowledged: true, fCntDown: expect.any(Number), deviceInfo: { deviceName: 'bin-quai-3' } });
    expect(acks[0]?.body['deduplicationId']).toMatch(/^[0-9a-f]{8}-/);
  });
});
