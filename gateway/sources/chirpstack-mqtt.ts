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
 * message per group commit. So `handleMessage` parses and decodes at once and adds the record
 * to the current batch, and the PUBACK itself is held back in a queue. A batch collects what
 * arrives in one turn of the event loop and goes to the log in one append; when that append is
 * durable the queue releases, in arrival order (as MQTT requires), every PUBACK whose message
 * is now durable — corked, so they leave in one socket write. If an append fails, the
 * connection is dropped without acknowledging, and the broker redelivers after reconnect.
 * (One promise and one metrics update per batch instead of several per message: at 10,000
 * messages/s the per-message version spent more on promises and label lookups than on
 * decoding.)
 *
 * Bad input never stops the source: malformed JSON/protobuf, unknown topics, oversized
 * payloads are acknowledged (redelivery would not fix them), counted under their reason and
 * written to the rejects file with the raw payload. A message far above `max_payload_bytes` is
 * cut from the socket's bytes before mqtt.js collects it (mqtt-size-guard.ts): only its head is
 * ever held, and it is rejected as `oversized` in its place in the stream.
 */
import type { IClientOptions, MqttClient } from 'mqtt';
import type { IPublishPacket, Packet } from 'mqtt-packet';
import { parseEventJson, parseEventProtobuf, parseEventTopic, type IntegrationEvent } from '../../lorawan/chirpstack/events.ts';
import type { GatewayMetrics } from '../metrics.ts';
import type { ComponentHealth, RecordSink, Source } from '../pipeline/contracts.ts';
import { eventToRecord, type DecodeContext } from '../pipeline/decode.ts';
import type { PipelineRecord } from '../pipeline/record.ts';
import { redactUrl } from '../redact-url.ts';
import type { RejectsFile } from '../rejects.ts';
import { CUT_HEADROOM, CUT_TOPIC_PREFIX, MqttSizeGuard, type CutPublish } from './mqtt-size-guard.ts';

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
 * Remembers recently stored events so broker redeliveries are not stored twice: id → the batch
 * that stores it (DONE once that batch is durable, so the ring holds no records). A ring of ids
 * bounds it: evicting from the front of a big Map by iterating its keys is O(deleted entries)
 * in V8 and showed up as the gateway's hottest function.
 */
class RecentIds {
  private readonly map = new Map<string, IngestBatch | typeof DONE>();
  private readonly ring: (string | undefined)[];
  private next = 0;
  constructor(max: number) {
    this.ring = new Array<string | undefined>(max);
  }
  get(id: string): IngestBatch | typeof DONE | undefined {
    return this.map.get(id);
  }
  set(id: string, v: IngestBatch | typeof DONE): void {
    if (this.map.has(id)) {
      this.map.set(id, v);
      return;
    }
    const old = this.ring[this.next];
    if (old !== undefined) this.map.delete(old);
    this.ring[this.next] = id;
    this.next = (this.next + 1) % this.ring.length;
    this.map.set(id, v);
  }
  delete(id: string): void {
    this.map.delete(id);
  }
}

const DONE = Symbol('durable');

/** Metric reason (and rejects-file reason) for the log's per-record refusals. */
/** The rejects-file reason of a record the log refused to store, by the log's error code. */
export const STORE_REJECT_REASON: Record<string, string> = {
  RECORD_TOO_DEEP: 'too_deep',
  RECORD_TOO_LARGE: 'record_too_large',
  UNENCODABLE_RECORD: 'unencodable',
};

/** What arrived in one turn of the event loop: appended to the log together. */
interface IngestBatch {
  records: PipelineRecord[];
  /** the message each record came from, index for index (kept for the rejects file) */
  raw: { topic: string; payload: Uint8Array }[];
  /** deduplication keys of those records */
  keys: string[];
  /** when the first message of the batch arrived (for the append latency) */
  firstAt: bigint;
  state: 'open' | 'appending' | 'durable' | 'failed';
  failure?: string;
  upCount: number;
  kinds: Map<string, number>;
  readings: Map<string, number>;
}

/** A PUBACK held back until its message is durable. */
interface HeldAck {
  packet: Packet;
  /** the connection the message came in on: an ack never goes out on another one */
  conn: unknown;
  /** the batch that must be durable first; undefined = only the order holds it */
  gate: IngestBatch | undefined;
}

/**
 * Most messages received but not yet acknowledged (awaiting their group commit). With a 100 ms
 * commit window this allows ~20,000 messages/s; the dedup window must stay well above it, so
 * that everything the broker may redeliver after a reconnect (the unacknowledged messages plus
 * what was in flight on the socket) is recognised. 10,000 ids are ~1 MB; 50,000 were ~5 MB of a
 * daemon that should stay under 150 MB.
 */
const MAX_UNACKED = 2000;
const DEDUP_WINDOW = 10_000;

type SendPacket = (packet: Packet, cb?: (err?: Error) => void) => void;

export class ChirpstackMqttSource implements Source {
  readonly type = 'chirpstack_mqtt';
  readonly name: string;
  private client: MqttClient | undefined;
  private state: ComponentHealth = { state: 'built' };
  /** messageId → the batch its PUBACK waits for (set by handleMessage, taken by _sendPacket). */
  private readonly gates = new Map<number, IngestBatch | undefined>();
  /** PUBACKs not sent yet, in arrival order (they leave strictly in that order). */
  private held: HeldAck[] = [];
  private heldHead = 0;
  private batch: IngestBatch | undefined;
  private drainWaiters: (() => void)[] = [];
  private readonly recent = new RecentIds(DEDUP_WINDOW);
  private inFlight = 0;
  /** mqtt.js packet-pump continuations held while too many messages await durability. */
  private pumpWaiters: (() => void)[] = [];
  private stopping = false;
  /** Messages the size guard cut, by the marker topic of their stand-in (taken in onPublish). */
  private readonly cuts = new Map<string, CutPublish>();
  private cutSerial = 0;

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
      // mqtt-packet's default cache of 65,536 pre-built message-id Buffers costs ~10 MB of RSS
      // for a client that only ever writes PUBACKs; building the two bytes each time is cheap.
      writeCache: false,
      ...(this.config.username !== undefined ? { username: this.config.username } : {}),
      ...(this.config.password !== undefined ? { password: this.config.password } : {}),
      ...(this.config.protocol_version === 5 ? { properties: { sessionExpiryInterval: this.config.session_expiry_s } } : {}),
    };
    // mqtt.js is loaded when an MQTT source starts: a gateway without one never loads it
    // (~2 MB of heap and ~10 MB of RSS with what it pulls in, bench/RESULTS.md "ns-heap").
    const { connect } = await import('mqtt');
    const client = connect(this.config.url, { ...opts, manualConnect: true });
    this.client = client;
    this.installSizeGuard(client);
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
      const gate = this.safePublish(packet);
      if (packet.qos > 0 && packet.messageId !== undefined) this.gates.set(packet.messageId, gate);
      callback();
    };
    const internal = client as unknown as { _sendPacket: SendPacket };
    const send = internal._sendPacket.bind(client);
    internal._sendPacket = (packet: Packet, cb?: (err?: Error) => void): void => {
      if (packet.cmd !== 'puback' || packet.messageId === undefined) {
        send(packet, cb);
        return;
      }
      const gate = this.gates.get(packet.messageId);
      this.gates.delete(packet.messageId);
      this.inFlight++;
      this.held.push({ packet, conn: client.stream, gate });
      // Let mqtt.js go on with the next packet now; the ack leaves when the record is durable.
      // Above MAX_UNACKED, hold the packet pump instead: the socket stops being read and TCP
      // back-pressures the broker (Mosquitto does not enforce max_inflight_messages for a
      // queued backlog), so memory and the redelivery set stay bounded.
      if (this.inFlight < MAX_UNACKED) cb?.();
      else if (cb) this.pumpWaiters.push(cb);
      if (gate === undefined || gate.state === 'durable') this.releaseAcks();
    };
    this.sendAck = send;
  }

  private sendAck: SendPacket | undefined;

  /**
   * Puts a size guard between each new connection's socket and mqtt.js's parser: mqtt.js pipes
   * the stream its `streamBuilder` returns into the parser, so that pipe goes through the guard
   * (writes, close and errors stay on the socket itself). Relies on mqtt.js 5's
   * `streamBuilder`, like installDeferredAcks on its hooks.
   */
  private installSizeGuard(client: MqttClient): void {
    const internal = client as unknown as { streamBuilder: (c: MqttClient) => NodeJS.ReadWriteStream };
    const build = internal.streamBuilder;
    internal.streamBuilder = (c: MqttClient): NodeJS.ReadWriteStream => {
      const stream = build(c);
      const guard = new MqttSizeGuard({
        maxRemainingLength: this.config.max_payload_bytes + CUT_HEADROOM,
        protocolVersion: this.config.protocol_version,
        onCut: (cut) => {
          const marker = `${CUT_TOPIC_PREFIX}${++this.cutSerial}`;
          // Bounded: a stand-in never reaches onPublish only when its connection died first.
          if (this.cuts.size >= 256) this.cuts.delete(this.cuts.keys().next().value as string);
          this.cuts.set(marker, cut);
          return marker;
        },
      });
      const pipe = stream.pipe.bind(stream);
      stream.pipe = <T extends NodeJS.WritableStream>(dest: T, options?: { end?: boolean }): T => {
        pipe(guard);
        return guard.pipe(dest, options);
      };
      return stream;
    };
  }

  /**
   * Sends, in order, every held PUBACK whose message is durable; stops at the first that is
   * not. A failed batch drops the connection it came in on without acknowledging (the broker
   * redelivers after the reconnect). The acks leave corked: one socket write per release.
   */
  private releaseAcks(): void {
    const client = this.client;
    const send = this.sendAck;
    if (!client || !send) return;
    const stream = client.stream as (typeof client.stream & { cork?: () => void; uncork?: () => void }) | undefined;
    let corked = false;
    let released = 0;
    while (this.heldHead < this.held.length) {
      const h = this.held[this.heldHead] as HeldAck;
      if (h.gate !== undefined && (h.gate.state === 'open' || h.gate.state === 'appending')) break;
      this.heldHead++;
      released++;
      this.inFlight--;
      if (h.gate?.state === 'failed') {
        if (client.stream === h.conn && !client.stream.destroyed) {
          this.deps.logger.error({ err: h.gate.failure }, 'record not durable: dropping the connection so the broker redelivers');
          client.stream.destroy();
        }
        continue;
      }
      // An ack for a message of a previous connection must not go out on a new one: the
      // broker redelivers those anyway.
      if (client.stream !== h.conn || !client.connected) continue;
      if (!corked && stream?.cork) {
        stream.cork();
        corked = true;
      }
      send(h.packet);
    }
    if (corked) stream?.uncork?.();
    if (this.heldHead > 1024 && this.heldHead * 2 > this.held.length) {
      this.held = this.held.slice(this.heldHead);
      this.heldHead = 0;
    }
    if (released > 0) this.resumePump();
    if (this.heldHead >= this.held.length && this.drainWaiters.length > 0) {
      const waiters = this.drainWaiters;
      this.drainWaiters = [];
      for (const w of waiters) w();
    }
  }

  /** Lets mqtt.js read on once the unacknowledged messages are down to half the bound. */
  private resumePump(): void {
    if (this.pumpWaiters.length === 0 || this.inFlight > MAX_UNACKED / 2) return;
    const waiters = this.pumpWaiters;
    this.pumpWaiters = [];
    for (const w of waiters) w();
  }

  /** The batch that takes records now (a new one is sent to the log at the end of this turn). */
  private currentBatch(): IngestBatch {
    if (this.batch === undefined) {
      this.batch = { records: [], raw: [], keys: [], firstAt: process.hrtime.bigint(), state: 'open', upCount: 0, kinds: new Map(), readings: new Map() };
      setImmediate(() => this.appendBatch());
    }
    return this.batch;
  }

  /** Appends the current batch to the log; on durability releases its acks. */
  private appendBatch(): void {
    const b = this.batch;
    this.batch = undefined;
    if (b === undefined || b.state !== 'open') return;
    b.state = 'appending';
    this.countBatch(b);
    const settle = (failure: string | undefined): void => {
      if (failure === undefined) {
        b.state = 'durable';
        for (const k of b.keys) this.recent.set(k, DONE);
        this.deps.metrics.appendLatency.observe(Number(process.hrtime.bigint() - b.firstAt) / 1e9);
      } else {
        b.state = 'failed';
        b.failure = failure;
        for (const k of b.keys) this.recent.delete(k);
      }
      b.records = [];
      b.raw = [];
      this.releaseAcks();
    };
    let appended: Promise<void>;
    try {
      const outcome = this.deps.log.append(b.records);
      // A record the log cannot store (too deep, too large, not encodable) is rejected alone: it
      // is kept in the rejects file, counted, and acknowledged with its batch; the others of the
      // batch are stored.
      for (const r of outcome.rejected) {
        const raw = b.raw[r.index];
        const reason = STORE_REJECT_REASON[r.code] ?? 'unstorable';
        this.deps.metrics.uplinksRejected.inc({ reason });
        this.deps.rejects.write({ source: this.name, reason, detail: r.message, ...(raw ? { topic: raw.topic, payload: raw.payload } : {}) });
        this.deps.logger.warn({ reason, detail: r.message, topic: raw?.topic }, 'record cannot be stored; kept in the rejects file');
      }
      appended = outcome.durable;
    } catch (err) {
      appended = Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    appended.then(
      () => settle(undefined),
      (err: unknown) => settle((err as Error).message),
    );
  }

  /** Metrics of a batch, added once per batch rather than once per message. */
  private countBatch(b: IngestBatch): void {
    const m = this.deps.metrics;
    for (const [kind, n] of b.kinds) m.eventsReceived.inc({ source: this.name, kind }, n);
    if (b.upCount > 0) m.uplinksReceived.inc({ source: this.name }, b.upCount);
    for (const [category, n] of b.readings) m.readings.inc({ category }, n);
  }

  /**
   * `onPublish`, but a bug in parsing or decoding never escapes into mqtt.js (which would drop
   * the connection and make the broker redeliver the same message forever): the message is
   * kept in the rejects file with the reason and acknowledged.
   */
  private safePublish(packet: IPublishPacket): IngestBatch | undefined {
    try {
      return this.onPublish(packet);
    } catch (err) {
      const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
      this.deps.metrics.uplinksRejected.inc({ reason: 'internal_error' });
      this.deps.rejects.write({ source: this.name, reason: 'internal_error', detail: (err as Error).message, topic: packet.topic, payload });
      this.deps.logger.error({ err: (err as Error).message, topic: packet.topic }, 'message could not be processed; kept in the rejects file');
      return undefined;
    }
  }

  /**
   * Parses and decodes one message and adds its record to the current batch. Returns the batch
   * that must be durable before the message may be acknowledged (undefined: nothing to wait
   * for — rejected, ignored, or a redelivery of something already durable).
   */
  private onPublish(packet: IPublishPacket): IngestBatch | undefined {
    if (packet.topic.startsWith(CUT_TOPIC_PREFIX)) return this.rejectCut(packet.topic);
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    const topic = packet.topic;
    const reject = (reason: string, detail: string): undefined => {
      this.deps.metrics.uplinksRejected.inc({ reason });
      this.deps.rejects.write({ source: this.name, reason, detail, topic, payload });
      this.deps.logger.warn({ reason, detail, topic }, 'message rejected');
      return undefined;
    };
    const parsedTopic = parseEventTopic(topic);
    if (!parsedTopic) return reject('bad_topic', 'topic is not application/<app>/device/<devEUI>/event/<type>');
    const kind = parsedTopic.kind;
    if (!(this.config.events as string[]).includes(kind)) {
      this.deps.metrics.eventsReceived.inc({ source: this.name, kind });
      return undefined;
    }
    if (payload.length > this.config.max_payload_bytes) return reject('oversized', `${payload.length} bytes > max_payload_bytes ${this.config.max_payload_bytes}`);
    const format = this.config.format === 'auto' ? (looksLikeJson(payload) ? 'json' : 'protobuf') : this.config.format;
    const parsed = format === 'json' ? parseEventJson(kind, payload) : parseEventProtobuf(kind, payload);
    if (!parsed.ok) return reject(format === 'json' ? 'malformed_json' : 'malformed_protobuf', parsed.error);
    const ev: IntegrationEvent = parsed.event;
    if (ev.deviceInfo.devEui !== parsedTopic.devEui) return reject('topic_mismatch', `topic DevEUI ${parsedTopic.devEui} ≠ event DevEUI ${ev.deviceInfo.devEui}`);

    const key = ev.deduplicationId ? `${kind}:${ev.deduplicationId}` : undefined;
    const seen = key !== undefined ? this.recent.get(key) : undefined;
    if (seen !== undefined) {
      this.deps.metrics.eventsReceived.inc({ source: this.name, kind });
      if (kind === 'up') this.deps.metrics.uplinksReceived.inc({ source: this.name });
      this.deps.metrics.duplicates.inc({ source: this.name });
      return seen === DONE ? undefined : seen;
    }
    const outcome = eventToRecord(ev, this.name, this.deps.decode);
    const b = this.currentBatch();
    b.kinds.set(kind, (b.kinds.get(kind) ?? 0) + 1);
    if (kind === 'up') b.upCount++;
    this.account(b, outcome.record, outcome.undecoded, outcome.model);
    b.records.push(outcome.record);
    b.raw.push({ topic, payload });
    if (key !== undefined) {
      b.keys.push(key);
      this.recent.set(key, b);
    }
    return b;
  }

  /** The stand-in of a message the size guard cut: rejected (and then acknowledged) as oversized. */
  private rejectCut(marker: string): undefined {
    const cut = this.cuts.get(marker);
    this.cuts.delete(marker);
    const reason = 'oversized';
    const detail = cut
      ? `${cut.payloadBytes} bytes > max_payload_bytes ${this.config.max_payload_bytes}: cut from the connection before it was read whole (its first ${cut.head.length} bytes kept)`
      : 'a message cut from the connection before it was read whole';
    this.deps.metrics.uplinksRejected.inc({ reason });
    this.deps.rejects.write({ source: this.name, reason, detail, ...(cut ? { topic: cut.topic, payload: cut.head, payloadBytes: cut.payloadBytes } : {}) });
    this.deps.logger.warn({ reason, detail, topic: cut?.topic }, 'message rejected');
    return undefined;
  }

  private account(b: IngestBatch, record: PipelineRecord, undecoded: string | undefined, model: string | undefined): void {
    if (record.kind !== 'up') return;
    if (undecoded) this.deps.metrics.undecoded.inc({ reason: undecoded });
    if (record.decoded && record.decoded.by === 'codec' && record.decoded.errors.length > 0) {
      this.deps.metrics.decodeErrors.inc({ model: model ?? 'unknown' });
      this.deps.logger.warn({ devEui: record.devEui, model, errors: record.decoded.errors }, 'codec reported errors; raw payload kept');
    }
    const n = record.decoded?.readings.length ?? 0;
    if (n > 0) {
      const category = record.device.category ?? 'generic';
      b.readings.set(category, (b.readings.get(category) ?? 0) + n);
    }
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
      this.appendBatch();
      const drained = new Promise<void>((resolve) => {
        if (this.heldHead >= this.held.length) resolve();
        else this.drainWaiters.push(resolve);
      });
      await Promise.race([drained, timeout()]);
      await Promise.race([new Promise<void>((resolve) => client.end(false, {}, () => resolve())), timeout()]);
    }
    if (!client.disconnected) await new Promise<void>((resolve) => client.end(true, {}, () => resolve()));
    this.state = { state: 'stopped' };
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    // With manualConnect, mqtt.js clears `disconnecting` once end() is done, so a connection
    // attempt still in progress (broker down) schedules a reconnect after it: the client would
    // retry forever and keep a stopped gateway's process alive. No reconnect after close.
    if (client) client.options.reconnectPeriod = 0;
    if (client && !client.disconnected) await new Promise<void>((resolve) => client.end(true, {}, () => resolve()));
    this.state = { state: 'stopped' };
  }
}

/** JSON starts with `{` after optional whitespace and an optional UTF-8 byte-order mark. */
export function looksLikeJson(b: Uint8Array): boolean {
  const bom = b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf;
  for (const c of bom ? b.subarray(3) : b) {
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) continue;
    return c === 0x7b; // '{'
  }
  return false;
}

// mqtt://user:secret@host → mqtt://user:***@host (a URL parser, see redact-url.ts).
export { redactUrl };
