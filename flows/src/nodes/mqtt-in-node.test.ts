import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { eventToJson, eventTopic } from '../../../lorawan/chirpstack/events.ts';
import { startMosquitto, type MosquittoServer } from '../../../support/mosquitto.ts';
import { startRecordingServer, type RecordingServer } from '../../../support/recording-server.ts';
import type { NodeMessage } from '../red.ts';
import { helper, lastStatus, uplink, until } from '../testing.ts';
import nodes from './index.ts';

const T0 = Date.UTC(2026, 11, 6, 12, 0, 0);
/** A ChirpStack v4 JSON uplink of the LDDS75 bin sensor (device profile "bin"), one second apart per fCnt. */
const event = (fCnt: number): { topic: string; payload: string } => {
  const e = uplink({ fCnt, deduplicationId: `dedup-${fCnt}`, time: T0 + fCnt * 1000 }, 'bin');
  return { topic: eventTopic(e), payload: eventToJson(e) };
};

describe('lorawan mqtt in', () => {
  let broker: MosquittoServer;
  let publisher: MqttClient;
  let dir: string;
  let influx: RecordingServer;
  let clientNo = 0;
  let clientId = '';
  const received: NodeMessage[] = [];

  beforeAll(async () => {
    broker = await startMosquitto();
    publisher = await mqtt.connectAsync(broker.url, { clientId: 'mqtt-in-test-publisher' });
  }, 60_000);
  afterAll(async () => {
    await publisher?.endAsync();
    await broker?.dispose();
  });
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lorawan-edge-mqtt-in-'));
    influx = await startRecordingServer();
    clientId = `mqtt-in-test-${++clientNo}`;
    received.length = 0;
    await helper.startServer();
  });
  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
    await influx.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const flow = (over: object = {}): object[] => [
    { id: 'cfg', type: 'lorawan-influxdb-config', url: influx.url, version: '1', database: 'city' },
    { id: 'cat', type: 'lorawan-device-catalogue', deviceProfiles: '{"bin": "dragino/ldds75"}' },
    { id: 'm1', type: 'lorawan mqtt in', broker: broker.url, topic: 'application/+/device/+/event/+', clientId, catalogue: 'cat', server: 'cfg', dir: join(dir, 'log'), wires: [['h1']], ...over },
    { id: 'h1', type: 'helper' },
  ];
  const load = async (over: object = {}): Promise<void> => {
    await helper.load(nodes, flow(over), { m1: { username: 'edge', password: 'mqtt-s3cret' } });
    helper.getNode('h1')?.on('input', (m) => received.push(m as NodeMessage));
  };
  const publish = (e: { topic: string; payload: string }): Promise<unknown> => publisher.publishAsync(e.topic, e.payload, { qos: 1 });
  /** fCnts of the bin_fill points InfluxDB was sent (the uplink time says which; precision ms or ns). */
  const storedFcnts = (): Set<number> =>
    new Set(
      influx.requests.flatMap((r) => {
        const scale = r.url.searchParams.get('precision') === 'ms' ? 1 : 1e6;
        return r.lines.filter((l) => l.startsWith('bin_fill,')).map((l) => (Number(l.split(' ').pop()) / scale - T0) / 1000);
      }),
    );
  /** Publishes fCnt 0 until the node passes one on: subscribed (the persistent session exists from then on). */
  const subscribed = (): Promise<true> =>
    until(async () => {
      await publish(event(0));
      return received.length > 0 ? true : undefined;
    }, 20_000, 'the node subscribed');

  it('stores ChirpStack uplinks in InfluxDB and passes each stored uplink on, decoded', async () => {
    await load();
    await subscribed();
    for (let i = 1; i <= 3; i++) await publish(event(i));
    await until(() => ([1, 2, 3].every((i) => storedFcnts().has(i)) ? true : undefined), 20_000, 'three points');
    await until(() => (received.some((m) => (m.payload as { fCnt: number }).fCnt === 3) ? true : undefined), 10_000, 'fCnt 3 on the output');
    const out = received.find((m) => (m.payload as { fCnt: number }).fCnt === 1) as NodeMessage;
    const payload = out.payload as { devEui: string; readings: { values: Record<string, number> }[]; device: { model?: string } };
    expect(out.topic).toBe(payload.devEui);
    expect(payload.readings[0]?.values['distance_mm']).toBe(2799);
    expect(payload.device.model).toBe('dragino/ldds75');
    expect((out['lorawan'] as { kind: string }).kind).toBe('up');
    const s = await until(() => (/ \d+ stored/.test(lastStatus('m1')?.text ?? '') && lastStatus('m1')?.text?.startsWith('0 buffered') ? lastStatus('m1') : undefined), 10_000, 'status with stored count');
    expect(s.fill).toBe('green');
    expect(JSON.stringify(lastStatus('m1'))).not.toContain('mqtt-s3cret');
  });

  it('loses nothing through a close and redeploy while uplinks keep coming; no timer left behind', async () => {
    const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    await load();
    await subscribed();
    const N = 300;
    // Published without waiting, so messages are in flight (received, not yet durable) when the
    // flow stops; the broker keeps what was not acknowledged and delivers it to the next run.
    const sent: Promise<unknown>[] = [];
    for (let i = 1; i <= N; i++) sent.push(publish(event(i)));
    await until(() => (received.length > 20 ? true : undefined), 20_000, 'some uplinks through');
    await helper.unload();
    await Promise.all(sent);
    const passedBefore = received.length;
    await load();
    await until(() => (storedFcnts().size >= N + 1 ? true : undefined), 60_000, `all ${N + 1} uplinks in InfluxDB`);
    const stored = storedFcnts();
    expect([...Array(N + 1).keys()].filter((i) => !stored.has(i))).toEqual([]);
    expect(passedBefore).toBeLessThan(N + 1);
    await helper.unload();
    expect(timers()).toBeLessThanOrEqual(before);
  }, 120_000);

  it('bad input: malformed JSON and a topic naming another device are acknowledged, counted and kept; the next uplink is stored', async () => {
    await load();
    await subscribed();
    await publisher.publishAsync('application/app-1/device/a84041000181c061/event/up', '{not json', { qos: 1 });
    await publisher.publishAsync('application/app-1/device/0000000000000001/event/up', event(4).payload, { qos: 1 });
    await publish(event(5));
    await until(() => (storedFcnts().has(5) ? true : undefined), 20_000, 'fCnt 5 stored after the bad messages');
    await until(() => (lastStatus('m1')?.text?.includes('2 rejected') ? true : undefined), 10_000, 'status with 2 rejected');
    const rejects = join(dir, 'log', 'rejects.jsonl');
    await until(() => (existsSync(rejects) && readFileSync(rejects, 'utf8').split('\n').filter(Boolean).length >= 2 ? true : undefined), 10_000, 'two entries in rejects.jsonl');
    const reasons = readFileSync(rejects, 'utf8').split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { reason: string }).reason);
    expect(reasons.sort()).toEqual(['malformed_json', 'topic_mismatch']);
    expect(storedFcnts().has(4)).toBe(false);
  });

  it('bad settings: the status is red and names the setting', async () => {
    await load({ broker: 'http://127.0.0.1:1883' });
    expect(lastStatus('m1')).toMatchObject({ fill: 'red' });
    expect(lastStatus('m1')?.text).toMatch(/^broker: unsupported scheme/);
    await helper.unload();
    await load({ topic: 'application/#/x' });
    expect(lastStatus('m1')?.text).toMatch(/^topic: /);
    await helper.unload();
    await load({ server: 'nope' });
    expect(lastStatus('m1')?.text).toBe('no InfluxDB config node');
  });
});
