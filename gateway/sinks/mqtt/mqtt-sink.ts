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
 * with a persistent session (fixed client id, clean: false), so commands published while the
 * gateway is disconnected or restarting wait at the broker. Each command is handed to the edge
 * network server's queue, and its PUBACK leaves only once the command is durable there (mqtt.js
 * sends the PUBACK when `handleMessage` calls back): a crash before that makes the broker deliver
 * it again (recognised by its `id`, gateway/ns/command-ids.ts). A command that cannot be stored
 * is not acknowledged: the connection is dropped and the broker delivers it again.
 *
 * What becomes of a queued downlink is a durable fact in the session store's outbox
 * (gateway/ns/outcome-outbox.ts) until this sink has published it — `event/txack`, `event/ack`
 * or `event/log` (`gateway/ns/command-down.ts`), QoS 1 — and the broker acknowledged it: an
 * outcome that happened while the broker was away or right before a crash is published after
 * the reconnect or restart, once.
 */
import type { MqttClient } from 'mqtt';
import type { IPublishPacket } from 'mqtt-packet';
import type { UplinkEvent } from '../../../lorawan/chirpstack/events.ts';
import { eventToJson, eventTopic } from '../../../lorawan/chirpstack/events.ts';
import type { DurableLog, LogReader } from '../../buffer/index.ts';
import type { ComponentHealth, Sink } from '../../pipeline/contracts.ts';
import type { PipelineRecord, UplinkRecord } from '../../pipeline/record.ts';
import { commandTopic, outcomeEvent, type OutcomeDevice } from '../../ns/command-down.ts';
import type { StoredOutcome } from '../../ns/outcome-outbox.ts';

/** The edge network server's side of MQTT downlinks (SemtechUdpSource). */
export interface DownlinkPort {
  /** resolves once commands can be queued */
  whenReady(): Promise<void>;
  /** `ack: false`: not stored — the message must not be acknowledged */
  downlinkCommand(topic: string, payload: Uint8Array, expect: { prefix: string; applicationId: string }, redelivery?: boolean): { ack: true; queued?: number } | { ack: false; error: string };
  /** called when an outcome waits in the outbox */
  onDownlinkOutcome(listener: () => void): void;
  pendingOutcomes(limit: number): StoredOutcome[];
  outcomesPublished(ids: readonly number[]): void;
  outcomeDevice(devEui: string): Pick<OutcomeDevice, 'deviceName' | 'deviceProfileName' | 'tags'>;
}

/** Outcome events published per round (one outbox transaction per round). */
const OUTCOMES_PER_ROUND = 100;

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
  /** ChirpStack's `deviceInfo.applicationName` (default: the application id) */
  application_name: string;
  /** records published per batch (the cursor moves per batch) */
  batch_records: number;
  reconnect_ms: number;
}

/** The ChirpStack v4 `up` event of a record. */
export function uplinkEventOf(r: UplinkRecord, applicationId: string, applicationName = applicationId): UplinkEvent {
  return {
    kind: 'up',
    deduplicationId: r.id,
    time: r.time,
    deviceInfo: {
      tenantId: '',
      tenantName: '',
      applicationId,
      applicationName,
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
  private draining = false;
  private drainAgain = false;
  private drainRetry: NodeJS.Timeout | undefined;

  constructor(
    private readonly config: MqttSinkConfig,
    private readonly log: DurableLog<PipelineRecord>,
    private readonly logger: { warn(o: object, m: string): void },
    private readonly downlinks?: DownlinkPort,
  ) {
    this.name = config.name;
    // Registered before the source starts, so its outcomes go to the durable outbox (O4).
    downlinks?.onDownlinkOutcome(() => this.wakeOutcomes());
  }

  pending(): number {
    return this.log.stats().sinks[this.name]?.lag ?? 0;
  }

  health(): ComponentHealth {
    return this.state;
  }

  async start(): Promise<void> {
    this.state = { state: 'starting' };
    // A persistent session (fixed client id, clean: false) with a QoS 1 subscription: commands
    // published while the gateway is away wait at the broker (up to its max_queued_messages).
    // mqtt.js is loaded when an mqtt sink starts (a gateway without one never loads it).
    const { connect } = await import('mqtt');
    const client = connect(this.config.url, {
      clientId: this.config.client_id,
      clean: false,
      resubscribe: true,
      reconnectPeriod: this.config.reconnect_ms,
      ...(this.config.username !== undefined ? { username: this.config.username } : {}),
      ...(this.config.password !== undefined ? { password: this.config.password } : {}),
    });
    this.client = client;
    const expect = { prefix: this.config.topic_prefix, applicationId: this.config.application_id };
    // mqtt.js sends a message's PUBACK when handleMessage calls back (its documented hook).
    client.handleMessage = (packet: IPublishPacket, done: () => void): void => void this.takeCommand(client, packet, done, expect);
    client.on('connect', (connack) => {
      this.state = { state: 'running' };
      const topic = commandTopic(expect.prefix, expect.applicationId);
      if (!this.downlinks) {
        // A session kept from a config that had downlinks would still get commands: drop it.
        if (connack.sessionPresent) client.unsubscribe(topic, () => undefined);
        return;
      }
      client.subscribe(topic, { qos: 1 }, (err) => {
        if (err) this.logger.warn({ sink: this.name, err: err.message }, 'MQTT sink: cannot subscribe to downlink commands');
      });
      this.wakeOutcomes();
    });
    client.on('close', () => {
      if (this.running) this.state = { state: 'degraded', detail: 'disconnected from the MQTT broker' };
    });
    client.on('error', (err) => (this.state = { state: 'degraded', detail: err.message }));
    this.reader = this.log.reader(this.name, { batchSize: this.config.batch_records });
    this.running = true;
    this.loop = this.run();
  }

  /**
   * One `…/command/down` message: queued durably, then acknowledged (`done`). Waits for the
   * network server to run (the sink starts before the sources). While stopping, or when the
   * queue cannot store it, it is not acknowledged: the broker keeps it for the next connection.
   */
  private async takeCommand(client: MqttClient, packet: IPublishPacket, done: () => void, expect: { prefix: string; applicationId: string }): Promise<void> {
    const port = this.downlinks;
    if (!port) return done();
    await port.whenReady();
    if (!this.running || this.client !== client) return;
    this.commands++;
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    const r = port.downlinkCommand(packet.topic, payload, expect, packet.dup === true);
    if (r.ack) return done();
    this.logger.warn({ sink: this.name, err: r.error }, 'MQTT sink: downlink command not stored; reconnecting so the broker delivers it again');
    client.stream.destroy();
  }

  /** Something waits in the outbox: publish it (one drain at a time). */
  private wakeOutcomes(): void {
    if (this.draining) {
      this.drainAgain = true;
      return;
    }
    void this.drainOutcomes();
  }

  /** Publishes the outbox's outcomes, oldest first; each round leaves the outbox once the broker acked it. */
  private async drainOutcomes(): Promise<void> {
    const port = this.downlinks;
    if (!port) return;
    this.draining = true;
    try {
      // Bounded: 1,000 rounds of 100, then the rest in the next turn.
      for (let round = 0; round < 1000; round++) {
        this.drainAgain = false;
        const client = this.client;
        if (!this.running || !client?.connected) return;
        const rows = port.pendingOutcomes(OUTCOMES_PER_ROUND);
        if (rows.length === 0) {
          if (this.drainAgain) continue;
          return;
        }
        await Promise.all(
          rows.map((r) => {
            const dev: OutcomeDevice = { applicationId: this.config.application_id, applicationName: this.config.application_name, devEui: r.outcome.devEui, ...port.outcomeDevice(r.outcome.devEui) };
            const ev = outcomeEvent(r.outcome, dev, r.queueItemId, r.timeMs);
            return client.publishAsync(`${this.config.topic_prefix}/${this.config.application_id}/device/${r.outcome.devEui}/event/${ev.kind}`, ev.json, { qos: 1 });
          }),
        );
        port.outcomesPublished(rows.map((r) => r.id));
        this.outcomesPublished += rows.length;
      }
      this.drainAgain = true;
    } catch (err) {
      if (!this.running) return;
      this.logger.warn({ sink: this.name, err: (err as Error).message }, 'MQTT sink: downlink outcome events not published yet; they stay in the outbox');
      clearTimeout(this.drainRetry);
      this.drainRetry = setTimeout(() => this.wakeOutcomes(), this.config.reconnect_ms).unref();
    } finally {
      this.draining = false;
      if (this.drainAgain && this.running) setImmediate(() => this.wakeOutcomes());
    }
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
      const ev = uplinkEventOf(r, this.config.application_id, this.config.application_name);
      acks.push(client.publishAsync(eventTopic(ev, this.config.topic_prefix), eventToJson(ev), { qos: 1 }));
    }
    await Promise.all(acks);
    this.published += acks.length;
  }

  async stop(deadlineMs = Date.now() + 10_000): Promise<void> {
    this.running = false;
    clearTimeout(this.drainRetry);
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
