/**
 * Publishes what ChirpStack v4's MQTT integration would publish for the simulated fleet: `up`
 * events for heard uplinks and `join` events when an OTAA device joins (there is no network
 * server in this mode: the simulator accepts joins itself), on
 * `application/<applicationId>/device/<devEui>/event/<up|join>`, as JSON (ChirpStack's default)
 * or binary protobuf (`json = false`), QoS 1.
 *
 * Faults in this mode: a `corrupt-mic` frame is not published (ChirpStack drops it); a `duplicate`
 * publishes the same event twice and a `replay` publishes an earlier event again, byte for byte
 * (same deduplicationId), as a broker redelivers after a reconnect (when the earlier frame was
 * never heard, the replay is published as a first event with its own reception).
 *
 * At most `maxInFlight` publishes wait for their PUBACK at once; the simulation waits for room.
 */
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import { eventToJson, eventToProtobuf, eventTopic, type IntegrationEvent } from '../../lorawan/chirpstack/events.ts';
import type { SimJoin, SimUplink } from '../frames.ts';
import { Waiters, type OutputCounters, type OutputHost, type SimOutput } from './output.ts';

export type ChirpstackFormat = 'chirpstack-json' | 'chirpstack-protobuf';

export interface MqttOutputOptions {
  url: string;
  format?: ChirpstackFormat;
  /** First topic level (ChirpStack's `event_topic` template starts with `application`). */
  topicPrefix?: string;
  clientId?: string;
  username?: string;
  password?: string;
  /** Publishes awaiting PUBACK at once. Default 256. */
  maxInFlight?: number;
  /** Connect timeout, ms. Default 10,000. */
  connectTimeoutMs?: number;
}

let clients = 0;

export function encodeChirpstackEvent(e: IntegrationEvent, format: ChirpstackFormat): Buffer | Uint8Array {
  return format === 'chirpstack-json' ? Buffer.from(eventToJson(e), 'utf8') : eventToProtobuf(e);
}

export class MqttChirpstackOutput implements SimOutput {
  readonly joins = 'local' as const;
  readonly name: string;
  readonly format: ChirpstackFormat;
  private client: MqttClient | undefined;
  private host: OutputHost | undefined;
  private readonly maxInFlight: number;
  private inFlight = 0;
  private readonly room = new Waiters();
  private readonly settled = new Waiters();
  private stopped = false;
  /** The published bytes of recent uplinks, so a replay republishes exactly the same message. */
  private readonly published = new WeakMap<SimUplink, { topic: string; payload: Buffer | Uint8Array }>();
  private readonly c = { published: 0, acked: 0, failed: 0, upEvents: 0, joinEvents: 0, duplicates: 0, replays: 0, droppedBadMic: 0 };

  constructor(private readonly options: MqttOutputOptions) {
    this.format = options.format ?? 'chirpstack-json';
    this.name = `mqtt ${options.url} (${this.format})`;
    this.maxInFlight = options.maxInFlight ?? 256;
  }

  async start(host: OutputHost): Promise<void> {
    this.host = host;
    const opts: IClientOptions = {
      // Unique per publisher: a broker disconnects the older of two clients with one id.
      clientId: this.options.clientId ?? `lorawan-edge-simulator-${process.pid}-${++clients}`,
      clean: true,
      reconnectPeriod: 1_000,
      connectTimeout: this.options.connectTimeoutMs ?? 10_000,
      ...(this.options.username !== undefined ? { username: this.options.username } : {}),
      ...(this.options.password !== undefined ? { password: this.options.password } : {}),
    };
    const client = connect(this.options.url, opts);
    this.client = client;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => fail(new Error(`no CONNACK from ${this.options.url} within ${opts.connectTimeout} ms`)), opts.connectTimeout);
      const fail = (err: Error): void => {
        clearTimeout(timer);
        client.off('connect', ok);
        client.end(true);
        reject(new Error(`MQTT ${this.options.url}: ${err.message}`));
      };
      const ok = (): void => {
        clearTimeout(timer);
        client.off('error', fail);
        resolve();
      };
      client.once('connect', ok);
      client.once('error', fail);
    });
    client.on('error', (err) => host.warn(`MQTT ${this.options.url}: ${err.message}`));
  }

  private publish(topic: string, payload: Buffer | Uint8Array): void | Promise<void> {
    const client = this.client;
    if (!client || this.stopped) return;
    this.inFlight++;
    this.c.published++;
    client.publish(topic, Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength), { qos: 1 }, (err) => {
      if (err) {
        this.c.failed++;
        if (this.c.failed <= 3) this.host?.warn(`publish to ${topic} failed: ${err.message}`);
      } else {
        this.c.acked++;
      }
      this.inFlight--;
      if (this.inFlight < this.maxInFlight) this.room.wakeAll();
      if (this.inFlight === 0) this.settled.wakeAll();
    });
    if (this.inFlight >= this.maxInFlight) return this.waitForRoom();
  }

  private async waitForRoom(): Promise<void> {
    while (this.inFlight >= this.maxInFlight && !this.stopped) await this.room.wait();
  }

  private message(u: SimUplink): { topic: string; payload: Buffer | Uint8Array } {
    let m = this.published.get(u);
    if (!m) {
      const cs = (this.host as OutputHost).chirpstack;
      const topic = `${this.options.topicPrefix ?? 'application'}/${cs.identity.applicationId}/device/${u.device.devEui}/event/up`;
      m = { topic, payload: this.format === 'chirpstack-json' ? Buffer.from(cs.uplinkJson(u), 'utf8') : cs.uplinkProtobuf(u) };
      this.published.set(u, m);
    }
    return m;
  }

  uplink(u: SimUplink): void | Promise<void> {
    if (u.micCorrupted) {
      this.c.droppedBadMic++;
      return;
    }
    if (u.replayOf) this.c.replays++;
    else if (u.forcedDuplicate) this.c.duplicates++;
    else this.c.upEvents++;
    // A replay of a published event is that message again (a redelivery); a replay of a frame
    // nobody heard the first time is news to ChirpStack: an event with this reception.
    const m = u.replayOf && this.published.has(u.replayOf) ? this.message(u.replayOf) : this.message(u);
    return this.publish(m.topic, m.payload);
  }

  joined(j: SimJoin): void | Promise<void> {
    const event = (this.host as OutputHost).chirpstack.join(j);
    this.c.joinEvents++;
    return this.publish(eventTopic(event, this.options.topicPrefix ?? 'application'), encodeChirpstackEvent(event, this.format));
  }

  async drain(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.inFlight > 0 && Date.now() < deadline) {
      await Promise.race([this.settled.wait(), new Promise((r) => setTimeout(r, 50))]);
    }
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    await this.drain();
    this.stopped = true;
    this.room.wakeAll();
    this.settled.wakeAll();
    const client = this.client;
    // Everything acked: a clean DISCONNECT; else (broker gone) do not wait for acks forever.
    if (client) await new Promise<void>((resolve) => client.end(this.inFlight > 0, {}, () => resolve()));
  }

  counters(): OutputCounters {
    return { ...this.c, unacked: this.inFlight };
  }

  summary(): string {
    const c = this.c;
    return (
      `${this.name}: ${c.published} published (${c.upEvents} up, ${c.joinEvents} join, ${c.duplicates} duplicate, ${c.replays} replayed), ` +
      `${c.acked} acked, ${c.failed} failed` +
      (c.droppedBadMic ? `; ${c.droppedBadMic} bad-MIC frames not published` : '') +
      (this.inFlight ? `; ${this.inFlight} never acked` : '')
    );
  }
}
