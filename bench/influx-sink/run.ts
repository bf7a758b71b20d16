/**
 * bench/influx-sink: how fast the InfluxDB sink drains points into a local InfluxDB 1.6
 * (Debian's `influxdb`, started on a free port in a temp folder by test/support). Goal: drain
 * ≥ 100,000 points/s with the default settings, so a day-long backlog of a busy gateway
 * (≈ 430 k points) replays in seconds.
 *
 * Points look like the native schema: measurement per category, tags dev_eui/device/model/zone,
 * two to three float fields, ms timestamps; lines of ≈ 130 bytes. Scenarios:
 *   encode      points → line protocol only (CPU, no I/O), in write()-sized chunks
 *   cold        first write of every series (index growth)
 *   warm        the same series again with new timestamps (the steady state of a replay)
 *   null server the sink alone: a child process that reads each body, gunzips it and answers
 *               204 — the sink's own ceiling, without InfluxDB's ingest cost
 * Each scenario runs with the defaults (5,000 lines / 1 MiB / 2 in flight, gzip 'auto' = off
 * for a loopback URL) and with gzip forced on (what a remote InfluxDB gets); --matrix adds
 * batch-size and concurrency variations.
 *
 *   node --import tsx bench/influx-sink/run.ts [--points 300000] [--series 20000] [--matrix]
 *
 * Note: InfluxDB runs on the same 2 cores as the benchmark, so both compete for CPU; the
 * figure is the whole chain on one small box, not the sink alone.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { InfluxSink, type InfluxSinkConfigInput, type Point } from '../../gateway/sinks/influxdb/index.ts';
import { encodePoints } from '../../gateway/sinks/influxdb/line-protocol.ts';
import { quoteIdent, startInfluxd, type InfluxdServer } from '../../support/influxd.ts';

const { values } = parseArgs({
  options: {
    points: { type: 'string', default: '300000' },
    series: { type: 'string', default: '20000' },
    matrix: { type: 'boolean', default: false },
  },
});
const POINTS = Number(values.points);
const SERIES = Number(values.series);
const CHUNK = 1_000; // points per write() call, like a log reader handing over a segment slice

const CATEGORIES = ['bin_level', 'water_meter', 'air_quality'] as const;

function makePoints(n: number, t0: number): Point[] {
  const out: Point[] = new Array<Point>(n);
  for (let i = 0; i < n; i++) {
    const s = i % SERIES;
    const category = CATEGORIES[s % 3] as (typeof CATEGORIES)[number];
    const fields: Point['fields'] =
      category === 'bin_level'
        ? { fill_pct: (i * 7) % 100, distance_mm: 300 + (i % 1500), battery_pct: 80 + (i % 20) }
        : category === 'water_meter'
          ? { volume_m3: 1000 + i * 0.001, flow_m3h: (i % 50) / 10 }
          : { co2_ppm: 400 + (i % 600), pm2_5_ugm3: (i % 80) / 2, temperature_c: 10 + (i % 200) / 10 };
    out[i] = {
      measurement: category,
      tags: {
        dev_eui: `a84041${s.toString(16).padStart(10, '0')}`,
        device: `dev-${s}`,
        model: category === 'bin_level' ? 'df703' : category === 'water_meter' ? 'flowiq2200' : 'dl-pm',
        zone: `z${s % 40}`,
      },
      fields,
      // Unique per point: every series gets its own ms sequence.
      timeMs: t0 + Math.floor(i / SERIES) * 1_000 + (s % 1_000),
    };
  }
  return out;
}

async function countAll(influx: InfluxdServer, db: string): Promise<number> {
  let total = 0;
  for (const [m, f] of [
    ['bin_level', 'fill_pct'],
    ['water_meter', 'volume_m3'],
    ['air_quality', 'co2_ppm'],
  ] as const) {
    const series = await influx.query(`SELECT count(${quoteIdent(f)}) FROM ${quoteIdent(m)}`, { db });
    const v = series[0]?.values[0]?.[1];
    total += typeof v === 'number' ? v : 0;
  }
  return total;
}

interface Result {
  scenario: string;
  settings: string;
  points: number;
  seconds: number;
  pointsPerSecond: number;
  mbSent: number;
  requests: number;
  /** CPU seconds used by this process (the sink) and by influxd during the drain. */
  sinkCpu: number;
  influxCpu: number;
}

/** utime + stime of a process in seconds, from /proc (Linux). */
function processCpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // clock ticks; 100 Hz on Linux
  } catch {
    return 0;
  }
}

async function drain(influx: InfluxdServer, db: string, points: Point[], cfg: Partial<InfluxSinkConfigInput>): Promise<Omit<Result, 'scenario' | 'settings'>> {
  const sink = new InfluxSink({ url: influx.url, database: db, ...cfg });
  await sink.start();
  const cpu0 = process.cpuUsage();
  const influx0 = processCpuSeconds(influx.pid);
  const started = process.hrtime.bigint();
  const writes: Array<Promise<unknown>> = [];
  for (let i = 0; i < points.length; i += CHUNK) writes.push(sink.write(points.slice(i, i + CHUNK)));
  await Promise.all(writes);
  await sink.flush();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const influxCpu = processCpuSeconds(influx.pid) - influx0;
  const st = sink.stats();
  await sink.stop();
  if (st.writtenLines !== points.length) throw new Error(`wrote ${st.writtenLines} of ${points.length}`);
  return {
    points: points.length,
    seconds,
    pointsPerSecond: points.length / seconds,
    mbSent: st.bytesSent / 1e6,
    requests: st.requests,
    sinkCpu: (cpu.user + cpu.system) / 1e6,
    influxCpu,
  };
}

/** An HTTP server in a child process that accepts every write (reads + gunzips the body). */
async function startNullServer(): Promise<{ url: string; pid: number | undefined; close: () => void }> {
  const code = `
    const http = require('node:http'); const zlib = require('node:zlib');
    const s = http.createServer((req, res) => {
      const chunks = []; req.on('data', (c) => chunks.push(c));
      req.on('end', () => { const b = Buffer.concat(chunks);
        if (req.headers['content-encoding'] === 'gzip') zlib.gunzipSync(b);
        res.writeHead(204); res.end(); });
    });
    s.listen(0, '127.0.0.1', () => process.stdout.write(String(s.address().port) + '\\n'));`;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<string>((resolve, reject) => {
    child.stdout.once('data', (d: Buffer) => resolve(d.toString().trim()));
    child.once('exit', () => reject(new Error('null server exited')));
  });
  return { url: `http://127.0.0.1:${port}`, pid: child.pid, close: () => child.kill('SIGKILL') };
}

async function main(): Promise<void> {
  const results: Result[] = [];
  // Encode only.
  {
    const pts = makePoints(Math.min(POINTS, 200_000), 1_760_000_000_000);
    encodePoints(pts.slice(0, 10_000)); // warm-up
    // In chunks of CHUNK points, as the sink gets them (one huge array mostly measures the GC).
    const t0 = process.hrtime.bigint();
    let bytes = 0;
    let lines = 0;
    for (let i = 0; i < pts.length; i += CHUNK) {
      const enc = encodePoints(pts.slice(i, i + CHUNK));
      lines += enc.lines.length;
      bytes += enc.lines.join('\n').length + 1;
    }
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    const enc = { lines: { length: lines } };
    results.push({
      scenario: 'encode',
      settings: `avg line ${(bytes / enc.lines.length).toFixed(0)} B`,
      points: pts.length,
      seconds: s,
      pointsPerSecond: pts.length / s,
      mbSent: 0,
      requests: 0,
      sinkCpu: s,
      influxCpu: 0,
    });
  }

  const variations: Array<[string, Partial<InfluxSinkConfigInput>]> = [
    ['defaults', {}],
    ['gzip on', { gzip: true }],
  ];
  if (values.matrix) {
    variations.push(
      ['max_in_flight 4', { max_in_flight: 4 }],
      ['batch_lines 10000, 2 MiB', { batch_lines: 10_000, batch_bytes: 2 * 1_048_576 }],
      ['batch_lines 1000', { batch_lines: 1_000 }],
    );
  }

  {
    const nul = await startNullServer();
    try {
      const fake = { url: nul.url, pid: nul.pid } as InfluxdServer;
      await drain(fake, 'x', makePoints(50_000, 1_750_000_000_000), {}); // JIT warm-up, not reported
      for (const [label, cfg] of variations.slice(0, 2)) {
        results.push({ scenario: 'null server', settings: label, ...(await drain(fake, 'x', makePoints(POINTS, 1_760_000_000_000), cfg)) });
      }
    } finally {
      nul.close();
    }
  }

  const influx = await startInfluxd({ database: null });
  try {
    let n = 0;
    for (const [label, cfg] of variations) {
      const db = `bench${n++}`;
      await influx.query(`CREATE DATABASE ${db}`, { db: null });
      const cold = makePoints(POINTS, 1_760_000_000_000);
      results.push({ scenario: 'cold', settings: label, ...(await drain(influx, db, cold, cfg)) });
      const warm = makePoints(POINTS, 1_770_000_000_000);
      results.push({ scenario: 'warm', settings: label, ...(await drain(influx, db, warm, cfg)) });
      const stored = await countAll(influx, db);
      if (stored !== 2 * POINTS) throw new Error(`InfluxDB holds ${stored} points, expected ${2 * POINTS}`);
      await influx.query(`DROP DATABASE ${db}`, { db: null });
    }
  } finally {
    await influx.dispose();
  }

  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  process.stdout.write(`influx-sink bench: ${POINTS} points, ${SERIES} series, ${cpus().length} × ${cpu}, Node ${process.version}\n\n`);
  process.stdout.write(
    '| scenario | settings | points | seconds | points/s | MB sent | requests | sink CPU s | influxd CPU s | points per sink CPU-s |\n|---|---|---|---|---|---|---|---|---|---|\n',
  );
  const fmt = (n: number): string => Math.round(n).toLocaleString('en');
  for (const r of results) {
    process.stdout.write(
      `| ${r.scenario} | ${r.settings} | ${r.points} | ${r.seconds.toFixed(2)} | ${fmt(r.pointsPerSecond)} | ${r.mbSent.toFixed(1)} | ${r.requests} | ${r.sinkCpu.toFixed(2)} | ${r.influxCpu.toFixed(2)} | ${fmt(r.points / r.sinkCpu)} |\n`,
    );
  }
  process.stdout.write(`\nload average at the end: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')} (other work on the machine skews the figures)\n`);
  const warm = results.find((r) => r.scenario === 'warm' && r.settings === 'defaults');
  if (warm) {
    // Wall-clock rates swing with whatever else runs on the box; CPU seconds do not. With the
    // sink and influxd sharing the cores, the drain rate cannot exceed points / (CPU / cores).
    const cores = cpus().length;
    const ceiling = warm.points / ((warm.sinkCpu + warm.influxCpu) / cores);
    process.stdout.write(
      `\nwarm, defaults: ${fmt(warm.pointsPerSecond)} points/s measured; CPU-bound ceiling on ${cores} idle cores ≈ ${fmt(ceiling)} points/s ` +
        `(sink ${fmt(warm.points / warm.sinkCpu)} and influxd ${fmt(warm.points / warm.influxCpu)} points per CPU-second)\n`,
    );
    process.stdout.write(`goal ≥ 100,000 points/s: ${warm.pointsPerSecond >= 100_000 ? 'met' : 'NOT met'} as measured; ${ceiling >= 100_000 ? 'reachable' : 'not reachable'} on an idle machine\n`);
  }
}

await main();
