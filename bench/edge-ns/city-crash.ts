/**
 * bench/edge-ns/city-crash — issue 10's "kill -9 of the gateway three times during a city run":
 *
 *   simulate (city fleet, OTAA, 12 gateways) ─UDP─► gateway (child, bin/lorawan-edge) ─► InfluxDB 1.6
 *
 * The gateway is killed with SIGKILL `--kills` times at random moments (uplink counts drawn from
 * `--seed` between 10 % and 90 % of the run) and restarted each time. At the end, with the
 * gateway stopped, the durable log is read back through a never-drained `hold` sink (the rig of
 * test/edge-ns-crash.test.ts) and InfluxDB is queried, and the run is checked:
 *   - every uplink the gateway stored (the log) is stored once: no duplicate devEui/fCnt;
 *   - InfluxDB holds exactly the log's uplinks, with the ledger's values (each uplink's time, every
 *     reading in its category's measurement; the first differences are printed on stderr);
 *   - no device joined again after its first join (simulator join summary, join records);
 *   - with `--resend <ms>` (the default, 100: forwarders that keep each PUSH_DATA until its
 *     PUSH_ACK and send it again, simulator/outputs/udp-forwarder.ts) every heard ledger uplink is
 *     stored: any loss fails the run;
 *   - with `--resend 0` (the stock Semtech forwarder: no resend) every heard uplink is stored
 *     except those sent while the gateway was down (lost on UDP by nature) or in its last
 *     `AT_RISK_MS` before a kill: both are counted and reported; a loss outside them fails the run.
 * Also reported: how long the whole fleet took to join (every OTAA device accepted), the wall
 * time, and the gateway's peak RSS (the kernel's VmHWM over every process life).
 * `lorawan_edge_ns_uplinks_total` is scraped every 250 ms; the last value of each process life
 * is reported next to what the log holds. Exit code 1 when a check fails.
 *
 *   node --import tsx bench/edge-ns/city-crash.ts [--divisor 20] [--count 6000] [--rate 100] [--kills 3] [--seed 1] [--resend 100]
 *
 * `--divisor N` runs 1/N of every device group of simulator/fleets/city.yaml (1 = all 10,000).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createSimulation, type LedgerEntry } from '../../simulator/index.ts';
import { citySlice } from '../../simulator/testing/fleets.ts';
import { CATEGORY_MEASUREMENT } from '../../gateway/schema/native.ts';
import { freePorts } from '../../support/free-port.ts';
import { quoteIdent, startInfluxd } from '../../support/influxd.ts';
import { exited, KillSchedule, readHeldRecords, startCrashGateway, uplinkCounts, writeCrashGatewayFiles } from '../../test/edge-ns-crash-rig.ts';
import { countUplinkPoints, RssSampler, scrape, sleep } from '../gateway/procs.ts';

const { values } = parseArgs({
  options: {
    divisor: { type: 'string', default: '20' },
    count: { type: 'string', default: '6000' },
    rate: { type: 'string', default: '100' },
    kills: { type: 'string', default: '3' },
    seed: { type: 'string', default: '1' },
    resend: { type: 'string', default: '100' },
  },
});
const resendMs = Number(values.resend);
const divisor = Number(values.divisor);
const count = Number(values.count);
const rate = Number(values.rate);
const kills = Number(values.kills);
const seed = Number(values.seed);
/** How long before a kill a frame may still have been in the dedup window or an uncommitted batch. */
const AT_RISK_MS = 1_000;

/** The inbox journal's series of one gateway life (buckets as `bucket:<le>`, recoveries as `recovered:<outcome>`). */
async function inboxSeries(port: number): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^(lorawan_edge_ns_inbox_[a-z_]+)(?:\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const v = Number(m[3]);
    const le = /le="([^"]+)"/.exec(m[2] ?? '');
    const outcome = /outcome="([^"]+)"/.exec(m[2] ?? '');
    const key = m[1] === 'lorawan_edge_ns_inbox_commit_seconds_bucket' ? (le && le[1] !== '+Inf' ? `bucket:${le[1]}` : undefined) : outcome ? `recovered:${outcome[1]}` : m[1];
    if (key) out.set(key, (out.get(key) ?? 0) + v);
  }
  return out;
}

/** mulberry32: a small seeded PRNG, so the kill moments of a run can be repeated. */
function prng(s: number): () => number {
  let a = s >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rnd = prng(seed);
const killAt = Array.from({ length: kills }, () => Math.floor(count * (0.1 + 0.8 * rnd()))).sort((a, b) => a - b);

const loadBefore = loadavg().map((x) => x.toFixed(1)).join(' ');
const started = Date.now();
const dir = mkdtempSync(join(tmpdir(), 'city-crash-'));
const influx = await startInfluxd({ database: 'city' });
const procs: ChildProcess[] = [];
try {
  const { fleet, lookup } = await citySlice(divisor);
  const probe = await createSimulation({ fleet, lookup, seed });
  const otaa = probe.devices.filter((d) => d.keys.activation === 'OTAA').length;
  const [udpPort, httpPort, deadPort] = (await freePorts(3)) as [number, number, number];
  const config = writeCrashGatewayFiles(dir, probe, { udpPort, httpPort, deadPort }, { url: influx.url, database: 'city' });

  // Last scraped lorawan_edge_ns_uplinks_total of each process life, and its inbox metrics.
  const accepted: number[] = [0];
  const inboxLives: Map<string, number>[] = [new Map()];
  let scraping = true;
  const poller = (async () => {
    while (scraping) {
      try {
        const m = await scrape(httpPort);
        accepted[accepted.length - 1] = m['lorawan_edge_ns_uplinks_total'] ?? 0;
        inboxLives[inboxLives.length - 1] = await inboxSeries(httpPort);
      } catch {
        // down or restarting
      }
      await sleep(250);
    }
  })();

  const ledger: LedgerEntry[] = [];
  const sentAt = new Map<number, number>();
  const rss: RssSampler[] = [];
  const start = async (): Promise<ChildProcess> => {
    const p = await startCrashGateway(config, httpPort, procs);
    if (p.pid !== undefined) rss.push(new RssSampler(p.pid, 500));
    return p;
  };
  const schedule = new KillSchedule(await start(), killAt, start, () => {
    accepted.push(0);
    inboxLives.push(new Map());
  });
  const downs = schedule.downs;
  const sim = await createSimulation({
    fleet,
    lookup,
    seed,
    speed: 'max',
    rate,
    output: { type: 'udp', host: '127.0.0.1', port: udpPort, ackTimeoutMs: 1000, keepaliveMs: 200, ...(resendMs > 0 ? { resendMs } : {}) },
    joinTimeoutMs: 5000,
    onUplink: (e) => {
      ledger.push(e);
      sentAt.set(e.seq, Date.now());
      schedule.uplinkSent(ledger.length);
    },
  });
  // When every OTAA device of the fleet had its join accepted (the simulator's count).
  const simStarted = Date.now();
  let joinedAt = 0;
  const joinWatch = setInterval(() => {
    if (!joinedAt && sim.stats().joins.accepted >= otaa) joinedAt = Date.now();
  }, 250);
  await sim.run({ count, realTimeMs: 3_600_000 });
  await schedule.restarting;
  const stats = await sim.stop();
  clearInterval(joinWatch);
  if (!joinedAt && stats.joins.accepted >= otaa) joinedAt = Date.now();
  const simSeconds = (Date.now() - simStarted) / 1000;

  // InfluxDB has caught up when its uplink count stops moving (two equal reads 1 s apart; 120 s bound).
  let inInflux = -1;
  for (const until = Date.now() + 120_000; Date.now() < until; ) {
    const n = await countUplinkPoints(influx, 'city');
    if (n === inInflux && n > 0) break;
    inInflux = n;
    await sleep(1000);
  }
  scraping = false;
  await poller;
  for (const r of rss) r.stop();
  schedule.gateway.kill('SIGKILL');
  await exited(schedule.gateway);
  const peakRssMb = Math.max(...rss.map((r) => r.peakMb()));
  // The inbox journal over every life: PUSH_DATA receipt → durable (when the PUSH_ACK leaves), replays.
  const inbox = new Map<string, number>();
  for (const life of inboxLives) for (const [k, v] of life) inbox.set(k, (inbox.get(k) ?? 0) + v);
  const commitQ = (q: number): string => {
    const total = inbox.get('lorawan_edge_ns_inbox_commit_seconds_count') ?? 0;
    if (!total) return '–';
    const buckets = [...inbox].filter(([k]) => k.startsWith('bucket:')).map(([k, v]) => [Number(k.slice(7)), v] as const).sort((a, b) => a[0] - b[0]);
    const hit = buckets.find(([, v]) => v >= q * total);
    return hit ? `≤ ${hit[0] * 1000} ms` : '> 1 s';
  };

  const records = await readHeldRecords(dir);
  const seen = uplinkCounts(records);
  const storedUps = records.filter((r) => r.kind === 'up').length;
  const twice = [...seen].filter(([, n]) => n > 1);
  const joinRecords = records.filter((r) => r.kind === 'join').length;
  const joinsPerDevice = new Map<string, number>();
  for (const r of records) if (r.kind === 'join') joinsPerDevice.set(r.devEui, (joinsPerDevice.get(r.devEui) ?? 0) + 1);
  const joinedTwice = [...joinsPerDevice].filter(([, n]) => n > 1).length;
  const rows = await influx.rows('SELECT fcnt, dev_eui FROM lorawan_uplink', 'city');
  const influxKeys = new Set(rows.map((r) => `${String(r['dev_eui'])}/${Number(r['fcnt'])}`));
  const notInInflux = [...seen.keys()].filter((k) => !influxKeys.has(k));
  const notInLog = [...influxKeys].filter((k) => !seen.has(k));

  const heard = ledger.filter((e) => e.gateways.length > 0);
  const missing = heard.filter((e) => !seen.has(`${e.devEui}/${e.fCnt}`));

  // "With the ledger's values": each stored heard uplink's time in lorawan_uplink, and every
  // reading of it in its category's measurement at (dev_eui, time), numbers within 1e-6.
  const uplinkTime = new Map(rows.map((r) => [`${String(r['dev_eui'])}/${Number(r['fcnt'])}`, Number(r['time'])]));
  const stored = heard.filter((e) => seen.has(`${e.devEui}/${e.fCnt}`));
  const timeWrong = stored.filter((e) => uplinkTime.get(`${e.devEui}/${e.fCnt}`) !== Date.parse(e.time)).length;
  const byMeasurement = new Map<string, LedgerEntry[]>();
  for (const e of stored) {
    const m = CATEGORY_MEASUREMENT[e.category] as string;
    const list = byMeasurement.get(m);
    if (list) list.push(e);
    else byMeasurement.set(m, [e]);
  }
  let readingsChecked = 0;
  let readingsMissing = 0;
  let valuesWrong = 0;
  for (const [m, entries] of byMeasurement) {
    const at = new Map((await influx.rows(`SELECT * FROM ${quoteIdent(m)}`, 'city')).map((r) => [`${String(r['dev_eui'])}|${Number(r['time'])}`, r]));
    for (const e of entries) {
      for (const r of e.readings) {
        readingsChecked++;
        const row = at.get(`${e.devEui}|${Date.parse(r.time ?? e.time)}`);
        if (!row) {
          readingsMissing++;
          continue;
        }
        for (const [k, v] of Object.entries(r.values)) {
          if (typeof v !== 'number' || Math.abs(Number(row[k]) - v) <= 1e-6) continue;
          valuesWrong++;
          if (valuesWrong <= 10) console.error(`value differs: ${e.catalogueId} ${e.devEui} fCnt ${e.fCnt} ${m}.${k} at ${r.time ?? e.time}: ledger ${v}, InfluxDB ${String(row[k])}`);
        }
      }
    }
  }
  const t = (e: LedgerEntry): number => sentAt.get(e.seq) ?? 0;
  const sentWhileDown = heard.filter((e) => downs.some((d) => t(e) >= d.from && t(e) <= d.to));
  const lostWhileDown = missing.filter((e) => downs.some((d) => t(e) >= d.from && t(e) <= d.to + 200));
  const lostBeforeKill = missing.filter((e) => !lostWhileDown.includes(e) && downs.some((d) => t(e) >= d.from - AT_RISK_MS && t(e) < d.from));
  const lostElsewhere = missing.filter((e) => !lostWhileDown.includes(e) && !lostBeforeKill.includes(e));

  const checks: [string, boolean][] = [
    [`${kills} kills and restarts`, downs.length === kills],
    ['no duplicate uplink in the log', twice.length === 0],
    ['InfluxDB holds exactly the log\'s uplinks', notInInflux.length === 0 && notInLog.length === 0],
    // A join-request sent while the gateway was down times out and is sent again: that is the
    // first join retried, not a re-join. A re-join is a second accepted join of one device.
    ['no re-join (join-accepts = OTAA devices, no device with two join records)', stats.joins.accepted === otaa && joinedTwice === 0],
    ['InfluxDB has the ledger\'s values (uplink time, every reading)', timeWrong === 0 && readingsMissing === 0 && valuesWrong === 0],
    resendMs > 0 ? ['no heard uplink lost (forwarders resend)', missing.length === 0] : ['no heard uplink lost outside the kill windows', lostElsewhere.length === 0],
  ];
  const out_ = stats.output.counters;
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  const out = [
    `### city-crash: 1/${divisor} of the city fleet (${probe.devices.length} devices, ${otaa} OTAA, ${fleet.gateways.length} gateways), ${count} uplinks at ≤ ${rate}/s, ${kills} × kill -9 (seed ${seed}), ${resendMs > 0 ? `forwarders resend every ${resendMs} ms` : 'stock forwarders (no resend)'}`,
    '',
    `${cpus().length} × ${cpus()[0]?.model ?? '?'}; load before ${loadBefore}, after ${loadavg().map((x) => x.toFixed(1)).join(' ')}; ${seconds} s wall; Node ${process.version}`,
    `\`node --import tsx bench/edge-ns/city-crash.ts --divisor ${divisor} --count ${count} --rate ${rate} --kills ${kills} --seed ${seed} --resend ${resendMs}\``,
    '',
    '| figure | value |',
    '|---|---|',
    `| ledger uplinks sent / heard by ≥ 1 gateway | ${ledger.length} / ${heard.length} |`,
    `| whole fleet joined (every OTAA device accepted) after | ${joinedAt ? `${((joinedAt - simStarted) / 1000).toFixed(1)} s` : 'never'} |`,
    `| simulation wall time (joins + uplinks) | ${simSeconds.toFixed(0)} s |`,
    `| gateway peak RSS (VmHWM, any life; each life) | ${peakRssMb.toFixed(0)} MB (${rss.map((r) => r.peakMb().toFixed(0)).join(' / ')}) |`,
    `| inbox journal: PUSH_DATA → durable (PUSH_ACK) p50 / p99 / mean | ${commitQ(0.5)} / ${commitQ(0.99)} / ${(((inbox.get('lorawan_edge_ns_inbox_commit_seconds_sum') ?? 0) / Math.max(1, inbox.get('lorawan_edge_ns_inbox_commit_seconds_count') ?? 0)) * 1000).toFixed(1)} ms |`,
    `| inbox journal: entries replayed at restarts / frames already processed / restored (records lost between SQLite and the log) / resends recognised | ${inbox.get('lorawan_edge_ns_inbox_replayed_total') ?? 0} / ${inbox.get('recovered:already_processed') ?? 0} / ${inbox.get('recovered:restored') ?? 0} / ${inbox.get('lorawan_edge_ns_inbox_resends_total') ?? 0} |`,
    `| PUSH_DATA sent / resent / given up / dropped (queue) / ACK missing | ${(out_['pushData'] ?? 0) + (out_['statPushData'] ?? 0)} / ${out_['pushResent'] ?? 0} / ${out_['pushResendGaveUp'] ?? 0} / ${out_['pushResendDropped'] ?? 0} / ${out_['pushAckMissing'] ?? 0} |`,
    `| kills at uplink # (restart took, ms) | ${downs.map((d) => `${d.at} (${d.to - d.from})`).join(', ')} |`,
    `| accepted per lorawan_edge_ns_uplinks_total (sum of each life's last scrape) | ${accepted.reduce((a, b) => a + b, 0)} (${accepted.join(' + ')}) |`,
    `| stored in the durable log (uplinks / distinct devEui·fCnt / duplicates) | ${storedUps} / ${seen.size} / ${twice.length} |`,
    `| in InfluxDB lorawan_uplink (count / missing from log's / extra) | ${inInflux} / ${notInInflux.length} / ${notInLog.length} |`,
    `| ledger values in InfluxDB: uplinks with another time / readings checked / missing / numeric values that differ | ${timeWrong} / ${readingsChecked} / ${readingsMissing} / ${valuesWrong} |`,
    `| joins: requests / heard by no gateway (retried) / timed out (retried) / accepted / OTAA devices | ${stats.joins.requests} / ${stats.joins.notHeard} / ${stats.joins.timedOut} / ${stats.joins.accepted} / ${otaa} |`,
    `| join records in the log (devices with two) | ${joinRecords} (${joinedTwice}) |`,
    `| heard uplinks sent while the gateway was down (UDP, lost by nature) | ${sentWhileDown.length} |`,
    `| heard uplinks not stored: total / sent while down / in the last ${AT_RISK_MS} ms before a kill / elsewhere | ${missing.length} / ${lostWhileDown.length} / ${lostBeforeKill.length} / ${lostElsewhere.length} |`,
    '',
    ...checks.map(([what, ok]) => `- ${ok ? 'PASS' : 'FAIL'}: ${what}`),
  ];
  // The network server commits the session before the join-accept leaves, but the join record
  // goes to the durable log with the next batch: a kill in between loses the record, not the join.
  if (joinRecords < stats.joins.accepted) out.push(`- NOTE: ${stats.joins.accepted - joinRecords} join record(s) missing from the log for accepted joins (killed between the session commit and the batch commit)`);
  console.log(out.join('\n'));
  if (lostElsewhere.length > 0) console.error(`lost elsewhere (first 10): ${lostElsewhere.slice(0, 10).map((e) => `${e.devEui}/${e.fCnt}`).join(' ')}`);
  if (checks.some(([, ok]) => !ok)) process.exitCode = 1;
} finally {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  await influx.dispose();
  rmSync(dir, { recursive: true, force: true });
}
