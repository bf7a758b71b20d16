/**
 * The river_alarm job against a real InfluxDB 1.6 (support/influxd.ts) and a real local store
 * (its writer applying uplinks as the gateway does, open beside the job): a river rising past a
 * threshold raises exactly one alarm, shown by `GET /api/v1/alarms` (getAlarms, the handler the
 * route calls); it escalates until acknowledged through the API's acknowledge (postAcknowledge)
 * and then stops; it clears once the level falls below the clear level; the `river_alarm`
 * points of a run made while InfluxDB is stopped wait in the job's log and arrive after.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetrics } from '../metrics.ts';
import { InfluxWriter } from '../sinks/writers.ts';
import { uplinkRecord } from '../schema/testing.ts';
import { LocalStore } from '../web/store/local-store.ts';
import { getAlarms, postAcknowledge } from '../web/api.ts';
import { checkFloodConfig } from '../web/flood-config.ts';
import { startInfluxd, type InfluxdServer } from '../../support/influxd.ts';
import { RiverAlarmJob } from './river-alarm-job.ts';

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
const MIN = 60_000;
const DEV = '24e124713b221100';
const MOUNT_MM = 4200;
let influx: InfluxdServer;
let dir: string;

beforeAll(async () => {
  influx = await startInfluxd({ database: 'lorawan' });
  dir = mkdtempSync(join(tmpdir(), 'river-alarm-job-'));
}, 60_000);
afterAll(async () => {
  await influx?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function until(what: string, ok: () => Promise<boolean> | boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The river (mm above the datum) m minutes after the start: calm, a rise past 1500, a crest, a fall below 1300. */
function level(m: number): number {
  if (m < 120) return 1000;
  if (m < 240) return 1000 + ((m - 120) / 120) * 800; // crosses 1500 at 195
  if (m < 330) return 1800;
  if (m < 390) return 1800 - ((m - 330) / 60) * 800; // below 1300 from 368
  return 1000;
}

describe('river_alarm job', () => {
  it('raises one alarm past a threshold, escalates until acknowledged, clears below the clear level, and keeps its points through an InfluxDB outage', async () => {
    const file = join(dir, 'local.sqlite');
    const t0 = Date.now() - 12 * 60 * MIN;
    const at = (m: number): number => t0 + m * MIN;
    const store = new LocalStore({ file, historyDays: 90, framesPerDevice: 5, communeTag: 'commune', locationTags: { lat: 'lat', lon: 'lon' } });
    const device = { name: 'ouche-pont', model: 'milesight-iot/em500-udl', category: 'level', tags: { river: 'ouche' } };
    store.syncRegistry([{ dev_eui: DEV, ...device, interval_s: 600 }]);
    let id = store.appliedId;
    let fed = -10;
    /** The station's 10-minute readings up to minute m, applied as the gateway applies uplinks. */
    const feed = (m: number): void => {
      const records = [];
      for (let k = fed + 10; k <= m; k += 10) {
        const lvl = Math.round(level(k));
        records.push({ id: ++id, value: uplinkRecord(DEV, device, { id: `r-${k}`, time: at(k), rxAt: at(k), fCnt: k / 10, decoded: { model: device.model, readings: [{ values: { distance_mm: MOUNT_MM - lvl, water_level_mm: lvl } }], warnings: [], errors: [], by: 'codec' } }) });
        fed = k;
      }
      store.apply(records);
    };
    const reader = new LocalStore(store.opts, 'reader');
    const riverAlarms = (state: string): { id: number; kind: string; device: string; clearedAt: number | null }[] =>
      (getAlarms(reader, new URLSearchParams({ state, limit: '50' })).body as { alarms: { id: number; kind: string; device: string; clearedAt: number | null }[] }).alarms.filter((a) => a.kind.startsWith('river_'));

    const { flood, problems } = checkFloodConfig({ levels: [{ name: 'vigilance', raise_mm: 1500, clear_mm: 1300 }], escalate_every_min: 30 }, true);
    expect(problems).toEqual([]);
    const writer = new InfluxWriter('influx', { url: influx.url, database: 'lorawan', flush_interval_ms: 50, retry_min_backoff_ms: 50, retry_max_backoff_ms: 500 }, quiet, createMetrics());
    let clock = at(0);
    const job = new RiverAlarmJob({ storeFile: file, logDir: join(dir, 'flood-log'), writers: [{ name: 'influx', writer }], intervalMs: 10 * MIN, flood, now: () => clock });
    await job.start();
    try {
      // Calm river: nothing.
      feed(150);
      clock = at(150);
      expect(await job.runOnce()).toBe(0);
      expect(riverAlarms('all')).toEqual([]);

      // Past 1500 (the reading at 200 is the first one above): one alarm, one point.
      feed(200);
      clock = at(202);
      expect(await job.runOnce()).toBe(1);
      expect(riverAlarms('open')).toMatchObject([{ kind: 'river_level:vigilance', device: 'ouche-pont', clearedAt: null }]);
      // Still above, not acknowledged: the same alarm, escalated once 30 min after it was raised.
      feed(235);
      clock = at(236);
      expect(await job.runOnce()).toBe(1);
      expect(riverAlarms('all')).toHaveLength(1);
      await until('raised and escalated points', async () => (await influx.countPoints('river_alarm', 'lorawan')) === 2);

      // Acknowledged on the overview: no further escalation.
      const alarmId = riverAlarms('open')[0]?.id as number;
      expect(postAcknowledge(reader, String(alarmId), 'duty-officer', at(240)).status).toBe(200);
      feed(320);
      clock = at(321);
      expect(await job.runOnce()).toBe(0);
      expect(riverAlarms('open')).toEqual([]);
      expect(riverAlarms('active')).toHaveLength(1);

      // The fall below 1300 while InfluxDB is down: cleared in the store, the point waits in the log.
      await influx.stop();
      feed(400);
      clock = at(401);
      expect(await job.runOnce()).toBe(1);
      expect(riverAlarms('active')).toEqual([]);
      expect(riverAlarms('all')).toMatchObject([{ id: alarmId, clearedAt: at(370) }]);
      await new Promise((r) => setTimeout(r, 500));
      expect(job.pending('influx')).toBe(1);
      // A run with nothing new adds nothing.
      clock = at(411);
      expect(await job.runOnce()).toBe(0);

      await influx.start();
      await until('the cleared point arrives', async () => (await influx.countPoints('river_alarm', 'lorawan')) === 3, 90_000);
      await until('committed', () => job.pending('influx') === 0);
      const rows = await influx.rows('SELECT * FROM river_alarm', 'lorawan');
      expect(rows.map((r) => r['state'])).toEqual(['raised', 'escalated', 'cleared']);
      expect(rows.every((r) => r['station'] === 'ouche-pont' && r['kind'] === 'level:vigilance' && r['dev_eui'] === DEV)).toBe(true);
      expect(rows[0]?.['level_mm']).toBe(Math.round(level(200)));
    } finally {
      await job.stop();
      reader.close();
      store.close();
    }
  }, 180_000);
});
