/**
 * The end-to-end check at city scale: the simulator sends 10,000 uplinks of the city
 * fleet as ChirpStack events — 5,000 as JSON, 5,000 as protobuf — through a real Mosquitto; the
 * gateway writes to a real InfluxDB 1.6. Every reading of the ledger (the simulator's ground
 * truth) must be in InfluxDB with the right value, tags and timestamp, and nothing else.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../codecs/testing/paths.ts';
import { checkConfig } from '../gateway/config.ts';
import { createGateway, type Gateway } from '../gateway/gateway.ts';
import { renderRegistry } from '../gateway/registry/devices-file.ts';
import { CATEGORY_MEASUREMENT } from '../gateway/schema/native.ts';
import { createSimulation, type LedgerEntry } from '../simulator/index.ts';
import { startInfluxd, type InfluxdServer } from '../support/influxd.ts';
import { startMosquitto, type MosquittoServer } from '../support/mosquitto.ts';

const CITY = join(REPO_ROOT, 'simulator', 'fleets', 'city.yaml');
let broker: MosquittoServer;
let influx: InfluxdServer;
let gateway: Gateway;
let dir: string;

beforeAll(async () => {
  [broker, influx] = await Promise.all([startMosquitto({ maxInflightMessages: 1000 }), startInfluxd({ database: 'city' })]);
  dir = mkdtempSync(join(tmpdir(), 'gw-city-'));
}, 120_000);

afterAll(async () => {
  await gateway?.stop();
  await Promise.all([broker?.dispose(), influx?.dispose()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

type Key = string;
const keyOf = (measurement: string, devEui: string, timeMs: number): Key => `${measurement}|${devEui}|${timeMs}`;

describe('city fleet end to end (simulator → Mosquitto → gateway → InfluxDB)', () => {
  it('every ledger reading is in InfluxDB with value, tags and timestamp — and nothing else', async () => {
    const ledger: LedgerEntry[] = [];
    // Two halves of the run through the two ChirpStack encodings; the second simulation is a
    // different seed so its devices (EUIs) and frames are distinct.
    const sims = await Promise.all(
      (['chirpstack-json', 'chirpstack-protobuf'] as const).map((format, i) =>
        createSimulation({ fleet: CITY, seed: 100 + i, speed: 'max', output: { type: 'mqtt', url: broker.url, format, clientId: `city-sim-${i}` }, onUplink: (e) => ledger.push(e) }),
      ),
    );
    writeFileSync(
      join(dir, 'devices.yaml'),
      renderRegistry(sims.flatMap((s, i) => s.devices.map((d) => ({ dev_eui: d.devEui, name: `${d.name}-s${i}`, model: d.catalogueId, tags: d.tags, variables: d.variables })))),
    );
    const config = checkConfig(
      {
        name: 'city',
        data_dir: './data',
        http: { listen: false },
        log: { level: 'warn' },
        registry: { devices_file: 'devices.yaml' },
        buffer: { fsync_interval_ms: 20 },
        sources: [{ type: 'chirpstack_mqtt', name: 'cs', url: broker.url }],
        sinks: [{ type: 'influxdb', name: 'influx', url: influx.url, database: 'city', flush_interval_ms: 200 }],
      },
      join(dir, 'gateway.yaml'),
      {},
    );
    gateway = createGateway(config, { logStream: { write: () => true } as unknown as NodeJS.WritableStream });
    await gateway.start();
    for (const s of sims) {
      await s.run({ count: 5000, realTimeMs: 180_000 });
      await s.stop();
    }
    const heard = ledger.filter((e) => e.gateways.length > 0);
    expect(ledger).toHaveLength(10_000);
    expect(heard.length).toBeGreaterThan(9_500);

    // Expected points: per category measurement, per device, per reading time — the last
    // uplink carrying a given (device, time) wins, exactly as InfluxDB overwrites.
    const expected = new Map<Key, { values: Record<string, unknown>; tags: Record<string, string>; device: string; model: string }>();
    for (const e of heard) {
      const m = CATEGORY_MEASUREMENT[e.category] as string;
      for (const r of e.readings) {
        const t = Date.parse(r.time ?? e.time);
        const k = keyOf(m, e.devEui, t);
        const prev = expected.get(k);
        const half = sims[0]?.devices.some((d) => d.devEui === e.devEui) ? 0 : 1;
        expected.set(k, { values: { ...(prev?.values ?? {}), ...r.values }, tags: e.tags, device: `${e.device}-s${half}`, model: e.catalogueId });
      }
    }

    const until = Date.now() + 120_000;
    let got = 0;
    const total = async (): Promise<number> => {
      let n = 0;
      for (const m of ['bin_fill', 'water_meter', 'air_quality']) {
        const s = await influx.query(`SELECT count(*) FROM ${m}`, { db: 'city' });
        const row = s[0]?.values[0] as number[] | undefined;
        n += row ? Math.max(...row.slice(1).map(Number)) : 0;
      }
      return n;
    };
    while (Date.now() < until) {
      got = await total();
      if (got >= expected.size && gateway.sinks.every((s) => s.pending() === 0)) break;
      await new Promise((r) => setTimeout(r, 500));
    }

    const actual = new Map<Key, Record<string, unknown>>();
    for (const m of ['bin_fill', 'water_meter', 'air_quality']) {
      for (const row of await influx.rows(`SELECT * FROM ${m}`, 'city')) actual.set(keyOf(m, row['dev_eui'] as string, row['time'] as number), row);
    }
    // Nothing else: exactly the expected set of (measurement, device, time).
    const missing = [...expected.keys()].filter((k) => !actual.has(k));
    const extra = [...actual.keys()].filter((k) => !expected.has(k));
    expect(missing.slice(0, 5)).toEqual([]);
    expect(extra.slice(0, 5)).toEqual([]);
    expect(actual.size).toBe(expected.size);
    // Right values and tags.
    let checked = 0;
    for (const [k, want] of expected) {
      const row = actual.get(k) as Record<string, unknown>;
      for (const [field, v] of Object.entries(want.values)) {
        if (typeof v === 'number') expect(row[field], `${k} ${field}`).toBeCloseTo(v, 6);
        else expect(row[field], `${k} ${field}`).toBe(v);
      }
      expect(row['device']).toBe(want.device);
      expect(row['model']).toBe(want.model);
      for (const [tag, v] of Object.entries(want.tags)) expect(row[tag], `${k} tag ${tag}`).toBe(v);
      checked++;
    }
    expect(checked).toBe(expected.size);
  }, 400_000);
});
