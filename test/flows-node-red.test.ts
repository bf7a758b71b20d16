/**
 * The Node-RED package in a real Node-RED 4.1: a fresh userDir in a temp folder with the
 * package installed from the workspace (`npm install <repo>/flows`, as the README says), the
 * example flow "ChirpStack MQTT to durable InfluxDB" beside the common flow (mqtt in → function
 * → node-red-contrib-influxdb, bench/gateway/node-red.ts) on the same Mosquitto and InfluxDB 1.6.
 *
 * The simulator publishes the city fleet's ChirpStack JSON uplinks (at a bounded rate). Mid-run
 * InfluxDB is stopped for 30 s, and during the outage Node-RED is stopped and started once.
 * Every ledger reading must be in InfluxDB through the example flow (`lorawan mqtt in`, which
 * acknowledges to the broker only after the fsync) — zero loss, the restart window included;
 * what the common flow lost in the same run is counted and reported.
 *
 * Then the four example flows are imported through the Admin API: no error, and every node type
 * in them is known to the runtime.
 */
import { readdirSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNodeRed, type NodeRed } from '../bench/gateway/node-red.ts';
import { REPO_ROOT } from '../codecs/testing/paths.ts';
import { renderRegistry } from '../gateway/registry/devices-file.ts';
import { CATEGORY_MEASUREMENT } from '../gateway/schema/native.ts';
import { createSimulation, type LedgerEntry, type Simulation } from '../simulator/index.ts';
import { startInfluxd, type InfluxdServer } from '../support/influxd.ts';
import { startMosquitto, type MosquittoServer } from '../support/mosquitto.ts';

const FLOWS_DIR = join(REPO_ROOT, 'flows');
const EXAMPLES = join(FLOWS_DIR, 'examples');
const CITY = join(REPO_ROOT, 'simulator', 'fleets', 'city.yaml');
const MEASUREMENTS = ['bin_fill', 'water_meter', 'air_quality'];
const OUTAGE_MS = 30_000;
const PER_PHASE = 300;

let broker: MosquittoServer;
let influx: InfluxdServer;
let red: NodeRed | undefined;
let sim: Simulation | undefined;

beforeAll(async () => {
  // The package as `npm ci` builds it (prepare → scripts/build.mjs → flows/build.mjs).
  const { buildFlows } = await import('../flows/build.mjs');
  await buildFlows(await import('esbuild'));
  [broker, influx] = await Promise.all([startMosquitto({ maxInflightMessages: 1000 }), startInfluxd({ database: 'lorawan' })]);
  await influx.query('CREATE DATABASE common', { method: 'POST' });
}, 120_000);

afterAll(async () => {
  await sim?.stop();
  await red?.stop();
  await Promise.all([broker?.dispose(), influx?.dispose()]);
});

type NodeDef = Record<string, unknown> & { id: string; type: string };
const example = (name: string): NodeDef[] => JSON.parse(readFileSync(join(EXAMPLES, `${name}.json`), 'utf8')) as NodeDef[];

/** An example flow pointed at the test's broker and InfluxDB (and registry). */
function patched(nodes: NodeDef[], registryFile?: string): NodeDef[] {
  return nodes.map((n) => {
    if (n.type === 'mqtt-broker') return { ...n, broker: '127.0.0.1', port: String(broker.port), autoConnect: n['autoConnect'] !== false };
    if (n.type === 'lorawan mqtt in') return { ...n, broker: broker.url };
    if (n.type === 'lorawan-influxdb-config') return { ...n, url: influx.url };
    if (n.type === 'lorawan-device-catalogue' && registryFile) return { ...n, registryFile };
    return n;
  });
}

async function countIn(db: string): Promise<Set<string>> {
  const keys = new Set<string>();
  for (const m of MEASUREMENTS) {
    for (const row of await influx.rows(`SELECT * FROM ${m}`, db)) keys.add(`${m}|${row['dev_eui'] as string}|${row['time'] as number}`);
  }
  return keys;
}

async function admin(path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`http://127.0.0.1:${red?.port}${path}`, { ...init, headers: { 'content-type': 'application/json', accept: 'application/json', ...(init.headers ?? {}) } });
}

describe('Node-RED 4.1 with node-red-contrib-lorawan-edge installed into a fresh userDir', () => {
  it('the example flow stores every ledger reading through a 30 s InfluxDB outage and a Node-RED restart; the common flow loses some', async () => {
    const ledger: LedgerEntry[] = [];
    sim = await createSimulation({ fleet: CITY, seed: 1414, speed: 'max', rate: 150, output: { type: 'mqtt', url: broker.url, format: 'chirpstack-json', clientId: 'flows-sim' }, onUplink: (e) => ledger.push(e) });
    const registry = renderRegistry(sim.devices.map((d) => ({ dev_eui: d.devEui, name: d.name, model: d.catalogueId, tags: d.tags, variables: d.variables })));
    const devicesMap = Object.fromEntries(sim.devices.map((d) => [d.devEui, { name: d.name, model: d.catalogueId, measurement: CATEGORY_MEASUREMENT[d.category], tags: d.tags, variables: d.variables }]));
    red = await startNodeRed({ brokerPort: broker.port, influxPort: influx.port, database: 'common', appId: '+', devices: [] }, 90_000, {
      packages: [FLOWS_DIR],
      editor: true,
      connections: 2,
      devicesMap,
      files: { 'devices.yaml': registry },
      flows: (common, dir) => [...common, ...patched(example('ChirpStack MQTT to durable InfluxDB'), join(dir, 'devices.yaml'))],
    });

    // Installed into the userDir from the workspace: the runtime loaded it from there.
    const sets = (await (await admin('/nodes')).json()) as { module: string; types: string[]; enabled: boolean; local: boolean; err?: string }[];
    const ours = sets.filter((s) => s.module === 'node-red-contrib-lorawan-edge');
    expect(ours.flatMap((s) => s.types).sort()).toEqual(['lorawan decode', 'lorawan encode downlink', 'lorawan influxdb out', 'lorawan mqtt in', 'lorawan-device-catalogue', 'lorawan-influxdb-config']);
    expect(ours.every((s) => s.enabled && s.local && !s.err), JSON.stringify(ours)).toBe(true);
    expect(realpathSync(join(red.dir, 'node_modules', 'node-red-contrib-lorawan-edge'))).toBe(realpathSync(FLOWS_DIR));

    await sim.run({ count: PER_PHASE, realTimeMs: 60_000 });
    await influx.stop();
    const outageStart = Date.now();
    await sim.run({ count: PER_PHASE, realTimeMs: 60_000 });
    // Node-RED stopped and started once, while uplinks keep coming.
    const restartFrom = ledger.length;
    const publishing = sim.run({ count: PER_PHASE, realTimeMs: 60_000 });
    await red.restart();
    await publishing;
    const restartTo = ledger.length;
    await new Promise((r) => setTimeout(r, Math.max(0, OUTAGE_MS - (Date.now() - outageStart))));
    await influx.start();
    await sim.run({ count: PER_PHASE, realTimeMs: 60_000 });
    await sim.stop();

    const expected = new Set<string>();
    // Uplinks published while Node-RED restarts: `lorawan mqtt in` acknowledges a message only
    // when its record is on disk, so the broker keeps what Node-RED held when it stopped; the core
    // `mqtt in` node of the common flow acknowledges on receipt. Counted apart for the report.
    const inRestart = new Set<string>();
    ledger.forEach((e, i) => {
      if (e.gateways.length === 0) return;
      for (const r of e.readings) {
        const key = `${CATEGORY_MEASUREMENT[e.category] as string}|${e.devEui}|${Date.parse(r.time ?? e.time)}`;
        expected.add(key);
        if (i >= restartFrom && i < restartTo) inRestart.add(key);
      }
    });
    expect(ledger.length).toBe(4 * PER_PHASE);
    expect(expected.size).toBeGreaterThan(PER_PHASE * 3);

    let ours2 = new Set<string>();
    const end = Date.now() + 60_000;
    while (Date.now() < end) {
      ours2 = await countIn('lorawan');
      if (ours2.size >= expected.size) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    const common = await countIn('common');
    const missing = [...expected].filter((k) => !ours2.has(k));
    const lostByCommonAll = [...expected].filter((k) => !common.has(k));
    const lostByCommon = lostByCommonAll.length;
    const lostByCommonInRestart = lostByCommonAll.filter((k) => inRestart.has(k)).length;
    process.stdout.write(
      `flows-node-red: ${expected.size} readings (${inRestart.size} published during the Node-RED restart); lorawan-edge flow stored ${ours2.size}, missing ${missing.length}; common flow stored ${common.size}, lost ${lostByCommon} (${((100 * lostByCommon) / expected.size).toFixed(1)} %), ${lostByCommonInRestart} of them published during the restart\n`,
    );
    // Through the InfluxDB outage and the Node-RED restart, including its window: nothing lost.
    expect(missing.slice(0, 5)).toEqual([]);
    expect(inRestart.size).toBeGreaterThan(0);
    expect([...ours2].filter((k) => !expected.has(k)).slice(0, 5)).toEqual([]);
    expect(lostByCommon).toBeGreaterThan(0);
  }, 300_000);

  it('imports the four example flows through the Admin API without errors; every node type in them is known', async () => {
    if (!red) throw new Error('Node-RED did not start');
    const files = readdirSync(EXAMPLES).filter((f) => f.endsWith('.json'));
    expect(files.sort()).toEqual(['Bin fill alarm notification.json', 'ChirpStack MQTT to durable InfluxDB.json', 'Downlink set bin sensor reporting interval.json', 'TTS MQTT to debug.json']);
    const known = new Set(((await (await admin('/nodes')).json()) as { types: string[] }[]).flatMap((s) => s.types));
    const current = (await (await admin('/flows')).json()) as NodeDef[];
    const imported: NodeDef[] = [];
    for (const f of files) {
      // Served to the editor's Import → Examples menu from the package's examples/ folder.
      const served = await admin(`/library/examples/flows/node-red-contrib-lorawan-edge/${encodeURIComponent(f.replace(/\.json$/, ''))}`);
      expect(served.status, `${f}: ${await served.clone().text()}`).toBe(200);
      const nodes = (await served.json()) as NodeDef[];
      for (const n of nodes) if (n.type !== 'tab') expect(known.has(n.type), `${f}: node type "${n.type}"`).toBe(true);
      // The durable example is already deployed; the others go in beside it, pointed at the test broker.
      if (!f.startsWith('ChirpStack MQTT')) imported.push(...patched(nodes));
    }
    const res = await admin('/flows', { method: 'POST', body: JSON.stringify([...current, ...imported]), headers: { 'node-red-deployment-type': 'full' } });
    expect(res.status).toBeLessThan(300);
    const state = (await (await admin('/flows/state')).json()) as { state?: string };
    expect(state.state ?? 'start').toBe('start');
    const deployed = (await (await admin('/flows')).json()) as NodeDef[];
    expect(deployed.length).toBe(current.length + imported.length);
    expect(red.tail()).not.toMatch(/Waiting for missing types/);
  }, 120_000);
});
