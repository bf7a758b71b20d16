/**
 * The bin_state job against a real InfluxDB 1.6 (support/influxd.ts) and a real local store:
 * one run writes every bin's state to InfluxDB and to `planner_bin_state`; a run while InfluxDB
 * is stopped loses nothing — its points wait in the job's durable log and arrive once InfluxDB
 * is back.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetrics } from '../metrics.ts';
import { InfluxWriter } from '../sinks/writers.ts';
import { PLANNER_DEFAULTS } from '../web/store/planner-store.ts';
import { startInfluxd, type InfluxdServer } from '../../support/influxd.ts';
import { writeFixtureStore } from '../web/store/planner-fixtures.ts';
import { BinStateJob } from './bin-state-job.ts';

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
let influx: InfluxdServer;
let dir: string;

beforeAll(async () => {
  influx = await startInfluxd({ database: 'lorawan' });
  dir = mkdtempSync(join(tmpdir(), 'bin-state-job-'));
}, 60_000);
afterAll(async () => {
  await influx?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function until(what: string, ok: () => Promise<boolean>, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('bin_state job', () => {
  it('writes each bin state to InfluxDB and the store, and keeps the points through an InfluxDB outage', async () => {
    const store = join(dir, 'local.sqlite');
    const now = Date.now();
    writeFixtureStore(store, now);
    const writer = new InfluxWriter('influx', { url: influx.url, database: 'lorawan', flush_interval_ms: 50, retry_min_backoff_ms: 50, retry_max_backoff_ms: 500 }, quiet, createMetrics());
    let clock = now;
    const job = new BinStateJob({ storeFile: store, logDir: join(dir, 'planner-log'), writers: [{ name: 'influx', writer }], intervalMs: 300_000, planner: PLANNER_DEFAULTS, now: () => clock });
    await job.start();
    try {
      expect(await job.runOnce()).toBe(4);
      await until('4 bin_state points', async () => (await influx.countPoints('bin_state', 'lorawan')) === 4);
      const rows = await influx.rows('SELECT * FROM bin_state', 'lorawan');
      const full = rows.find((r) => r['device'] === 'north-full');
      expect(full?.['state']).toBe('full');
      expect(typeof full?.['fill_pct']).toBe('number');
      expect(rows.find((r) => r['device'] === 'south-skipped')?.['discrepancy']).toContain('missed_collection');
      const db = new Database(store, { readonly: true });
      const stored = db.prepare('SELECT dev_eui, state FROM planner_bin_state ORDER BY dev_eui').all() as { state: string }[];
      db.close();
      expect(stored.map((r) => r.state)).toEqual(['full', 'collect_soon', 'ok', 'full']) // north-filling reaches 90 % within 24 h;

      await influx.stop();
      clock += 300_000;
      expect(await job.runOnce()).toBe(4);
      // Nothing committed while InfluxDB is down: the points are on disk, in the job's log.
      await new Promise((r) => setTimeout(r, 500));
      expect(job.pending('influx')).toBe(4);
      await influx.start();
      await until('the outage run arrives', async () => (await influx.countPoints('bin_state', 'lorawan')) === 8, 90_000);
      await until('committed', async () => job.pending('influx') === 0);
    } finally {
      await job.stop();
    }
  }, 180_000);
});
