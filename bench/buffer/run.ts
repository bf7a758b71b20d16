/**
 * bench/buffer: throughput of the durable log on this machine, in a temporary folder.
 *
 * - append: ~300-byte records (a decoded uplink with its raw bytes, CBOR) appended by a producer
 *   that keeps up to `--window` appends unacknowledged (as an MQTT source with many messages in
 *   flight would), with group commit; records/s, MB/s, fdatasyncs/s and fsync latency.
 * - appendBatch: the same records in batches of 100.
 * - a small window (1,000) at the default interval, to show that below `flush_bytes` a source's
 *   rate is bounded by window / fsync_interval_ms.
 * - read: one sink reading everything back (`reader.read(1000)` until empty), CRC-checked and
 *   CBOR-decoded; records/s.
 * Goals: append >= 50,000 records/s, read >= 200,000 records/s.
 *
 *   node --import tsx bench/buffer/run.ts [--records 200000] [--window 20000] [--runs 3]
 */
import { cpus, loadavg, release, totalmem, type as osType } from 'node:os';
import { parseArgs } from 'node:util';
import { Encoder } from 'cbor-x';
import { crc32IsNative } from '../../gateway/buffer/crc32.ts';
import { DurableLog } from '../../gateway/buffer/index.ts';
import type { DurableLogConfig } from '../../gateway/buffer/index.ts';
import { uplinkFor } from '../../gateway/buffer/testing/records.ts';
import type { TestUplink } from '../../gateway/buffer/testing/records.ts';
import { tempDir } from '../../gateway/buffer/testing/tmp.ts';

const { values: args } = parseArgs({
  options: {
    records: { type: 'string', default: '200000' },
    window: { type: 'string', default: '20000' },
    runs: { type: 'string', default: '3' },
  },
});
const RECORDS = Number(args.records);
const WINDOW = Number(args.window);
const RUNS = Number(args.runs);

interface Result {
  label: string;
  recordsPerS: number;
  mbPerS: number;
  fsyncsPerS: number;
  fsyncMeanMs: number;
  fsyncMaxMs: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

/** Pre-built values, so the benchmark measures the log and not the record factory. */
const VALUES: TestUplink[] = Array.from({ length: 10_000 }, (_, i) => uplinkFor(i + 1));
const value = (i: number) => VALUES[i % VALUES.length] as TestUplink;

async function appendRun(
  config: Omit<DurableLogConfig, 'dir'>,
  batch: number,
  window: number,
): Promise<{ r: Omit<Result, 'label'>; dir: string; remove: () => Promise<void> }> {
  const t = await tempDir('bench');
  const log = await DurableLog.open<TestUplink>({ ...config, dir: t.dir, sinks: ['bench'] });
  // A producer with at most `window` records unacknowledged, like a QoS 1 source.
  let inFlight = 0;
  let failure: unknown;
  let wake: (() => void) | undefined;
  const settled = () => {
    inFlight -= batch;
    if (wake && (inFlight <= window / 2 || inFlight === 0)) {
      const w = wake;
      wake = undefined;
      w();
    }
  };
  const t0 = performance.now();
  for (let i = 0; i < RECORDS; i += batch) {
    if (inFlight + batch > window) await new Promise<void>((res) => (wake = res));
    inFlight += batch;
    const p = batch === 1 ? log.append(value(i)) : log.appendBatch(Array.from({ length: batch }, (_, k) => value(i + k)));
    p.then(settled, (err: unknown) => {
      failure = err;
      settled();
    });
  }
  while (inFlight > 0) await new Promise<void>((res) => (wake = res));
  const secs = (performance.now() - t0) / 1000;
  if (failure) throw failure;
  const s = log.stats();
  await log.close();
  return {
    r: {
      recordsPerS: RECORDS / secs,
      mbPerS: s.bytes / secs / 1e6,
      fsyncsPerS: s.fsyncs / secs,
      fsyncMeanMs: (s.fsync_seconds_total * 1000) / Math.max(1, s.fsyncs),
      fsyncMaxMs: s.fsync_max_ms,
    },
    dir: t.dir,
    remove: t.remove,
  };
}

async function readRun(dir: string, config: Omit<DurableLogConfig, 'dir'>): Promise<number> {
  const log = await DurableLog.open<TestUplink>({ ...config, dir });
  const reader = log.reader('bench');
  const t0 = performance.now();
  let n = 0;
  for (let b = await reader.read(1000); b.length > 0; b = await reader.read(1000)) n += b.length;
  const secs = (performance.now() - t0) / 1000;
  await log.close();
  if (n !== RECORDS) throw new Error(`read ${n} records, expected ${RECORDS}`);
  return n / secs;
}

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

async function main(): Promise<void> {
  const recordBytes = new Encoder({ useRecords: false, tagUint8Array: false }).encode(value(0)).length;
  const scenarios: { label: string; config: Omit<DurableLogConfig, 'dir'>; batch: number; window: number }[] = [
    { label: `append, window ${fmt(WINDOW)}, defaults (100 ms, 1 MiB)`, config: {}, batch: 1, window: WINDOW },
    { label: `append, window ${fmt(WINDOW)}, fsync_interval_ms 10`, config: { fsync_interval_ms: 10 }, batch: 1, window: WINDOW },
    { label: `appendBatch(100), window ${fmt(WINDOW)}, defaults`, config: {}, batch: 100, window: WINDOW },
    { label: 'append, window 1,000, defaults (interval-bound)', config: {}, batch: 1, window: 1000 },
  ];
  const rows: Result[] = [];
  let readRates: number[] = [];
  for (const sc of scenarios) {
    const samples: Omit<Result, 'label'>[] = [];
    for (let run = 0; run < RUNS; run++) {
      const { r, dir, remove } = await appendRun(sc.config, sc.batch, sc.window);
      samples.push(r);
      if (sc === scenarios[0]) readRates.push(await readRun(dir, sc.config));
      await remove();
    }
    const pick = (k: keyof Omit<Result, 'label'>) => median(samples.map((s) => s[k]));
    rows.push({
      label: sc.label,
      recordsPerS: pick('recordsPerS'),
      mbPerS: pick('mbPerS'),
      fsyncsPerS: pick('fsyncsPerS'),
      fsyncMeanMs: pick('fsyncMeanMs'),
      fsyncMaxMs: pick('fsyncMaxMs'),
    });
  }
  readRates = [median(readRates)];

  const cpu = cpus();
  const out: string[] = [];
  out.push(`### Durable log (gateway/buffer), ${new Date().toISOString().slice(0, 10)}`);
  out.push('');
  out.push(
    `Machine: ${cpu[0]?.model ?? 'unknown CPU'} × ${cpu.length}, ${fmt(totalmem() / 2 ** 30, 1)} GiB RAM, ${osType()} ${release()}; ` +
      `Node ${process.version}; CRC-32 ${crc32IsNative ? 'native (zlib.crc32)' : 'JavaScript table'}; folder under os.tmpdir().`,
  );
  out.push(
    `${fmt(RECORDS)} records of ${recordBytes} bytes CBOR (${recordBytes + 20} with framing); "window" = most appends unacknowledged at once; ` +
      `median of ${RUNS} runs; 64 MiB segments; load average at start ${loadavg()[0]?.toFixed(2)}.`,
  );
  out.push('');
  out.push('| scenario | records/s | MB/s | fsyncs/s | fsync mean ms | fsync max ms |');
  out.push('|---|--:|--:|--:|--:|--:|');
  for (const r of rows) {
    out.push(`| ${r.label} | ${fmt(r.recordsPerS)} | ${fmt(r.mbPerS, 1)} | ${fmt(r.fsyncsPerS, 1)} | ${fmt(r.fsyncMeanMs, 2)} | ${fmt(r.fsyncMaxMs, 2)} |`);
  }
  out.push(`| read (one sink, reader.read(1000), CRC check + CBOR decode) | ${fmt(readRates[0] as number)} | | | | |`);
  out.push('');
  const appendOk = (rows[0]?.recordsPerS ?? 0) >= 50_000;
  const readOk = (readRates[0] ?? 0) >= 200_000;
  out.push(`Goals: append >= 50,000 records/s ${appendOk ? 'met' : 'NOT met'}; read >= 200,000 records/s ${readOk ? 'met' : 'NOT met'}.`);
  process.stdout.write(`${out.join('\n')}\n`);
}

await main();
