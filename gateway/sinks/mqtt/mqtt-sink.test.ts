// The `mqtt` sink's command side with a real Mosquitto: a persistent session (a command sent
// while the sink is away arrives when it connects), a PUBACK only after the network server said
// the command is durable (a command it could not store is delivered again, with DUP), and
// commands wait for the network server to be ready instead of being refused.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMosquitto, type MosquittoServer } from '../../../support/mosquitto.ts';
import { DurableLog } from '../../buffer/index.ts';
import { until } from '../../ns/testing/forwarder.ts';
import { RECORD_WIRE } from '../../pipeline/record-wire.ts';
import type { PipelineRecord } from '../../pipeline/record.ts';
import { MqttSink, type DownlinkPort } from './mqtt-sink.ts';

const dir = mkdtempSync(join(tmpdir(), 'mqtt-sink-cmd-'));
let broker: MosquittoServer;
let app: MqttClient;
const quiet = { warn: () => undefined };

class FakePort implements DownlinkPort {
  calls: { topic: string; payload: string; redelivery: boolean }[] = [];
  /** payloads answered "not stored" once */
  failOnce = new Set<string>();
  private ready: () => void = () => undefined;
  private readonly readyP = new Promise<void>((r) => (this.ready = r));
  open(): void {
    this.ready();
  }
  whenReady(): Promise<void> {
    return this.readyP;
  }
  downlinkCommand(topic: string, payload: Uint8Array, _e: unknown, redelivery = false): { ack: true } | { ack: false; error: string } {
    this.calls.push({ topic, payload: Buffer.from(payload).toString(), redelivery });
    if (this.failOnce.delete(Buffer.from(payload).toString())) {
      return { ack: false, error: 'disk I/O error' };
    }
    return { ack: true };
  }
  onDownlinkOutcome(): void {}
  pendingOutcomes(): [] {
    return [];
  }
  outcomesPublished(): void {}
  outcomeDevice(devEui: string): { deviceName: string; deviceProfileName: string; tags: Record<string, string> } {
    return { deviceName: devEui, deviceProfileName: '', tags: {} };
  }
}

function sinkWith(port: FakePort, log: DurableLog<PipelineRecord>): MqttSink {
  return new MqttSink(
    { type: 'mqtt', name: 'cmd', url: broker.url, client_id: 'mqtt-sink-cmd-test', topic_prefix: 'application', application_id: 'a1', application_name: 'a1', batch_records: 10, reconnect_ms: 100 },
    log,
    quiet,
    port,
  );
}

const TOPIC = 'application/a1/device/0000000000000001/command/down';

beforeAll(async () => {
  broker = await startMosquitto();
  app = await mqtt.connectAsync(broker.url, { clientId: 'mqtt-sink-cmd-app' });
}, 30_000);

afterAll(async () => {
  await app?.endAsync();
  await broker?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

describe('sink mqtt: downlink commands', () => {
  it('waits for the network server, acknowledges only stored commands, and gets an unstored one again', async () => {
    const log = new DurableLog<PipelineRecord>({ dir: join(dir, 'log'), fsync_interval_ms: 1, sinks: ['cmd'] }, { wire: RECORD_WIRE });
    await log.open();
    const first = new FakePort();
    first.open();
    let sink = sinkWith(first, log);
    await sink.start();
    // A command that arrives proves the session's subscription exists; then the sink goes away.
    await until(() => sink.health().state === 'running', 'connected');
    for (let i = 0; i < 100 && first.calls.length === 0; i++) {
      await app.publishAsync(TOPIC, 'zero', { qos: 1 });
      await until(() => first.calls.length > 0, 'the subscription', 200).catch(() => undefined);
    }
    expect(first.calls[0]?.payload).toBe('zero');
    await sink.stop();
    await sink.close();
    const port = new FakePort();

    // Sent while the sink is away: kept by the broker for the persistent session.
    await app.publishAsync(TOPIC, 'first', { qos: 1 });
    port.failOnce.add('first');
    sink = sinkWith(port, log);
    await sink.start();
    await until(() => sink.health().state === 'running', 'connected again');
    await new Promise((r) => setTimeout(r, 100));
    expect(port.calls).toHaveLength(0); // not ready: held, not refused
    port.open();
    // The first delivery is "not stored": no PUBACK, the connection drops, the broker redelivers (DUP).
    // (Extra 'zero' probes, if any, are left out.)
    const firsts = () => port.calls.filter((c) => c.payload === 'first');
    await until(() => firsts().length >= 2, 'the command delivered again');
    expect(firsts()).toEqual([
      { topic: TOPIC, payload: 'first', redelivery: false },
      { topic: TOPIC, payload: 'first', redelivery: true },
    ]);
    // Acknowledged now: a later command is the next one the sink sees, the first never again.
    await app.publishAsync(TOPIC, 'second', { qos: 1 });
    await until(() => port.calls.some((c) => c.payload === 'second'), 'the second command');
    await sink.stop();
    await sink.close();
    const again = new FakePort();
    again.open();
    sink = sinkWith(again, log);
    await sink.start();
    await app.publishAsync(TOPIC, 'third', { qos: 1 });
    await until(() => again.calls.some((c) => c.payload === 'third'), 'the third command');
    expect(again.calls.map((c) => c.payload).filter((p) => p !== 'zero')).toEqual(['third']);
    await sink.stop();
    await sink.close();
    await log.close();
  }, 30_000);
});
