/**
 * A confirmed downlink's outcome survives a `kill -9` between the outcome and its publication:
 * the gateway runs as a child process (bin/lorawan-edge gateway) with a `semtech_udp` source and
 * an `mqtt` sink on a real Mosquitto; the device acknowledges while the broker is down, the
 * gateway is killed with SIGKILL, the broker and the gateway come back — and the `ack` event is
 * published once.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestForwarder, until } from '../gateway/ns/testing/forwarder.ts';
import { renderRegistry } from '../gateway/registry/devices-file.ts';
import { writeDeviceKeysFile } from '../gateway/registry/keys-file.ts';
import { buildDataFrame } from '../lorawan/data-frame.ts';
import { buildPullData } from '../lorawan/udp/gateway.ts';
import { freePort } from '../support/free-port.ts';
import { startMosquitto, type MosquittoServer } from '../support/mosquitto.ts';
import { exited, startCrashGateway } from './edge-ns-crash-rig.ts';

const dir = mkdtempSync(join(tmpdir(), 'edge-ns-outcome-crash-'));
const GW = '0016c001f150000e';
const DEV = { devEui: '0000000000000f01', devAddr: '26011f01', nwkSKey: '44024241ed4ce9a68c6a8bc055233fd3', appSKey: 'ec925802ae430ca77fd3dd73cb2cc588' };
const keys = { nwkSKey: Buffer.from(DEV.nwkSKey, 'hex'), appSKey: Buffer.from(DEV.appSKey, 'hex') };
const TOPIC = `application/app-k/device/${DEV.devEui}/command/down`;
const procs: ChildProcess[] = [];
let broker: MosquittoServer;
let fwd: TestForwarder;
let app: MqttClient;
let config: string;
let httpPort: number;
let udpPort: number;
const events: { kind: string; body: Record<string, unknown> }[] = [];

async function metric(name: string, labels: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  return Number(new RegExp(`^${name}\\{${labels}\\} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
}

async function startGateway(): Promise<ChildProcess> {
  const proc = await startCrashGateway(config, httpPort, procs);
  const acks = fwd?.acks.length ?? 0;
  if (fwd) {
    fwd.send(buildPullData({ gatewayEui: GW }).bytes);
    await until(() => fwd.acks.length > acks, 'PULL_ACK');
  }
  return proc;
}

beforeAll(async () => {
  broker = await startMosquitto();
  [udpPort, httpPort] = [await freePort(), await freePort()];
  writeDeviceKeysFile(join(dir, 'keys.json'), [{ devEui: DEV.devEui, activation: 'ABP', devAddr: DEV.devAddr, nwkSKey: DEV.nwkSKey, appSKey: DEV.appSKey }]);
  writeFileSync(join(dir, 'devices.yaml'), renderRegistry([{ dev_eui: DEV.devEui, name: 'bin-k', model: 'dingtek/df703', tags: {}, variables: {} }]));
  config = join(dir, 'gateway.yaml');
  writeFileSync(
    config,
    JSON.stringify({
      name: 'outcome-crash',
      data_dir: './data',
      http: { listen: `127.0.0.1:${httpPort}` },
      log: { level: 'warn' },
      registry: { devices_file: 'devices.yaml' },
      buffer: { fsync_interval_ms: 10 },
      web: { enabled: false },
      sources: [{ type: 'semtech_udp', name: 'udp', listen: `127.0.0.1:${udpPort}`, keys_file: 'keys.json', dedup_window_ms: 20, confirmed_retries: 0 }],
      sinks: [{ type: 'mqtt', name: 'up', url: broker.url, application_id: 'app-k', reconnect_ms: 200 }],
    }),
  );
  app = await mqtt.connectAsync(broker.url, { clientId: 'edge-ns-outcome-crash-app', clean: false, reconnectPeriod: 200 });
  await app.subscribeAsync('application/app-k/device/+/event/+', { qos: 1 });
  app.on('message', (topic, payload) => {
    const kind = topic.split('/').pop() as string;
    if (kind !== 'up') events.push({ kind, body: JSON.parse(payload.toString()) as Record<string, unknown> });
  });
}, 60_000);

afterAll(async () => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  await Promise.all(procs.map(exited));
  await app?.endAsync();
  fwd?.close();
  await broker?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

let fCnt = 0;
const up = (ack = false): Buffer => buildDataFrame({ mType: 'UnconfirmedDataUp', devAddr: 0x26011f01, fCnt: fCnt++, fCtrl: { ack }, fPort: 3, payload: Buffer.of(1) }, keys);

describe('downlink outcome through kill -9', () => {
  it('an ack outcome that could not be published before a SIGKILL is published once after the restart', async () => {
    let gw = await startGateway();
    fwd = new TestForwarder(GW, () => udpPort);
    await fwd.open();
    // The sink's subscription is there once a probe command is counted (refused as bad JSON).
    for (let i = 0; i < 100 && (await metric('lorawan_edge_ns_rejected_total', 'reason="command_bad_json"')) === 0; i++) {
      await app.publishAsync(TOPIC, '{probe', { qos: 1 });
      await new Promise((r) => setTimeout(r, 100));
    }
    await app.publishAsync(TOPIC, JSON.stringify({ devEui: DEV.devEui, confirmed: true, fPort: 11, data: 'AQI=', id: 'conf-k' }), { qos: 1 });
    // The command is in the queue when the next uplink gets it as its answer.
    for (let i = 0; i < 200 && fwd.resp.length === 0; i++) {
      fwd.push(up());
      await until(() => fwd.resp.length > 0, 'the confirmed downlink', 300).catch(() => undefined);
    }
    expect(fwd.resp.length).toBeGreaterThan(0);
    await until(() => events.some((e) => e.kind === 'txack'), 'event/txack');

    await broker.stop();
    fwd.push(up(true));
    for (let i = 0; i < 200 && (await metric('lorawan_edge_ns_downlinks_total', 'outcome="acked"')) === 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(await metric('lorawan_edge_ns_downlinks_total', 'outcome="acked"')).toBe(1);
    gw.kill('SIGKILL');
    await exited(gw);

    await broker.start();
    await until(() => app.connected, 'the application reconnected');
    gw = await startGateway();
    await until(() => events.some((e) => e.kind === 'ack'), 'event/ack after the restart', 30_000);
    // A later command's txack on the same connection: a duplicate ack would have come before it.
    await app.publishAsync(TOPIC, JSON.stringify({ devEui: DEV.devEui, fPort: 12, data: 'AA==', id: 'after-k' }), { qos: 1 });
    const n = fwd.resp.length;
    for (let i = 0; i < 200 && fwd.resp.length === n; i++) {
      fwd.push(up());
      await until(() => fwd.resp.length > n, 'the last downlink', 300).catch(() => undefined);
    }
    await until(() => events.some((e) => e.body['queueItemId'] === 'after-k'), 'event/txack of the last command');
    const acks = events.filter((e) => e.kind === 'ack');
    expect(acks).toHaveLength(1);
    expect(acks[0]?.body).toMatchObject({ queueItemId: 'conf-k', acknowledged: true, deviceInfo: { deviceName: 'bin-k', applicationId: 'app-k' } });
    gw.kill('SIGTERM');
    await exited(gw);
  }, 120_000);
});
