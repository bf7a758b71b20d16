/**
 * Sink `mqtt`: each `up` record of the durable log published as a ChirpStack v4 integration
 * event (JSON, as ChirpStack renders it: `lorawan/chirpstack/events.ts`) on
 * `application/<application_id>/device/<devEui>/event/up`, QoS 1 — so applications, Node-RED
 * flows and a central ChirpStack-style consumer see what ChirpStack would have published.
 *
 * Delivery: the sink has its own cursor in the log. A batch of records is published and the
 * cursor moves only after the broker has acknowledged (PUBACK) every message of it; after a
 * broker outage or a crash the sink publishes again from its cursor — late, never lost
 * (at least once: a consumer deduplicates by `deduplicationId`, as with ChirpStack).
 *
 * Downlinks (with a `semtech_udp` source): the sink subscribes to
 * `<topic_prefix>/<application_id>/device/+/command/down` (ChirpStack v4 JSON commands, QoS 1)
 * and hands each message to the edge network server's queue; what becomes of a queued downlink
 * is published as `event/txack`, `event/ack` or `event/log` (`gateway/ns/command-down.ts`). The
 * outcome events are published as they happen (QoS 1), not through the durable log: while the
 * broker is away they are not kept (the queue's state is, in the session store).
 */
import mqtt, { type MqttClient } from 'mqtt';
import type { UplinkEvent } from '../../../lorawan/chirpstack/events.ts';
import { eventToJson, eventTopic } from '../../../lorawan/chirpstack/events.ts';
import type { DurableLog, LogReader } from '../../buffer/index.ts';
import type { ComponentHealth, Sink } from '../../pipeline/contracts.ts';
import type { PipelineRecord, UplinkRecord } from '../../pipeline/record.ts';
import { commandTopic, outcomeEvent, type DownlinkOutcome } from '../../ns/command-down.ts';

/** The edge network server's side of MQTT downlinks (SemtechUdpSource). */
export interface DownlinkPort {
  downlinkCommand(topic: string, payload: Uint8Array, expect: { prefix: string; applicationId: string }): number | undefined;
  onDownlinkOutcome(listener: (o: DownlinkOutcome, queueItemId: string) => void): void;
}

export interface MqttSinkConfig {
  type: 'mqtt';
  name: string;
  url: string;
  username?: string;
  password?: string;
  client_id: string;
  /** topic prefix (ChirpStack: `application`) */
  topic_prefix: string;
  application_id: string;
  /** records published per batch (the cursor moves per batch) */
  batch_records: number;
  reconnect_ms: number;
}

/** The ChirpStack v4 `up` event of a record. */
export function uplinkEventOf(r: UplinkRecord, applicationId: string): UplinkEvent {
  return {
    kind: 'up',
    deduplicationId: r.id,
    time: r.time,
    deviceInfo: {
      tenantId: '',
      tenantName: '',
      applicationId,
      applicationName: applicationId,
      deviceProfileId: '',
      deviceProfileName: r.device.model ?? '',
      deviceName: r.device.name,
      devEui: r.devEui,
      deviceClassEnabled: 'CLASS_A',
      tags: r.device.tags,
    },
    devAddr: r.devAddr,
    adr: r.adr,
    dr: r.dr,
    fCnt: r.fCnt,
    fPort: r.fPort,
    confirmed: r.confirmed,
    data: r.payload,
    ...(r.decoded?.data ? { object: r.decoded.data } : {}),
    rxInfo: r.gateways.map((g, i) => ({ gatewayId: g.id, uplinkId: i, rssi: g.rssi, snr: g.snr, channel: 0, rfChain: 0 })),
    ...(r.frequency !== undefined && r.sf !== undefined ? { txInfo: { frequency: r.frequency, bandwidth: r.bw ?? 125_000, spreadingFactor: r.sf, codeRate: '4/5' } } : {}),
    ...(r.region ? { regionConfigId: r.region } : {}),
  };
}

export class MqttSink implements Sink {
  readonly type = 'mqtt';
  readonly name: string;
  private client: MqttClient | undefined;
  private reader: LogReader<PipelineRecord> | undefined;
  private loop: Promise<void> | undefined;
  private running = false;
  private state: ComponentHealth = { state: 'built' };
  published = 0;
  commands = 0;
  outcomesPublished = 0;

  constructor(
    private readonly config: MqttSinkConfig,
    private readonly log: DurableLog<PipelineRecord>,
    private readonly logger: { warn(o: object, m: string): void },
    private readonly downlinks?: DownlinkPort,
  ) {
    this.name = config.name;
  }

  pending(): number {
    return this.log.stats().sinks[this.name]?.lag ?? 0;
  }

  health(): ComponentHealth {
    return this.state;
  }

  async start(): Promise<void> {
    this.state = { state: 'starting' };
    this.client = mqtt.connect(this.config.url, {
      clientId: this.config.client_id,
      clean: true,
      reconnectPeriod: this.config.reconnect_ms,
      ...(this.config.username !== undefined ? { username: this.config.username } : {}),
      ...(this.config.password !== undefined ? { password: this.config.password } : {}),
    });
    const client = this.client;
    const expect = { prefix: this.config.topic_prefix, applicationId: this.config.application_id };
    client.on('connect', () => {
      this.state = { state: 'running' };
      if (!this.downlinks) return;
      client.subscribe(commandTopic(expect.prefix, expect.applicationId), { qos: 1 }, (err) => {
        if (err) this.logger.warn({ sink: this.name, err: err.message }, 'MQTT sink: cannot subscribe to downlink commands');
      });
    });
    if (this.downlinks) {
      const port = this.downlinks;
      client.on('message', (topic, payload) => {
        this.commands++;
        port.downlinkCommand(topic, payload, expect);
      });
      port.onDownlinkOutcome((o, queueItemId) => {
        const ev = outcomeEvent(o, { applicationId: expect.applicationId, devEui: o.devEui, deviceName: o.devEui }, queueItemId, Date.now());
        client
          .publishAsync(`${expect.prefix}/${expect.applicationId}/device/${o.devEui}/event/${ev.kind}`, ev.json, { qos: 1 })
          .then(() => this.outcomesPublished++)
          .catch((err: unknown) => this.logger.warn({ sink: this.name, err: (err as Error).message, kind: ev.kind }, 'MQTT sink: downlink outcome event not published'));
      });
    }
    this.client.on('close', () => {
      if (this.running) this.state = { state: 'degraded', detail: 'disconnected from the MQTT broker' };
    });
    this.client.on('error', (err) => (this.state = { state: 'degraded', detail: err.message }));
    this.reader = this.log.reader(this.name, { batchSize: this.config.batch_records });
    this.running = true;
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    const reader = this.reader as LogReader<PipelineRecord>;
    while (this.running) {
      const batch = await reader.read(this.config.batch_records, 250);
      const last = batch[batch.length - 1];
      if (!last) continue;
      try {
        await this.publish(batch.map((b) => b.value));
        await this.log.commit(this.name, last.id);
      } catch (err) {
        if (!this.running) break;
        this.logger.warn({ sink: this.name, err: (err as Error).message }, 'MQTT sink: batch not acknowledged; publishing again from the cursor');
        await new Promise((r) => setTimeout(r, this.config.reconnect_ms).unref());
        await reader.rewind();
      }
    }
  }

  /** Publishes every `up` record of a batch, QoS 1; resolves when the broker acked them all. */
  private async publish(records: PipelineRecord[]): Promise<void> {
    const client = this.client as MqttClient;
    if (!client.connected) throw new Error('not connected to the MQTT broker');
    const acks: Promise<unknown>[] = [];
    for (const r of records) {
      if (r.kind !== 'up') continue;
      const ev = uplinkEventOf(r, this.config.application_id);
      acks.push(client.publishAsync(eventTopic(ev, this.config.topic_prefix), eventToJson(ev), { qos: 1 }));
    }
    await Promise.all(acks);
    this.published += acks.length;
  }

  async stop(deadlineMs = Date.now() + 10_000): Promise<void> {
    this.running = false;
    if (this.loop) await Promise.race([this.loop, new Promise((r) => setTimeout(r, Math.max(0, deadlineMs - Date.now())).unref())]);
    this.state = { state: 'stopped' };
  }

  async close(): Promise<void> {
    this.running = false;
    await this.reader?.close();
    this.reader = undefined;
    const c = this.client;
    this.client = undefined;
    if (c) await c.endAsync(true).catch(() => undefined);
    this.state = { state: 'stopped' };
  }
}
