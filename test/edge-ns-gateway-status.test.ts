/**
 * Gateway `stat` objects from a real UDP forwarder → durable log → a real InfluxDB
 * (`gateway_status` measurement) and the local store (the overview API's "gateways and their
 * last stat"). The newest stat per gateway wins; a stat without GPS has no lat/lon.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkConfig } from '../gateway/config.ts';
import { createGateway, type Gateway } from '../gateway/gateway.ts';
import { TestForwarder } from '../gateway/ns/testing/forwarder.ts';
import { renderRegistry } from '../gateway/registry/devices-file.ts';
import { writeDeviceKeysFile } from '../gateway/registry/keys-file.ts';
import { buildPushData } from '../lorawan/udp/gateway.ts';
import { freePort } from '../support/free-port.ts';
import { startInfluxd, type InfluxdServer } from '../support/influxd.ts';

const dir = mkdtempSync(join(tmpdir(), 'edge-ns-gwstat-'));
const GW1 = '0016c001f15000a1';
const GW2 = '0016c001f15000a2';
let influx: InfluxdServer;
let gateway: Gateway;
let port: number;
let httpPort: number;

beforeAll(async () => {
  influx = await startInfluxd({ database: 'edge' });
  port = await freePort();
  httpPort = await freePort();
  writeDeviceKeysFile(join(dir, 'keys.json'), []);
  writeFileSync(join(dir, 'devices.yaml'), renderRegistry([]));
  const config = checkConfig(
    {
      name: 'gwstat',
      data_dir: './data',
      http: { listen: `127.0.0.1:${httpPort}` },
      log: { level: 'silent' },
      registry: { devices_file: 'devices.yaml' },
      buffer: { fsync_interval_ms: 10 },
      sources: [{ type: 'semtech_udp', listen: `127.0.0.1:${port}`, keys_file: 'keys.json' }],
      sinks: [{ type: 'influxdb', name: 'influx', url: influx.url, database: 'edge', flush_interval_ms: 100 }],
    },
    join(dir, 'gateway.yaml'),
    {},
  );
  gateway = createGateway(config, { logStream: { write: () => true } as unknown as NodeJS.WritableStream });
  await gateway.start();
}, 120_000);

afterAll(async () => {
  await gateway?.stop();
  await influx?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

const stamp = (ms: number): string => new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' GMT');

describe('gateway stat → gateway_status', () => {
  it('writes each stat to InfluxDB and keeps the last one per gateway for the overview', async () => {
    const fwd = new TestForwarder(GW1, () => port);
    await fwd.open();
    const t0 = Math.floor(Date.now() / 1000) * 1000 - 60_000;
    fwd.send(buildPushData({ gatewayEui: GW1, stat: { time: stamp(t0), lati: 42.6976, long: 2.8954, alti: 31, rxnb: 12, rxok: 10, rxfw: 10, ackr: 100, dwnb: 1, txnb: 1 } }).bytes);
    fwd.send(buildPushData({ gatewayEui: GW1, stat: { time: stamp(t0 + 30_000), rxnb: 7, rxok: 7, rxfw: 7, ackr: 66.7, dwnb: 0, txnb: 0 } }).bytes);
    fwd.send(buildPushData({ gatewayEui: GW2, stat: { time: '1970-01-01 00:00:03 GMT', rxnb: 3, rxok: 1, rxfw: 1, ackr: 0, dwnb: 0, txnb: 0 } }).bytes);
    let rows: Record<string, unknown>[] = [];
    const end = Date.now() + 30_000;
    while (Date.now() < end) {
      rows = await influx.rows('SELECT * FROM gateway_status', 'edge').catch(() => []);
      if (rows.length >= 3) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(rows).toHaveLength(3);
    const gw1 = rows.filter((r) => r['gateway_id'] === GW1).sort((a, b) => Number(a['time']) - Number(b['time']));
    expect(gw1[0]).toMatchObject({ time: t0, rx: 12, rxok: 10, rxfw: 10, ackr: 100, dwnb: 1, txnb: 1, lat: 42.6976, lon: 2.8954, alt: 31 });
    expect(gw1[1]).toMatchObject({ rx: 7, ackr: 66.7, lat: null });
    // A gateway whose clock says 1970 is stamped with the arrival time instead.
    const gw2 = rows.find((r) => r['gateway_id'] === GW2);
    expect(Number(gw2?.['time'])).toBeGreaterThan(t0);

    type OverviewGateway = { id: string; uplinks: number; stat: { time: number; rxnb?: number; ackr?: number; lat?: number } | null };
    let gws: OverviewGateway[] = [];
    const end2 = Date.now() + 30_000;
    while (Date.now() < end2) {
      const o = (await (await fetch(`http://127.0.0.1:${httpPort}/api/v1/overview`)).json()) as { gateways: OverviewGateway[] };
      gws = o.gateways;
      if (gws.length === 2 && gws[0]?.stat?.rxnb === 7) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(gws.map((g) => g.id)).toEqual([GW1, GW2]);
    expect(gws[0]).toMatchObject({ uplinks: 0, stat: { time: t0 + 30_000, rxnb: 7, ackr: 66.7 } });
    expect(gws[0]?.stat?.lat).toBeUndefined();
    expect(gws[1]?.stat).toMatchObject({ rxnb: 3, rxok: 1 });
    fwd.close();
  });
});
