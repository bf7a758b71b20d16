/**
 * The Grafana dashboards in gateway/deploy/grafana: Grafana itself cannot run here, so each
 * dashboard is checked against the essentials of Grafana's dashboard model (uid, title,
 * schemaVersion, panels with ids, grid positions and targets, datasource references to the
 * provisioned uids, template variables that exist), and every InfluxQL panel query is run against
 * a real InfluxDB filled by the simulator through the real gateway: each must return data.
 * Prometheus panels are checked against the gateway's own /metrics: every metric they name must
 * be exported. The simulated fleet is the demo fleet plus the Dijon fleet's river level stations
 * (moved under the demo's gateways), so the flood dashboard has levels to show.
 *
 * The Flux variants (dashboards-v2/, InfluxDB v2) cannot be run: only InfluxDB 1.6 is installed
 * here, which has no Flux. Their structure is checked instead: one Flux panel per InfluxQL panel
 * of the same title, every query a pipeline from the bucket through the dashboard's time range,
 * known Flux functions only, measurements and fields that the InfluxQL twin reads, balanced
 * brackets, template variables that exist.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readYamlFile } from '../devices/safe-yaml.ts';
import { checkConfig } from '../gateway/config.ts';
import { createGateway, type Gateway } from '../gateway/gateway.ts';
import { renderRegistry } from '../gateway/registry/devices-file.ts';
import { READING_FIELDS } from '../codecs/readings.ts';
import { encodePoint, type Point } from '../gateway/sinks/influxdb/line-protocol.ts';
import { BIN_STATE_MEASUREMENT } from '../gateway/planner/bin-state-job.ts';
import { RIVER_ALARM_MEASUREMENT } from '../gateway/planner/river-alarm-job.ts';
import { loadFleet, type Fleet } from '../simulator/fleet.ts';
import { createSimulation } from '../simulator/index.ts';
import { startInfluxd, type InfluxdServer } from '../support/influxd.ts';
import { startMosquitto, type MosquittoServer } from '../support/mosquitto.ts';

const GRAFANA = join(import.meta.dirname, '..', 'gateway', 'deploy', 'grafana');
const FLEETS = join(import.meta.dirname, '..', 'simulator', 'fleets');

/** The demo fleet with the Dijon river stations placed among its devices (commune centre). */
function fleetWithRivers(): Fleet {
  const demo = loadFleet(join(FLEETS, 'demo.yaml'));
  const dijon = loadFleet(join(FLEETS, 'dijon.yaml'));
  const stations = dijon.devices
    .filter((g) => g.tags?.['river'] !== undefined)
    .map((g) => ({ ...g, tags: { ...g.tags, commune: 'centre' }, area: { lat: 52.0905, lon: 5.12, radiusM: 600 } }));
  return { ...demo, devices: [...demo.devices, ...stations] };
}

interface Target {
  refId: string;
  datasource: { type: string; uid: string };
  query?: string;
  expr?: string;
}
interface Panel {
  id: number;
  title: string;
  type: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource: { type: string; uid: string };
  targets: Target[];
}
interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: { name: string; query: string; datasource: { uid: string } }[] };
}

const load = (folder: string): [string, Dashboard][] =>
  readdirSync(join(GRAFANA, folder))
    .filter((f) => f.endsWith('.json'))
    .map((f) => [f, JSON.parse(readFileSync(join(GRAFANA, folder, f), 'utf8')) as Dashboard]);
const dashboards = load('dashboards');
const fluxDashboards = load('dashboards-v2');

const provisioned = ['datasources.yaml', 'datasources-v2.yaml'].flatMap((f) => (readYamlFile(join(GRAFANA, 'provisioning', f)) as { datasources: { uid: string; type: string; jsonData?: { version?: string } }[] }).datasources);
const dsTypes = new Map(provisioned.map((d) => [d.uid, d.type]));
const FLUX_UID = 'lorawan-edge-influxdb-v2';

describe('Grafana dashboards: the dashboard model', () => {
  it('there are dashboards for bins, water, air, radio and the gateway', () => {
    expect(dashboards.map(([, d]) => d.uid).sort()).toEqual(['lorawan-edge-air', 'lorawan-edge-bins', 'lorawan-edge-flood', 'lorawan-edge-gateway', 'lorawan-edge-radio', 'lorawan-edge-water']);
    // The v1 dashboards use InfluxQL only; the Flux variants only the v2 datasource.
    for (const [, d] of dashboards) for (const p of d.panels) for (const t of p.targets) expect(t.datasource.uid).not.toBe(FLUX_UID);
    expect(provisioned.find((d) => d.uid === FLUX_UID)?.jsonData?.version).toBe('Flux');
    const provider = readYamlFile(join(GRAFANA, 'provisioning', 'dashboards.yaml')) as { providers: { type: string; options: { path: string } }[] };
    expect(provider.providers[0]?.type).toBe('file');
  });

  it.each([...dashboards, ...fluxDashboards])('%s: uid, panels, datasources and variables are consistent', (_file, d) => {
    expect(d.uid).toMatch(/^[a-z0-9-]{1,40}$/);
    expect(d.title).not.toBe('');
    expect(d.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(d.panels.length).toBeGreaterThan(0);
    expect(new Set(d.panels.map((p) => p.id)).size).toBe(d.panels.length);
    const vars = new Set(d.templating.list.map((v) => v.name));
    for (const v of d.templating.list) expect(dsTypes.has(v.datasource.uid)).toBe(true);
    for (const p of d.panels) {
      expect(p.gridPos.w).toBeGreaterThan(0);
      expect(p.gridPos.x + p.gridPos.w).toBeLessThanOrEqual(24);
      expect(p.targets.length).toBeGreaterThan(0);
      for (const t of p.targets) {
        expect(dsTypes.get(t.datasource.uid), `${p.title}: datasource ${t.datasource.uid}`).toBe(t.datasource.type);
        const q = t.query ?? t.expr ?? '';
        expect(q, p.title).not.toBe('');
        for (const m of q.matchAll(/\$\{?([A-Za-z_]+)/g)) {
          const name = m[1] as string;
          if (!['timeFilter', '__interval'].includes(name)) expect(vars.has(name), `${p.title}: $${name} is not a template variable`).toBe(true);
        }
      }
    }
  });
});

describe('Grafana dashboards: every query returns data', () => {
  let broker: MosquittoServer;
  let influx: InfluxdServer;
  let gateway: Gateway;
  let dir: string;

  beforeAll(async () => {
    [broker, influx] = await Promise.all([startMosquitto(), startInfluxd({ database: 'lorawan' })]);
    dir = mkdtempSync(join(tmpdir(), 'grafana-'));
    const sim = await createSimulation({ fleet: fleetWithRivers(), speed: 'max', output: { type: 'mqtt', url: broker.url, format: 'chirpstack-json' } });
    writeFileSync(join(dir, 'devices.yaml'), renderRegistry(sim.devices.map((d) => ({ dev_eui: d.devEui, name: d.name, model: d.catalogueId, tags: { ...d.tags, lat: d.position.lat.toFixed(5), lon: d.position.lon.toFixed(5) }, variables: d.variables }))));
    const config = checkConfig(
      {
        name: 'grafana',
        data_dir: './data',
        http: { listen: '127.0.0.1:0' },
        log: { level: 'warn' },
        registry: { devices_file: 'devices.yaml' },
        buffer: { fsync_interval_ms: 50 },
        sources: [{ type: 'chirpstack_mqtt', name: 'chirpstack', url: broker.url }],
        sinks: [{ type: 'influxdb', name: 'influx', url: influx.url, database: 'lorawan', flush_interval_ms: 200 }],
      },
      join(dir, 'gateway.yaml'),
      {},
    );
    gateway = createGateway(config, { logStream: { write: () => true } as unknown as NodeJS.WritableStream });
    await gateway.start();
    // Two simulated days of the demo fleet: bins fill past 80 %, meters count, probes measure, rivers flow.
    await sim.run({ durationMs: 2 * 86_400_000, realTimeMs: 5 * 60_000 });
    await sim.stop();
    const expected = sim.stats().uplinks;
    const until = Date.now() + 120_000;
    let stored = 0;
    while (Date.now() < until) {
      stored = await influx.countPoints('lorawan_uplink');
      if (stored >= expected * 0.95) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(stored).toBeGreaterThan(expected * 0.9);
    await seedPlannerPoints(sim.devices);
  }, 600_000);

  /**
   * The bin_state and river_alarm panels need points of those measurements. The planner and
   * flood jobs (gateway/planner/) run on their own interval over the local store, on the real
   * clock, while the simulation runs at max speed on its own; whether a run lands inside this
   * fixture is luck. So when the gateway wrote none, a few points of exactly the jobs' shape
   * (their measurement names, tags and fields; see bin-state-job.ts and river-alarm-job.ts) are
   * written straight into the test database — only so that those panel queries are really run.
   */
  const seeded = { bins: false, alarms: false };
  async function seedPlannerPoints(devices: readonly { name: string; devEui: string; tags: Record<string, string> }[]): Promise<void> {
    const now = Date.now();
    const points: Point[] = [];
    if ((await influx.countPoints(BIN_STATE_MEASUREMENT)) === 0) {
      const bins = devices.filter((d) => d.tags['river'] === undefined && d.tags['commune'] !== undefined).slice(0, 4);
      const states = ['ok', 'collect_soon', 'full', 'collect_soon'];
      seeded.bins = true;
      bins.forEach((d, i) =>
        points.push({ measurement: BIN_STATE_MEASUREMENT, tags: { dev_eui: d.devEui, device: d.name, commune: d.tags['commune'] }, fields: { state: states[i], grade: 'good', fill_pct: 60 + i * 10, rate_pct_day: 12.5, eta_h: 30 - i * 8, discrepancy: 'none' }, timeMs: now }),
      );
    }
    if ((await influx.countPoints(RIVER_ALARM_MEASUREMENT)) === 0) {
      const station = devices.find((d) => d.tags['station'] !== undefined);
      seeded.alarms = true;
      const tags = { dev_eui: station?.devEui, station: station?.tags['station'], kind: 'level' };
      points.push({ measurement: RIVER_ALARM_MEASUREMENT, tags, fields: { state: 'raised', level_mm: 1520, detail: 'level 1520 mm ≥ 1500 mm' }, timeMs: now - 7_200_000 });
      points.push({ measurement: RIVER_ALARM_MEASUREMENT, tags, fields: { state: 'escalated', level_mm: 1610, detail: 'not acknowledged' }, timeMs: now - 3_600_000 });
      points.push({ measurement: RIVER_ALARM_MEASUREMENT, tags, fields: { state: 'cleared', level_mm: 1180, detail: 'level 1180 mm < 1200 mm' }, timeMs: now });
    }
    if (points.length === 0) return;
    const lines = points.map((pt) => encodePoint(pt)).map((l) => (typeof l === 'string' ? l : expect.fail(l.reason)));
    const res = await fetch(`${influx.url}/write?db=lorawan&precision=ms`, { method: 'POST', body: lines.join('\n') });
    expect(res.status, await res.text()).toBe(204);
  }

  afterAll(async () => {
    await gateway?.stop();
    await Promise.all([broker?.dispose(), influx?.dispose()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Grafana's macros as a dashboard over all of the simulated time would expand them. */
  const expand = (q: string): string => q.replace(/\$timeFilter/g, "time >= '2026-01-01T00:00:00Z'").replace(/\$__interval/g, '1h').replace(/\/\^\$[A-Za-z_]+\$\//g, '/^.*$/');

  const influxPanels = dashboards.flatMap(([, d]) => d.panels.flatMap((p) => p.targets.filter((t) => t.datasource.type === 'influxdb').map((t) => [`${d.uid}: ${p.title} (${t.refId})`, t.query as string] as const)));
  it.each(influxPanels)('%s', async (_name, query) => {
    const series = await influx.query(expand(query), { db: 'lorawan' });
    const values = series.reduce((n, s) => n + s.values.filter((row) => row.slice(1).some((v) => v !== null)).length, 0);
    expect(values, query).toBeGreaterThan(0);
  });

  it('the fill map gets numeric coordinates for every bin, the flood panels every station', async () => {
    const map = dashboards.flatMap(([, d]) => d.panels).find((p) => p.type === 'geomap');
    const rows = (await influx.query(expand(map?.targets[0]?.query ?? ''), { db: 'lorawan' })).flatMap((sr) => sr.values.map(() => sr.tags ?? {}));
    expect(rows.length).toBe(13); // the demo's bins: every bin-fill device with a fill_pct, no river station
    for (const t of rows) {
      expect(Number(t['lat'])).toBeCloseTo(52.09, 1);
      expect(Number(t['lon'])).toBeCloseTo(5.12, 1);
    }
    const levels = await influx.query('SHOW TAG VALUES FROM "bin_fill" WITH KEY = "station"', { db: 'lorawan' });
    expect(levels.flatMap((sr) => sr.values.map((v) => v[1])).length).toBe(6);
  });

  it('the collect-soon table leaves out the ok bins; the river alarm table shows the last state', async () => {
    const panel = (uid: string, title: string): string => dashboards.find(([, d]) => d.uid === uid)?.[1].panels.find((p) => p.title.startsWith(title))?.targets[0]?.query ?? '';
    const collect = await influx.rows(expand(panel('lorawan-edge-bins', 'Collect soon')), 'lorawan');
    expect(collect.length).toBeGreaterThan(0);
    for (const r of collect) expect(r['state']).not.toBe('ok');
    if (seeded.bins) expect(collect.map((r) => r['state']).sort()).toEqual(['collect_soon', 'collect_soon', 'full']);
    const alarms = await influx.rows(expand(panel('lorawan-edge-flood', 'River alarms')), 'lorawan');
    expect(alarms.length).toBeGreaterThan(0);
    if (seeded.alarms) expect(alarms.map((r) => r['state'])).toEqual(['cleared']);
  });

  it('the template variable queries return the communes', async () => {
    const series = await influx.query('SHOW TAG VALUES WITH KEY = "commune"', { db: 'lorawan' });
    const communes = new Set(series.flatMap((s) => s.values.map((v) => v[1])));
    expect([...communes].sort()).toEqual(['centre', 'west']);
  });

  it('every metric a Prometheus panel uses is exported by the gateway', async () => {
    const text = await gateway.metrics.registry.metrics();
    const exported = new Set([...text.matchAll(/^# TYPE ([a-z_0-9]+) /gm)].map((m) => m[1]));
    const used = dashboards.flatMap(([, d]) => d.panels.flatMap((p) => p.targets.flatMap((t) => [...(t.expr ?? '').matchAll(/\b(lorawan_edge_[a-z_0-9]+)/g)].map((m) => m[1] as string))));
    expect(used.length).toBeGreaterThan(5);
    for (const m of used) expect(exported.has(m), `${m} is not exported`).toBe(true);
  });
});

/** Flux functions the variants use; anything else is a typo or needs a look. */
const FLUX_FUNCTIONS = new Set(['range', 'filter', 'group', 'aggregateWindow', 'derivative', 'difference', 'last', 'max', 'min', 'sum', 'keep', 'pivot', 'rename', 'count', 'mean', 'yield']);

/**
 * Fields of the measurements that are not readings: the uplink's radio metadata
 * (gateway/schema/native.ts) and the planner jobs' results (gateway/planner/).
 */
const OWN_FIELDS: Record<string, string[]> = {
  lorawan_uplink: ['rssi', 'snr', 'gateway_count', 'sf', 'frequency', 'dr', 'fcnt', 'fport', 'payload_bytes', 'decode_errors'],
  [BIN_STATE_MEASUREMENT]: ['state', 'grade', 'fill_pct', 'rate_pct_day', 'eta_h', 'discrepancy'],
  [RIVER_ALARM_MEASUREMENT]: ['state', 'level_mm', 'detail'],
};

function balanced(q: string): boolean {
  const stack: string[] = [];
  const pairs: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
  let inString = false;
  for (const c of q) {
    if (c === '"') inString = !inString;
    if (inString) continue;
    if ('([{'.includes(c)) stack.push(c);
    else if (c in pairs && stack.pop() !== pairs[c]) return false;
  }
  return stack.length === 0 && !inString;
}

describe('Grafana dashboards: Flux variants for InfluxDB v2 (structure; no Flux engine here)', () => {
  it('every InfluxDB dashboard has a Flux twin, panel for panel (the gateway one is Prometheus)', () => {
    expect(fluxDashboards.map(([, d]) => d.uid).sort()).toEqual(['lorawan-edge-air-v2', 'lorawan-edge-bins-v2', 'lorawan-edge-flood-v2', 'lorawan-edge-radio-v2', 'lorawan-edge-water-v2']);
    for (const [, v2] of fluxDashboards) {
      const v1 = dashboards.find(([, d]) => `${d.uid}-v2` === v2.uid)?.[1];
      expect(v1, v2.uid).toBeDefined();
      expect(v2.panels.map((p) => [p.title, p.type])).toEqual(v1?.panels.map((p) => [p.title, p.type]));
      expect(v2.templating.list.map((v) => v.name)).toEqual(v1?.templating.list.map((v) => v.name));
    }
  });

  const fluxPanels = fluxDashboards.flatMap(([, d]) => d.panels.map((p) => [`${d.uid}: ${p.title}`, d.uid, p] as const));
  it.each(fluxPanels)('%s', (_name, uid, p) => {
    const t = p.targets[0];
    expect(t?.datasource.uid).toBe(FLUX_UID);
    const q = t?.query ?? '';
    expect(balanced(q), q).toBe(true);
    expect(q.startsWith('from(bucket: v.defaultBucket)\n  |> range(start: v.timeRangeStart, stop: v.timeRangeStop)'), q).toBe(true);
    for (const m of q.matchAll(/\|>\s*([A-Za-z]+)\(/g)) expect(FLUX_FUNCTIONS.has(m[1] as string), `${m[1]} in ${p.title}`).toBe(true);
    // The same measurement and fields as the InfluxQL twin, and fields of the reading vocabulary.
    // All of the twin's targets: one Flux query may stand for several InfluxQL ones (a series per field).
    const twin = (dashboards.find(([, d]) => `${d.uid}-v2` === uid)?.[1].panels.find((x) => x.title === p.title)?.targets ?? []).map((x) => x.query ?? '').join('\n');
    const measurements = [...q.matchAll(/r\._measurement == "([a-z_]+)"/g)].map((m) => m[1] as string);
    expect(measurements.length).toBeGreaterThan(0);
    for (const m of measurements) expect(twin).toContain(`FROM "${m}"`);
    const fields = [...q.matchAll(/r\._field == "([a-z_0-9]+)"/g)].map((m) => m[1] as string);
    expect(fields.length).toBeGreaterThan(0);
    for (const f of fields) {
      const own = measurements.every((m) => OWN_FIELDS[m]?.includes(f));
      expect(own || (measurements.every((m) => OWN_FIELDS[m] === undefined) && Object.hasOwn(READING_FIELDS, f)), f).toBe(true);
      expect(twin).toContain(`"${f}"`);
    }
    // Multi-value variables go in as JSON arrays (contains(set: ${x:json})), never as regex text.
    for (const m of q.matchAll(/\$\{([A-Za-z_]+)(:[a-z]+)?\}/g)) expect(m[2], m[0]).toBe(':json');
  });

  it('the template variables use schema.tagValues on the bucket', () => {
    for (const [, d] of fluxDashboards) {
      for (const v of d.templating.list) {
        expect(v.datasource.uid).toBe(FLUX_UID);
        expect(v.query).toMatch(/^import "influxdata\/influxdb\/schema"\nschema\.tagValues\(bucket: v\.defaultBucket, tag: "[a-z_]+"/);
        expect(balanced(v.query)).toBe(true);
      }
    }
  });
});
