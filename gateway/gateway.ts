/**
 * `createGateway(config)` builds the whole daemon without touching the network or the disk;
 * `start()` brings it up in order — durable log, `semtech_udp` sources (a packet forwarder is
 * answered before the sinks read their backlog), sinks, MQTT sources, HTTP — and `stop()` takes it
 * down in reverse: sources stop taking messages (and ack what is durable), sinks drain, the log
 * flushes and closes. A stop never loses an acknowledged record: what a sink did not confirm
 * stays in the log for the next start.
 */
import { getHeapStatistics } from 'node:v8';
import pino, { type Logger } from 'pino';
import type { Codec } from '../codecs/api.ts';
import { nativeCodec } from '../codecs/registry.ts';
import { loadCatalogue, type Catalogue, type DeviceEntry } from '../devices/catalogue.ts';
import { resolveCodec } from '../devices/resolve.ts';
import { DurableLog } from './buffer/index.ts';
import type { GatewayConfig } from './config.ts';
import { HttpEndpoint } from './http/server.ts';
import { makeFolders } from './make-folders.ts';
import { createMetrics, type GatewayMetrics } from './metrics.ts';
import type { ComponentHealth, RecordSink } from './pipeline/contracts.ts';
import type { DecodeContext } from './pipeline/decode.ts';
import type { PipelineRecord } from './pipeline/record.ts';
import { RECORD_WIRE } from './pipeline/record-wire.ts';
import { SinkRunner } from './pipeline/sink-runner.ts';
import { loadRegistry, type DeviceRegistry } from './registry/devices-file.ts';
import { RejectsFile } from './rejects.ts';
import { chirpstackPoints } from './schema/chirpstack.ts';
import { nativeLines, nativePoints } from './schema/native.ts';
import { FileWriter, InfluxWriter } from './sinks/writers.ts';
import { ChirpstackMqttSource } from './sources/chirpstack-mqtt.ts';
import { createWebSide, type WebSide } from './web/index.ts';
import { createFloodJob, createPlannerJob } from './planner/index.ts';
import { SemtechUdpSource } from './sources/semtech-udp.ts';
import { MqttSink } from './sinks/mqtt/mqtt-sink.ts';

/** Keys whose values are secrets: pino replaces them wherever they appear in a log object. */
export const REDACT_PATHS = ['password', 'token', '*.password', '*.token', '*.*.password', '*.*.token', 'appKey', '*.appKey', 'nwkSKey', 'appSKey'];

export interface GatewayOptions {
  /** Log destination (default stdout); tests pass a stream to inspect. */
  logStream?: NodeJS.WritableStream;
  now?: () => number;
  /**
   * The catalogue and registry a preflight (`preflight.ts`) has just read: used instead of
   * reading them again (the registry only by the first start; SIGHUP reads the file).
   */
  preloaded?: { catalogue: Catalogue; registry?: DeviceRegistry };
  /**
   * A part died that the running process cannot bring back (a `semtech_udp` source's intake
   * worker: no datagram is read or acknowledged any more). The CLI stops and exits 70 so systemd
   * restarts it (the inbox journal hands over what was acknowledged); without it the component
   * stays `failed` in /healthz.
   */
  onFatal?: (message: string) => void;
}

export interface Gateway {
  readonly config: GatewayConfig;
  readonly metrics: GatewayMetrics;
  readonly logger: Logger;
  start(): Promise<void>;
  stop(options?: { deadlineMs?: number }): Promise<void>;
  health(): Record<string, ComponentHealth & { kind: string }>;
  /** host:port of the HTTP endpoint once started (port 0 in the config picks a free one). */
  httpAddress(): { host: string; port: number } | undefined;
  /**
   * Re-reads the device registry file (SIGHUP) and loads the script codecs its models need
   * before the new registry takes effect. Rejects (keeping the previous registry) when the file
   * is invalid.
   */
  reloadRegistry(): Promise<void>;
  readonly log: DurableLog<PipelineRecord>;
  readonly sinks: readonly SinkRunner[];
  readonly sources: readonly ChirpstackMqttSource[];
  /** the local store (sink `local`) and the pages; undefined with web.store.enabled: false */
  readonly web: WebSide | undefined;
  /** `semtech_udp` sources (edge network server) */
  readonly udpSources: readonly SemtechUdpSource[];
  /** `mqtt` sinks (ChirpStack v4 events) */
  readonly mqttSinks: readonly MqttSink[];
}

/**
 * Whether the heap limit leaves room for a registry of `devices`: the gateway's live data is
 * ~15 MB idle and ~50 MB at full load, plus ~0.6 KB per registered device (measured with the
 * bench fleet); below 1.5 × that, V8 would spend its time collecting or run out of heap.
 */
export function heapAdvice(devices: number, heapLimitBytes: number): { devices: number; heapLimitMb: number; suggestedMb: number } | undefined {
  const needMb = 50 + (devices * 0.6) / 1024;
  const limitMb = heapLimitBytes / 1048576;
  if (limitMb >= needMb * 1.5) return undefined;
  return { devices, heapLimitMb: Math.round(limitMb), suggestedMb: Math.ceil((needMb * 2) / 32) * 32 };
}

/** One log line per thing the durable log's recovery found, saying what it means. */
function logRecoveryNotes(logger: Logger, notes: ReturnType<DurableLog<PipelineRecord>['recoveryNotes']>): void {
  for (const n of notes) {
    if (n.kind === 'cursor_reset') {
      logger.warn(n, `durable log: the cursor of sink "${n.sink}" could not be read (${n.reason}); that sink re-delivers from the oldest retained record (the safest position: nothing is lost, InfluxDB overwrites the repeats); the file is kept as ${n.file}.corrupt`);
    } else if (n.kind === 'torn_tail') {
      logger.warn(n, `durable log: cut a torn tail of ${n.bytes} bytes off ${n.segment}: a write interrupted by a crash, never acknowledged (the broker redelivers it)`);
    } else {
      logger.error(n, `durable log: ${n.records} acknowledged record(s) (ids ${n.found_last_id + 1}..${n.synced_last_id}) are missing from ${n.segment}: they had been fsynced, so the storage lost them (a failing SD card, or the file was cut by something else)`);
    }
  }
}

export function createGateway(config: GatewayConfig, options: GatewayOptions = {}): Gateway {
  const logger = pino(
    { level: config.log.level, base: { gateway: config.name }, redact: { paths: REDACT_PATHS, censor: '[redacted]' } },
    (options.logStream ?? process.stdout) as pino.DestinationStream,
  );
  const metrics = createMetrics();
  const now = options.now ?? Date.now;

  const catalogue = options.preloaded?.catalogue ?? loadCatalogue();
  let preloadedRegistry = options.preloaded?.registry;
  const codecs = new Map<string, { entry: DeviceEntry; codec: Codec }>();
  for (const entry of catalogue.devices) {
    const codec = typeof entry.codec === 'string' ? nativeCodec(entry.codec) : undefined;
    if (codec) codecs.set(entry.id, { entry, codec });
  }
  // Script codecs (vendor JavaScript in the QuickJS sandbox) are loaded only for the models the
  // registry or a device-profile mapping uses: the sandbox worker alone is ~22 MB of RSS.
  const scriptLoads = new Map<string, Promise<void>>();
  let sandboxConfigured: Promise<void> | undefined;
  const configureSandbox = (entry: DeviceEntry): Promise<void> => {
    if (typeof entry.codec === 'string') return Promise.resolve();
    sandboxConfigured ??= import('../codecs/sandbox/index.ts').then((m) => m.setSandboxMemoryBudget(config.sandbox.memory_budget_mb * 1024 * 1024));
    return sandboxConfigured;
  };
  const ensureCodecs = async (models: Iterable<string>): Promise<void> => {
    const loads: Promise<void>[] = [];
    for (const id of new Set(models)) {
      const entry = catalogue.byId.get(id);
      if (!entry || codecs.has(id)) continue;
      let load = scriptLoads.get(id);
      if (!load) {
        load = configureSandbox(entry).then(() => resolveCodec(entry)).then(
          (codec) => void codecs.set(id, { entry, codec }),
          (err: unknown) => logger.warn({ model: id, err: (err as Error).message }, 'catalogue codec not loaded; its devices stay undecoded'),
        );
        scriptLoads.set(id, load);
      }
      loads.push(load);
    }
    await Promise.all(loads);
  };
  const profileModels = [...config.sources, ...config.udp_sources].flatMap((s) => Object.values(s.device_profiles));

  let registry: DeviceRegistry = { devices: [], byEui: new Map() };
  const reloadRegistry = async (): Promise<void> => {
    if (!config.registry.devices_file) return;
    // A configured file that does not exist is an error, not "devices: 0".
    const next = preloadedRegistry ?? loadRegistry(config.registry.devices_file, catalogue, { mustExist: true, mode: 'read' });
    preloadedRegistry = undefined;
    for (const w of next.warnings ?? []) logger.warn({ file: config.registry.devices_file, where: w.where, line: w.line }, `device registry: ${w.message}`);
    await ensureCodecs(next.devices.map((d) => d.model));
    registry = next;
    web?.setRegistry(registry);
    logger.info({ devices: registry.devices.length, file: config.registry.devices_file }, 'device registry loaded');
    const heap = heapAdvice(registry.devices.length, getHeapStatistics().heap_size_limit);
    if (heap) logger.warn(heap, 'the V8 heap limit is tight for this registry; raise node --max-old-space-size');
  };

  const log = new DurableLog<PipelineRecord>(config.buffer, { wire: RECORD_WIRE });
  const rejects = new RejectsFile(config.rejects.file, config.rejects.max_bytes, config.rejects.max_entry_bytes);
  const sinkLogger = (name: string): { info(m: string, d?: object): void; warn(m: string, d?: object): void; error(m: string, d?: object): void } => {
    const child = logger.child({ sink: name });
    return { info: (m, d) => child.info(d ?? {}, m), warn: (m, d) => child.warn(d ?? {}, m), error: (m, d) => child.error(d ?? {}, m) };
  };

  const sinks = config.sinks.map((s) => {
    const toPoints = s.schema === 'chirpstack' ? (r: PipelineRecord) => chirpstackPoints(r) : nativePoints;
    const writer =
      s.type === 'influxdb'
        ? (() => {
            const { type: _t, name: _n, schema: _s, ...influx } = s;
            return new InfluxWriter(s.name, influx, sinkLogger(s.name), metrics);
          })()
        : new FileWriter({ dir: s.dir, rotate_bytes: s.rotate_bytes, keep_files: s.keep_files });
    return new SinkRunner({
      name: s.name,
      type: s.type,
      log,
      writer,
      toPoints,
      // The native schema also writes its lines without Point objects (the InfluxDB writer
      // takes them; the file sink keeps the Point path).
      toLines: s.schema === 'chirpstack' ? undefined : nativeLines,
      metrics,
      onError: (err) => logger.warn({ sink: s.name, err: err.message }, 'sink gave up on a batch; it will be delivered again'),
      onRecordSkipped: (id, err) => logger.error({ sink: s.name, id, err: err.message }, 'the schema cannot map this record: left out for this sink (still in the log)'),
    });
  });

  // The bin_state job (gateway/planner/): analytics over the local store, to it and to InfluxDB.
  const planner = createPlannerJob(config, logger, metrics, now);
  // The river_alarm job (flood watch): river stations' levels → store alarms and InfluxDB.
  const flood = createFloodJob(config, logger, metrics, now);
  const web = createWebSide({ config, log, metrics, logger, now, catalogue: (id) => catalogue.byId.get(id), health: () => health() });

  const decode: DecodeContext = {
    registry: () => registry,
    catalogue: (id) => codecs.get(id),
    deviceProfiles: {},
    now,
    keepCodecData: config.sinks.some((s) => s.schema === 'chirpstack') || config.mqtt_sinks.length > 0,
  };
  // Every source appends through the log's per-record path: a record that cannot be stored is
  // rejected alone, never with its batch.
  const recordSink: RecordSink & { nextId: () => number } = {
    append: (records, onPlaced) => {
      const r = log.appendEach(records, onPlaced);
      return { rejected: r.rejected.map((x) => ({ index: x.index, code: x.error.code, message: x.error.message })), durable: r.durable.then(() => undefined) };
    },
    // The semtech_udp source's inbox journal notes which log id each record gets (S6, gateway/ns/session-store.ts).
    nextId: () => log.nextId,
    // The edge network server's ACKs and join-accepts wait on the log's fsync inside a receive window.
    flushSoon: () => log.flushSoon(),
  };
  const sources = config.sources.map(
    (s) =>
      new ChirpstackMqttSource(s, {
        log: recordSink,
        decode: { ...decode, deviceProfiles: s.device_profiles },
        metrics,
        rejects,
        logger: logger.child({ source: s.name }),
      }),
  );

  const udpSources = config.udp_sources.map(
    (s) =>
      new SemtechUdpSource(s, {
        log: recordSink,
        decode,
        metrics,
        rejects,
        logger: logger.child({ source: s.name }),
        ...(options.onFatal ? { onFatal: options.onFatal } : {}),
      }),
  );
  const allSources = [...sources, ...udpSources];
  // MQTT downlink commands go to the first semtech_udp source's network server, taken by the
  // first mqtt sink only (two would queue each command twice and race for the outcome outbox).
  const mqttSinks = config.mqtt_sinks.map((s, i) => new MqttSink(s, log, logger.child({ sink: s.name }), i === 0 ? udpSources[0] : undefined));

  let http: HttpEndpoint | undefined;
  let statsTimer: NodeJS.Timeout | undefined;
  let logState: ComponentHealth = { state: 'built' };

  const health = (): Record<string, ComponentHealth & { kind: string }> => {
    const stall = logState.state === 'running' ? log.writeStall() : undefined;
    const bufferHealth: ComponentHealth = stall ? { state: 'degraded', detail: `${stall.reason}; retrying (when_full: ${log.config.when_full})` } : logState;
    const out: Record<string, ComponentHealth & { kind: string }> = { buffer: { kind: 'buffer', ...bufferHealth } };
    for (const s of allSources) out[`source:${s.name}`] = { kind: s.type, ...s.health() };
    for (const s of [...sinks, ...mqttSinks]) out[`sink:${s.name}`] = { kind: s.type, ...s.health() };
    if (web) out[`sink:${web.sink.name}`] = { kind: web.sink.type, ...web.sink.health() };
    return out;
  };

  const updateStats = (): void => {
    if (!log.isOpen) return;
    const st = log.stats();
    metrics.bufferRecords.set(Math.max(0, ...Object.values(st.sinks).map((x) => x.lag), 0));
    metrics.bufferBytes.set(st.bytes);
    metrics.bufferCorrupt.set(st.corrupt_records);
    metrics.bufferCursorResets.set(st.cursor_resets);
    metrics.bufferTornTailBytes.set(st.truncated_bytes);
    metrics.bufferLostAcknowledged.set(st.lost_acknowledged_records);
    metrics.bufferDiskFull.set(st.disk_full_since > 0 ? 1 : 0);
    metrics.bufferBlockedRecords.set(st.blocked_appends);
    metrics.rejectsDropped.set(rejects.dropped);
    for (const [name, s] of Object.entries(st.sinks)) {
      metrics.sinkLag.set({ sink: name }, s.lag);
      metrics.bufferDropped.set({ sink: name }, s.dropped_records);
    }
  };

  return {
    config,
    metrics,
    logger,
    log,
    sinks,
    sources,
    web,
    udpSources,
    mqttSinks,
    health,
    reloadRegistry,
    httpAddress: () => http?.address(),
    async start() {
      makeFolders(config.data_dir); // not mkdirSync's recursive: it spins forever on /proc/x
      await reloadRegistry();
      await ensureCodecs(profileModels);
      logState = { state: 'starting' };
      await log.open();
      logState = { state: 'running' };
      const st = log.stats();
      if (st.corrupt_records || st.truncated_bytes || st.lost_acknowledged_records) {
        logger.warn({ corrupt_records: st.corrupt_records, truncated_bytes: st.truncated_bytes, lost_acknowledged_records: st.lost_acknowledged_records }, 'durable log recovered from damage');
      }
      logRecoveryNotes(logger, log.recoveryNotes());
      // A cursor whose sink is no longer configured (renamed or removed, or a replay that
      // crashed) would hold every segment from its position on: the log would fill up and, with
      // when_full: block, stop ingestion. Such cursors are removed, loudly.
      const configured = new Set([...[...config.sinks, ...config.mqtt_sinks].map((s) => s.name), ...(web ? [web.sink.name] : [])]);
      for (const name of log.sinks) {
        if (configured.has(name)) continue;
        logger.warn({ sink: name, lag: st.sinks[name]?.lag ?? 0 }, 'durable log: removing the cursor of a sink that is not configured any more; its unsent records are released');
        await log.removeSink(name);
      }
      logger.info({ dir: config.buffer.dir, records: st.records, sinks: Object.keys(log.stats().sinks) }, 'durable log open');
      // The semtech_udp sources first (their inbox journals PUSH_ACK from then on): a stock packet
      // forwarder loses what it sends while nobody answers, a resending one gives up after ~12 s,
      // and the sinks' backlog and the local store can wait. They only append to the log (open
      // now); a sink's cursor holds every record from its position on, whenever it starts.
      for (const s of udpSources) await s.start();
      await web?.sink.start();
      await planner?.start();
      await flood?.start();
      for (const s of sinks) await s.start();
      for (const s of mqttSinks) await s.start();
      for (const s of sources) await s.start();
      if (config.http.listen !== false) {
        const handle = web?.handler ? web.handler.handle.bind(web.handler) : undefined;
        http = new HttpEndpoint({ listen: config.http.listen, gateway: config.name, registry: metrics.registry, health, ...(handle ? { handle } : {}) });
        await http.start();
        logger.info({ listen: http.address() }, 'HTTP endpoint up (/healthz, /metrics)');
      }
      updateStats();
      statsTimer = setInterval(updateStats, 1000);
      statsTimer.unref();
      logger.info({ sources: sources.map((s) => s.name), sinks: sinks.map((s) => s.name) }, 'gateway started');
    },
    async stop(opts = {}) {
      const deadline = opts.deadlineMs ?? Date.now() + 15_000;
      logger.info({}, 'gateway stopping: sources first, then sinks drain, then the log closes');
      for (const s of [...allSources].reverse()) await s.stop(deadline).catch((err: unknown) => logger.error({ err: (err as Error).message }, 'source stop failed'));
      for (const s of [...sinks, ...mqttSinks].reverse()) await s.stop(deadline).catch((err: unknown) => logger.error({ err: (err as Error).message }, 'sink stop failed'));
      web?.handler?.closeAll();
      await planner?.stop().catch((err: unknown) => logger.error({ err: (err as Error).message }, 'bin_state job stop failed'));
      await flood?.stop().catch((err: unknown) => logger.error({ err: (err as Error).message }, 'river_alarm job stop failed'));
      await web?.sink.stop(deadline).catch((err: unknown) => logger.error({ err: (err as Error).message }, 'local store stop failed'));
      if (statsTimer) clearInterval(statsTimer);
      updateStats();
      for (const s of allSources) await s.close();
      for (const s of [...sinks, ...mqttSinks]) await s.close();
      await web?.sink.close();
      await log.close();
      logState = { state: 'stopped' };
      await rejects.close();
      await http?.close();
      logger.info({}, 'gateway stopped');
      logger.flush?.();
    },
  };
}
