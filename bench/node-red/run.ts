/**
 * bench/node-red: the example flow "ChirpStack MQTT to durable InfluxDB" (lorawan mqtt in, which
 * decodes and appends to the durable log and acknowledges after the fsync) against the common flow (mqtt in → function → node-red-contrib-
 * influxdb, bench/gateway/node-red.ts), each in its own Node-RED 4.1 child process, on one
 * Mosquitto and one InfluxDB 1.6, with bench/gateway's fleet, publisher and samplers.
 *
 *   ladder   each flow alone at fixed rates (--rates, --seconds per step): a step is "kept up"
 *            when every uplink is in InfluxDB within 5 s of its last publish and nothing is lost;
 *            CPU per stored uplink and RSS from /proc of the Node-RED process. Repeated --repeat
 *            times in the same run, the two flows' ladders interleaved (common first in odd
 *            rounds, the example flow first in even ones), so a change in the shared machine's
 *            load hits both; the medians and the median of the per-round ratios are reported
 *   outage   both flows on the same stream (--outage-rate for --outage-seconds), InfluxDB
 *            stopped for --outage-down s in the middle: stored / lost per flow
 *
 *   node --import tsx bench/node-red/run.ts [--phases ladder,outage] [--rates 1000,2000,4000,6000,8000]
 *        [--seconds 10] [--repeat 3] [--outage-rate 500] [--outage-seconds 60] [--outage-down 30] [--out bench/node-red/LAST_RUN.md]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from '../../codecs/testing/paths.ts';
import { startInfluxd, type InfluxdServer } from '../../support/influxd.ts';
import { startMosquitto, type MosquittoServer } from '../../support/mosquitto.ts';
import { buildFleet, registryYaml, type FleetDevice } from '../gateway/fleet.ts';
import { startNodeRed, type NodeRed } from '../gateway/node-red.ts';
import { countReadings, Publisher, RssSampler, sleep, sum } from '../gateway/procs.ts';

const { values } = parseArgs({
  options: {
    phases: { type: 'string', default: 'ladder,outage' },
    rates: { type: 'string', default: '500,1000,1500,2000,2500,3000,4000' },
    seconds: { type: 'string', default: '10' },
    repeat: { type: 'string', default: '3' },
    'outage-rate': { type: 'string', default: '500' },
    'outage-seconds': { type: 'string', default: '60' },
    'outage-down': { type: 'string', default: '30' },
    out: { type: 'string', default: join(REPO_ROOT, 'bench', 'node-red', 'LAST_RUN.md') },
  },
});
const PHASES = new Set(String(values.phases).split(','));
const RATES = String(values.rates).split(',').map(Number);
const SECONDS = Number(values.seconds);
const REPEAT = Math.max(1, Math.min(9, Number(values.repeat)));
const OUTAGE_RATE = Number(values['outage-rate']);
const OUTAGE_SECONDS = Number(values['outage-seconds']);
const OUTAGE_DOWN = Number(values['outage-down']);
const T0 = Date.UTC(2026, 1, 1);
const WINDOW = 2_000;
const KEPT_UP_S = 5;

type Flow = 'lorawan-edge' | 'common';
const log = (m: string): void => void process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${m}\n`);
const fmt = (n: number, d = 0): string => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : 'n/a');
const rows: string[] = [];
const add = (flow: string, what: string, value: string, note = ''): void => void rows.push(`| ${flow} | ${what} | ${value} | ${note} |`);

/** The example flow as shipped, pointed at the bench's broker, InfluxDB, topic and registry. */
function exampleFlow(o: { brokerPort: number; influxUrl: string; db: string; appId: string; registryFile: string; clientId: string }): object[] {
  const nodes = JSON.parse(readFileSync(join(REPO_ROOT, 'flows', 'examples', 'ChirpStack MQTT to durable InfluxDB.json'), 'utf8')) as Record<string, unknown>[];
  return nodes.map((n) => {
    if (n['type'] === 'lorawan mqtt in') return { ...n, broker: `mqtt://127.0.0.1:${o.brokerPort}`, clientId: o.clientId, topic: `application/${o.appId}/device/+/event/up` };
    if (n['type'] === 'lorawan-influxdb-config') return { ...n, url: o.influxUrl, database: o.db };
    if (n['type'] === 'lorawan-device-catalogue') return { ...n, registryFile: o.registryFile };
    return n;
  });
}

async function start(flow: Flow, broker: MosquittoServer, influx: InfluxdServer, db: string, appId: string, devices: FleetDevice[]): Promise<NodeRed> {
  await influx.query(`CREATE DATABASE ${db}`, { method: 'POST' });
  const o = { brokerPort: broker.port, influxPort: influx.port, database: db, appId, devices };
  if (flow === 'common') return startNodeRed(o, 90_000);
  return startNodeRed(o, 90_000, {
    packages: [join(REPO_ROOT, 'flows')],
    files: { 'devices.yaml': registryYaml(devices) },
    flows: (_common, dir) => exampleFlow({ brokerPort: broker.port, influxUrl: influx.url, db, appId, registryFile: join(dir, 'devices.yaml'), clientId: `bench-${appId}` }),
  });
}

const stored = async (influx: InfluxdServer, db: string): Promise<number> => sum(await countReadings(influx, db));

async function ladder(flow: Flow, round: number, broker: MosquittoServer, influx: InfluxdServer, devices: FleetDevice[]): Promise<void> {
  const db = `ladder_${flow.replace('-', '_')}_${round}`;
  const appId = `nr-ladder-${flow}-${round}`;
  const label = `${flow} (round ${round})`;
  const nr = await start(flow, broker, influx, db, appId, devices);
  const rss = new RssSampler(nr.pid);
  let before = 0;
  let from = 0;
  let best = 0;
  let bestNote = '';
  try {
    for (const rate of RATES) {
      const count = rate * SECONDS;
      const pub = new Publisher({ url: broker.url, appId, t0: T0, from, count, rate, window: WINDOW, maxSeconds: SECONDS * 4 + 30 });
      from += count;
      const published = await pub.result;
      let doneAt: number | undefined;
      let n = 0;
      const until = published.done + Math.max(30_000, SECONDS * 2_000);
      while (Date.now() < until) {
        n = (await stored(influx, db)) - before;
        if (n >= count) {
          doneAt = Date.now();
          break;
        }
        if (Date.now() - published.done > 10_000) {
          await sleep(2_000);
          if ((await stored(influx, db)) - before === n) break;
        }
        await sleep(250);
      }
      const total = await stored(influx, db);
      n = total - before;
      before = total;
      const pubRate = count / ((published.done - published.start) / 1000);
      const behind = doneAt === undefined ? Infinity : (doneAt - published.done) / 1000;
      // Kept up: nothing lost, and the backlog did not grow — everything stored within
      // KEPT_UP_S of the last publish (the example flow batches: 100 ms fsync + 1 s sink flush).
      const kept = n === count && behind <= KEPT_UP_S;
      const end = doneAt ?? Date.now();
      const cpu = rss.cpuBetween(published.start, end);
      const note = `published at ${fmt(pubRate)} /s; CPU ${fmt((100 * cpu) / ((end - published.start) / 1000))} % of a core, ${fmt((1e6 * cpu) / Math.max(1, n))} µs per stored uplink; RSS median ${fmt(rss.medianMb(published.start, published.done))} / max ${fmt(rss.maxMb(published.start, end))} MB; load ${loadavg()[0]?.toFixed(1)}`;
      add(label, `${fmt(rate)} uplinks/s`, kept ? 'kept up' : n < count ? `**lost ${fmt(count - n)} of ${fmt(count)}**` : `behind: all stored ${fmt(behind, 1)} s after the last publish`, note);
      log(`${label} ${rate}/s: ${kept ? 'kept up' : `n=${n}/${count} behind=${behind}`}`);
      if (kept && Math.min(rate, pubRate) > best) {
        best = Math.min(rate, pubRate);
        bestNote = note;
      }
      if (!kept) break;
    }
  } finally {
    rss.stop();
    await nr.stop();
  }
  add(label, '**highest lossless rate kept up with**', `**${fmt(best)} uplinks/s**`, bestNote);
  results[flow].push(best);
}

async function outage(broker: MosquittoServer, influx: InfluxdServer, devices: FleetDevice[]): Promise<void> {
  const appId = 'nr-outage';
  const total = OUTAGE_RATE * OUTAGE_SECONDS;
  const ours = await start('lorawan-edge', broker, influx, 'outage_lorawan_edge', appId, devices);
  const common = await start('common', broker, influx, 'outage_common', appId, devices);
  const rssOurs = new RssSampler(ours.pid);
  const rssCommon = new RssSampler(common.pid);
  try {
    const pub = new Publisher({ url: broker.url, appId, t0: T0 + 86_400_000, count: total, rate: OUTAGE_RATE, window: WINDOW, maxSeconds: OUTAGE_SECONDS * 3 + 60 });
    for (let i = 0; i < 600 && !pub.started(); i++) await sleep(50);
    await sleep(((OUTAGE_SECONDS - OUTAGE_DOWN) / 2) * 1000);
    const downAt = Date.now();
    await influx.stop();
    await sleep(Math.max(0, downAt + OUTAGE_DOWN * 1000 - Date.now()));
    await influx.start();
    const upAt = Date.now();
    const published = await pub.result;
    // Settle: until both counts stop moving (bounded).
    let last = '';
    for (let i = 0; i < 90; i++) {
      const now = `${await stored(influx, 'outage_lorawan_edge')}/${await stored(influx, 'outage_common')}`;
      if (now === last && now.startsWith(`${total}/`)) break;
      last = now;
      await sleep(2_000);
    }
    const a = await stored(influx, 'outage_lorawan_edge');
    const b = await stored(influx, 'outage_common');
    const head = `outage: ${fmt(published.acked)} uplinks at ${fmt(OUTAGE_RATE)}/s, InfluxDB down ${fmt((upAt - downAt) / 1000, 1)} s`;
    add('lorawan-edge', head, `stored ${fmt(a)}, **lost ${fmt(total - a)}**`, `RSS max ${fmt(rssOurs.peakMb())} MB`);
    add('common', head, `stored ${fmt(b)}, **lost ${fmt(total - b)}** (${fmt((100 * (total - b)) / total, 1)} %)`, `${fmt(common.errorLines())} errors logged; RSS max ${fmt(rssCommon.peakMb())} MB`);
  } finally {
    rssOurs.stop();
    rssCommon.stop();
    await ours.stop();
    await common.stop();
  }
}

/** Lossless rate per flow, one per round. */
const results: Record<Flow, number[]> = { 'lorawan-edge': [], common: [] };
const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length === 0 ? NaN : s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
/** a/b per round; a flow that kept up where the other kept up with nothing counts as ∞. */
const ratios = (): number[] => results['lorawan-edge'].map((a, i) => { const b = results.common[i] ?? 0; return b > 0 ? a / b : a > 0 ? Infinity : NaN; });

async function main(): Promise<void> {
  const { buildFlows } = await import('../../flows/build.mjs');
  log(await buildFlows(await import('esbuild')));
  const devices = buildFleet();
  const [broker, influx] = await Promise.all([startMosquitto({ maxInflightMessages: 2000, maxQueuedMessages: 2_000_000 }), startInfluxd({ database: null, startTimeoutMs: 120_000 })]);
  const started = Date.now();
  const loadStart = loadavg().map((x) => x.toFixed(1)).join(' ');
  try {
    if (PHASES.has('ladder')) {
      for (let round = 1; round <= REPEAT; round++) {
        const order: Flow[] = round % 2 === 1 ? ['common', 'lorawan-edge'] : ['lorawan-edge', 'common'];
        for (const flow of order) await ladder(flow, round, broker, influx, devices);
      }
    }
    if (PHASES.has('outage')) await outage(broker, influx, devices);
  } finally {
    await Promise.all([broker.dispose(), influx.dispose()]);
  }
  const r = ratios();
  const ratioText = r.map((x) => (x === Infinity ? '∞' : fmt(x, 1))).join(', ');
  const text = [
    `## bench/node-red — ${new Date().toISOString().slice(0, 16)}Z`,
    '',
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${fmt(totalmem() / 1024 ** 3, 1)} GiB, Node ${process.version}, shared (load ${loadStart} at the start, ${loadavg().map((x) => x.toFixed(1)).join(' ')} at the end).`,
    `Command: \`node --import tsx bench/node-red/run.ts --phases ${[...PHASES].join(',')} --rates ${RATES.join(',')} --seconds ${SECONDS} --repeat ${REPEAT} --outage-rate ${OUTAGE_RATE} --outage-seconds ${OUTAGE_SECONDS} --outage-down ${OUTAGE_DOWN}\` (${fmt((Date.now() - started) / 60_000, 1)} min).`,
    'Fleet: bench/gateway/fleet.ts (1,000 devices of six models, one reading per uplink); ChirpStack v4 JSON, QoS 1, one Mosquitto 2.0 and one InfluxDB 1.6; each flow in its own Node-RED 4.1 process.',
    '',
    '| flow | measure | result | notes |',
    '|---|---|---|---|',
    ...rows,
    '',
    ...(PHASES.has('ladder')
      ? [
          `Lossless rate per round (uplinks/s): example flow ${results['lorawan-edge'].map((x) => fmt(x)).join(', ')}; common flow ${results.common.map((x) => fmt(x)).join(', ')}.`,
          `Medians: example flow **${fmt(median(results['lorawan-edge']))} /s**, common flow **${fmt(median(results.common))} /s**; ratio per round ${ratioText}, median **${median(r) === Infinity ? '∞' : fmt(median(r), 1)}×** (goal ≥ 2×).`,
        ]
      : []),
    '',
  ].join('\n');
  writeFileSync(String(values.out), text);
  process.stdout.write(text);
}

await main();
