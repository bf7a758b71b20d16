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
 *   - InfluxDB holds exactly the log's uplinks;
 *   - no device joined again after its first join (simulator join summary, join records);
 *   - every heard ledger uplink is stored, except those sent while the gateway was down (lost on
 *     UDP by nature) or in its last `AT_RISK_MS` before a kill (dedup window / uncommitted batch):
 *     both are counted and reported; a loss outside them fails the run.
 * `lorawan_edge_ns_uplinks_total` is scraped every 250 ms; the last value of each process life
 * is reported next to what the log holds. Exit code 1 when a check fails.
 *
 *   node --import tsx bench/edge-ns/city-crash.ts [--divisor 20] [--count 6000] [--rate 100] [--kills 3] [--seed 1]
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
import { freePorts } from '../../support/free-port.ts';
import { startInfluxd } from '../../support/influxd.ts';
import { exited, KillSchedule, readHeldRecords, startCrashGateway, uplinkCounts, writeCrashGatewayFiles } from '../../test/edge-ns-crash-rig.ts';
import { countUplinkPoints, scrape, sleep } from '../gateway/procs.ts';

const { values } = parseArgs({ options: { divisor: { type: 'string', default: '20' }, count: { type: 'string', default: '6000' }, rate: { type: 'string', default: '100' }, kills: { type: 'string', default: '3' }, seed: { type: 'string', default: '1' } } });
const divisor = Number(values.divisor);
const count = Number(values.count);
const rate = Number(values.rate);
const kills = Number(values.kills);
const seed = Number(values.seed);
/** How long before a kill a frame may still have been in the dedup window or an uncommitted batch. */
const AT_RISK_MS = 1_000;

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

  // Last scraped lorawan_edge_ns_uplinks_total of each process life.
  const accepted: number[] = [0];
  let scraping = true;
  const poller = (async () => {
    while (scraping) {
      try {
        const m = await scrape(httpPort);
        accepted[accepted.length - 1] = m['lorawan_edge_ns_uplinks_total'] ?? 0;
      } catch {
        // down or restarting
      }
      await sleep(250);
    }
  })();

  const ledger: LedgerEntry[] = [];
  const sentAt = new Map<number, number>();
  const start = (): Promise<ChildProcess> => startCrashGateway(config, httpPort, procs);
  const schedule = new KillSchedule(await start(), killAt, start, () => accepted.push(0));
  const downs = schedule.downs;
  const sim = await createSimulation({
    fleet,
    lookup,
    seed,
    speed: 'max',
    rate,
    output: { type: 'udp', host: '127.0.0.1', port: udpPort, ackTimeoutMs: 1000, keepaliveMs: 200 },
    joinTimeoutMs: 5000,
    onUplink: (e) => {
      ledger.push(e);
      sentAt.set(e.seq, Date.now());
      schedule.uplinkSent(ledger.length);
    },
  });
  await sim.run({ count, realTimeMs: 600_000 });
  await schedule.restarting;
  const stats = await sim.stop();

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
  schedule.gateway.kill('SIGKILL');
  await exited(schedule.gateway);

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
    ['no heard uplink lost outside the kill windows', lostElsewhere.length === 0],
  ];
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  const out = [
    `### city-crash: 1/${divisor} of the city fleet (${probe.devices.length} devices, ${otaa} OTAA, ${fleet.gateways.length} gateways), ${count} uplinks at ≤ ${rate}/s, ${kills} × kill -9 (seed ${seed})`,
    '',
    `${cpus().length} × ${cpus()[0]?.model ?? '?'}; load before ${loadBefore}, after ${loadavg().map((x) => x.toFixed(1)).join(' ')}; ${seconds} s wall; Node ${process.version}`,
    `\`node --import tsx bench/edge-ns/city-crash.ts --divisor ${divisor} --count ${count} --rate ${rate} --kills ${kills} --seed ${seed}\``,
    '',
    '| figure | value |',
    '|---|---|',
    `| ledger uplinks sent / heard by ≥ 1 gateway | ${ledger.length} / ${heard.length} |`,
    `| kills at uplink # (restart took, ms) | ${downs.map((d) => `${d.at} (${d.to - d.from})`).join(', ')} |`,
    `| accepted per lorawan_edge_ns_uplinks_total (sum of each life's last scrape) | ${accepted.reduce((a, b) => a + b, 0)} (${accepted.join(' + ')}) |`,
    `| stored in the durable log (uplinks / distinct devEui·fCnt / duplicates) | ${storedUps} / ${seen.size} / ${twice.length} |`,
    `| in InfluxDB lorawan_uplink (count / missing from log's / extra) | ${inInflux} / ${notInInflux.length} / ${notInLog.length} |`,
    `| joins: requests / timed out (retried) / accepted / OTAA devices | ${stats.joins.requests} / ${stats.joins.timedOut} / ${stats.joins.accepted} / ${otaa} |`,
    `| join records in the log (devices with two) | ${joinRecords} (${joinedTwice}) |`,
    `| heard uplinks sent while the gateway was down (UDP, lost by nature) | ${sentWhileDown.length} |`,
    `| heard uplinks not stored: while down / in the last ${AT_RISK_MS} ms before a kill / elsewhere | ${lostWhileDown.length} / ${lostBeforeKill.length} / ${lostElsewhere.length} |`,
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
