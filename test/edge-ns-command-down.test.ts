/**
 * MQTT downlinks with a real Mosquitto and a real UDP forwarder: a ChirpStack v4 JSON command on
 * application/<id>/device/<devEui>/command/down is queued by the edge network server, leaves in
 * RX1 of the device's next uplink (payload and port checked by opening the frame), and its
 * outcome comes back as ChirpStack events: `event/txack` when the gateway takes it, `event/ack`
 * when the device acknowledges a confirmed one, `event/log` (DOWNLINK_GATEWAY) when the gateway
 * refuses it. Bad commands are counted under their reason, kept, and the gateway goes on.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkConfig } from '../gateway/config.ts';
import { createGateway, type Gateway } from '../gateway/gateway.ts';
import { TestForwarder, until } from '../gateway/ns/testing/forwarder.ts';
import { renderRegistry } from '../gateway/registry/devices-file.ts';
import { writeDeviceKeysFile } from '../gateway/registry/keys-file.ts';
import { buildDataFrame, openDataFrame } from '../lorawan/data-frame.ts';
import { parsePhyPayload } from '../lorawan/phy-payload.ts';
import type { Txpk } from '../lorawan/udp/types.ts';
import { freePort } from '../support/free-port.ts';
import { startMosquitto, type MosquittoServer } from '../support/mosquitto.ts';

const dir = mkdtempSync(join(tmpdir(), 'edge-ns-cmd-'));
const GW = '0016c001f150000c';
const DEV = { devEui: '0000000000000c01', devAddr: '26011c0c', nwkSKey: '44024241ed4ce9a68c6a8bc055233fd3', appSKey: 'ec925802ae430ca77fd3dd73cb2cc588' };
const keys = { nwkSKey: Buffer.from(DEV.nwkSKey, 'hex'), appSKey: Buffer.from(DEV.appSKey, 'hex') };
const TOPIC = `application/app-1/device/${DEV.devEui}/command/down`;
let broker: MosquittoServer;
let gateway: Gateway;
let port: number;
let fwd: TestForwarder;
let app: MqttClient;
const events: { kind: string; body: Record<string, unknown> }[] = [];

async function metric(name: string, labels = ''): Promise<number> {
  const text = await gateway.metrics.registry.metrics();
  const re = new RegExp(`^${name}${labels ? `\\{${labels}\\}` : ''} (\\S+)$`, 'm');
  return Number(re.exec(text)?.[1] ?? 0);
}

beforeAll(async () => {
  broker = await startMosquitto();
  port = await freePort();
  writeDeviceKeysFile(join(dir, 'keys.json'), [{ devEui: DEV.devEui, activation: 'ABP', devAddr: DEV.devAddr, nwkSKey: DEV.nwkSKey, appSKey: DEV.appSKey }]);
  writeFileSync(join(dir, 'devices.yaml'), renderRegistry([]));
  const config = checkConfig(
    {
      name: 'cmd',
      data_dir: './data',
      http: { listen: false },
      log: { level: 'silent' },
      registry: { devices_file: 'devices.yaml' },
      buffer: { fsync_interval_ms: 10 },
      sources: [{ type: 'semtech_udp', listen: `127.0.0.1:${port}`, keys_file: 'keys.json', dedup_window_ms: 20, confirmed_retries: 0 }],
      sinks: [{ type: 'mqtt', name: 'up', url: broker.url, application_id: 'app-1', reconnect_ms: 200 }],
    },
    join(dir, 'gateway.yaml'),
    {},
  );
  gateway = createGateway(config, { logStream: { write: () => true } as unknown as NodeJS.WritableStream });
  await gateway.start();
  await until(() => gateway.mqttSinks[0]?.health().state === 'running', 'the MQTT sink connected');
  fwd = new TestForwarder(GW, () => port);
  await fwd.open();
  app = await mqtt.connectAsync(broker.url, { clientId: 'edge-ns-app', clean: true });
  await app.subscribeAsync('application/app-1/device/+/event/+', { qos: 1 });
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
const up = (ack = false): Buffer => buildDataFrame({ mType: 'UnconfirmedDataUp', devAddr: 0x26011c0c, fCnt: fCnt++, fCtrl: { ack }, fPort: 3, payload: Buffer.of(1) }, keys);

function openDown(txpk: Txpk): { fPort: number | null; payload: Buffer; confirmed: boolean } {
  const parsed = parsePhyPayload(txpk.data);
  if (!parsed.ok || parsed.frame.kind !== 'data') throw new Error('not a data downlink');
  const o = openDataFrame(parsed.frame, keys, parsed.frame.fCnt16);
  expect(o.micValid).toBe(true);
  return { fPort: parsed.frame.fPort, payload: o.payload, confirmed: parsed.frame.mType === 'ConfirmedDataDown' };
}

async function command(body: unknown, topic = TOPIC): Promise<void> {
  await app.publishAsync(topic, typeof body === 'string' ? body : JSON.stringify(body), { qos: 1 });
}

describe('MQTT command/down (ChirpStack v4 JSON)', () => {
  it('queues an unconfirmed command, sends it in RX1 of the next uplink and reports event/txack', async () => {
    const before = gateway.mqttSinks[0]?.commands ?? 0;
    await command({ devEui: DEV.devEui, confirmed: false, fPort: 10, data: Buffer.from('cafe01', 'hex').toString('base64'), id: 'cmd-1' });
    await until(() => (gateway.mqttSinks[0]?.commands ?? 0) > before && gateway.udpSources[0]?.networkServer?.hasQueued(DEV.devEui) === true, 'the command queued');
    const t = fwd.push(up());
    const { txpk } = await fwd.nextResp(1);
    expect(txpk.tmst).toBe(t + 1_000_000);
    expect(openDown(txpk)).toEqual({ fPort: 10, payload: Buffer.from('cafe01', 'hex'), confirmed: false });
    await until(() => events.some((e) => e.kind === 'txack'), 'event/txack');
    expect(events.find((e) => e.kind === 'txack')?.body).toMatchObject({ queueItemId: 'cmd-1', gatewayId: GW, fCntDown: 0, deviceInfo: { devEui: DEV.devEui, applicationId: 'app-1' } });
  });

  it('a confirmed command gets event/ack acknowledged: true when the device sets ACK', async () => {
    await command({ devEui: DEV.devEui, confirmed: true, fPort: 11, data: 'AQI=' });
    await until(() => gateway.udpSources[0]?.networkServer?.hasQueued(DEV.devEui) === true, 'the confirmed command queued');
    fwd.push(up());
    const { txpk } = await fwd.nextResp(2);
    expect(openDown(txpk)).toMatchObject({ fPort: 11, confirmed: true });
    fwd.push(up(true));
    await until(() => events.some((e) => e.kind === 'ack'), 'event/ack');
    expect(events.find((e) => e.kind === 'ack')?.body).toMatchObject({ acknowledged: true, fCntDown: 1, deviceInfo: { devEui: DEV.devEui } });
  });

  it('a gateway refusal is reported as event/log DOWNLINK_GATEWAY', async () => {
    await command({ devEui: DEV.devEui, fPort: 12, data: 'AA==' });
    await until(() => gateway.udpSources[0]?.networkServer?.hasQueued(DEV.devEui) === true, 'the command queued');
    // Both windows refused: RX1 by the TX_ACK error, and RX2 too.
    fwd.txAckErrorAlways = 'TX_FREQ';
    fwd.push(up());
    await fwd.nextResp(3);
    await until(() => fwd.resp.length >= 4, 'the RX2 fallback');
    await until(() => events.some((e) => e.kind === 'log'), 'event/log');
    fwd.txAckErrorAlways = undefined;
    expect(events.find((e) => e.kind === 'log')?.body).toMatchObject({ level: 'ERROR', code: 'DOWNLINK_GATEWAY', context: { error: 'TX_FREQ', gatewayId: GW } });
    expect(events.filter((e) => e.kind === 'txack')).toHaveLength(2); // the two earlier downlinks only
  });

  it('bad commands are counted under their reason and kept; the gateway goes on', async () => {
    const bad: [unknown, string, string?][] = [
      ['{not json', 'command_bad_json'],
      [{ devEui: DEV.devEui, fPort: 0, data: 'AA==' }, 'command_bad_field'],
      [{ devEui: DEV.devEui, fPort: 5, data: '@@@' }, 'command_bad_base64'],
      [{ devEui: '0000000000000c02', fPort: 5, data: 'AA==' }, 'command_topic_mismatch'],
      [{ devEui: '0000000000000c02', fPort: 5, data: 'AA==' }, 'command_unknown_device', 'application/app-1/device/0000000000000c02/command/down'],
      [{ devEui: DEV.devEui, fPort: 5, object: { open: true } }, 'command_no_codec'],
      [{ devEui: DEV.devEui, fPort: 5, data: Buffer.alloc(300).toString('base64') }, 'command_bad_field'],
      ['x'.repeat(5000), 'command_oversized'],
    ];
    for (const [body, , topic] of bad) await command(body, topic);
    const expected = new Map<string, number>();
    for (const [, reason] of bad) expected.set(reason, (expected.get(reason) ?? 0) + 1);
    const deadline = Date.now() + 15_000;
    for (;;) {
      const got = await Promise.all([...expected.keys()].map((r) => metric('lorawan_edge_ns_rejected_total', `reason="${r}"`)));
      if (got.every((v, i) => v === [...expected.values()][i])) break;
      if (Date.now() > deadline) expect(got).toEqual([...expected.values()]);
      await new Promise((r) => setTimeout(r, 50));
    }
    // The rejects file is appended after the counter moves: poll it too (bounded), not once.
    const rejectsFile = join(dir, 'data', 'rejects.jsonl');
    await until(() => existsSync(rejectsFile) && readFileSync(rejectsFile, 'utf8').includes('command_bad_base64'), 'command_bad_base64 in the rejects file');
    // Still serving: an uplink is accepted and a good command still queues.
    const n = gateway.udpSources[0]?.networkServer?.sessions.get(DEV.devEui)?.fCntUpNext ?? 0;
    fwd.push(up());
    await until(() => gateway.udpSources[0]?.networkServer?.sessions.get(DEV.devEui)?.fCntUpNext === n + 1, 'the uplink after the bad commands');
  });
});
