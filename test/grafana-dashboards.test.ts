/**
 * The Grafana dashboards in gateway/deploy/grafana: Grafana itself cannot run here, so each
 * dashboard is checked against the essentials of Grafana's dashboard model (uid, title,
 * schemaVersion, panels with ids, grid positions and targets, datasource references to the
 * provisioned uids, template variables that exist), and every InfluxQL panel query is run against
 * a real InfluxDB filled by the simulator through the real gateway: each must return data.
 * Prometheus panels are checked against the gateway's own /metrics: every metric they name must
 * be exported.
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
import { createSimulation } from '../simulator/index.ts';
import { startInfluxd, type InfluxdServer } from '../support/influxd.ts';
import { startMosquitto, type MosquittoServer } from '../support/mosquitto.ts';

const GRAFANA = join(import.meta.dirname, '..', 'gateway', 'deploy', 'grafana');
const FLEET = join(import.meta.dirname, '..', 'simulator', 'fleets', 'demo.yaml');

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

const dashboards: [string, Dashboard][] = readdirSync(join(GRAFANA, 'dashboards'))
  .filter((f) => f.endsWith('.json'))
  .map((f) => [f, JSON.parse(readFileSync(join(GRAFANA, 'dashboards', f), 'utf8')) as Dashboard]);

const provisioned = readYamlFile(join(GRAFANA, 'provisioning', 'datasources.yaml')) as { datasources: { uid: string; type: string }[] };
const dsTypes = new Map(provisioned.datasources.map((d) => [d.uid, d.type]));

describe('Grafana dashboards: the dashboard model', () => {
  it('there are dashboards for bins, water, air, radio and the gateway', () => {
    expect(dashboards.map(([, d]) => d.uid).sort()).toEqual(['lorawan-edge-air', 'lorawan-edge-bins', 'lorawan-edge-gateway', 'lorawan-edge-radio', 'lorawan-edge-water']);
    const provider = readYamlFile(join(GRAFANA, 'provisioning', 'dashboards.yaml')) as { providers: { type: string; options: { path: string } }[] };
    expect(provider.providers[0]?.type).toBe('file');
  });

  it.each(dashboards)('%s: uid, panels, datasources and variables are consistent', (_file, d) => {
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
        for (const m of q.matchAll(/\$([A-Za-z_]+)/g)) {
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
    const sim = await createSimulation({ fleet: FLEET, speed: 'max', output: { type: 'mqtt', url: broker.url, format: 'chirpstack-json' } });
    writeFileSync(join(dir, 'devices.yaml'), renderRegistry(sim.devices.map((d) => ({ dev_eui: d.devEui, name: d.name, model: d.catalogueId, tags: d.tags, variables: d.variables }))));
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
    // Two simulated days of the demo fleet: bins fill past 80 %, meters count, probes measure.
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
  }, 600_000);

  afterAll(async () => {
    await gateway?.stop();
    await Promise.all([broker?.dispose(), influx?.dispose()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Grafana's macros as a dashboard over all of the simulated time would expand them. */
  const expand = (q: string): string => q.replace(/\$timeFilter/g, "time >= '2026-01-01T00:00:00Z'").replace(/\$__interval/g, '1h').replace(/\/\^\$commune\$\//g, '/^.*$/');

  const influxPanels = dashboards.flatMap(([, d]) => d.panels.flatMap((p) => p.targets.filter((t) => t.datasource.type === 'influxdb').map((t) => [`${d.uid}: ${p.title} (${t.refId})`, t.query as string] as const)));
  it.each(influxPanels)('%s', async (_name, query) => {
    const series = await influx.query(expand(query), { db: 'lorawan' });
    const values = series.reduce((n, s) => n + s.values.filter((row) => row.slice(1).some((v) => v !== null)).length, 0);
    expect(values, query).toBeGreaterThan(0);
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
