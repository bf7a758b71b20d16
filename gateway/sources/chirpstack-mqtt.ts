/**
 * Source `chirpstack_mqtt`: ChirpStack v4's MQTT application integration (JSON or protobuf).
 *
 * Delivery guarantee: a message's PUBACK goes to the broker only after its record is durable
 * in the log (the fsync that covers it). The client keeps a fixed client id and a persistent
 * session (clean=false; session expiry on MQTT 5), so whatever was not acknowledged when the
 * gateway crashed is redelivered by the broker — never lost. Redeliveries are recognised by
 * their deduplicationId and not stored twice (and would overwrite in InfluxDB anyway, since
 * points carry the uplink's own timestamp).
 *
 * mqtt.js handles incoming packets one at a time and sends the PUBACK when its
 * `handleMessage(packet, cb)` hook calls back; waiting there for the fsync would allow only one
 * message per group commit. So `handleMessage` starts the durable append and returns at once,
 * and the PUBACK itself is held back (in arrival order, as MQTT requires) until that append has
 * resolved. If an append fails, the connection is dropped without acknowledging, and the broker
 * redelivers after reconnect.
 *
 * Bad input never stops the source: malformed JSON/protobuf, unknown topics, oversized
 * payloads are acknowledged (redelivery would not fix them), counted under their reason and
 * written to the rejects file with the raw payload.
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { IPublishPacket, Packet } from 'mqtt-packet';
import { parseEventJson, parseEventProtobuf, parseEventTopic, type IntegrationEvent } from '../../lorawan/chirpstack/events.ts';
import type { GatewayMetrics } from '../metrics.ts';
import type { ComponentHealth, RecordSink, Source } from '../pipeline/contracts.ts';
import { eventToRecord, type DecodeContext } from '../pipeline/decode.ts';
import type { PipelineRecord } from '../pipeline/record.ts';
import type { RejectsFile } from '../rejects.ts';

export interface ChirpstackMqttConfig {
  name: string;
  url: string;
  username?: string;
  password?: string;
  client_id: string;
  topics: string[];
  format: 'auto' | 'json' | 'protobuf';
  /** ChirpStack event kinds stored; others are acknowledged and counted as ignored. */
  events: ('up' | 'join' | 'status')[];
  protocol_version: 4 | 5;
  session_expiry_s: number;
  keepalive_s: number;
  reconnect_ms: number;
  max_payload_bytes: number;
  device_profiles: Record<string, string>;
}

export interface SourceLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

interface Deps {
  log: RecordSink;
  decode: DecodeContext;
  metrics: GatewayMetrics;
  rejects: RejectsFile;
  logger: SourceLogger;
}

/**
 * Remembers recently stored events so broker redeliveries are not stored twice. A ring of ids
 * bounds it: evicting from the front of a big Map by iterating its keys is O(deleted entries)
 * in V8 and showed up as the gateway's hottest function. Once an append is durable its promise
 * is replaced by a shared resolved one, so the ring holds no records.
 */
class RecentIds {
  private readonly map = new Map<string, Promise<void>>();
  private readonly ring: (string | undefined)[];
  private next = 0;
  private static readonly DONE = Promise.resolve();
  constructor(max: number) {
    this.ring = new Array<string | undefined>(max);
  }
  get(id: string): Promise<void> | undefined {
    return this.map.get(id);
  }
  set(id: string, p: Promise<void>): void {
    const old = this.ring[this.next];
    if (old !== undefined && this.map.get(old) !== undefined) this.map.delete(old);
    this.ring[this.next] = id;
    this.next = (this.next + 1) % this.ring.length;
    this.map.set(id, p);
    p.then(
      () => {
        if (this.map.get(id) === p) this.map.set(id, RecentIds.DONE);
      },
      () => undefined,
    );
  }
  delete(id: string): void {
    this.map.delete(id);
  }
}

/**
 * Most messages received but not yet acknowledged (awaiting their group commit). With a 100 ms
 * commit window this allows ~20,000 messages/s; the dedup window (50,000) must stay larger, so
 * that everything the broker may redeliver after a reconnect is recognised.
 */
const MAX_UNACKED = 2000;

type SendPacket = (packet: Packet, cb?: (err?: Error) => void) => void;

export class ChirpstackMqttSource implements Source {
  readonly type = 'chirpstack_mqtt';
  readonly name: string;
  private client: MqttClient | undefined;
  private state: ComponentHealth = { state: 'built' };
  /** messageId → the durable append of that message (resolves when it may be acknowledged). */
  private readonly durable = new Map<number, Promise<void>>();
  /** PUBACKs leave strictly in arrival order. */
  private ackChain: Promise<void> = Promise.resolve();
  private readonly recent = new RecentIds(50_000);
  private inFlight = 0;
  /** mqtt.js packet-pump continuations held while too many messages await durability. */
  private pumpWaiters: (() => void)[] = [];
  private stopping = false;

  constructor(
    private readonly config: ChirpstackMqttConfig,
    private readonly deps: Deps,
  ) {
    this.name = config.name;
  }

  health(): ComponentHealth {
    return this.state;
  }

  pendingAcks(): number {
    return this.inFlight;
  }

  async start(): Promise<void> {
    this.state = { state: 'starting' };
    const opts: IClientOptions = {
      clientId: this.config.client_id,
      clean: false,
      protocolVersion: this.config.protocol_version,
      keepalive: this.config.keepalive_s,
      reconnectPeriod: this.config.reconnect_ms,
      connectTimeout: 10_000,
      resubscribe: true,
      ...(this.config.username !== undefined ? { username: this.config.username } : {}),
      ...(this.config.password !== undefined ? { password: this.config.password } : {}),
      ...(this.config.protocol_version === 5 ? { properties: { sessionExpiryInterval: this.config.session_expiry_s } } : {}),
    };
    const client = mqtt.connect(this.config.url, { ...opts, manualConnect: true });
    this.client = client;
    this.installDeferredAcks(client);
    client.on('connect', (connack) => {
      this.state = { state: 'running' };
      this.deps.logger.info({ sessionPresent: connack.sessionPresent }, 'connected to MQTT broker');
      // With a persistent session the subscription survives, but subscribing again is harmless
      // and covers a broker that lost its state.
      client.subscribe(
        this.config.topics.map((t) => t),
        { qos: 1 },
        (err) => {
          if (err) this.deps.logger.error({ err: err.message }, 'subscribe failed');
        },
      );
    });
    client.on('reconnect', () => {
      this.state = { state: 'degraded', detail: `reconnecting to ${redactUrl(this.config.url)}` };
    });
    client.on('close', () => {
      // The old connection's packet pump is gone; release what it was waiting on.
      const waiters = this.pumpWaiters;
      this.pumpWaiters = [];
      for (const w of waiters) w();
      if (!this.stopping) this.state = { state: 'degraded', detail: `disconnected from ${redactUrl(this.config.url)}` };
    });
    client.on('error', (err) => {
      // Never log the password: the URL is redacted and options are not printed.
      this.state = { state: 'degraded', detail: err.message };
      this.deps.logger.warn({ err: err.message }, 'MQTT error');
    });
    client.connect();
    // Do not block startup on the broker: the gateway must come up (and buffer nothing) while
    // the broker is away; health shows the state.
  }

  /**
   * Replaces mqtt.js's per-message hook and holds PUBACKs until durable; see the module comment.
   * Relies on mqtt.js 5 internals (`handleMessage`, `_sendPacket`): pinned by package.json and
   * covered by the crash tests.
   */
  private installDeferredAcks(client: MqttClient): void {
    const keepalive = client as unknown as { reschedulePing?: (force?: boolean) => void };
    client.handleMessage = (packet: IPublishPacket, callback: (error?: Error) => void): void => {
      // Incoming data proves the connection alive. mqtt.js only counts acks and PINGRESP, and
      // a PINGRESP queued behind a backlog of messages would make it close a healthy
      // connection ("Keepalive timeout") — and the broker would redeliver everything unacked.
      keepalive.reschedulePing?.(true);
      // Stopping: take nothing more and acknowledge nothing more — the broker keeps these
      // for the next run (the pump is simply not resumed on this connection).
      if (this.stopping) return;
      const work = this.safePublish(packet);
      if (packet.qos > 0 && packet.messageId !== undefined) this.durable.set(packet.messageId, work);
      callback();
    };
    const internal = client as unknown as { _sendPacket: SendPacket };
    const send = internal._sendPacket.bind(client);
    internal._sendPacket = (packet: Packet, cb?: (err?: Error) => void): void => {
      if (packet.cmd !== 'puback' || packet.messageId === undefined) {
        send(packet, cb);
        return;
      }
      const work = this.durable.get(packet.messageId) ?? Promise.resolve();
      this.durable.delete(packet.messageId);
      this.inFlight++;
      // Let mqtt.js go on with the next packet now; the ack leaves when the record is durable.
      // Above MAX_UNACKED, hold the packet pump instead: the socket stops being read and TCP
      // back-pressures the broker (Mosquitto does not enforce max_inflight_messages for a
      // queued backlog), so memory and the redelivery set stay bounded.
      if (this.inFlight < MAX_UNACKED) cb?.();
      else if (cb) this.pumpWaiters.push(cb);
      const conn = client.stream;
      this.ackChain = this.ackChain
        .then(() => work)
        .then(
          () => {
            this.inFlight--;
            this.resumePump();
            // An ack for a message of a previous connection must not go out on a new one: the
            // broker redelivers those anyway.
            if (client.stream === conn && client.connected) send(packet);
          },
          (err: unknown) => {
            this.inFlight--;
            this.resumePump();
            this.deps.logger.error({ err: (err as Error).message }, 'record not durable: dropping the connection so the broker redelivers');
            if (client.stream === conn) client.stream.destroy();
          },
        );
    };
  }

  /** Lets mqtt.js read on once the unacknowledged messages are down to half the bound. */
  private resumePump(): void {
    if (this.pumpWaiters.length === 0 || this.inFlight > MAX_UNACKED / 2) return;
    const waiters = this.pumpWaiters;
    this.pumpWaiters = [];
    for (const w of waiters) w();
  }

  /**
   * `onPublish`, but a bug in parsing or decoding never escapes into mqtt.js (which would drop
   * the connection and make the broker redeliver the same message forever): the message is
   * kept in the rejects file with the reason and acknowledged.
   */
  private safePublish(packet: IPublishPacket): Promise<void> {
    try {
      return this.onPublish(packet);
    } catch (err) {
      const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
      this.deps.metrics.uplinksRejected.inc({ reason: 'internal_error' });
      this.deps.rejects.write({ source: this.name, reason: 'internal_error', detail: (err as Error).message, topic: packet.topic, payload });
      this.deps.logger.error({ err: (err as Error).message, topic: packet.topic }, 'message could not be processed; kept in the rejects file');
      return Promise.resolve();
    }
  }

  /** Parses, decodes and appends one message; resolves when it may be acknowledged. */
  private onPublish(packet: IPublishPacket): Promise<void> {
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    const topic = packet.topic;
    const reject = (reason: string, detail: string): Promise<void> => {
      this.deps.metrics.uplinksRejected.inc({ reason });
      this.deps.rejects.write({ source: this.name, reason, detail, topic, payload });
      this.deps.logger.warn({ reason, detail, topic }, 'message rejected');
      return Promise.resolve();
    };
    const parsedTopic = parseEventTopic(topic);
    if (!parsedTopic) return reject('bad_topic', 'topic is not application/<app>/device/<devEUI>/event/<type>');
    const kind = parsedTopic.kind;
    if (!(this.config.events as string[]).includes(kind)) {
      this.deps.metrics.eventsReceived.inc({ source: this.name, kind });
      return Promise.resolve();
    }
    if (payload.length > this.config.max_payload_bytes) return reject('oversized', `${payload.length} bytes > max_payload_bytes ${this.config.max_payload_bytes}`);
    const format = this.config.format === 'auto' ? (looksLikeJson(payload) ? 'json' : 'protobuf') : this.config.format;
    const parsed = format === 'json' ? parseEventJson(kind, payload) : parseEventProtobuf(kind, payload);
    if (!parsed.ok) return reject(format === 'json' ? 'malformed_json' : 'malformed_protobuf', parsed.error);
    const ev: IntegrationEvent = parsed.event;
    if (ev.deviceInfo.devEui !== parsedTopic.devEui) return reject('topic_mismatch', `topic DevEUI ${parsedTopic.devEui} ≠ event DevEUI ${ev.deviceInfo.devEui}`);
    this.deps.metrics.eventsReceived.inc({ source: this.name, kind });
    if (kind === 'up') this.deps.metrics.uplinksReceived.inc({ source: this.name });

    const key = `${kind}:${ev.deduplicationId}`;
    const seen = ev.deduplicationId ? this.recent.get(key) : undefined;
    if (seen) {
      this.deps.metrics.duplicates.inc({ source: this.name });
      return seen;
    }
    const outcome = eventToRecord(ev, this.name, this.deps.decode);
    this.account(outcome.record, outcome.undecoded, outcome.model);
    const started = process.hrtime.bigint();
    const done = this.deps.log.append([outcome.record]).then(() => {
      this.deps.metrics.appendLatency.observe(Number(process.hrtime.bigint() - started) / 1e9);
    });
    if (ev.deduplicationId) {
      this.recent.set(key, done);
      done.catch(() => this.recent.delete(key));
    }
    return done;
  }

  private account(record: PipelineRecord, undecoded: string | undefined, model: string | undefined): void {
    if (record.kind !== 'up') return;
    if (undecoded) this.deps.metrics.undecoded.inc({ reason: undecoded });
    if (record.decoded && record.decoded.by === 'codec' && record.decoded.errors.length > 0) {
      this.deps.metrics.decodeErrors.inc({ model: model ?? 'unknown' });
      this.deps.logger.warn({ devEui: record.devEui, model, errors: record.decoded.errors }, 'codec reported errors; raw payload kept');
    }
    if (record.decoded?.readings.length) this.deps.metrics.readings.inc({ category: record.device.category ?? 'generic' }, record.decoded.readings.length);
  }

  async stop(deadlineMs = Date.now() + 10_000): Promise<void> {
    this.stopping = true;
    const client = this.client;
    if (!client) return;
    const timeout = (): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, deadlineMs - Date.now())).unref());
    if (client.connected) {
      // Stop taking messages (see handleMessage), then let the acks of what is already being
      // stored go out. Never unsubscribe: the persistent session's subscription is what makes
      // the broker queue messages while the gateway is down.
      await Promise.race([this.ackChain, timeout()]);
      await Promise.race([new Promise<void>((resolve) => client.end(false, {}, () => resolve())), timeout()]);
    }
    if (!client.disconnected) await new Promise<void>((resolve) => client.end(true, {}, () => resolve()));
    this.state = { state: 'stopped' };
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client && !client.disconnected) await new Promise<void>((resolve) => client.end(true, {}, () => resolve()));
    this.state = { state: 'stopped' };
  }
}

function looksLikeJson(b: Uint8Array): boolean {
  for (const c of b) {
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) continue;
    return c === 0x7b; // '{'
  }
  return false;
}

/** mqtt://user:secret@host → mqtt://user:***@host */
export function redactUrl(url: string): string {
  return url.replace(/(\/\/[^:/@]+:)[^@]*@/, '$1***@');
}
