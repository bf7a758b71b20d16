/**
 * bench/gateway: the whole chain under load — publisher → Mosquitto → gateway (durable log on)
 * → InfluxDB 1.6 — against a Node-RED 4.1 flow doing the common thing on the same broker and
 * InfluxDB. Method and caveats: bench/gateway/README.md.
 *
 * Phases (all by default, in this order):
 *   tput     gateway throughput: --uplinks published as fast as the broker takes them, then
 *            again paced by the gateway; uplinks/s end to end (first publish → last point
 *            written) and steady state (/metrics), RSS, CPU per uplink
 *   nodered  the same flood through the Node-RED flow: uplinks/s stored, loss, RSS, CPU
 *   ladder   each system alone at fixed rates (--gateway-rates, --nodered-rates), --ladder-seconds
 *            per step: kept up or not, RSS, CPU per uplink (gwladder: the gateway's steps only;
 *            with the store on a step is kept up with only when sink local has caught up too)
 *   outage   both at once on one stream, --outage-rate for --outage-seconds, InfluxDB stopped
 *            for --outage-down seconds in the middle: what each stored vs what was published
 *   drain    InfluxDB down, --backlog uplinks into the gateway (durable log), InfluxDB back:
 *            points/s until the sink lag is 0
 *   profile  (--profile auto: when a goal is missed; on; off) `node --cpu-prof` on the gateway
 *            for the tput flood and for a drain-only restart; top self-time functions
 *
 *   node --import tsx bench/gateway/run.ts [--uplinks 200000] [--backlog 1000000]
 *     [--phases tput,nodered,ladder,outage,drain] [--ladder-seconds 15]
 *     [--gateway-rates 4000,8000,10000,12000,14000,16000] [--nodered-rates 2000,4000,5000,6000,7000,8000]
 *     [--outage-rate 500] [--outage-seconds 60] [--outage-down 30] [--inflight 2000]
 *     [--window 2000] [--pace-window 5000] [--profile auto|on|off]
 *     ['--gateway-node-flags=--max-old-space-size=128'] [--store on|off] [--out bench/gateway/LAST_RUN.md]
 *
 * --store off runs the gateway with `web.store.enabled: false` (no local store), to see its cost.
 *
 * The run writes its tables to --out (default: LAST_RUN.md beside this file).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from '../../codecs/testing/paths.ts';
import { startInfluxd, type InfluxdServer } from '../../support/influxd.ts';
import { startMosquitto, type MosquittoServer } from '../../support/mosquitto.ts';
import { buildFleet, expectedPerMeasurement, FLEET_SIZE, MODELS, type FleetDevice } from './fleet.ts';
import { FUNCTION_NODE_CODE, startNodeRed } from './node-red.ts';
import { summarizeProfile } from './profile.ts';
import { buildBundle, countReadings, countUplinkPoints, deployedGateway, mainProfile, MetricsPoller, Publisher, RssSampler, scrape, sleep, startGateway, steadyRate, sum, waitFor, type GatewayChild, type MetricSample } from './procs.ts';

const { values } = parseArgs({
  options: {
    uplinks: { type: 'string', default: '200000' },
    'nodered-uplinks': { type: 'string' },
    backlog: { type: 'string', default: '1000000' },
    phases: { type: 'string', default: 'tput,nodered,ladder,outage,drain' },
    'ladder-seconds': { type: 'string', default: '15' },
    'gateway-rates': { type: 'string', default: '4000,8000,10000,12000,14000,16000' },
    'nodered-rates': { type: 'string', default: '2000,4000,5000,6000,7000,8000' },
    'outage-rate': { type: 'string', default: '500' },
    'outage-seconds': { type: 'string', default: '60' },
    'outage-down': { type: 'string', default: '30' },
    inflight: { type: 'string', default: '2000' },
    'pace-window': { type: 'string', default: '5000' },
    'gateway-node-flags': { type: 'string', default: '' },
    window: { type: 'string', default: '2000' },
    profile: { type: 'string', default: 'auto' },
    store: { type: 'string', default: 'on' },
    out: { type: 'string', default: join(REPO_ROOT, 'bench/gateway/LAST_RUN.md') },
  },
});
const N = Number(values.uplinks);
const N_NR = Number(values['nodered-uplinks'] ?? values.uplinks);
const BACKLOG = Number(values.backlog);
const PHASES = new Set((values.phases as string).split(','));
const OUTAGE_RATE = Number(values['outage-rate']);
const OUTAGE_SECONDS = Number(values['outage-seconds']);
const OUTAGE_DOWN = Number(values['outage-down']);
const INFLIGHT = Number(values.inflight);
const WINDOW = Number(values.window);
const LADDER_SECONDS = Number(values['ladder-seconds']);
const PACE_WINDOW = Number(values['pace-window']);
/** extra node flags for every gateway child, e.g. "--max-old-space-size=128" */
const GW_FLAGS = (values['gateway-node-flags'] as string).split(' ').filter(Boolean);
const GW_RATES = (values['gateway-rates'] as string).split(',').map(Number);
const NR_RATES = (values['nodered-rates'] as string).split(',').map(Number);

const GOALS = { uplinksPerSec: 10_000, drainPointsPerSec: 100_000, rssMb: 150, vsNodeRed: 5 };
const T0 = Date.UTC(2026, 0, 1);
const t0Of = (phase: number): number => T0 + phase * 86_400_000;

const log = (msg: string): void => {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
};
const fmt = (n: number, digits = 0): string => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : 'n/a');
const load = (): string => loadavg().map((x) => x.toFixed(1)).join(' ');

interface Row {
  section: string;
  metric: string;
  value: string;
  note?: string;
}
const rows: Row[] = [];
const add = (section: string, metric: string, value: string, note?: string): void => {
  rows.push({ section, metric, value, ...(note ? { note } : {}) });
  log(`${section} | ${metric}: ${value}${note ? ` (${note})` : ''}`);
};

interface Results {
  gwE2e?: number;
  gwSteadyIn?: number;
  gwSteadyOut?: number;
  gwRssPeak?: number;
  gwRssSteady?: number;
  nrE2e?: number;
  nrRssPeak?: number;
  nrLoss?: number;
  outageGwLoss?: number;
  outageNrLoss?: number;
  drainPps?: number;
  drainRssPeak?: number;
  backlog?: number;
  profile?: string;
  gwCpuRate?: number;
  nrCpuRate?: number;
  gwLadder?: number;
  nrLadder?: number;
  gwPacedE2e?: number;
  gwPacedRssPeak?: number;
}
const R: Results = {};
/** The gateway's `web` section: the local store is on by default. */
const GW_WEB = values.store === 'off' ? { web: { store: { enabled: false } } } : {};

function version(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim().split('\n')[0] ?? '';
  } catch (err) {
    return ((err as { stdout?: string }).stdout ?? '').trim().split('\n')[0] ?? 'unknown';
  }
}

async function createDb(influx: InfluxdServer, db: string): Promise<void> {
  await influx.query(`CREATE DATABASE "${db}"`, { db: null, method: 'POST' });
}

/** CPU seconds of the broker, InfluxDB and the publisher over a run, as a one-line summary. */
function cpuWatch(broker: MosquittoServer, influx: InfluxdServer, pub: Publisher): { report(from: number, to: number, mine: number, name: string): string } {
  const watch = [
    ['mosquitto', broker.pid],
    ['influxd', influx.pid],
    ['publisher', pub.proc.pid],
  ] as const;
  const samplers = watch.filter(([, pid]) => pid !== undefined).map(([name, pid]) => ({ name, s: new RssSampler(pid as number, 500) }));
  return {
    report(from, to, mine, name) {
      const parts = [`${name} ${fmt(mine, 1)}`];
      for (const { name: n, s } of samplers) {
        s.stop();
        parts.push(`${n} ${fmt(s.cpuBetween(from, to), 1)}`);
      }
      return `${parts.join(', ')} (wall ${fmt((to - from) / 1000, 1)} s × 2 cores)`;
    },
  };
}

/** The gateway's warn/error log lines of a phase, as a note. */
function gatewayLogNote(gw: GatewayChild): string {
  const kinds = gw.logKinds();
  if (kinds.length === 0) return 'no warnings or errors logged';
  return kinds
    .slice(0, 4)
    .map(([k, n]) => `${fmt(n)}× ${k}`)
    .join('; ');
}

/** Points the gateway writes per uplink of this fleet: one reading point + lorawan_uplink. */
const POINTS_PER_UPLINK = 2;

// ---------------------------------------------------------------------------------------------

/** What of the RSS is V8 heap and Buffer memory (from the gateway's own /metrics). */
function heapNote(samples: readonly MetricSample[]): string {
  const heap = samples.map((s) => s.heapUsed).filter((x) => x > 0);
  const ext = samples.map((s) => s.external).filter((x) => x > 0);
  if (heap.length === 0) return '';
  const mb = (x: number): string => fmt(x / 1048576);
  const median = (xs: number[]): number => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)] ?? NaN;
  return `V8 heap used median ${mb(median(heap))} / max ${mb(Math.max(...heap))} MB; external (Buffers) median ${mb(median(ext))} / max ${mb(Math.max(...ext))} MB`;
}

/**
 * Whether sink `local` (the web store) kept up: its lag when half and all of the uplinks had been
 * received (a lag that grows with the ingest is a store slower than it), its peak, and when it
 * had applied everything compared with when InfluxDB had every point. undefined with the store off.
 */
function storeKeptUp(samples: readonly MetricSample[], start: number): { value: string; note: string } | undefined {
  if (!samples.some((s) => s.localApplied > 0)) return undefined;
  const at = (frac: number): MetricSample | undefined => samples.find((s) => s.received >= N * frac);
  const half = at(0.5);
  const all = at(1);
  const peak = Math.max(...samples.map((s) => s.localLag));
  const storeDone = samples.find((s) => s.localApplied >= N && s.localLag === 0);
  const influxDone = samples.find((s) => s.written - s.localApplied >= N * POINTS_PER_UPLINK);
  const secs = (s: MetricSample | undefined): string => (s ? `${fmt((s.t - start) / 1000, 1)} s` : 'never');
  return {
    value: `${fmt(half?.localLag ?? NaN)} at 50 % received, ${fmt(all?.localLag ?? NaN)} at 100 %, peak ${fmt(peak)} records`,
    note: `all applied at ${secs(storeDone)}, InfluxDB complete at ${secs(influxDone)} (from the first publish)`,
  };
}

async function phaseTput(broker: MosquittoServer, influx: InfluxdServer, devices: FleetDevice[], opts: { profileDir?: string; paced?: boolean; label: string }): Promise<void> {
  const tag = `${opts.profileDir ? '_prof' : ''}${opts.paced ? '_paced' : ''}`;
  const db = `gw_tput${tag}`;
  const appId = `bench-tput${tag.replace(/_/g, '-')}`;
  await createDb(influx, db);
  const gw = await startGateway({ ...GW_WEB,
    name: `tput${tag.replace(/_/g, '-')}`,
    brokerUrl: broker.url,
    appId,
    influxUrl: influx.url,
    database: db,
    devices,
    execArgv: [...GW_FLAGS, ...(opts.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${opts.profileDir}`] : [])],
  });
  const rss = new RssSampler(gw.pid);
  await sleep(1_000);
  const idleRss = rss.maxMb(0, Date.now());
  const metrics = new MetricsPoller(gw.httpPort, 250);
  const loadBefore = load();
  const pub = new Publisher({
    url: broker.url,
    appId,
    t0: t0Of(opts.profileDir ? 9 : 1),
    count: N,
    rate: 0,
    window: WINDOW,
    maxSeconds: 900,
    ...(opts.paced ? { paceMetricsUrl: `http://127.0.0.1:${gw.httpPort}/metrics`, paceWindow: PACE_WINDOW } : {}),
  });
  const others = cpuWatch(broker, influx, pub);
  const expectedPoints = N * POINTS_PER_UPLINK;
  const complete = await waitFor<MetricSample>('the gateway to write every point', Math.max(300_000, (N / 1_000) * 1_000), 100, () => {
    if (gw.proc.exitCode !== null) throw new Error(`gateway exited ${gw.proc.exitCode}: ${gw.output().slice(-2_000)}`);
    const s = metrics.last();
    return s && s.written >= expectedPoints && s.lag === 0 ? s : undefined;
  });
  const published = await pub.result;
  metrics.stop();
  rss.stop();
  const start = published.start;
  const gwCpu = rss.cpuBetween(start, complete.t);
  const cpuSplit = others.report(start, complete.t, gwCpu, 'gateway');
  const uplinkPoints = await countUplinkPoints(influx, db);
  const readings = sum(await countReadings(influx, db));
  const e2e = N / ((complete.t - start) / 1000);
  const steadyIn = steadyRate(metrics.samples, (s) => s.received, N);
  // `written` counts sink local's records too: InfluxDB's points are the rest.
  const steadyOut = steadyRate(metrics.samples, (s) => (s.written - s.localApplied) / POINTS_PER_UPLINK, N);
  const a = metrics.samples.find((s) => s.received >= N * 0.1);
  const b = metrics.samples.find((s) => s.written - s.localApplied >= expectedPoints * 0.9);
  const store = storeKeptUp(metrics.samples, start);
  const rssSteady = a && b ? rss.medianMb(a.t, b.t) : NaN;
  const rssPeak = rss.peakMb();
  const dups = (await scrape(gw.httpPort))['lorawan_edge_duplicates_total'] ?? 0;
  const code = await gw.stop();
  const logNote = gatewayLogNote(gw);
  gw.dispose();
  const sec = `gateway throughput, ${opts.paced ? `publisher paced by the gateway (≤ ${fmt(PACE_WINDOW)} ahead of it)` : 'publisher as fast as Mosquitto takes it'}${opts.profileDir ? ' (under --cpu-prof)' : ''}`;
  add(sec, 'uplinks published', fmt(N), `${fmt(N / ((published.done - start) / 1000))} /s publisher rate (QoS 1 acks from Mosquitto); load avg before: ${loadBefore}`);
  add(sec, 'end to end (first publish → last point written)', `${fmt(e2e)} uplinks/s`, `${fmt((complete.t - start) / 1000, 1)} s`);
  add(sec, 'steady state received (10–90 %, /metrics)', `${fmt(steadyIn)} uplinks/s`);
  add(sec, 'steady state written (10–90 %, /metrics)', `${fmt(steadyOut)} uplinks/s`, `${fmt(steadyOut * POINTS_PER_UPLINK)} points/s`);
  add(sec, 'stored in InfluxDB', `${fmt(uplinkPoints)} lorawan_uplink + ${fmt(readings)} reading points`, uplinkPoints === N && readings === N ? 'complete' : `MISSING ${N - uplinkPoints} / ${N - readings}`);
  if (store) add(sec, 'local store (sink local): lag', store.value, store.note);
  add(sec, 'gateway RSS idle / steady (median) / peak', `${fmt(idleRss)} / ${fmt(rssSteady)} / ${fmt(rssPeak)} MB`, heapNote(metrics.samples));
  add(sec, 'gateway CPU per uplink', `${fmt((gwCpu * 1e6) / N)} µs`, `= ${fmt(N / gwCpu)} uplinks per CPU-second; CPU seconds during the run: ${cpuSplit}`);
  add(sec, 'gateway exit code on SIGTERM', String(code), `received ${fmt(metrics.last()?.received ?? NaN)} messages (${fmt(dups)} recognised as redeliveries); log: ${logNote}`);
  if (!opts.profileDir) R.gwCpuRate = N / gwCpu;
  if (!opts.profileDir && !opts.paced) {
    R.gwE2e = e2e;
    R.gwSteadyIn = steadyIn;
    R.gwSteadyOut = steadyOut;
    R.gwRssPeak = rssPeak;
    R.gwRssSteady = rssSteady;
  }
  if (!opts.profileDir && opts.paced) {
    R.gwPacedE2e = e2e;
    R.gwPacedRssPeak = rssPeak;
  }
}

async function phaseNodeRed(broker: MosquittoServer, influx: InfluxdServer, devices: FleetDevice[]): Promise<void> {
  const db = 'nr_tput';
  const appId = 'bench-nr-tput';
  await createDb(influx, db);
  const nr = await startNodeRed({ brokerPort: broker.port, influxPort: influx.port, database: db, appId, devices });
  const rss = new RssSampler(nr.pid);
  await sleep(1_000);
  const idleRss = rss.maxMb(0, Date.now());
  const loadBefore = load();
  const pub = new Publisher({ url: broker.url, appId, t0: t0Of(2), count: N_NR, rate: 0, window: WINDOW, maxSeconds: 900 });
  const others = cpuWatch(broker, influx, pub);
  // Progress = points in InfluxDB (Node-RED has no metrics); stop when all are there, or when
  // the count has not moved for 20 s after the publisher finished (what is missing is lost).
  const counts: { t: number; n: number }[] = [];
  let pubDone: number | undefined;
  void pub.result.then((r) => (pubDone = r.done)).catch(() => undefined);
  const deadline = Date.now() + Math.max(300_000, (N_NR / 200) * 1_000);
  for (;;) {
    await sleep(500);
    const n = sum(await countReadings(influx, db));
    counts.push({ t: Date.now(), n });
    if (n >= N_NR) break;
    const stalledSince = counts.findLast((c) => c.n < n)?.t ?? counts[0]?.t ?? Date.now();
    if (pubDone !== undefined && Date.now() - Math.max(stalledSince, pubDone) > 20_000) break;
    if (Date.now() > deadline) {
      log('Node-RED: deadline reached');
      break;
    }
    if (nr.proc.exitCode !== null) {
      log(`Node-RED exited: ${nr.tail()}`);
      break;
    }
  }
  const published = await pub.result;
  rss.stop();
  const final = counts[counts.length - 1]?.n ?? 0;
  const reached = counts.find((c) => c.n >= final) ?? { t: Date.now(), n: final };
  const start = published.start;
  const e2e = final / ((reached.t - start) / 1000);
  const steady = steadyRate(counts, (c) => c.n, final);
  const rssPeak = rss.peakMb();
  const rssSteady = rss.medianMb(start, reached.t);
  const nrCpu = rss.cpuBetween(start, reached.t);
  const cpuSplit = others.report(start, reached.t, nrCpu, 'Node-RED');
  const errors = nr.errorLines();
  const errorKinds = nr.errorKinds().slice(0, 3).map(([k, n]) => `${fmt(n)}× "${k}"`).join('; ');
  await nr.stop();
  const sec = 'Node-RED throughput';
  add(sec, 'uplinks published', fmt(N_NR), `${fmt(N_NR / ((published.done - start) / 1000))} /s publisher rate; load avg before: ${loadBefore}`);
  add(sec, 'end to end (first publish → last point stored)', `${fmt(e2e)} uplinks/s`, `${fmt((reached.t - start) / 1000, 1)} s`);
  add(sec, 'steady state stored (10–90 %, InfluxDB count)', `${fmt(steady)} uplinks/s`);
  add(sec, 'stored in InfluxDB', `${fmt(final)} reading points`, final === N_NR ? 'complete' : `LOST ${fmt(N_NR - final)} (${fmt((100 * (N_NR - final)) / N_NR, 1)} %)`);
  add(sec, 'errors logged by Node-RED', fmt(errors), errorKinds);
  add(sec, 'Node-RED RSS idle / steady (median) / peak', `${fmt(idleRss)} / ${fmt(rssSteady)} / ${fmt(rssPeak)} MB`);
  add(sec, 'Node-RED CPU per uplink stored', `${fmt((nrCpu * 1e6) / final)} µs`, `= ${fmt(final / nrCpu)} uplinks per CPU-second; CPU seconds during the run: ${cpuSplit}`);
  R.nrCpuRate = final / nrCpu;
  R.nrE2e = e2e;
  R.nrRssPeak = rssPeak;
  R.nrLoss = N_NR - final;
}

/**
 * Fixed-rate steps (`--ladder-seconds` each) on one running system: does it keep up with the
 * rate, and at what RSS? A step is kept up with when every uplink of it is stored within 3 s of
 * its last publish (the gateway's sink flushes every second) and nothing is lost.
 */
async function phaseLadder(system: 'gateway' | 'nodered', broker: MosquittoServer, influx: InfluxdServer, devices: FleetDevice[], rates: number[]): Promise<void> {
  const db = system === 'gateway' ? 'gw_ladder' : 'nr_ladder';
  const appId = `bench-ladder-${system}`;
  await createDb(influx, db);
  const gw = system === 'gateway' ? await startGateway({ ...GW_WEB, name: 'ladder', brokerUrl: broker.url, appId, influxUrl: influx.url, database: db, devices, execArgv: GW_FLAGS }) : undefined;
  const nr = system === 'nodered' ? await startNodeRed({ brokerPort: broker.port, influxPort: influx.port, database: db, appId, devices }) : undefined;
  const pid = (gw?.pid ?? nr?.pid) as number;
  const rss = new RssSampler(pid);
  const metrics = gw ? new MetricsPoller(gw.httpPort, 200) : undefined;
  const stored = async (): Promise<number> => (gw ? await countUplinkPoints(influx, db) : sum(await countReadings(influx, db)));
  const name = system === 'gateway' ? 'gateway' : 'Node-RED';
  const sec = `${name} at fixed rates (${LADDER_SECONDS} s per step)`;
  let before = 0;
  let best = 0;
  let from = 0;
  try {
    for (const rate of rates) {
      const count = rate * LADDER_SECONDS;
      const pub = new Publisher({ url: broker.url, appId, t0: t0Of(10), from, count, rate, window: WINDOW, maxSeconds: LADDER_SECONDS * 4 + 30 });
      from += count;
      const published = await pub.result;
      const lastPub = published.done;
      // Wait (bounded) until the step is stored, then 3 s more for Node-RED's stragglers.
      let doneAt: number | undefined;
      let n = 0;
      const until = lastPub + Math.max(30_000, LADDER_SECONDS * 2_000);
      while (Date.now() < until) {
        if (metrics) {
          const s = metrics.last();
          if (s && s.written >= (before + count) * POINTS_PER_UPLINK && s.lag === 0) {
            doneAt = s.t;
            break;
          }
        } else {
          n = (await stored()) - before;
          if (n >= count) {
            doneAt = Date.now();
            break;
          }
          const stalled = Date.now() - lastPub > 10_000;
          if (stalled) {
            const again = (await sleep(2_000), (await stored()) - before);
            if (again === n) break;
          }
        }
        await sleep(metrics ? 100 : 500);
      }
      if (doneAt === undefined && metrics) {
        // Not caught up within the step's deadline: wait (bounded) for lag 0 to tell "late"
        // from "lost".
        const late = await waitFor<MetricSample>('the gateway to catch up', 300_000, 200, () => {
          const s = metrics.last();
          return s && s.written >= (before + count) * POINTS_PER_UPLINK && s.lag === 0 ? s : undefined;
        }).catch(() => undefined);
        doneAt = late?.t;
      }
      const total = await stored();
      n = total - before;
      before = total;
      const pubRate = count / ((published.done - published.start) / 1000);
      const behind = doneAt === undefined ? Infinity : (doneAt - lastPub) / 1000;
      const kept = n === count && behind <= 3;
      const stepSamples = metrics?.samples.filter((s) => s.t >= published.start && s.t <= (doneAt ?? Date.now())) ?? [];
      const storeLag = stepSamples.some((s) => s.localApplied > 0) ? `; sink local lag peak ${fmt(Math.max(...stepSamples.map((s) => s.localLag)))} records, at the last publish ${fmt(stepSamples.find((s) => s.t >= lastPub)?.localLag ?? NaN)}` : '';
      if (kept) best = Math.max(best, Math.min(rate, pubRate));
      add(
        sec,
        `${fmt(rate)} uplinks/s`,
        kept ? 'kept up' : n < count ? `**lost ${fmt(count - n)} of ${fmt(count)}**` : `fell behind: all stored ${fmt(behind, 1)} s after the last publish`,
        `published at ${fmt(pubRate)} /s; all stored ${Number.isFinite(behind) ? `${fmt(behind, 1)} s after the last publish` : 'never'}; RSS median ${fmt(rss.medianMb(published.start, lastPub))} / max ${fmt(rss.maxMb(published.start, doneAt ?? Date.now()))} MB; CPU ${fmt((100 * rss.cpuBetween(published.start, doneAt ?? lastPub)) / (((doneAt ?? lastPub) - published.start) / 1000))} % of a core, ${fmt((1e6 * rss.cpuBetween(published.start, doneAt ?? Date.now())) / Math.max(1, n))} µs per uplink stored; load avg ${load()}${storeLag}`,
      );
      if (!kept && n < count) break;
      if (!kept && behind > 2 * LADDER_SECONDS) break;
    }
  } finally {
    metrics?.stop();
    rss.stop();
    await gw?.stop();
    gw?.dispose();
    await nr?.stop();
  }
  add(sec, 'highest rate kept up with', `${fmt(best)} uplinks/s`);
  if (system === 'gateway') R.gwLadder = best;
  else R.nrLadder = best;
}

async function phaseOutage(broker: MosquittoServer, influx: InfluxdServer, devices: FleetDevice[]): Promise<void> {
  const appId = 'bench-outage';
  const total = OUTAGE_RATE * OUTAGE_SECONDS;
  await createDb(influx, 'gw_outage');
  await createDb(influx, 'nr_outage');
  const gw = await startGateway({ ...GW_WEB, name: 'outage', brokerUrl: broker.url, appId, influxUrl: influx.url, database: 'gw_outage', devices, execArgv: GW_FLAGS });
  const nr = await startNodeRed({ brokerPort: broker.port, influxPort: influx.port, database: 'nr_outage', appId, devices });
  const gwRss = new RssSampler(gw.pid);
  const metrics = new MetricsPoller(gw.httpPort, 500);
  const pub = new Publisher({ url: broker.url, appId, t0: t0Of(3), count: total, rate: OUTAGE_RATE, window: WINDOW, maxSeconds: OUTAGE_SECONDS * 3 + 60 });
  await waitFor('the publisher to start', 60_000, 50, () => pub.started());
  const started = pub.started() as number;
  const downAfter = (OUTAGE_SECONDS - OUTAGE_DOWN) / 2;
  await sleep(Math.max(0, started + downAfter * 1000 - Date.now()));
  const downAt = Date.now();
  await influx.stop();
  const stoppedAt = Date.now();
  log(`outage: influxd stopped (${stoppedAt - downAt} ms to stop)`);
  await sleep(Math.max(0, downAt + OUTAGE_DOWN * 1000 - Date.now()));
  const startAt = Date.now();
  await influx.start();
  const upAt = Date.now();
  log(`outage: influxd up again after ${((upAt - downAt) / 1000).toFixed(1)} s`);
  const published = await pub.result;
  // Settle: the gateway until its lag is 0 (its retry backoff may be up to 30 s), Node-RED until
  // its count stops moving.
  await waitFor('the gateway to catch up after the outage', 180_000, 250, () => {
    const s = metrics.last();
    return s && s.received >= total && s.lag === 0 && s.written >= total * POINTS_PER_UPLINK ? true : undefined;
  }).catch((err: unknown) => log(`outage: ${(err as Error).message}`));
  let last = -1;
  for (let i = 0; i < 60; i++) {
    const n = sum(await countReadings(influx, 'nr_outage'));
    if (n === last) break;
    last = n;
    await sleep(2_000);
  }
  metrics.stop();
  gwRss.stop();
  const gwStored = await countUplinkPoints(influx, 'gw_outage');
  const gwReadings = sum(await countReadings(influx, 'gw_outage'));
  const nrStored = sum(await countReadings(influx, 'nr_outage'));
  const nrErrors = nr.errorLines();
  const nrKinds = nr.errorKinds().slice(0, 3).map(([k, n]) => `${fmt(n)}× "${k}"`).join('; ');
  await nr.stop();
  await gw.stop();
  gw.dispose();
  const sec = `InfluxDB outage (${OUTAGE_DOWN} s of ${OUTAGE_SECONDS} s at ${OUTAGE_RATE} uplinks/s, both systems on the same stream)`;
  add(sec, 'uplinks published', fmt(published.acked), `InfluxDB down ${((upAt - downAt) / 1000).toFixed(1)} s (stop took ${((stoppedAt - downAt) / 1000).toFixed(1)} s, start ${((upAt - startAt) / 1000).toFixed(1)} s)`);
  add(sec, 'gateway: stored / lost', `${fmt(gwStored)} / ${fmt(total - gwStored)}`, `reading points ${fmt(gwReadings)}; RSS peak ${fmt(gwRss.peakMb())} MB`);
  add(sec, 'Node-RED: stored / lost', `${fmt(nrStored)} / ${fmt(total - nrStored)}`, `${fmt((100 * (total - nrStored)) / total, 1)} % lost; ${fmt(nrErrors)} errors logged: ${nrKinds}`);
  R.outageGwLoss = total - gwStored;
  R.outageNrLoss = total - nrStored;
}

async function phaseDrain(broker: MosquittoServer, influx: InfluxdServer, devices: FleetDevice[]): Promise<void> {
  const appId = 'bench-drain';
  const db = 'gw_drain';
  await createDb(influx, db);
  // The 1 GiB default cap would not hold a million records with their raw frames; make room and
  // block rather than drop if it is still too small (a drop would show as missing points).
  const gw = await startGateway({ ...GW_WEB, name: 'drain', brokerUrl: broker.url, appId, influxUrl: influx.url, database: db, devices, buffer: { max_bytes: 8 * 1024 ** 3, when_full: 'block' }, execArgv: GW_FLAGS });
  const rss = new RssSampler(gw.pid);
  const metrics = new MetricsPoller(gw.httpPort, 250);
  await influx.stop();
  log(`drain: influxd stopped; publishing ${fmt(BACKLOG)} uplinks into the gateway`);
  // Paced by the gateway: a broker-side backlog would be dumped onto the gateway at once
  // (Mosquitto 2.0.11 does not hold max_inflight_messages for queued messages), see README.
  const pub = new Publisher({ url: broker.url, appId, t0: t0Of(4), count: BACKLOG, rate: 0, window: WINDOW, maxSeconds: 1_200, paceMetricsUrl: `http://127.0.0.1:${gw.httpPort}/metrics`, paceWindow: PACE_WINDOW });
  let lastLog = 0;
  const ingested = await waitFor<MetricSample>('the backlog to be in the durable log', 1_200_000, 250, () => {
    const s = metrics.last();
    if (s && Date.now() - lastLog > 15_000) {
      lastLog = Date.now();
      log(`drain: received ${fmt(s.received)}, lag ${fmt(s.lag)}, log ${fmt(s.bufferBytes / 1024 ** 2)} MB, RSS ${fmt((rss.samples[rss.samples.length - 1]?.rssKb ?? 0) / 1024)} MB`);
    }
    return s && s.received >= BACKLOG && s.lag >= BACKLOG ? s : undefined;
  });
  const published = await pub.result;
  const ingestRate = BACKLOG / ((ingested.t - published.start) / 1000);
  const ingestRssPeak = rss.peakMb();
  const logBytes = ingested.bufferBytes;
  const writtenBefore = ingested.written;
  const restartAt = Date.now();
  await influx.start();
  const upAt = Date.now();
  const influxCpu = new RssSampler(influx.pid as number, 500);
  log(`drain: influxd up after ${((upAt - restartAt) / 1000).toFixed(1)} s; draining`);
  lastLog = 0;
  const drained = await waitFor<MetricSample>('the sink lag to reach 0', 1_200_000, 100, () => {
    const s = metrics.last();
    if (s && Date.now() - lastLog > 10_000) {
      lastLog = Date.now();
      log(`drain: lag ${fmt(s.lag)}, written ${fmt(s.written)}`);
    }
    return s && s.lag === 0 && s.written - writtenBefore >= BACKLOG * POINTS_PER_UPLINK ? s : undefined;
  });
  metrics.stop();
  rss.stop();
  influxCpu.stop();
  const firstWrite = metrics.samples.find((s) => s.t >= upAt && s.written > writtenBefore);
  const drainFrom = firstWrite?.t ?? upAt;
  const cpuNote = `CPU during the drain: gateway ${fmt((100 * rss.cpuBetween(drainFrom, drained.t)) / ((drained.t - drainFrom) / 1000))} % of a core, influxd ${fmt((100 * influxCpu.cpuBetween(drainFrom, drained.t)) / ((drained.t - drainFrom) / 1000))} %; load avg ${load()}`;
  const points = drained.written - writtenBefore;
  const fromUp = points / ((drained.t - upAt) / 1000);
  const fromFirst = firstWrite ? points / ((drained.t - firstWrite.t) / 1000) : NaN;
  const steady = steadyRate(
    metrics.samples.filter((s) => s.t >= upAt),
    (s) => s.written - writtenBefore,
    points,
  );
  const stored = await countUplinkPoints(influx, db);
  const readings = sum(await countReadings(influx, db));
  const rssPeak = rss.peakMb();
  const rssDrain = rss.maxMb(upAt, drained.t);
  const dups = (await scrape(gw.httpPort))['lorawan_edge_duplicates_total'] ?? 0;
  await gw.stop();
  const logNote = gatewayLogNote(gw);
  gw.dispose();
  const sec = `drain of a ${fmt(BACKLOG)}-uplink backlog`;
  add(sec, 'ingest with InfluxDB down (publish → all records in the log)', `${fmt(ingestRate)} uplinks/s`, `durable log ${fmt(logBytes / 1024 ** 2)} MB = ${fmt(logBytes / BACKLOG)} B/record; RSS peak while ingesting ${fmt(ingestRssPeak)} MB`);
  add(sec, 'wait from InfluxDB up to first write', `${fmt(((firstWrite?.t ?? NaN) - upAt) / 1000, 1)} s`, 'sink retry backoff (default retry_max_backoff_ms 30 s)');
  const uniquePps = (BACKLOG * POINTS_PER_UPLINK) / ((drained.t - (firstWrite?.t ?? upAt)) / 1000);
  add(sec, 'drain rate from first write to lag 0', `${fmt(fromFirst)} points/s`, `${fmt(points)} points written in ${fmt((drained.t - (firstWrite?.t ?? upAt)) / 1000, 1)} s; counting only the ${fmt(BACKLOG * POINTS_PER_UPLINK)} distinct points (redeliveries stored twice overwrite): ${fmt(uniquePps)} points/s = ${fmt(uniquePps / POINTS_PER_UPLINK)} uplinks/s`);
  add(sec, 'drain rate steady (10–90 %)', `${fmt(steady)} points/s`, cpuNote);
  add(sec, 'drain rate from InfluxDB up to lag 0', `${fmt(fromUp)} points/s`);
  add(sec, 'stored in InfluxDB', `${fmt(stored)} lorawan_uplink + ${fmt(readings)} reading points`, stored === BACKLOG && readings === BACKLOG ? 'complete' : `MISSING ${BACKLOG - stored} / ${BACKLOG - readings}`);
  add(sec, 'gateway RSS peak (whole phase) / while draining', `${fmt(rssPeak)} / ${fmt(rssDrain)} MB`, heapNote(metrics.samples));
  add(sec, 'messages received / records in the log', `${fmt(drained.received)} / ${fmt(ingested.lag)}`, `${fmt(dups)} recognised as redeliveries; log: ${logNote}`);
  R.drainPps = fromFirst;
  R.drainRssPeak = rssPeak;
  R.backlog = BACKLOG;
}

function profileTable(title: string, file: string): string {
  const s = summarizeProfile(file, 30);
  return [
    `${title} (${fmt(s.totalMs / 1000, 1)} s profiled, idle ${fmt(s.idlePct, 1)} %; self time, line numbers are tsx's transpiled output):`,
    '',
    '| self ms | % | function | where |',
    '|---:|---:|---|---|',
    ...s.rows.map((r) => `| ${fmt(r.selfMs)} | ${fmt(r.pct, 1)} | ${r.fn} | ${r.where.replace(/:1$/, '')} |`),
    '',
    '| self ms | % | folder / package |',
    '|---:|---:|---|',
    ...s.byFile.slice(0, 20).map((r) => `| ${fmt(r.selfMs)} | ${fmt(r.pct, 1)} | ${r.fn} |`),
  ].join('\n');
}

/**
 * CPU profiles of the gateway (`node --cpu-prof`): (1) the throughput phase again; (2) a drain
 * only: a backlog is put into the log with InfluxDB down, the gateway is stopped, InfluxDB
 * started, and the gateway started again under the profiler in the same folder until lag 0.
 */
async function phaseProfile(broker: MosquittoServer, influx: InfluxdServer, devices: FleetDevice[]): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'lorawan-edge-bench-prof-'));
  const parts: string[] = [];
  try {
    await phaseTput(broker, influx, devices, { profileDir: dir, label: 'profile' });
    const file = mainProfile(dir);
    if (file) parts.push(profileTable(`Gateway CPU profile, throughput phase (${fmt(N)} uplinks at full speed, ingest and InfluxDB writes together)`, file));
    rmSync(file ?? join(dir, 'none'), { force: true });

    const backlog = Math.min(BACKLOG, 200_000);
    const db = 'gw_drain_prof';
    const appId = 'bench-drain-prof';
    await createDb(influx, db);
    const fill = await startGateway({ ...GW_WEB, name: 'drain-prof', brokerUrl: broker.url, appId, influxUrl: influx.url, database: db, devices, buffer: { max_bytes: 8 * 1024 ** 3, when_full: 'block' }, execArgv: GW_FLAGS });
    const fillMetrics = new MetricsPoller(fill.httpPort, 250);
    await influx.stop();
    const pub = new Publisher({ url: broker.url, appId, t0: t0Of(8), count: backlog, rate: 0, window: WINDOW, maxSeconds: 900, paceMetricsUrl: `http://127.0.0.1:${fill.httpPort}/metrics`, paceWindow: PACE_WINDOW });
    await waitFor('the profile backlog in the log', 900_000, 250, () => {
      const s = fillMetrics.last();
      return s && s.received >= backlog && s.lag >= backlog ? true : undefined;
    });
    await pub.result;
    fillMetrics.stop();
    await fill.stop();
    await influx.start();
    const profDir = join(dir, 'drain');
    const gw = await startGateway({ ...GW_WEB, name: 'drain-prof', brokerUrl: broker.url, appId, influxUrl: influx.url, database: db, devices, buffer: { max_bytes: 8 * 1024 ** 3, when_full: 'block' }, dir: fill.dir, execArgv: [...GW_FLAGS, '--cpu-prof', `--cpu-prof-dir=${profDir}`] });
    const metrics = new MetricsPoller(gw.httpPort, 250);
    const upAt = Date.now();
    const done = await waitFor<MetricSample>('the profiled drain', 900_000, 100, () => {
      const s = metrics.last();
      return s && s.lag === 0 && s.written >= backlog * POINTS_PER_UPLINK ? s : undefined;
    });
    metrics.stop();
    await gw.stop();
    gw.dispose();
    add('drain under --cpu-prof (gateway restarted on the backlog)', `${fmt(backlog)} uplinks`, `${fmt(done.written / ((done.t - upAt) / 1000))} points/s`, 'from gateway start (incl. its start-up) to lag 0');
    const dfile = mainProfile(profDir);
    if (dfile) parts.push(profileTable(`Gateway CPU profile, drain only (${fmt(backlog)}-uplink backlog, from start to lag 0)`, dfile));
    R.profile = parts.join('\n\n');
    process.stdout.write(`\n${R.profile}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------

function goalsTable(): string[] {
  const yes = (ok: boolean | undefined): string => (ok === undefined ? 'not measured' : ok ? 'met' : '**missed**');
  const ratio = R.gwE2e !== undefined && R.nrE2e !== undefined ? R.gwE2e / R.nrE2e : undefined;
  const ladderRatio = R.gwLadder !== undefined && R.nrLadder ? R.gwLadder / R.nrLadder : undefined;
  const rssMax = R.gwRssPeak !== undefined || R.drainRssPeak !== undefined ? Math.max(R.gwRssPeak ?? 0, R.drainRssPeak ?? 0) : undefined;
  return [
    '| goal | measured | |',
    '|---|---|---|',
    `| ≥ ${fmt(GOALS.uplinksPerSec)} uplinks/s sustained | flood: ${fmt(R.gwE2e ?? NaN)} end to end, ${fmt(R.gwSteadyIn ?? NaN)} in / ${fmt(R.gwSteadyOut ?? NaN)} out steady; fixed rates: kept up with ${fmt(R.gwLadder ?? NaN)}/s | ${yes(R.gwE2e === undefined ? undefined : Math.max(Math.min(R.gwE2e, R.gwSteadyOut ?? 0), R.gwLadder ?? 0) >= GOALS.uplinksPerSec)} |`,
    `| drain ≥ ${fmt(GOALS.drainPointsPerSec)} points/s (${fmt(R.backlog ?? BACKLOG)}-uplink backlog) | ${fmt(R.drainPps ?? NaN)} points/s | ${yes(R.drainPps === undefined ? undefined : R.drainPps >= GOALS.drainPointsPerSec)} |`,
    `| RSS ≤ ${GOALS.rssMb} MB | peak ${fmt(R.gwRssPeak ?? NaN)} MB (throughput), ${fmt(R.drainRssPeak ?? NaN)} MB (1 M backlog) | ${yes(rssMax === undefined ? undefined : rssMax <= GOALS.rssMb)} |`,
    `| ≥ ${GOALS.vsNodeRed}× Node-RED's throughput | flood: ${ratio === undefined ? 'n/a' : `${fmt(ratio, 1)}×`} (${fmt(R.gwE2e ?? NaN)} vs ${fmt(R.nrE2e ?? NaN)} uplinks/s stored end to end); fixed rates: ${ladderRatio === undefined ? 'n/a' : `${fmt(ladderRatio, 1)}×`} (${fmt(R.gwLadder ?? NaN)} vs ${fmt(R.nrLadder ?? NaN)} uplinks/s kept up with) | ${yes(ratio === undefined ? undefined : Math.max(ratio, ladderRatio ?? 0) >= GOALS.vsNodeRed)} |`,
    `| zero loss where Node-RED loses (${OUTAGE_DOWN} s InfluxDB outage) | gateway lost ${fmt(R.outageGwLoss ?? NaN)}, Node-RED lost ${fmt(R.outageNrLoss ?? NaN)} | ${yes(R.outageGwLoss === undefined ? undefined : R.outageGwLoss === 0)} |`,
  ];
}

async function main(): Promise<void> {
  const began = Date.now();
  buildBundle();
  const deployed = deployedGateway();
  const unitEnv = Object.entries(deployed.env).map(([k, v]) => `${k}=${v} `).join('');
  log(`gateway: ${unitEnv}node ${[...deployed.nodeFlags, ...GW_FLAGS].join(' ')} dist/lorawan-edge.mjs gateway (bundle built from the working tree; flags and environment from gateway/deploy/lorawan-edge.service)`);
  const devices = buildFleet(FLEET_SIZE);
  log(`fleet: ${devices.length} devices (${MODELS.map((m) => m.id).join(', ')}); per measurement for ${fmt(N)} uplinks: ${JSON.stringify(expectedPerMeasurement(devices, N))}`);
  const [broker, influx] = await Promise.all([
    startMosquitto({ maxQueuedMessages: 2_000_000, maxInflightMessages: INFLIGHT }),
    startInfluxd({ database: null }),
  ]);
  const mosquittoVersion = version('/usr/sbin/mosquitto', ['-h']).replace(/^mosquitto version /, '');
  const influxVersion = version('influxd', ['version']);
  const machine = {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    ramGb: totalmem() / 1024 ** 3,
    kernel: release(),
    node: process.version,
    loadStart: load(),
  };
  log(`machine: ${machine.cpu}, ${machine.cores} cores, ${machine.ramGb.toFixed(1)} GB; load ${machine.loadStart}`);
  try {
    if (PHASES.has('tput')) await phaseTput(broker, influx, devices, { label: 'tput' });
    if (PHASES.has('tput')) await phaseTput(broker, influx, devices, { label: 'tput-paced', paced: true });
    if (PHASES.has('nodered')) await phaseNodeRed(broker, influx, devices);
    if (PHASES.has('ladder') || PHASES.has('gwladder')) await phaseLadder('gateway', broker, influx, devices, GW_RATES);
    if (PHASES.has('ladder')) await phaseLadder('nodered', broker, influx, devices, NR_RATES);
    if (PHASES.has('outage')) await phaseOutage(broker, influx, devices);
    if (PHASES.has('drain')) await phaseDrain(broker, influx, devices);
    const missed = (R.gwE2e !== undefined && R.gwE2e < GOALS.uplinksPerSec) || (R.drainPps !== undefined && R.drainPps < GOALS.drainPointsPerSec) || (R.gwRssPeak ?? 0) > GOALS.rssMb;
    if (values.profile === 'on' || (values.profile === 'auto' && missed)) await phaseProfile(broker, influx, devices);
  } finally {
    await Promise.all([broker.dispose(), influx.dispose()]);
  }
  const argv = process.argv.slice(2).join(' ');
  const md = [
    `## Gateway end to end (bench/gateway), ${new Date().toISOString().slice(0, 10)}`,
    '',
    `Machine: ${machine.cpu}, ${machine.cores} cores, ${fmt(machine.ramGb, 1)} GB RAM, Linux ${machine.kernel}; Node ${machine.node}; Mosquitto ${mosquittoVersion}; ${influxVersion}; Node-RED ${nodeRedVersion()} with node-red-contrib-influxdb ${pkgVersion('node-red-contrib-influxdb')}. Load average at start ${machine.loadStart}, at end ${load()} (the machine is shared: other work running at the same time lowers every figure).`,
    '',
    `Command: \`node --import tsx bench/gateway/run.ts${argv ? ` ${argv}` : ''}\` (${fmt((Date.now() - began) / 60_000, 1)} min). Broker: Mosquitto with max_queued_messages 2,000,000 and max_inflight_messages ${fmt(INFLIGHT)}; publisher window ${fmt(WINDOW)} unacknowledged QoS 1 messages. Gateway: \`${unitEnv}node ${[...deployed.nodeFlags, ...GW_FLAGS].join(' ')} dist/lorawan-edge.mjs gateway\` (the bundle, with the systemd unit's node flags). Fleet: ${devices.length} devices of ${MODELS.length} models; the gateway writes ${POINTS_PER_UPLINK} points per uplink (reading + lorawan_uplink), the Node-RED flow 1 (the reading).`,
    '',
    ...goalsTable(),
    '',
    '| phase | metric | value | note |',
    '|---|---|---|---|',
    ...rows.map((r) => `| ${r.section} | ${r.metric} | ${r.value} | ${r.note ?? ''} |`),
    '',
    ...(R.profile ? [R.profile, ''] : []),
    'Node-RED function node (gets `lorawanEdge = { nativeCodec, devices }` from functionGlobalContext, see bench/gateway/README.md):',
    '',
    '```js',
    FUNCTION_NODE_CODE,
    '```',
    '',
  ].join('\n');
  process.stdout.write(`\n${md}`);
  writeFileSync(values.out as string, md);
  log(`written to ${values.out as string}`);
}

function pkgVersion(name: string): string {
  try {
    return (JSON.parse(execFileSync(process.execPath, ['-p', `JSON.stringify(require('${name}/package.json'))`], { cwd: REPO_ROOT, encoding: 'utf8' })) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}
function nodeRedVersion(): string {
  return pkgVersion('node-red');
}

await main();
