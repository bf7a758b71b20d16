/**
 * A record the schema cannot map (the mapping throws) is left out for that sink alone, counted
 * and reported, and the sink goes on — through both writer paths: Point objects (file sink) and
 * lines written straight into a batch (InfluxDB sink, real influxd). Before, the exception
 * escaped the sink's loop: the sink stopped for good and the cursor never moved past the record.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInfluxd, type InfluxdServer } from '../../support/influxd.ts';
import { DurableLog } from '../buffer/index.ts';
import { createMetrics } from '../metrics.ts';
import { nativeLines, nativePoints } from '../schema/native.ts';
import { FileWriter, InfluxWriter } from '../sinks/writers.ts';
import type { PipelineRecord } from './record.ts';
import { RECORD_WIRE } from './record-wire.ts';
import { SinkRunner } from './sink-runner.ts';

const dir = mkdtempSync(join(tmpdir(), 'sink-runner-'));
let influx: InfluxdServer;
beforeAll(async () => {
  influx = await startInfluxd({ database: 'runner' });
}, 120_000);
afterAll(async () => {
  await influx?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

const T0 = Date.UTC(2026, 2, 1);
const status = (i: number): PipelineRecord => ({ v: 1, kind: 'status', src: 'cs', id: `s${i}`, time: T0 + i * 1000, rxAt: 0, devEui: '70b3d5e75e000401', device: { name: i === 3 ? 'poison' : 'ok', tags: {} }, margin: 5, externalPower: false, batteryUnavailable: false, batteryPct: 50 + i });
const poisoned = (r: PipelineRecord): boolean => r.kind !== 'gateway' && r.device.name === 'poison';

async function until(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const end = Date.now() + 60_000;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function runWith(name: string, makeRunner: (log: DurableLog<PipelineRecord>, skipped: number[], metrics: ReturnType<typeof createMetrics>) => SinkRunner, delivered: () => Promise<number>): Promise<void> {
  const log = new DurableLog<PipelineRecord>({ dir: join(dir, name), fsync_interval_ms: 1, sinks: [name] }, { wire: RECORD_WIRE });
  await log.open();
  await log.appendBatch(Array.from({ length: 6 }, (_, i) => status(i + 1)));
  const skipped: number[] = [];
  const metrics = createMetrics({ defaultMetrics: false });
  const runner = makeRunner(log, skipped, metrics);
  await runner.start();
  try {
    await until(async () => (await delivered()) >= 5, `${name}: the 5 good records`);
    await until(() => log.stats().sinks[name]?.committed === 6, `${name}: the cursor past the bad record`);
    expect(skipped).toEqual([3]);
    expect((await metrics.sinkErrors.get()).values.find((v) => v.labels['kind'] === 'schema')?.value).toBe(1);
    expect(await delivered()).toBe(5);
  } finally {
    await runner.stop(Date.now() + 10_000);
    await runner.close();
    await log.close();
  }
}

describe('SinkRunner: a record the schema cannot map', () => {
  it('is left out alone on the Point path (file sink)', async () => {
    const out = join(dir, 'points');
    await runWith(
      'file',
      (log, skipped, metrics) =>
        new SinkRunner({
          name: 'file',
          type: 'file',
          log,
          writer: new FileWriter({ dir: out, rotate_bytes: 1 << 20, keep_files: 5 }),
          toPoints: (r) => {
            if (poisoned(r)) throw new TypeError('schema bug');
            return nativePoints(r);
          },
          metrics,
          onRecordSkipped: (id) => skipped.push(id),
        }),
      async () =>
        (existsSync(out) ? readdirSync(out, { withFileTypes: true }) : [])
          .filter((e) => e.name.endsWith('.lp'))
          .reduce((n, e) => n + readFileSync(join(out, e.name), 'utf8').split('\n').filter((l) => l.startsWith('device_status')).length, 0),
    );
  }, 120_000);

  it('is left out alone on the line path (InfluxDB sink), even after writing part of a line', async () => {
    const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };
    await runWith(
      'influx',
      (log, skipped, metrics) =>
        new SinkRunner({
          name: 'influx',
          type: 'influxdb',
          log,
          writer: new InfluxWriter('influx', { url: influx.url, database: 'runner', flush_interval_ms: 50 }, silent, metrics),
          toPoints: nativePoints,
          toLines: (r, batch) => {
            nativeLines(r, batch); // the partial work is taken out again
            if (poisoned(r)) throw new TypeError('schema bug');
          },
          metrics,
          onRecordSkipped: (id) => skipped.push(id),
        }),
      () => influx.countPoints('device_status', 'runner'),
    );
  }, 120_000);
});
