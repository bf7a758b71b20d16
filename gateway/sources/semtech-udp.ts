/**
 * Source `semtech_udp`: the Semtech UDP packet-forwarder protocol (v2, v1 accepted) with the
 * built-in edge network server (gateway/ns/) for the devices in the keys file.
 *
 * - PUSH_DATA → its entry in the inbox journal (`udp-inbox.ts`, `inbox: true`, the default) →
 *   PUSH_ACK once that is durable (a forwarder that resends un-ACKed datagrams then loses
 *   nothing), each good `rxpk` to the network server, `stat` to the gateway metrics; with
 *   `inbox: false`, PUSH_ACK at once, as the stock forwarder expects (it never resends);
 * - PULL_DATA → PULL_ACK, and the datagram's source address becomes that gateway's downlink
 *   route (gateways are keyed by EUI, never by address);
 * - TX_ACK → the network server (errors counted as `tx_ack_<error>`, RX2 tried when in time);
 * - an optional allow-list of gateway EUIs: anything else is counted (`unknown_gateway`) and
 *   dropped.
 *
 * Bad input never stops the source: datagrams over `max_datagram_bytes`, malformed or
 * truncated datagrams, unknown protocol versions or types, bad JSON, bad base64, bad fields,
 * CRC errors — each counted under its reason in `lorawan_edge_ns_rejected_total{reason}` and,
 * carrying a payload, kept in the rejects file (the raw datagram, base64).
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import { decodeUdpPacket, encodeUdpPacket } from '../../lorawan/udp/codec.ts';
import { txAckOutcome } from '../../lorawan/udp/server.ts';
import type { PushData, Stat, Txpk } from '../../lorawan/udp/types.ts';
import type { GatewayMetrics } from '../metrics.ts';
import { commandDigest } from '../ns/command-ids.ts';
import { parseCommandDown, type OutcomeDevice } from '../ns/command-down.ts';
import { encodeCommandObject } from '../ns/command-encode.ts';
import { LabelChildren } from '../ns/metric-children.ts';
import type { StoredOutcome } from '../ns/outcome-outbox.ts';
import { nsMetrics, type NsMetrics } from '../ns/metrics.ts';
import { watchUdpKernelDrops } from './udp-kernel-drops.ts';
import { NetworkServer, type InboxHooks, type NetworkServerConfig } from '../ns/network-server.ts';
import { IN_FLIGHT_BUDGET_BYTES, inFlightBytes } from '../ns/overload.ts';
import { SessionStore } from '../ns/session-store.ts';
import type { ComponentHealth, RecordSink, Source } from '../pipeline/contracts.ts';
import { STORE_REJECT_REASON } from './chirpstack-mqtt.ts';
import { gatewayStatusRecord } from './gateway-stat.ts';
import type { DecodeContext } from '../pipeline/decode.ts';
import type { PipelineRecord } from '../pipeline/record.ts';
import { indexKeys, readDeviceKeysFile, type KeyIndex } from '../registry/keys-file.ts';
import type { RejectsFile } from '../rejects.ts';
import { inboxMetrics, type InboxPromMetrics } from './inbox-metrics.ts';
import { UdpInbox } from './udp-inbox.ts';
import { UdpIntakeThread } from './udp-intake-client.ts';
import { INTAKE_BACKLOG_BYTES } from './udp-intake-protocol.ts';
import { UDP_REASON } from './udp-reasons.ts';

export interface SemtechUdpConfig extends NetworkServerConfig {
  /** host:port, IPv4 or [IPv6] */
  listen: string;
  keys_file: string;
  /** folder of the session store (default <data_dir>/ns) */
  state_dir: string;
  /** gateway EUIs allowed (lowercase hex); empty = any */
  gateways: string[];
  max_datagram_bytes: number;
  device_profiles: Record<string, string>;
  /** the inbox journal (udp-inbox.ts): PUSH_ACK only once a datagram is durable; default on */
  inbox?: boolean;
  /** its group-commit interval, ms (default 5) */
  inbox_fsync_interval_ms?: number;
  /** the socket, protocol checks, PUSH_ACKs and the inbox journal on a worker thread (udp-intake-worker.ts) */
  intake_thread?: boolean;
  /** not a config key: INTAKE_BACKLOG_BYTES of udp-intake-protocol.ts unless a test sets less */
  intake_backlog_bytes?: number;
}

export interface SemtechUdpDeps {
  log: RecordSink & { nextId?: () => number };
  decode: DecodeContext;
  metrics: GatewayMetrics;
  rejects: RejectsFile;
  logger: { info(o: object, m: string): void; warn(o: object, m: string): void; error(o: object, m: string): void };
  /** the intake worker died (gateway.ts `onFatal`): the process should restart */
  onFatal?: (message: string) => void;
}

interface Route {
  address: string;
  port: number;
  version: number;
}

/** the socket's receive buffer: room for the bursts a loaded Pi cannot read at once */
const RECV_BUFFER_BYTES = 4 * 1024 * 1024;

/** Splits `host:port` / `[v6]:port`. */
export function parseListen(listen: string): { host: string; port: number; family: 'udp4' | 'udp6' } | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(listen);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port > 65535) return undefined;
  const host = (m[1] ?? m[2]) as string;
  return { host, port, family: m[1] !== undefined ? 'udp6' : 'udp4' };
}

export class SemtechUdpSource implements Source {
  readonly type = 'semtech_udp';
  readonly name: string;
  private socket: Socket | undefined;
  private store: SessionStore | undefined;
  private ns: NetworkServer | undefined;
  private keys: KeyIndex = { otaa: new Map(), abp: new Map() };
  private readonly routes = new Map<string, Route>();
  private readonly allowed: Set<string> | undefined;
  private readonly m: NsMetrics;
  private state: ComponentHealth = { state: 'built' };
  private token = 0;
  /** the last stat per gateway (what a gateway_status view reads) */
  readonly gatewayStatus = new Map<string, Stat & { at: number }>();
  /** metric children of the per-datagram and per-record counters (metric-children.ts says why) */
  private readonly datagramsOf: LabelChildren<{ inc(): void }>;
  private readonly lastSeenOf: LabelChildren<{ set(v: number): void }>;
  private readonly eventsOf: LabelChildren<{ inc(): void }>;
  private readonly readingsOf: LabelChildren<{ inc(n: number): void }>;
  private readonly undecodedOf: LabelChildren<{ inc(): void }>;
  private outcomeListener: (() => void) | undefined;
  private started: () => void = () => undefined;
  private readonly startedP = new Promise<void>((r) => (this.started = r));
  private inbox: UdpInbox | undefined;
  /** the intake worker (`intake_thread: true`): it has the socket and the journal then */
  private intake: UdpIntakeThread | undefined;
  private readonly im: InboxPromMetrics;
  private stopped = false;
  /** receptions of PUSH_DATA waiting for the inbox journal's group commit (overload.ts) */
  private journaling = 0;
  /** rxpk shed since the last `overloaded` log line, and when it was written */
  private shedSinceLog = 0;
  private shedLoggedAt = -Infinity;
  /** stops exporting the socket's kernel drops (udp-kernel-drops.ts) */
  private unwatchDrops: (() => void) | undefined;

  constructor(
    readonly config: SemtechUdpConfig,
    private readonly deps: SemtechUdpDeps,
  ) {
    this.name = config.name;
    this.allowed = config.gateways.length ? new Set(config.gateways.map((g) => g.toLowerCase())) : undefined;
    this.m = nsMetrics(deps.metrics.registry);
    this.datagramsOf = new LabelChildren((type) => this.m.datagrams.labels({ type }));
    this.lastSeenOf = new LabelChildren((gateway) => this.m.gatewayLastSeen.labels({ gateway }));
    this.eventsOf = new LabelChildren((kind) => deps.metrics.eventsReceived.labels({ source: this.name, kind }));
    this.readingsOf = new LabelChildren((category) => deps.metrics.readings.labels({ category }));
    this.undecodedOf = new LabelChildren((reason) => deps.metrics.undecoded.labels({ reason }));
    this.im = inboxMetrics(deps.metrics.registry);
  }

  health(): ComponentHealth {
    return this.state;
  }

  /** The network server (tests and the bench read its sessions). */
  get networkServer(): NetworkServer | undefined {
    return this.ns;
  }

  /** The intake worker, with `intake_thread: true` (tests end it to see a dying worker reported). */
  get intakeThread(): UdpIntakeThread | undefined {
    return this.intake;
  }

  address(): { address: string; port: number } | undefined {
    if (this.intake) return this.intake.address();
    const a = this.socket?.address();
    return a ? { address: a.address, port: a.port } : undefined;
  }

  static storePath(config: Pick<SemtechUdpConfig, 'state_dir'>): string {
    return join(config.state_dir, 'sessions.sqlite');
  }

  async start(): Promise<void> {
    this.state = { state: 'starting' };
    // Refuses a keys file others can read, naming the file (KeysFileError): the gateway does not start.
    this.keys = indexKeys(readDeviceKeysFile(this.config.keys_file).devices);
    const listen = parseListen(this.config.listen);
    if (!listen) throw new Error(`sources.${this.name}.listen: must be host:port or [ipv6]:port, got ${JSON.stringify(this.config.listen)}`);
    this.store = new SessionStore(SemtechUdpSource.storePath(this.config));
    // The queue's recovery is the daemon's alone (the downlink CLI opens the store while we run).
    const requeued = this.store.requeueUnacknowledged();
    if (requeued > 0) this.deps.logger.info({ downlinks: requeued }, 'downlinks sent before the restart without a TX_ACK: queued again');
    // With the intake worker, the journal opens in the worker while the network server is built.
    const inbox = this.config.intake_thread ? this.startIntake(listen) : await this.openInbox();
    this.ns = new NetworkServer(this.config, {
      keys: () => this.keys,
      store: this.store,
      decode: { ...this.deps.decode, deviceProfiles: this.config.device_profiles },
      metrics: this.m,
      append: (records, onRefused, urgent, onPlaced) => this.append(records, onRefused, urgent, onPlaced),
      transmit: (gw, txpk) => this.transmit(gw, txpk),
      reject: (reason, detail, payload) => this.keep(reason, detail, payload),
      logger: this.deps.logger,
      monotonic: () => performance.now(),
      now: this.deps.decode.now,
      ...(inbox ? { inbox } : {}),
    });
    // Outcomes go to the durable outbox only when someone publishes them (outcome-outbox.ts O4).
    const listener = this.outcomeListener;
    if (listener) this.ns.onDownlinkOutcome = () => listener();
    if (this.intake) await this.listenIntake(this.intake);
    else await this.listenHere(listen);
    // The kernel's drops of the socket (full receive buffer), on either thread: udp-kernel-drops.ts.
    this.unwatchDrops = watchUdpKernelDrops(this.deps.metrics.registry, this.name, () => this.address());
    this.state = { state: 'running' };
    this.started();
    if (listener && this.ns.outbox.size() > 0) listener(); // outcomes from before a restart
    this.deps.logger.info({ listen: this.address(), devices: { otaa: this.keys.otaa.size, abp: this.keys.abp.size }, sessions: this.ns.sessions.size, intake_thread: this.intake !== undefined }, 'Semtech UDP source listening');
  }

  /** The replay (N4), then the socket on this thread. */
  private async listenHere(listen: NonNullable<ReturnType<typeof parseListen>>): Promise<void> {
    this.replayInbox();
    const socket = createSocket({ type: listen.family, reuseAddr: false });
    this.socket = socket;
    socket.on('message', (msg, from) => this.onDatagram(msg, from));
    socket.on('error', (err) => {
      this.state = { state: 'degraded', detail: err.message };
      this.deps.logger.error({ err: err.message }, 'UDP socket error');
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(listen.port, listen.host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    try {
      socket.setRecvBufferSize(RECV_BUFFER_BYTES);
    } catch {
      // not permitted (net.core.rmem_max): the kernel default stays
    }
  }

  /** Resolves once the network server runs (MQTT commands wait for it before they are acknowledged). */
  whenReady(): Promise<void> {
    return this.startedP;
  }

  /**
   * An MQTT `…/command/down` message (ChirpStack v4 JSON, `gateway/ns/command-down.ts`): queued
   * durably for the device (`ack: true` — the PUBACK may go), or refused — counted as
   * `command_<reason>`, logged with the reason, kept in the rejects file, and acknowledged too
   * (sending it again would not help). `ack: false` only when the queue could not store it: the
   * message must not be acknowledged, so the broker delivers it again. `redelivery`: the MQTT DUP
   * flag (command-ids.ts). An `object` is encoded by the device's codec (command-encode.ts); an
   * encoder error is also reported as a DOWNLINK_CODEC `log` event. Never throws.
   */
  downlinkCommand(topic: string, payload: Uint8Array, expect: { prefix: string; applicationId: string }, redelivery = false): { ack: true; queued?: number } | { ack: false; error: string } {
    const r = parseCommandDown(topic, payload, expect);
    const refuse = (reason: string, detail: string): { ack: true } => {
      this.reject(`command_${reason}`, `${topic.slice(0, 200)}: ${detail}`, payload.subarray(0, 4096));
      this.deps.logger.warn({ reason, detail, topic: topic.slice(0, 200) }, 'MQTT downlink command refused');
      return { ack: true };
    };
    if (!r.ok) return refuse(r.reason, r.detail);
    const c = r.command;
    const ns = this.ns;
    if (!ns) return refuse('not_ready', 'the network server is not started yet');
    if (!this.keys.otaa.has(c.devEui) && !this.keys.abp.has(c.devEui)) return refuse('unknown_device', `DevEUI ${c.devEui} is not in the keys file`);
    let data = c.data ?? Buffer.alloc(0);
    let fPort = c.fPort;
    try {
      if (c.object) {
        const e = encodeCommandObject(c.devEui, c.object, c.fPort, this.deps.decode);
        if (!e.ok) {
          ns.recordOutcome({ kind: 'codec_error', queueId: 0, devEui: c.devEui, error: e.detail }, c.id ?? '');
          return refuse(e.reason, e.detail);
        }
        data = e.bytes;
        fPort = e.fPort;
      }
      const q = ns.enqueueCommand({ devEui: c.devEui, fPort, data, confirmed: c.confirmed, ...(c.id !== undefined ? { id: c.id } : {}) }, commandDigest(topic, payload), redelivery);
      if (q.duplicate) {
        this.m.rejected.inc({ reason: 'command_duplicate' });
        this.deps.logger.info({ devEui: c.devEui, id: q.id, commandId: c.id }, 'MQTT downlink command delivered again: queued already');
      } else this.deps.logger.info({ devEui: c.devEui, fPort, bytes: data.length, confirmed: c.confirmed, id: q.id }, 'MQTT downlink command queued');
      return { ack: true, queued: q.id };
    } catch (err) {
      this.m.rejected.inc({ reason: 'command_store_error' });
      this.deps.logger.error({ err: (err as Error).message, devEui: c.devEui }, 'MQTT downlink command not stored: not acknowledged, the broker delivers it again');
      return { ack: false, error: (err as Error).message };
    }
  }

  /** Where queued downlinks' outcomes are announced (one listener: the MQTT sink); register before start. */
  onDownlinkOutcome(listener: () => void): void {
    this.outcomeListener = listener;
    if (this.ns) this.ns.onDownlinkOutcome = () => listener();
  }

  /** The oldest outcomes not yet published (outcome-outbox.ts). */
  pendingOutcomes(limit: number): StoredOutcome[] {
    return this.ns?.outbox.pending(limit) ?? [];
  }

  /** The broker acknowledged these outcome events: they leave the outbox. */
  outcomesPublished(ids: readonly number[]): void {
    this.ns?.outbox.published(ids);
  }

  /** The device as ChirpStack's `deviceInfo` names it: the registry's name and model, else the DevEUI. */
  outcomeDevice(devEui: string): Pick<OutcomeDevice, 'deviceName' | 'deviceProfileName' | 'tags'> {
    const reg = this.deps.decode.registry().byEui.get(devEui);
    return { deviceName: reg?.name || devEui, deviceProfileName: reg?.model ?? '', tags: { ...(reg?.tags ?? {}) } };
  }

  /** Re-reads the keys file (SIGHUP): new ABP devices get sessions, OTAA devices may join. */
  reloadKeys(): void {
    this.keys = indexKeys(readDeviceKeysFile(this.config.keys_file).devices);
    this.ns?.syncAbp();
  }

  /**
   * Opens the inbox journal (when on and the log can say its next id, S6 of session-store.ts)
   * and returns the network server's hooks into it.
   */
  private async openInbox(): Promise<InboxHooks | undefined> {
    const nextId = this.deps.log.nextId;
    if (this.config.inbox === false || !nextId) return undefined;
    const inbox = await UdpInbox.open({ dir: join(this.config.state_dir, 'inbox'), fsync_interval_ms: this.config.inbox_fsync_interval_ms ?? 5 }, this.im, (err) =>
      this.deps.logger.error({ err: err.message }, 'inbox journal cursor not written (retried; entries after it are processed again at the next start)'),
    );
    this.inbox = inbox;
    const st = inbox.stats();
    if (st.corrupt_records || st.truncated_bytes) this.deps.logger.warn({ corrupt_records: st.corrupt_records, truncated_bytes: st.truncated_bytes }, 'inbox journal recovered from damage');
    if (inbox.replayDropped) this.deps.logger.error({ dropped: inbox.replayDropped }, 'inbox journal: more entries after the cursor than max_replay; the oldest are not processed again');
    const storedBelowLogId = nextId();
    return {
      done: (ids) => inbox.done(ids),
      nextLogId: nextId,
      storedBelowLogId,
      cursor: () => inbox.committedCursor,
      recovered: (outcome) => this.im.recovered.inc({ outcome }),
    };
  }

  /**
   * Starts the intake worker (udp-intake-worker.ts): it opens the journal (when on) and hands
   * over its replay while the network server is built — synchronously after this returns, so no
   * message is read before the network server exists. Returns the network server's hooks.
   */
  private startIntake(listen: NonNullable<ReturnType<typeof parseListen>>): InboxHooks | undefined {
    const nextId = this.deps.log.nextId;
    const journal = this.config.inbox !== false && nextId !== undefined;
    const intake = new UdpIntakeThread(
      {
        host: listen.host,
        port: listen.port,
        family: listen.family,
        gateways: this.allowed ? [...this.allowed] : [],
        max_datagram_bytes: this.config.max_datagram_bytes,
        inbox: journal ? { dir: join(this.config.state_dir, 'inbox'), fsync_interval_ms: this.config.inbox_fsync_interval_ms ?? 5 } : null,
        recv_buffer_bytes: RECV_BUFFER_BYTES,
        backlog_bytes: this.config.intake_backlog_bytes ?? INTAKE_BACKLOG_BYTES,
      },
      {
        entry: (gw, rxpks, receivedAt, entry, replayed) => {
          for (const rx of rxpks) this.ns?.receive(gw, rx, receivedAt, entry, replayed);
        },
        reject: (r) => this.reject(r.reason, r.detail, r.payload),
        stat: (gw, stat) => this.onStat(gw, stat),
        pulled: (gw, at, route) => {
          this.routes.set(gw, route);
          this.ns?.gatewayPulled(gw, at);
        },
        txAck: (gw, token, error) => this.ns?.txAck(gw, token, error),
        log: (level, obj, msg) => this.deps.logger[level](obj, msg),
        tallies: (t, commitSeconds) => {
          if (t) {
            for (const type in t.datagrams) this.m.datagrams.inc({ type }, t.datagrams[type]);
            for (const gateway in t.lastSeen) this.m.gatewayLastSeen.set({ gateway }, t.lastSeen[gateway] as number);
            if (t.resends) this.im.resends.inc({ state: 'known' }, t.resends);
            if (t.entries) this.im.entries.inc(t.entries);
            if (t.replayed) this.im.replayed.inc(t.replayed);
            if (t.overloaded) this.countShed(t.overloaded, t.overloadedGateway ?? '', performance.now());
          }
          if (commitSeconds) for (let i = 0; i < commitSeconds.length; i++) this.im.commitSeconds.observe(commitSeconds[i] as number);
        },
        socketError: (message) => {
          this.state = { state: 'degraded', detail: message };
          this.deps.logger.error({ err: message }, 'UDP socket error');
        },
        // The worker sheds while this is true (its PUSH_DATA are journaled and acknowledged there).
        overloaded: () => this.overBudget(0),
        died: (reason) => {
          this.state = { state: 'failed', detail: `UDP intake worker: ${reason}` };
          this.deps.logger.error({ reason }, 'UDP intake worker died: no datagrams are read or acknowledged (restart the gateway)');
          this.deps.onFatal?.(`source ${this.name}: UDP intake worker ${reason}`);
        },
      },
    );
    this.intake = intake;
    if (!journal || !nextId) return undefined;
    return {
      done: (ids) => intake.done(ids),
      nextLogId: nextId,
      storedBelowLogId: nextId(),
      cursor: () => intake.cursor,
      recovered: (outcome) => this.im.recovered.inc({ outcome }),
    };
  }

  /** The journal open and its replay through the network server (N4), then the worker's socket. */
  private async listenIntake(intake: UdpIntakeThread): Promise<void> {
    const o = await intake.opened;
    if (o.corrupt_records || o.truncated_bytes) this.deps.logger.warn({ corrupt_records: o.corrupt_records, truncated_bytes: o.truncated_bytes }, 'inbox journal recovered from damage');
    if (o.replayDropped) this.deps.logger.error({ dropped: o.replayDropped }, 'inbox journal: more entries after the cursor than max_replay; the oldest are not processed again');
    if (o.replayEntries) this.deps.logger.warn({ entries: o.replayEntries, rxpks: o.replayRxpks, dropped: o.replayDropped }, 'inbox journal: entries after the cursor processed again (a crash or kill before they were done)');
    await intake.listen();
  }

  /** N4 of udp-inbox.ts: the entries after the cursor go through the network server again. */
  private replayInbox(): void {
    const inbox = this.inbox;
    const ns = this.ns;
    if (!inbox || !ns) return;
    const entries = inbox.takeReplay();
    const nowWall = Date.now();
    const nowMono = performance.now();
    let rxpks = 0;
    for (const { id, entry } of entries) {
      const decoded = decodeUdpPacket(entry.datagram);
      const good = decoded.ok && decoded.packet.type === 'PUSH_DATA' ? decoded.packet.rxpk.filter((rx) => rx.stat === 1) : [];
      // Tracked before the network server sees them: it may be done with one at once.
      inbox.track(id, good.length);
      rxpks += good.length;
      if (!decoded.ok || decoded.packet.type !== 'PUSH_DATA') continue;
      // The receive windows count from the first arrival, not from now.
      const receivedAt = nowMono - Math.max(0, nowWall - entry.receivedAt);
      for (const rx of good) ns.receive(decoded.packet.gatewayEui, rx, receivedAt, id, true);
    }
    if (entries.length) this.deps.logger.warn({ entries: entries.length, rxpks, dropped: inbox.replayDropped }, 'inbox journal: entries after the cursor processed again (a crash or kill before they were done)');
  }

  private async append(records: PipelineRecord[], onRefused?: (indices: number[]) => void, urgent = false, onPlaced?: (first: number, firstId: number, count: number) => void): Promise<void> {
    const started = process.hrtime.bigint();
    const outcome = this.deps.log.append(records, onPlaced);
    // Before flushSoon: the network server corrects its S6 marks before the flush can write (batch-log-ids.ts).
    onRefused?.(outcome.rejected.map((r) => r.index));
    if (urgent) this.deps.log.flushSoon?.();
    // A record the log cannot store (too deep, too large, not encodable) is rejected alone and
    // kept in the rejects file; the others of the batch are stored.
    const refused = new Set<number>();
    for (const r of outcome.rejected) {
      refused.add(r.index);
      const reason = STORE_REJECT_REASON[r.code] ?? 'unstorable';
      this.deps.metrics.uplinksRejected.inc({ reason });
      const rec = records[r.index];
      this.deps.rejects.write({ source: this.name, reason, detail: r.message, ...(rec?.kind === 'up' ? { payload: rec.payload } : {}) });
      this.deps.logger.warn({ reason, detail: r.message }, 'record cannot be stored; kept in the rejects file');
    }
    await outcome.durable;
    this.deps.metrics.appendLatency.observe(Number(process.hrtime.bigint() - started) / 1e9);
    let up = 0;
    for (let i = 0; i < records.length; i++) {
      const r = records[i] as PipelineRecord;
      if (refused.size && refused.has(i)) continue;
      this.eventsOf.get(r.kind).inc();
      if (r.kind !== 'up') continue;
      up++;
      const n = r.decoded?.readings.length ?? 0;
      if (n > 0) this.readingsOf.get(r.device.category ?? 'generic').inc(n);
      else this.undecodedOf.get(r.fPort === 0 || r.payload.length === 0 ? 'no_payload' : r.decoded ? 'codec_error' : 'unknown_device').inc();
    }
    if (up) this.deps.metrics.uplinksReceived.inc({ source: this.name }, up);
  }

  private keep(reason: string, detail: string, payload?: Uint8Array): void {
    if (payload) this.deps.rejects.write({ source: this.name, reason, detail, payload });
  }

  private reject(reason: string, detail: string, payload?: Uint8Array): void {
    this.m.rejected.inc({ reason });
    this.keep(reason, detail, payload);
  }

  private onDatagram(msg: Buffer, from: RemoteInfo): void {
    const receivedAt = performance.now();
    if (msg.length > this.config.max_datagram_bytes) return this.reject('oversized', `${msg.length} bytes > max_datagram_bytes ${this.config.max_datagram_bytes} from ${from.address}`, msg.subarray(0, 1024));
    const decoded = decodeUdpPacket(msg);
    if (!decoded.ok) return this.reject(UDP_REASON[decoded.error.code], `${decoded.error.message} (from ${from.address}:${from.port})`, msg);
    const p = decoded.packet;
    this.datagramsOf.get(p.type).inc();
    if ((p.type === 'PUSH_DATA' || p.type === 'PULL_DATA' || p.type === 'TX_ACK') && this.allowed && !this.allowed.has(p.gatewayEui)) {
      return this.reject('unknown_gateway', `gateway ${p.gatewayEui} is not in the gateways allow-list`, msg);
    }
    switch (p.type) {
      case 'PUSH_DATA': {
        this.lastSeenOf.get(p.gatewayEui).set(Math.floor(Date.now() / 1000));
        const inbox = this.inbox;
        if (!inbox) {
          if (this.shed(p, receivedAt)) return;
          this.pushAck(p, from);
          return this.onPushData(p, msg, receivedAt);
        }
        // N5: the forwarder sent it again (our PUSH_ACK was late or lost): one entry, ACKed again.
        const first = inbox.resent(p.gatewayEui, msg);
        if (first) {
          this.im.resends.inc({ state: 'known' });
          first.then(
            () => this.pushAck(p, from),
            () => undefined,
          );
          return;
        }
        if (this.shed(p, receivedAt)) return;
        // N1/N2: PUSH_ACK and processing once the entry is durable.
        const durable = inbox.append(p.gatewayEui, msg);
        if (p.rxpk.some(awaitsAnswer)) inbox.flushSoon();
        this.journaling += p.rxpk.length;
        durable.then(
          (id) => {
            this.journaling -= p.rxpk.length;
            this.pushAck(p, from);
            this.onPushData(p, msg, receivedAt, id);
          },
          (err: unknown) => {
            this.journaling -= p.rxpk.length;
            this.reject('inbox_error', `gateway ${p.gatewayEui}: not journaled, not acknowledged: ${(err as Error).message}`);
            this.deps.logger.error({ err: (err as Error).message, gateway: p.gatewayEui }, 'inbox journal refused a datagram: no PUSH_ACK (a resending forwarder sends it again)');
          },
        );
        return;
      }
      case 'PULL_DATA':
        this.routes.set(p.gatewayEui, { address: from.address, port: from.port, version: p.version });
        this.ns?.gatewayPulled(p.gatewayEui, receivedAt);
        this.m.gatewayLastSeen.set({ gateway: p.gatewayEui }, Math.floor(Date.now() / 1000));
        this.send(encodeUdpPacket({ type: 'PULL_ACK', version: p.version, token: p.token }), from.port, from.address);
        return;
      case 'TX_ACK': {
        const o = txAckOutcome(p);
        this.ns?.txAck(p.gatewayEui, p.token, o.ok ? undefined : o.error);
        return;
      }
      default:
        return this.reject('unexpected_datagram', `${p.type} is sent by servers, not gateways (from ${from.address}:${from.port})`, msg);
    }
  }

  /**
   * overload.ts: when the read-but-unfinished work (inbox group commit, dedup windows, batches
   * until durable) would pass IN_FLIGHT_BUDGET_BYTES, the PUSH_DATA is dropped before it is
   * journaled or acknowledged — every rxpk counted as `overloaded`, a warning at most every 10 s
   * — so nothing acknowledged is lost and a forwarder that resends un-ACKed datagrams sends it
   * again. Not kept in the rejects file: nothing is wrong with it, and writing it would add work
   * where there is too much already.
   */
  private shed(p: PushData, now: number): boolean {
    if (!this.overBudget(this.journaling + p.rxpk.length)) return false;
    this.countShed(p.rxpk.length + p.rejected.length, p.gatewayEui, now);
    return true;
  }

  /**
   * The network server's read-but-unfinished work, with `receptions` more, is over the budget
   * and the heap is filling (overload.ts). With the intake worker it is asked once per slice of
   * entries run through the network server (udp-intake-client.ts) and the worker sheds while it
   * holds: there the worker journals and acknowledges, so the shedding has to happen there.
   */
  private overBudget(receptions: number): boolean {
    const ns = this.ns;
    if (!ns || ns.inFlightBytes + inFlightBytes(receptions, 0) <= IN_FLIGHT_BUDGET_BYTES) return false;
    // Past the estimate, shed only while the heap is really filling: the estimate is deliberately
    // high (bytes per uplink waiting for the log were measured before batches let go of their
    // frames), and on its own it shed 6,458 of 80,000 uplinks of 50 forwarders at 10,000/s on a
    // quiet machine whose main thread had room. The used heap counts garbage not yet collected, so
    // this errs towards shedding; it is read only here, over the estimate.
    const heap = getHeapStatistics();
    return heap.used_heap_size >= HEAP_SHED_FRACTION * heap.heap_size_limit;
  }

  /** `n` rxpk shed (`overloaded`, here or by the intake worker): counted, a warning at most every 10 s. */
  private countShed(n: number, gateway: string, now: number): void {
    this.m.rejected.inc({ reason: 'overloaded' }, n);
    this.shedSinceLog += n;
    if (now - this.shedLoggedAt >= 10_000) {
      this.deps.logger.warn({ rxpk: this.shedSinceLog, gateway, budgetBytes: IN_FLIGHT_BUDGET_BYTES }, 'network server behind: PUSH_DATA dropped unacknowledged (overloaded; a resending forwarder sends them again)');
      this.shedSinceLog = 0;
      this.shedLoggedAt = now;
    }
  }

  /** PUSH_ACK of a PUSH_DATA (a method, not a closure per datagram). */
  private pushAck(p: PushData, from: RemoteInfo): void {
    this.send(encodeUdpPacket({ type: 'PUSH_ACK', version: p.version, token: p.token }), from.port, from.address);
  }

  /** A PUSH_DATA's content (acknowledged already): rejects, `stat`, each good rxpk to the network server. */
  private onPushData(p: PushData, msg: Buffer, receivedAt: number, entry?: number): void {
    for (const r of p.rejected) this.reject(r.error.code === 'bad-field' && /\.data$/.test(r.error.field ?? '') ? 'bad_base64' : UDP_REASON[r.error.code], `gateway ${p.gatewayEui}: ${r.error.message}`, msg);
    if (p.stat) this.onStat(p.gatewayEui, p.stat);
    // Tracked before the network server sees them: it may be done with one at once (a duplicate).
    if (entry !== undefined) this.inbox?.track(entry, p.rxpk.reduce((n, rx) => n + (rx.stat === 1 ? 1 : 0), 0));
    for (const rx of p.rxpk) {
      if (rx.stat !== 1) {
        this.reject('crc_error', `gateway ${p.gatewayEui}: rxpk stat ${rx.stat} (CRC ${rx.stat === -1 ? 'bad' : 'absent'})`, rx.data);
        continue;
      }
      this.ns?.receive(p.gatewayEui, rx, receivedAt, entry);
    }
  }

  private onStat(gateway: string, stat: Stat): void {
    this.gatewayStatus.set(gateway, { ...stat, at: Date.now() });
    // Through the durable log like every record: the gateway_status measurement and the store.
    void this.append([gatewayStatusRecord(this.name, gateway, stat, Date.now())]).catch((err: unknown) => this.deps.logger.warn({ err: (err as Error).message, gateway }, 'gateway stat not stored'));
    if (stat.rxnb !== undefined) this.m.gatewayRx.set({ gateway }, stat.rxnb);
    if (stat.rxok !== undefined) this.m.gatewayRxOk.set({ gateway }, stat.rxok);
    if (stat.txnb !== undefined) this.m.gatewayTx.set({ gateway }, stat.txnb);
    if (stat.ackr !== undefined) this.m.gatewayAckRatio.set({ gateway }, stat.ackr);
  }

  private transmit(gatewayEui: string, txpk: Txpk): number | undefined {
    const route = this.routes.get(gatewayEui);
    if (!route || !(this.socket || (this.intake && !this.intake.dead && this.intake.address()))) return undefined;
    this.token = (this.token + 1) & 0xffff;
    this.send(encodeUdpPacket({ type: 'PULL_RESP', version: route.version, token: this.token, txpk }), route.port, route.address);
    return this.token;
  }

  private send(buf: Buffer, port: number, address: string): void {
    if (this.intake) return this.intake.send(buf, port, address);
    this.socket?.send(buf, port, address, (err) => {
      if (err) this.deps.logger.warn({ err: err.message, to: `${address}:${port}` }, 'UDP send failed');
    });
  }

  async stop(): Promise<void> {
    const socket = this.socket;
    this.socket = undefined;
    if (socket) await new Promise<void>((resolve) => socket.close(() => resolve()));
    // The worker's socket; the entries it was still writing reach the network server first.
    const intake = this.intake;
    if (intake && !intake.dead) await intake.stopSocket().catch((err: unknown) => this.deps.logger.error({ err: (err as Error).message }, 'UDP intake worker: socket not closed on stop'));
    // What is in the dedup window is processed and committed, not dropped.
    await this.ns?.flush().catch((err: unknown) => this.deps.logger.error({ err: (err as Error).message }, 'network server flush on stop failed'));
    const cursor = intake ? (intake.dead ? undefined : intake.flushCursor()) : this.inbox?.flushCursor();
    await cursor?.catch((err: unknown) => this.deps.logger.error({ err: (err as Error).message }, 'inbox journal cursor not written on stop'));
    this.stopped = true;
    this.state = { state: 'stopped' };
  }

  async close(): Promise<void> {
    if (!this.stopped && (this.socket || this.intake?.address())) await this.stop();
    this.unwatchDrops?.();
    this.ns?.close();
    await this.inbox?.close().catch((err: unknown) => this.deps.logger.error({ err: (err as Error).message }, 'inbox journal close failed'));
    this.inbox = undefined;
    await this.intake?.close();
    this.store?.close();
    this.state = { state: 'stopped' };
  }
}

/** A confirmed data uplink or a join-request (MHDR): its answer's receive window is running. */
/** Share of V8's heap limit in use past which an over-budget PUSH_DATA is shed (overload.ts). */
const HEAP_SHED_FRACTION = 0.7;

function awaitsAnswer(rx: { stat: number; data: Uint8Array }): boolean {
  const mType = (rx.data[0] ?? 0xff) >> 5;
  return rx.stat === 1 && (mType === 4 || mType === 0);
}
