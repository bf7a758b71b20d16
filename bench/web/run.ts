/**
 * bench/web: the local store and the read API with the city fleet (simulator/fleets/city.yaml:
 * 10,000 devices in eight communes) and a week of history.
 *
 *   node --import tsx bench/web/run.ts [--days 7] [--sse-rate 500] [--sse-count 3000] [--sink-records 100000]
 *
 * 1. ingest: a week of uplinks (every device at its fleet interval, two gateways each, the
 *    readings its category gives) applied to the store in batches of 5,000 records, as sink
 *    `local` does — records/s, against the gateway's end-to-end 13,422 uplinks/s;
 * 2. server time of what the pages ask, over real HTTP on loopback (median / p95 / max of 20):
 *    the overview page's three requests, the device list (first page, filtered, searched), a
 *    device, and its 7-day history;
 * 3. sink `local` as the gateway runs it: --sink-records appended to a real durable log and
 *    applied through the store worker; the main thread's busy time per record (event-loop
 *    utilization), which is what the store costs the gateway's event loop;
 * 4. SSE: records appended to a real durable log at a fixed rate while a Server-Sent Events
 *    client listens; latency from `append()` resolving (the record is durable) to the event
 *    arriving at the client, p50 / p99, and where it went: each stage of the record's batch
 *    (gateway/web/store/batch-timing.ts) — durable → read by sink `local` → posted to the store
 *    worker → the worker starts → its transaction commits → the answer is back on the main
 *    thread → the SSE write → the client has it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance as nodePerformance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { Reading } from '../../codecs/api.ts';
import { loadCatalogue } from '../../devices/catalogue.ts';
import { DurableLog } from '../../gateway/buffer/index.ts';
import { checkConfig } from '../../gateway/config.ts';
import { createMetrics } from '../../gateway/metrics.ts';
import type { PipelineRecord, UplinkRecord } from '../../gateway/pipeline/record.ts';
import { RECORD_WIRE } from '../../gateway/pipeline/record-wire.ts';
import { WEB_ASSETS_DIR } from '../../gateway/web/index.ts';
import { epochNow, type BatchTiming } from '../../gateway/web/store/batch-timing.ts';
import { LocalStoreSink } from '../../gateway/web/store/local-sink.ts';
import { LocalStore, type StoreOptions } from '../../gateway/web/store/local-store.ts';
import { WebHandler } from '../../gateway/web/web-handler.ts';
import { loadFleet } from '../../simulator/fleet.ts';

const { values: args } = parseArgs({ options: { days: { type: 'string', default: '7' }, 'sse-rate': { type: 'string', default: '500' }, 'sse-count': { type: 'string', default: '3000' }, 'sink-records': { type: 'string', default: '100000' } } });
const DAYS = Number(args.days);
const DAY = 86_400_000;
const NOW = Date.now();
const START = NOW - DAYS * DAY;

interface BenchDevice {
  devEui: string;
  name: string;
  model: string;
  category: string;
  intervalMs: number;
  tags: Record<string, string>;
}

function cityDevices(): BenchDevice[] {
  const fleet = loadFleet(join(import.meta.dirname, '..', '..', 'simulator', 'fleets', 'city.yaml'));
  const catalogue = loadCatalogue();
  const out: BenchDevice[] = [];
  let n = 0;
  for (const g of fleet.devices) {
    const entry = catalogue.byId.get(g.device);
    for (let i = 1; i <= g.count; i++, n++) {
      const a = g.area ?? { lat: 52.09, lon: 5.12, radiusM: 1000 };
      const r = ((n * 7919) % 1000) / 1000;
      const t = ((n * 104729) % 1000) / 1000;
      out.push({
        devEui: `70b3d5e75f${n.toString(16).padStart(6, '0')}`,
        name: (g.name ?? `${g.device}-{n}`).replace('{n}', String(i)),
        model: g.device,
        category: entry?.category ?? 'generic',
        intervalMs: (g.interval ?? entry?.reportingInterval ?? 3600) * 1000,
        tags: { ...(g.tags ?? {}), lat: (a.lat + ((r - 0.5) * a.radiusM) / 111_000).toFixed(5), lon: (a.lon + ((t - 0.5) * a.radiusM) / 68_000).toFixed(5) },
      });
    }
  }
  return out;
}

function readingsFor(d: BenchDevice, k: number): Reading[] {
  if (d.category === 'bin-fill') {
    const fill = (k * 3) % 100;
    return [{ values: { distance_mm: 1200 - fill * 11, fill_pct: fill, temperature_c: 10 + (k % 7), alarm_full: fill > 95, alarm_fire: false, alarm_tilt: false } }];
  }
  if (d.category === 'water-meter') return [{ values: { volume_m3: 100 + k * 0.012, flow_m3h: (k % 5) * 0.1, alarm_leak: false, alarm_backflow: false } }];
  return [{ values: { co2_ppm: 400 + (k % 50), pm2_5_ugm3: 5 + (k % 20), pm10_ugm3: 10 + (k % 25), temperature_c: 8 + (k % 10), humidity_pct: 60 + (k % 30) } }];
}

function uplink(d: BenchDevice, k: number, time: number): UplinkRecord {
  return {
    v: 1,
    kind: 'up',
    src: 'cs',
    id: `${d.devEui}-${k}`,
    time,
    rxAt: time,
    devEui: d.devEui,
    devAddr: '26000001',
    fCnt: k,
    fPort: 85,
    dr: 5,
    adr: true,
    confirmed: false,
    payload: Buffer.from('0175640382b401040000', 'hex'),
    gateways: [
      { id: '0016c001f1500001', rssi: -90 - (k % 20), snr: 5 },
      { id: '0016c001f1500002', rssi: -100 - (k % 15), snr: -2 },
    ],
    frequency: 868_100_000,
    sf: 7,
    device: { name: d.name, model: d.model, category: d.category, tags: d.tags },
    decoded: { model: d.model, readings: readingsFor(d, k), warnings: [], errors: [], by: 'codec' },
  };
}

/** Every uplink of the week in time order, in batches of `size`. */
function* week(devices: BenchDevice[], size: number): Generator<{ id: number; value: PipelineRecord }[]> {
  // A min-heap would be exact; bucketing by minute is enough for time order at these intervals.
  const MIN = 60_000;
  const next = devices.map((d, i) => START + ((i * 7919) % Math.max(1, Math.floor(d.intervalMs / MIN))) * MIN);
  const count = devices.map(() => 0);
  let id = 0;
  let batch: { id: number; value: PipelineRecord }[] = [];
  for (let t = START; t < NOW; t += MIN) {
    for (let i = 0; i < devices.length; i++) {
      while ((next[i] as number) < t + MIN && (next[i] as number) < NOW) {
        const d = devices[i] as BenchDevice;
        batch.push({ id: ++id, value: uplink(d, count[i] as number, next[i] as number) });
        count[i] = (count[i] as number) + 1;
        next[i] = (next[i] as number) + d.intervalMs;
        if (batch.length === size) {
          yield batch;
          batch = [];
        }
      }
    }
  }
  if (batch.length) yield batch;
}

function stats(xs: number[]): { p50: number; p95: number; p99: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number): number => s[Math.min(s.length - 1, Math.floor(q * s.length))] as number;
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99), max: s[s.length - 1] as number };
}

const fmt = (ms: number): string => `${ms.toFixed(1)} ms`;

/**
 * Each record's SSE latency cut into the stages of its batch (batch-timing.ts): p50 / p99 of
 * each stage over all records, and the stages' mean share of the records at or above the p99.
 */
function sseStages(received: { logId: number; durable: number; at: number }[], timings: BatchTiming[], say: (s: string) => void): void {
  const byId = [...timings].sort((a, b) => a.firstId - b.firstId);
  const batchOf = (id: number): BatchTiming | undefined => {
    let lo = 0;
    let hi = byId.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const b = byId[mid] as BatchTiming;
      if (id < b.firstId) hi = mid - 1;
      else if (id > b.lastId) lo = mid + 1;
      else return b;
    }
    return undefined;
  };
  // A record that became durable while its batch was being read is taken by a later read of
  // the same batch: its first stage is negative and the next one longer; the sum holds.
  const names = ['durable → its batch read (< 0: later)', 'read → posted to the worker', 'posted → worker starts', 'worker: the transaction', 'commit → answer on the main thread', 'answer → SSE written', 'SSE written → client has it'];
  const rows: number[][] = [];
  for (const r of received) {
    const b = batchOf(r.logId);
    if (!b) continue;
    const marks = [r.durable, b.readAt, b.postedAt, b.workerStartedAt, b.workerCommittedAt, b.repliedAt, b.deliveredAt, r.at];
    rows.push(names.map((_, i) => (marks[i + 1] as number) - (marks[i] as number)));
  }
  if (rows.length === 0) return say('  (no stage timings)');
  const total = rows.map((r) => r.reduce((a, b) => a + b, 0));
  const cut = stats(total).p99;
  const slow = rows.filter((_, i) => (total[i] as number) >= cut);
  const sizes = stats(timings.map((t) => t.count));
  say(`  stages of ${rows.length} records in ${timings.length} batches (records per batch p50 ${sizes.p50}, max ${sizes.max}): p50 / p99 per stage, and the mean of the ${slow.length} records at or above the total's p99 (${fmt(cut)})`);
  names.forEach((name, i) => {
    const col = rows.map((r) => r[i] as number);
    const st = stats(col);
    const slowMean = slow.reduce((a, r) => a + (r[i] as number), 0) / slow.length;
    say(`    ${name.padEnd(36)} ${fmt(st.p50).padStart(9)} ${fmt(st.p99).padStart(9)}   slowest 1 %: ${fmt(slowMean).padStart(9)}`);
  });
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-web-'));
  const say = (s: string): void => void process.stdout.write(`${s}\n`);
  say(`bench/web: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, Node ${process.version}, load ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  try {
    const devices = cityDevices();
    const opts: StoreOptions = { file: join(dir, 'local.sqlite'), historyDays: 90, framesPerDevice: 50, communeTag: 'commune', locationTags: { lat: 'lat', lon: 'lon' } };
    const store = new LocalStore(opts);
    store.syncRegistry(devices.map((d) => ({ dev_eui: d.devEui, name: d.name, model: d.model, category: d.category, tags: d.tags, interval_s: d.intervalMs / 1000 })));

    // 1. ingest
    let records = 0;
    let applyMs = 0;
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    for (const batch of week(devices, 5000)) {
      const a = performance.now();
      store.apply(batch);
      applyMs += performance.now() - a;
      records += batch.length;
    }
    const wall = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const fileMb = (store.db.prepare('SELECT page_count * page_size AS b FROM pragma_page_count(), pragma_page_size()').get() as { b: number }).b / 1048576;
    say(`ingest: ${records.toLocaleString('en')} uplinks of ${DAYS} days for ${devices.length.toLocaleString('en')} devices`);
    say(`  store.apply: ${Math.round(records / (applyMs / 1000)).toLocaleString('en')} records/s (apply time only), ${Math.round(records / wall).toLocaleString('en')}/s with generating them; CPU ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s; file ${fileMb.toFixed(0)} MB`);
    // The first pruning after a week of uplinks, as the sink's worker runs it (bounded steps):
    // readings older than 90 days (none) along the time index, and the frames of the devices
    // with more than 50 + 50 (the slack) down to the newest 50.
    const pruneT = performance.now();
    let steps = 0;
    let deleted = 0;
    let visited = 0;
    let longest = 0;
    for (let more = true; more && steps < 1e6; steps++) {
      const t = performance.now();
      const step = store.pruneStep(NOW, { maxRows: 5000, first: steps === 0 });
      longest = Math.max(longest, performance.now() - t);
      deleted += step.deleted;
      visited += step.devices;
      more = step.more;
    }
    say(`  first prune (frames beyond 50 per device of the devices beyond 100; nothing older than 90 days): ${deleted.toLocaleString('en')} rows in ${fmt(performance.now() - pruneT)}, ${steps} steps of ≤ 5,000 rows, ${visited.toLocaleString('en')} device visits, longest step ${fmt(longest)} (the store's write lock is held one step at a time)`);
    const againT = performance.now();
    const again = store.pruneStep(NOW, { maxRows: 5000, first: true });
    say(`  the next prune right after: ${again.deleted.toLocaleString('en')} rows, ${again.devices} device visits, ${fmt(performance.now() - againT)}`);
    // The store's applied id is the week's last id; the live phase below uses a fresh log whose
    // ids start at 1, so the store is told it has applied nothing (bench only).
    store.db.prepare("UPDATE meta SET value = '0' WHERE key = 'applied_id'").run();
    store.close();

    // 2. API server time over HTTP (the sink opens the same store file)
    const log = await DurableLog.open<PipelineRecord>({ dir: join(dir, 'buffer'), sinks: ['local'], fsync_interval_ms: 20 }, { wire: RECORD_WIRE });
    const metrics = createMetrics();
    const timings: BatchTiming[] = [];
    let timing = false;
    const sink = new LocalStoreSink({ name: 'local', log, store: opts, metrics, now: Date.now, logger: { warn: () => undefined, error: () => undefined }, onBatchTiming: (t) => void (timing && timings.push(t)) });
    await sink.start();
    const web = checkConfig({ sources: [{ type: 'chirpstack_mqtt', url: 'mqtt://127.0.0.1:1' }] }, join(dir, 'gateway.yaml'), {}).web;
    const handler = new WebHandler({ config: web, gateway: 'bench', sink, assetsDir: WEB_ASSETS_DIR, now: Date.now, metrics, health: () => ({ 'sink:local': { kind: 'local', state: 'running' } }), logger: { error: () => undefined } });
    const server = createServer((req, res) => {
      if (!handler.handle(req, res)) res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    let cpuMs = 0;
    const get = (path: string): Promise<number> =>
      new Promise((resolve, reject) => {
        const t = performance.now();
        const c = process.cpuUsage();
        request({ host: '127.0.0.1', port, path }, (res) => {
          res.resume();
          res.on('end', () => {
            const u = process.cpuUsage(c);
            cpuMs += (u.user + u.system) / 1000;
            if (res.statusCode === 200) resolve(performance.now() - t);
            else reject(new Error(`${path}: HTTP ${res.statusCode}`));
          });
        })
          .on('error', reject)
          .end();
      });
    const bin = devices.find((d) => d.category === 'bin-fill') as BenchDevice;
    const cases: [string, string[]][] = [
      ['overview page (3 requests: overview, silent, never joined)', ['/api/v1/overview', '/api/v1/devices?state=silent&limit=500', '/api/v1/devices?state=never_joined&limit=500']],
      ['GET /api/v1/overview', ['/api/v1/overview']],
      ['device list page (list + overview for the filters)', ['/api/v1/devices?limit=100', '/api/v1/overview']],
      ['GET /api/v1/devices?limit=100', ['/api/v1/devices?limit=100']],
      ['GET /api/v1/devices?limit=100&offset=9000', ['/api/v1/devices?limit=100&offset=9000']],
      ['GET /api/v1/devices?state=silent&commune=north&category=bin-fill', ['/api/v1/devices?state=silent&commune=north&category=bin-fill&limit=100']],
      ['GET /api/v1/devices?q=north-df703-12', ['/api/v1/devices?q=north-df703-12&limit=100']],
      ['map (10 pages of 1,000)', Array.from({ length: 10 }, (_, i) => `/api/v1/devices?limit=1000&offset=${i * 1000}`)],
      ['GET /api/v1/devices/<bin>', [`/api/v1/devices/${bin.devEui}`]],
      ['GET /api/v1/devices/<bin>/readings (7 days)', [`/api/v1/devices/${bin.devEui}/readings?since=${NOW - 7 * DAY}`]],
      ['GET /api/v1/devices/<bin>/frames', [`/api/v1/devices/${bin.devEui}/frames`]],
    ];
    say('server time over HTTP on loopback, 20 runs: wall median / p95 / max, and CPU per run (this process: server and client)');
    for (const [label, paths] of cases) {
      const times: number[] = [];
      let cpuRuns = 0;
      for (let i = 0; i < 21; i++) {
        let sum = 0;
        const before = cpuMs;
        for (const p of paths) sum += await get(p);
        if (i > 0) {
          times.push(sum); // the first warms the statement cache
          cpuRuns += cpuMs - before;
        }
      }
      const s = stats(times);
      say(`  ${label.padEnd(64)} ${fmt(s.p50).padStart(9)} ${fmt(s.p95).padStart(9)} ${fmt(s.max).padStart(9)}   CPU ${fmt(cpuRuns / 20).padStart(9)}`);
    }

    // 3. The sink on the gateway's main thread: records appended to the durable log, applied by
    // the store worker. Main-thread busy time from the event loop's utilization (the worker's
    // CPU is not in it): what the store costs the gateway's event loop per uplink.
    {
      const n = Number(args['sink-records']);
      const appliedBefore = sink.applied;
      const elu0 = nodePerformance.eventLoopUtilization();
      const t = performance.now();
      for (let i = 0; i < n; i += 1000) {
        const chunk = Array.from({ length: Math.min(1000, n - i) }, (_, j) => uplink(devices[(i + j) % devices.length] as BenchDevice, 50_000 + i + j, NOW - 3_600_000 + i + j));
        await log.appendBatch(chunk);
      }
      const appendedAt = performance.now();
      const eluAppend = nodePerformance.eventLoopUtilization(elu0);
      const elu1 = nodePerformance.eventLoopUtilization();
      while (sink.applied - appliedBefore < n && performance.now() - t < 600_000) await new Promise((r) => setTimeout(r, 5));
      const elu = nodePerformance.eventLoopUtilization(elu1);
      const wall = (performance.now() - t) / 1000;
      say(
        `sink local: ${(sink.applied - appliedBefore).toLocaleString('en')} of ${n.toLocaleString('en')} records appended then applied in ${wall.toFixed(1)} s = ${Math.round(n / wall).toLocaleString('en')}/s end to end; ` +
          `main thread busy after the appends (reading the log, handing batches over, committing the cursor): ${fmt(elu.active)} = ${((elu.active * 1000) / n).toFixed(1)} µs per record ` +
          `(appending them: ${fmt(eluAppend.active)} over ${fmt(appendedAt - t)})`,
      );
    }

    // 4. SSE latency after durable
    const rate = Number(args['sse-rate']);
    const count = Number(args['sse-count']);
    const durableAt = new Map<string, { at: number; logId: number }>();
    const received: { logId: number; durable: number; at: number }[] = [];
    const latencies: number[] = [];
    timing = true;
    let resolveAll: () => void = () => undefined;
    const all = new Promise<void>((r) => (resolveAll = r));
    const sse = request({ host: '127.0.0.1', port, path: '/api/v1/events?types=uplink' });
    sse.on('response', (res) => {
      res.setEncoding('utf8');
      let buf = '';
      res.on('data', (chunk: string) => {
        const now = epochNow();
        buf += chunk;
        let at: number;
        while ((at = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, at);
          buf = buf.slice(at + 2);
          const m = /"id":"([^"]+)"/.exec(block);
          const t = m ? durableAt.get(m[1] as string) : undefined;
          if (t !== undefined) {
            latencies.push(now - t.at);
            received.push({ logId: t.logId, durable: t.at, at: now });
          }
          if (latencies.length >= count) resolveAll();
        }
      });
    });
    sse.end();
    while (handler.sseClients === 0) await new Promise((r) => setTimeout(r, 10));
    const began = performance.now();
    for (let i = 0; i < count; i++) {
      const due = began + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const d = devices[i % devices.length] as BenchDevice;
      const rec = uplink(d, 100_000 + i, Date.now());
      void log.append(rec).then((logId) => durableAt.set(rec.id, { at: epochNow(), logId }));
    }
    await Promise.race([all, new Promise((r) => setTimeout(r, 60_000))]);
    const s = stats(latencies);
    say(`SSE after durable, ${latencies.length} of ${count} uplinks at ${rate}/s into a store with the city's week: p50 ${fmt(s.p50)}, p95 ${fmt(s.p95)}, p99 ${fmt(s.p99)}, max ${fmt(s.max)}; load ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
    sseStages(received, timings, say);
    sse.destroy();
    handler.closeAll();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    await sink.stop();
    await sink.close();
    await log.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
