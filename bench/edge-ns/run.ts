/**
 * bench/edge-ns — the edge network server under load, as deployed (the bundle, the systemd
 * unit's node flags), with 10,000 ABP sessions and 20 OTAA devices:
 *
 *   this process (virtual packet forwarder, pre-built frames) ─UDP─► gateway (child) ─► InfluxDB 1.6
 *
 * Phases (each at a fixed offered rate, for `--seconds`): every uplink is a new frame of one of
 * the 10,000 devices (payloads from the catalogue models' own encodeUplink). At each rate: what
 * the network server accepted (`lorawan_edge_ns_uplinks_total`), CPU µs per uplink of the
 * gateway process (from /proc), RSS. During the 2,000/s phase `--acks` (400) of the uplinks are
 * confirmed and `--joins` (200) join-requests are sent, each from its own OTAA device, both spread
 * evenly over the phase — enough that a p99 is not the maximum (it was with 20 joins): the time
 * from sending the PUSH_DATA to receiving the PULL_RESP
 * (ACK / join-accept) is measured, p50/p99, per receive window, with the ones that got no answer
 * (answer-times.ts) — it includes the kernel's receive buffer, the inbox journal, the dedup wait
 * (closed early once every connected forwarder reported the frame — at once with the one
 * forwarder of the default — or, for a frame that needs an answer, once the gateways that usually
 * hear its device reported it, at the latest at the 20 ms answer deadline), the batch commit (SQLite; at once for a batch
 * holding a frame that needs an answer) and, with `--inbox off` only, for ACKs and join-accepts the
 * durable log's fsync (asked for at once for their batch; `--log-fsync-ms` sets the group-commit
 * interval, default the gateway's 100 ms, that everything else waits for). The gateway's own
 * per-stage histograms are printed with it (gateway/ns/README.md, "Timing model").
 * The forwarder's tmst runs in real time (stamped at send), as the network server's window
 * judgement needs. Finally every accepted uplink is counted in InfluxDB.
 *
 * The forwarders (forwarders.ts): by default one, every uplink its own PUSH_DATA, each frame heard
 * once — the worst case, comparable across sessions; `--gateways 50 --rxpk-per-datagram auto
 * --heard-by 2` is the deployment issue 10 describes (50 SX1302 gateways batching as lora_pkt_fwd
 * does, every frame heard twice). Per phase, the CPU of each thread of the gateway (threads.ts),
 * of influxd and of this process (the load generator shares the 2 cores).
 *
 *   node --import tsx bench/edge-ns/run.ts [--rates 2000,5000,10000] [--seconds 10] [--devices 10000] [--store on|off] [--inbox on|off] [--intake-thread on|off] [--log-fsync-ms 100] [--joins 200] [--acks 400] [--gateways 1] [--rxpk-per-datagram 1|N|auto] [--heard-by 1]
 */
import { abpKeys, abpSessions, benchKeyHex } from './abp-fleet.ts';
import { spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildDataFrame } from '../../lorawan/data-frame.ts';
import { buildJoinRequest } from '../../lorawan/join.ts';
import { decodeUdpPacket } from '../../lorawan/udp/codec.ts';
import { AnswerTimes, TMST_PLACEHOLDER, tmstOffset, type AnswerSummary } from './answer-times.ts';
import { pushDataFor } from './datagrams.ts';
import { describeModel, drive, gatewayEuiOf, hearingGateways, isWorstCase, parseForwarderModel, VirtualForwarder, type ForwarderCounts, type HeardCopy } from './forwarders.ts';
import { groupCpu, NODE_PLATFORM_THREADS, processCpuS, ThreadSampler, threadSchedstat, type GroupCpu } from './threads.ts';
import { gcSeconds, memoryLine } from './memory.ts';
import { histogramQuantile, patiently, rejectsByReason, scrapeLabelled, udpSocketState, untilSettled } from './measure.ts';
import { buildFleet, registryYaml } from '../gateway/fleet.ts';
import { buildBundle, deployedGateway, RssSampler, scrape, sleep, waitFor } from '../gateway/procs.ts';
import { writeDeviceKeysFile, type DeviceKeys } from '../../gateway/registry/keys-file.ts';
import { freePorts } from '../../support/free-port.ts';
import { startInfluxd } from '../../support/influxd.ts';

const { values } = parseArgs({ options: { rates: { type: 'string', default: '2000,5000,10000' }, seconds: { type: 'string', default: '10' }, devices: { type: 'string', default: '10000' }, 'answer-rate': { type: 'string', default: '2000' }, 'node-flags': { type: 'string', default: '' }, store: { type: 'string', default: 'on' }, 'gateway-output': { type: 'string', default: '' }, warmup: { type: 'string', default: '1' }, 'log-fsync-ms': { type: 'string', default: '' }, inbox: { type: 'string', default: 'on' }, gateways: { type: 'string', default: '1' }, 'rxpk-per-datagram': { type: 'string', default: '1' }, 'heard-by': { type: 'string', default: '1' }, 'intake-thread': { type: 'string', default: '' }, joins: { type: 'string', default: '200' }, acks: { type: 'string', default: '400' } } });
/** extra node flags after the unit's (later flags win), e.g. --node-flags='--max-old-space-size=256' */
const extraFlags = (values['node-flags'] as string).split(' ').filter(Boolean);
const rates = (values.rates as string).split(',').map(Number);
const seconds = Number(values.seconds);
const N = Number(values.devices);
const answerRate = Number(values['answer-rate']);
/** the local store (sink `local`, gateway/web) on (the default config) or off (`web.store.enabled: false`) */
const storeOn = values.store !== 'off';
/** the inbox journal (gateway/sources/udp-inbox.ts: PUSH_ACK once the datagram is durable) on (the default) or off (`inbox: false`) */
const inboxOn = values.inbox !== 'off';
/** the source's intake on a worker thread (`intake_thread`, gateway/sources/udp-intake-worker.ts): on, off, or '' for the config's default */
const intakeThread = values['intake-thread'] as string;
/** the virtual forwarders (forwarders.ts); the default is the worst case */
const model = (() => {
  try {
    return parseForwarderModel(values.gateways as string, values['rxpk-per-datagram'] as string, values['heard-by'] as string);
  } catch (err) {
    console.error((err as Error).message);
    process.exit(2);
  }
})();
/**
 * Join-requests and confirmed uplinks in the answer phase (`--answer-rate`), spread evenly over it.
 * Their p99 needs samples above it: with the 20 joins of sessions 7–8 the p99 was the maximum.
 * Each join-request comes from its own OTAA device, so every one is a first join (no session replaced).
 */
const OTAA_N = Number(values.joins);
const ACKS_N = Number(values.acks);
if (!Number.isInteger(OTAA_N) || OTAA_N < 0 || OTAA_N > 100_000 || !Number.isInteger(ACKS_N) || ACKS_N < 0) {
  console.error('--joins must be an integer 0–100000, --acks an integer ≥ 0');
  process.exit(2);
}

/** buffer.fsync_interval_ms of the gateway ('' = its default, 100 ms) */
const logFsyncMs = values['log-fsync-ms'] as string;

async function main(): Promise<void> {
  const loadBefore = loadavg().map((x) => x.toFixed(1)).join(' ');
  console.error('building the bundle …');
  buildBundle();
  const influx = await startInfluxd({ database: 'edge_ns' });
  const dir = mkdtempSync(join(tmpdir(), 'bench-edge-ns-'));
  runDir = dir;
  const fleet = buildFleet(N);
  const abp = abpSessions(fleet);
  const otaa = Array.from({ length: OTAA_N }, (_, i) => ({ devEui: (0x70b3d5e75e000000n + BigInt(i)).toString(16), joinEui: '70b3d57ed0000000', appKey: Buffer.from(benchKeyHex(i, 3), 'hex') }));
  const keys: DeviceKeys[] = [
    ...abpKeys(abp),
    ...otaa.map((d): DeviceKeys => ({ devEui: d.devEui, activation: 'OTAA', joinEui: d.joinEui, appKey: d.appKey.toString('hex') })),
  ];
  writeDeviceKeysFile(join(dir, 'keys.json'), keys);
  writeFileSync(join(dir, 'devices.yaml'), registryYaml(fleet));
  const [udpPort, httpPort] = (await freePorts(2)) as [number, number];
  writeFileSync(
    join(dir, 'gateway.yaml'),
    JSON.stringify({
      name: 'bench-ns',
      data_dir: './data',
      http: { listen: `127.0.0.1:${httpPort}` },
      log: { level: 'warn' },
      registry: { devices_file: 'devices.yaml' },
      ...(logFsyncMs ? { buffer: { fsync_interval_ms: Number(logFsyncMs) } } : {}),
      sources: [{ type: 'semtech_udp', name: 'udp', listen: `127.0.0.1:${udpPort}`, keys_file: 'keys.json', ...(inboxOn ? {} : { inbox: false }), ...(intakeThread ? { intake_thread: intakeThread === 'on' } : {}) }],
      sinks: [{ type: 'influxdb', name: 'influx', url: influx.url, database: 'edge_ns' }],
      ...(storeOn ? {} : { web: { enabled: false, store: { enabled: false } } }),
    }),
  );
  const deployed = deployedGateway();
  const proc = spawn(process.execPath, [...deployed.nodeFlags, ...extraFlags, deployed.script, 'gateway', '--config', join(dir, 'gateway.yaml')], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...deployed.env } });
  let out = '';
  gatewayTail = () => out;
  // --gateway-output <file>: everything the gateway prints (e.g. with '--node-flags=--trace-gc')
  const gwOut = values['gateway-output'] ? createWriteStream(values['gateway-output'] as string) : undefined;
  if (gwOut) proc.stdout?.pipe(gwOut);
  proc.stdout?.on('data', (b: Buffer) => (out = (out + b.toString()).slice(-4000)));
  proc.stderr?.on('data', (b: Buffer) => (out = (out + b.toString()).slice(-4000)));
  process.on('exit', () => proc.kill('SIGKILL'));
  let stopping = false;
  proc.once('exit', (code, signal) => {
    if (!stopping) console.error(`the gateway exited during the run (${code ?? signal}):\n${out}`);
  });
  await waitFor('the gateway', 120_000, 100, async () => {
    if (proc.exitCode !== null) throw new Error(`gateway exited: ${out}`);
    try {
      const b = (await (await fetch(`http://127.0.0.1:${httpPort}/healthz`)).json()) as { components: Record<string, { state: string }> };
      return b.components['source:udp']?.state === 'running' ? true : undefined;
    } catch {
      return undefined;
    }
  });
  // The gateway's /metrics, waited for while its event loop is behind (measure.ts).
  const scrapeGw = (): ReturnType<typeof scrape> => patiently(() => scrape(httpPort));
  const scrapeGwLabelled = (): ReturnType<typeof scrapeLabelled> => patiently(() => scrapeLabelled(httpPort));
  const rss = new RssSampler(proc.pid as number, 250);
  const idleRss = rss.peakMb();
  const idleMemory = memoryLine(await scrapeGw());

  // The virtual forwarders: a socket each, PULL_DATA first (the downlink route).
  const answers = new AnswerTimes();
  const forwarders = Array.from({ length: model.gateways }, (_, g) =>
    new VirtualForwarder(g, udpPort, (msg, at, gateway) => {
      const d = decodeUdpPacket(msg);
      if (!d.ok || d.packet.type !== 'PULL_RESP') return;
      answers.resp((d.packet.txpk.tmst ?? 0) >>> 0, at, gateway);
    }),
  );
  for (const f of forwarders) await f.open();
  // Node 20 starts --v8-pool-size (default 4) + 2 threads before JS (threads.ts).
  const poolFlag = [...deployed.nodeFlags, ...extraFlags].map((f) => /^--v8-pool-size=(\d+)$/.exec(f)?.[1]).filter(Boolean).at(-1);
  const gwThreads = new ThreadSampler(proc.pid as number, 200, poolFlag === undefined ? NODE_PLATFORM_THREADS : Number(poolFlag) + 2);
  const benchThreads = new ThreadSampler(process.pid, 200);

  let next = 0; // global uplink index → device next % N, FCnt ⌊next / N⌋
  const t0 = Date.UTC(2026, 0, 1);
  /** A new uplink, pre-built: one one-rxpk PUSH_DATA per gateway that hears it (tmst stamped when heard or sent). */
  const frame = (confirmed: boolean): { i: number; copies: { g: number; bytes: Buffer; tmstAt: number }[] } => {
    const i = next++;
    const d = abp[i % N] as (typeof abp)[number];
    const payload = d.payloads[Math.floor(i / N) % d.payloads.length] as Uint8Array;
    const phy = buildDataFrame({ mType: confirmed ? 'ConfirmedDataUp' : 'UnconfirmedDataUp', devAddr: d.devAddr, fCnt: Math.floor(i / N), fCtrl: { adr: true }, fPort: d.fPort, payload }, { nwkSKey: d.nwkSKey, appSKey: d.appSKey });
    const copies = hearingGateways(i % N, model.gateways, model.heardBy).map((g, j) => {
      const bytes = pushDataFor(gatewayEuiOf(g), phy, TMST_PLACEHOLDER, t0 + i, j);
      return { g, bytes, tmstAt: tmstOffset(bytes) };
    });
    return { i, copies };
  };
  /** Loads every forwarder's queue: `copies` heard at `dueMs` after the phase's start. */
  const load = (items: { dueMs: number; copies: { g: number; bytes: Buffer; tmstAt: number }[]; answer?: HeardCopy['answer'] }[]): void => {
    const queues = forwarders.map((): HeardCopy[] => []);
    for (const it of items) for (const c of it.copies) (queues[c.g] as HeardCopy[]).push({ bytes: c.bytes, tmstAt: c.tmstAt, dueMs: it.dueMs, ...(it.answer ? { answer: it.answer } : {}) });
    forwarders.forEach((f, g) => f.load(queues[g] as HeardCopy[]));
  };
  const onSent = (c: HeardCopy, tmst: number, at: number, gateway: number): void => {
    if (c.answer) answers.sentAt(c.answer.kind, tmst, at, { id: c.answer.id, gateway });
  };
  const sentCounts = (): ForwarderCounts =>
    forwarders.reduce((a, f) => ({ datagrams: a.datagrams + f.counts.datagrams, rxpk: a.rxpk + f.counts.rxpk, maxRxpk: Math.max(a.maxRxpk, f.counts.maxRxpk), maxBytes: Math.max(a.maxBytes, f.counts.maxBytes), ackTimeouts: a.ackTimeouts + f.counts.ackTimeouts }), { datagrams: 0, rxpk: 0, maxRxpk: 0, maxBytes: 0, ackTimeouts: 0 });

  // Warm-up, not measured: `--warmup` rounds of one uplink per device at 2,000/s, so the phases
  // measure a gateway that has heard its devices before (per-device caches, ADR state, tag sets,
  // as after the first minutes of a real deployment) rather than the first frame of each one —
  // at 2,000/s for 6 s a device sends only ~1.2 frames, so without it most frames were firsts.
  // Through the same forwarders as the phases (the gateway learns their clocks and routes).
  const warmupRounds = Number(values.warmup);
  if (warmupRounds > 0) {
    const total = warmupRounds * N;
    console.error(`warm-up: ${total} uplinks at 2,000/s …`);
    load(Array.from({ length: total }, (_, k) => ({ dueMs: (k * 1000) / 2000, copies: frame(false).copies })));
    const started = performance.now();
    await drive(forwarders, model.batching, started, started + (total / 2000) * 1000 + 60_000, onSent);
    await untilSettled(async () => (await scrapeGw())['lorawan_edge_ns_uplinks_total'] ?? 0, 1500, 120_000, 250);
  }
  const warmedRss = rss.samples.at(-1)?.rssKb ?? 0;
  const warmedMemory = memoryLine(await scrapeGw());

  const rows: string[] = [];
  const threadRows: string[] = [];
  const phases: { rate: number; sent: number; datagrams: number; kernelDrops: number; rejectText: string; catchUpS: number; gcS: number; cpuS: number; fwd: ForwarderCounts; sendS: number; joins: number; acks: number }[] = [];
  /** the answer phase: load average at its start and end, the gateway's own window counters */
  let answerPhase: { loadStart: string; loadEnd: string; counters: string } | undefined;
  for (const rate of rates) {
    const total = rate * seconds;
    console.error(`rate ${rate}/s: building ${total} frames …`);
    const withAnswers = rate === answerRate;
    const items: Parameters<typeof load>[0] = [];
    // `--acks` confirmed uplinks, one in the middle of each of ACKS_N equal slices of the phase.
    const acksHere = withAnswers ? Math.min(ACKS_N, total) : 0;
    const confirmedAt = new Set(Array.from({ length: acksHere }, (_, a) => Math.floor(((a + 0.5) * total) / acksHere)));
    for (let k = 0; k < total; k++) {
      const confirmed = confirmedAt.has(k);
      const f = frame(confirmed);
      items.push({ dueMs: (k * 1000) / rate, copies: f.copies, ...(confirmed ? { answer: { kind: 'ack' as const, id: f.i } } : {}) });
    }
    if (withAnswers) {
      // `--joins` join-requests spread over the phase, heard like the device's uplinks.
      otaa.forEach((o, j) => {
        const phy = buildJoinRequest({ joinEui: o.joinEui, devEui: o.devEui, devNonce: 1 + j }, o.appKey);
        const copies = hearingGateways(N + j, model.gateways, model.heardBy).map((g, c) => {
          const bytes = pushDataFor(gatewayEuiOf(g), phy, TMST_PLACEHOLDER, Date.now(), c);
          return { g, bytes, tmstAt: tmstOffset(bytes) };
        });
        items.push({ dueMs: (((j + 1) * total) / (OTAA_N + 1) / rate) * 1000 + 0.001, copies, answer: { kind: 'join', id: -1 - j } });
      });
    }
    load(items);
    const before = await scrapeGw();
    const beforeL = await scrapeGwLabelled();
    const kernelBefore = udpSocketState(udpPort);
    const cpuBefore = rss.samples.at(-1)?.cpuS ?? 0;
    const loadStart = loadavg()[0]?.toFixed(1) ?? '?';
    const schedA = threadSchedstat(proc.pid as number);
    const threadsA = gwThreads.snapshot();
    const benchA = benchThreads.snapshot();
    const gwA = processCpuS(proc.pid as number);
    const influxA = processCpuS(influx.pid ?? -1);
    const benchProcA = processCpuS(process.pid);
    const started = performance.now();
    await drive(forwarders, model.batching, started, started + seconds * 1000 + 60_000, onSent);
    const sendS = (performance.now() - started) / 1000;
    // CPU per thread over the sending window: the load was on, the gateway's queues filling.
    const schedB = threadSchedstat(proc.pid as number);
    const threadsB = gwThreads.snapshot();
    const benchB = benchThreads.snapshot();
    const gwB = processCpuS(proc.pid as number);
    const influxB = processCpuS(influx.pid ?? -1);
    const benchProcB = processCpuS(process.pid);
    const uplinksNow = async (): Promise<number> => (await scrapeGw())['lorawan_edge_ns_uplinks_total'] ?? 0;
    const atSendEnd = (await uplinksNow()) - (before['lorawan_edge_ns_uplinks_total'] ?? 0);
    const queuedAtSendEnd = udpSocketState(udpPort).rxQueueBytes;
    // Until the gateway has caught up (the receive buffer and the dedup window hold frames after
    // the sender stops): the rate is what was accepted over the time it took, not over a fixed
    // settle time (which made 12,000 of 12,000 at 2,000/s read as 1,595/s).
    // First every PUSH_DATA sent read by the gateway (or rejected whole: oversized; a PUSH_DATA the
    // intake thread sheds as `overloaded` counts as read) or dropped by the kernel, then 3 s without a new uplink: on a starved machine the uplink counter stood still
    // for more than 1.5 s (the inbox journal's fsync) with thousands of uplinks still to do, and
    // the phase read low — InfluxDB ended with more points than "accepted" uplinks.
    const pushKey = 'lorawan_edge_udp_datagrams_total{type="PUSH_DATA"}';
    const wholeRejects = ['oversized'].map((r) => `lorawan_edge_ns_rejected_total{reason="${r}"}`);
    const sentDatagrams = sentCounts().datagrams;
    await waitFor('every PUSH_DATA read or dropped', 120_000, 250, async () => {
      const l = await scrapeGwLabelled();
      const read = [pushKey, ...wholeRejects].reduce((n, k) => n + (l.get(k) ?? 0) - (beforeL.get(k) ?? 0), 0);
      return read + udpSocketState(udpPort).drops - kernelBefore.drops >= sentDatagrams ? true : undefined;
    }).catch(() => console.error('not every PUSH_DATA was read or dropped within 120 s'));
    const settled = await untilSettled(uplinksNow, 3000, 120_000, 250);
    const threadsC = gwThreads.snapshot();
    const after = await scrapeGw();
    const afterL = await scrapeGwLabelled();
    const kernel = udpSocketState(udpPort);
    const cpuAfter = rss.samples.at(-1)?.cpuS ?? 0;
    const accepted = (after['lorawan_edge_ns_uplinks_total'] ?? 0) - (before['lorawan_edge_ns_uplinks_total'] ?? 0);
    const cpuUs = ((cpuAfter - cpuBefore) * 1e6) / Math.max(1, accepted);
    const busyS = (settled.lastChangeAt - started) / 1000;
    const datagrams = (afterL.get(pushKey) ?? 0) - (beforeL.get(pushKey) ?? 0);
    const kernelDrops = kernel.drops - kernelBefore.drops;
    const rejects = rejectsByReason(beforeL, afterL);
    const rejectText = Object.entries(rejects).map(([k, v]) => `${k} ${v}`).join(', ') || 'none';
    const lag = after['lorawan_edge_nodejs_eventloop_lag_p99_seconds'];
    if (withAnswers) answerPhase = { loadStart, loadEnd: loadavg()[0]?.toFixed(1) ?? '?', counters: windowCounters(beforeL, afterL) };
    const fwd = sentCounts();
    console.error(`accepted at the end of sending ${atSendEnd}, receive queue then ${queuedAtSendEnd} B; caught up ${(busyS - sendS).toFixed(1)} s after; PUSH_DATA sent ${fwd.datagrams} (${fwd.rxpk} rxpk, at most ${fwd.maxRxpk} / ${fwd.maxBytes} B in one), read by the gateway ${datagrams}, kernel drops ${kernelDrops}; rejects: ${rejectText}; event-loop lag p99 ${lag?.toFixed(3) ?? '?'} s`);
    phases.push({ rate, sent: total, datagrams, kernelDrops, rejectText, catchUpS: busyS - sendS, gcS: gcSeconds(before, after), cpuS: cpuAfter - cpuBefore, fwd, sendS, joins: withAnswers ? OTAA_N : 0, acks: acksHere });
    rows.push(`| ${rate.toLocaleString('en')} | ${(total / sendS).toFixed(0)} | ${(fwd.datagrams / sendS).toFixed(0)} | ${(fwd.rxpk / sendS).toFixed(0)} | ${accepted.toLocaleString('en')} / ${total.toLocaleString('en')} | **${(accepted / busyS).toFixed(0)}** | ${cpuUs.toFixed(0)} | ${rss.peakMb().toFixed(0)} |`);
    threadRows.push(threadRow(rate, sendS, groupCpu(threadsA, threadsB, gwThreads.groups()), gwB - gwA, influxB - influxA, benchProcB - benchProcA, groupCpu(benchA, benchB, benchThreads.groups()), loadStart, schedA && schedB ? (schedB.waitNs - schedA.waitNs) / 1e9 : NaN, ((groupCpu(threadsA, threadsC, gwThreads.groups()).find((g) => g.group === 'main')?.cpuS ?? NaN) * 1e6) / Math.max(1, accepted)));
    console.error(rows.at(-1));
    console.error(threadRows.at(-1));
  }
  gwThreads.stop();
  benchThreads.stop();
  // Both counts once they stopped moving: read while the gateway was still draining its receive
  // buffer, the accepted count lagged behind what then reached InfluxDB (35,908 points "for"
  // 34,773 accepted uplinks — a counting artefact: every point has its uplink's own timestamp,
  // so a second write of one uplink would overwrite its point, not add one).
  const acc = (await untilSettled(async () => (await scrapeGw())['lorawan_edge_ns_uplinks_total'] ?? 0, 3000, 120_000)).value;
  const influxPoints = async (): Promise<number> => {
    const s = await influx.query('SELECT count(fcnt) FROM lorawan_uplink', { db: 'edge_ns' });
    return Number((s[0]?.values[0] as unknown[] | undefined)?.[1] ?? 0);
  };
  const influxCount = await waitFor('InfluxDB to have every accepted uplink', 300_000, 1000, async () => ((await influxPoints()) >= acc ? true : undefined))
    .then(async () => (await untilSettled(influxPoints, 3000, 60_000, 500)).value)
    .catch(() => -1);
  // Each uplink once in InfluxDB, whatever the number of gateways that heard it: its
  // gateway_count says how many copies dedup merged into its record.
  const meanGateways = await influx
    .query('SELECT mean(gateway_count) FROM lorawan_uplink', { db: 'edge_ns' })
    .then((s) => Number((s[0]?.values[0] as unknown[] | undefined)?.[1] ?? NaN))
    .catch(() => NaN);
  const endScrape = await scrapeGw();
  const written = endScrape['lorawan_edge_sink_points_written_total'] ?? 0;
  rss.stop();
  stopping = true;
  proc.kill('SIGTERM');
  await Promise.race([new Promise((r) => proc.once('exit', r)), sleep(30_000)]);
  for (const f of forwarders) f.close();
  // The count first: a p99 of fewer than ~100 answers is one of the last few, not a tail.
  const answerLine = (what: string, a: AnswerSummary): string =>
    `**${what}** ${a.answered} of ${a.sent} answered (${a.rx1} RX1, ${a.rx2} RX2): p50 ${a.p50Ms.toFixed(1)} ms, **p99 ${a.p99Ms.toFixed(1)} ms**, max ${a.maxMs.toFixed(1)} ms${a.answered > 0 && a.answered < 100 ? ' (p99 of < 100 answers: the largest or next to it)' : ''}`;
  const report = [
    `### bench/edge-ns (${new Date().toISOString().slice(0, 10)}, ${cpus().length} × ${cpus()[0]?.model ?? '?'}, shared with other work)`,
    '',
    `\`node --import tsx bench/edge-ns/run.ts --rates ${rates.join(',')} --seconds ${seconds} --devices ${N} --store ${storeOn ? 'on' : 'off'}${inboxOn ? '' : ' --inbox off'}${intakeThread ? ` --intake-thread ${intakeThread}` : ''}${logFsyncMs ? ` --log-fsync-ms ${logFsyncMs}` : ''}${answerRate !== 2000 ? ` --answer-rate ${answerRate}` : ''}${OTAA_N !== 200 ? ` --joins ${OTAA_N}` : ''}${ACKS_N !== 400 ? ` --acks ${ACKS_N}` : ''}${warmupRounds !== 1 ? ` --warmup ${warmupRounds}` : ''}${extraFlags.length ? ` '--node-flags=${extraFlags.join(' ')}'` : ''}${isWorstCase(model) ? '' : ` --gateways ${model.gateways} --rxpk-per-datagram ${model.batching.mode === 'auto' ? 'auto' : model.batching.n} --heard-by ${model.heardBy}`}\` (load average before: ${loadBefore}, after: ${loadavg().map((x) => x.toFixed(1)).join(' ')}) — ${N.toLocaleString('en')} ABP sessions + ${OTAA_N} OTAA devices, ${describeModel(model)}${isWorstCase(model) ? ' (the worst case, the default)' : ''}, gateway = the bundle with the systemd unit's node flags, InfluxDB 1.6 on the same machine.`,
    '',
    'Uplinks/s is the goal\'s figure (issue 10: "≥ 10,000 uplinks/s"): frames accepted after dedup, each stored once. A PUSH_DATA may hold several rxpk, and an uplink heard by k gateways arrives as k rxpk.',
    '',
    '| offered uplinks/s | sent uplinks/s | PUSH_DATA/s sent | rxpk/s sent | accepted / sent uplinks | accepted uplinks/s | gateway CPU µs/uplink | gateway RSS peak MB |',
    '|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    'CPU per thread while the load was on (from the first to the last PUSH_DATA of a phase, /proc/<pid>/task/*/stat; % of one core; threads.ts says how threads are told apart; "waiting for a core" from the main thread\'s schedstat: on a shared machine a main thread below 100 % with a large wait was starved, not idle; (n) = threads in the group; the last column over the whole phase, catch-up included — CPU time, so less bent by a loaded machine than a rate):',
    '',
    '| offered uplinks/s | window s | load avg at start | gateway main thread on a core | main thread runnable, waiting for a core | V8 platform | libuv pool | worker threads | gateway process | influxd | bench process (its main thread) | main thread CPU per accepted uplink → uplinks/s it allows at 100 % of a core |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...threadRows,
    '',
    `- RSS idle with ${(N + 0).toLocaleString('en')} sessions loaded: ${idleRss.toFixed(0)} MB; after the warm-up (${warmupRounds} uplink(s) per device, not measured): ${(warmedRss / 1024).toFixed(0)} MB; peak over the run: ${rss.peakMb().toFixed(0)} MB. Idle: ${idleMemory}; after the warm-up: ${warmedMemory}; at the end: ${memoryLine(endScrape)}.`,
    `- Answer time PUSH_DATA → PULL_RESP at ${answerRate.toLocaleString('en')} uplinks/s (load average ${answerPhase?.loadStart ?? '?'} at the phase's start, ${answerPhase?.loadEnd ?? '?'} at its end; durable log fsync interval ${logFsyncMs || '100 (default)'} ms):`,
    `  - ${answerLine('ACK', answers.summary('ack'))}`,
    `  - ${answerLine('join-accept', answers.summary('join'))}`,
    `  - gateway counters in that phase: ${answerPhase?.counters ?? '?'}.`,
    `- InfluxDB: ${influxCount.toLocaleString('en')} lorawan_uplink points for ${acc.toLocaleString('en')} accepted uplinks (both counted once they stopped moving; ${written.toLocaleString('en')} points written by the sink, all measurements); mean gateway_count ${meanGateways.toFixed(2)} (heard by ${model.heardBy}).${influxCount > acc ? ` **More points than accepted uplinks: the accepted count was read before the gateway had finished, so the phases' accepted figures are low by up to ${(influxCount - acc).toLocaleString('en')}.**` : ''}`,
    ...phases.map((p) => `- ${p.rate.toLocaleString('en')}/s: ${p.sent.toLocaleString('en')} uplinks${p.joins || p.acks ? ` (${p.acks} confirmed) and ${p.joins} join-requests` : ''} sent as ${p.fwd.rxpk.toLocaleString('en')} rxpk in ${p.fwd.datagrams.toLocaleString('en')} PUSH_DATA (${(p.fwd.rxpk / Math.max(1, p.fwd.datagrams)).toFixed(1)} rxpk per datagram, at most ${p.fwd.maxRxpk} / ${p.fwd.maxBytes.toLocaleString('en')} bytes in one${model.batching.mode === 'auto' ? `; ${p.fwd.ackTimeouts} PUSH_ACK waits timed out at 100 ms` : ''}) over ${p.sendS.toFixed(1)} s, ${p.datagrams.toLocaleString('en')} PUSH_DATA read by the gateway, ${p.kernelDrops.toLocaleString('en')} dropped by the kernel (receive buffer full, /proc/net/udp); rejects: ${p.rejectText}; caught up ${p.catchUpS.toFixed(1)} s after the last datagram was sent; GC pauses ${p.gcS.toFixed(2)} s of ${p.cpuS.toFixed(2)} s gateway CPU (${((100 * p.gcS) / Math.max(1e-9, p.cpuS)).toFixed(0)} %).`),
  ].join('\n');
  console.log(report);
  writeFileSync(join('bench', 'edge-ns', 'LAST_RUN.md'), `${report}\n`);
  await influx.dispose();
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
}

/** A row of the per-thread table: CPU seconds over the sending window as % of one core. */
function threadRow(rate: number, windowS: number, gw: GroupCpu[], gwTotalS: number, influxS: number, benchS: number, bench: GroupCpu[], loadStart: string, mainWaitS: number, mainUs: number): string {
  const pct = (s: number): string => `${((100 * s) / windowS).toFixed(0)} %`;
  const cell = (g: GroupCpu | undefined): string => (g && g.threads ? `${pct(g.cpuS)} (${g.threads})` : '—');
  const of = (gs: GroupCpu[], name: GroupCpu['group']): GroupCpu | undefined => gs.find((g) => g.group === name);
  return `| ${rate.toLocaleString('en')} | ${windowS.toFixed(1)} | ${loadStart} | **${pct(of(gw, 'main')?.cpuS ?? NaN)}** | ${pct(mainWaitS)} | ${cell(of(gw, 'V8 platform'))} | ${cell(of(gw, 'libuv pool'))} | ${cell(of(gw, 'worker threads'))} | ${pct(gwTotalS)} | ${pct(influxS)} | ${pct(benchS)} (${pct(of(bench, 'main')?.cpuS ?? NaN)}) | ${mainUs.toFixed(0)} µs → ${(1e6 / mainUs).toFixed(0)}/s |`;
}

/** What the network server says about receive windows between two scrapes (gateway/ns/README.md, timing model). */
function windowCounters(before: Map<string, number>, after: Map<string, number>): string {
  const d = (k: string): number => (after.get(k) ?? 0) - (before.get(k) ?? 0);
  const closes = d('lorawan_edge_ns_dedup_wait_seconds_count');
  const early = d('lorawan_edge_ns_dedup_wait_seconds_bucket{le="0.01"}');
  const hq = (name: string, labels = ''): string => `≤ ${histogramQuantile(before, after, name, 0.5, labels)} / ≤ ${histogramQuantile(before, after, name, 0.99, labels)}`;
  return [
    `downlinks RX1 ${d('lorawan_edge_ns_downlinks_total{outcome="rx1"}')}, RX2 ${d('lorawan_edge_ns_downlinks_total{outcome="rx2"}')}`,
    `too late ${d('lorawan_edge_ns_answers_too_late_total{kind="data"}')} data / ${d('lorawan_edge_ns_answers_too_late_total{kind="join-accept"}')} join-accept`,
    `dedup windows closed within 10 ms ${early} of ${closes}`,
    `p50/p99 bucket bounds (s): inbox journal commit ${hq('lorawan_edge_ns_inbox_commit_seconds')}, receive delay from tmst ${hq('lorawan_edge_ns_receive_delay_seconds')}, dedup wait ${hq('lorawan_edge_ns_dedup_wait_seconds')}, batch answer wait ${hq('lorawan_edge_ns_batch_stage_seconds', 'stage="answer_wait"')}, SQLite commit ${hq('lorawan_edge_ns_batch_stage_seconds', 'stage="store"')}, log append → durable ${hq('lorawan_edge_ns_batch_stage_seconds', 'stage="log"')}, heard → PULL_RESP data ${hq('lorawan_edge_ns_answer_seconds', 'kind="data"')} / join-accept ${hq('lorawan_edge_ns_answer_seconds', 'kind="join-accept"')}`,
  ].join(', ');
}

/** The gateway's last output, for a run that ends on an error: a gateway that died (a connection refused) tells why there. */
let gatewayTail = (): string => '';
/** The run's folder (config, keys, the gateway's data): removed after a failed run too, unless it holds a heap snapshot to look at. */
let runDir: string | undefined;

main().catch(async (err: unknown) => {
  console.error(err);
  // Its 'exit' may come after the error that its death caused: give its output a moment to arrive.
  await sleep(1000);
  console.error(`the gateway's last output:\n${gatewayTail()}`);
  if (runDir && readdirSync(runDir).some((f) => f.endsWith('.heapsnapshot'))) console.error(`kept ${runDir} (a heap snapshot)`);
  else if (runDir) rmSync(runDir, { recursive: true, force: true });
  process.exit(1);
});
