/**
 * The pages in a real browser: headless Chromium (Debian's `chromium`, driven by playwright-core)
 * against the real gateway, fed by the simulator over a real Mosquitto.
 *
 * The fleet: two gateways 30 km apart; bins near gw-a report every 10 min; bins near gw-b too,
 * but gw-b is in an outage for the last 3 of the 6 simulated hours (which end now), so those go
 * silent; two registered devices are never heard. Then:
 * - the overview lists exactly the devices the ledger says are silent;
 * - a device joining live (the simulator in real time) shows its join and first reading on its
 *   technician page within 2 s of the uplink;
 * - an acknowledged alarm stays acknowledged across a gateway restart;
 * - off localhost without a token the browser gets 401;
 * - at phone size no page scrolls sideways.
 * Screenshots of every page go to a temporary folder, or to gateway/web/screenshots/ with
 * LORAWAN_EDGE_SCREENSHOTS=1 (how the README's pictures are made).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../codecs/testing/paths.ts';
import { checkConfig, type GatewayConfig } from '../gateway/config.ts';
import { createGateway, type Gateway } from '../gateway/gateway.ts';
import { renderRegistry } from '../gateway/registry/devices-file.ts';
import { createSimulation, readLedger, type Fleet, type SimDevice } from '../simulator/index.ts';
import { buildWeb } from '../scripts/build-web.mjs';
import { startMosquitto, type MosquittoServer } from '../support/mosquitto.ts';
import { df703Uplink, publish, until } from './web-fixtures.ts';

const SHOTS = process.env['LORAWAN_EDGE_SCREENSHOTS'] === '1' ? join(REPO_ROOT, 'gateway', 'web', 'screenshots') : mkdtempSync(join(tmpdir(), 'web-shots-'));
const HOUR = 3_600_000;
const SIM_HOURS = 6;
const INTERVAL_S = 600;
const NEVER_HEARD = [
  { dev_eui: '70b3d5e75e00ff01', name: 'bin-spare-1', model: 'dingtek/df703', tags: { commune: 'north' }, variables: { container_depth_mm: 1200, sensor_offset_mm: 50 } },
  { dev_eui: '70b3d5e75e00ff02', name: 'water-spare-1', model: 'kamstrup/flowiq2200', tags: { commune: 'south' }, variables: {} },
];
const LATE = { dev_eui: '70b3d5e75e00aa01', name: 'bin-new-1' };

let broker: MosquittoServer;
let dir: string;
let config: GatewayConfig;
let gateway: Gateway;
let base: string;
let context: BrowserContext;
let devices: readonly SimDevice[];
let ledgerFile: string;
let simEnd: number;

function fleet(start: number): Fleet {
  return {
    name: 'pages',
    seed: 3,
    start: new Date(start).toISOString(),
    gateways: [
      { id: '0016c001f15a0001', name: 'gw-a', lat: 52.0, lon: 5.0, alt: 30 },
      { id: '0016c001f15a0002', name: 'gw-b', lat: 52.27, lon: 5.0, alt: 30 },
    ],
    faults: { gatewayOutages: [{ gateway: 'gw-b', start: `${SIM_HOURS - 3}h`, duration: '4h' }] },
    devices: [
      { device: 'dingtek/df703', count: 6, name: 'bin-north-{n}', activation: 'OTAA', interval: INTERVAL_S, variables: { container_depth_mm: 1200, sensor_offset_mm: 50 }, tags: { commune: 'north' }, area: { lat: 52.0, lon: 5.0, radiusM: 300 } },
      { device: 'dingtek/df703', count: 4, name: 'bin-south-{n}', activation: 'OTAA', interval: INTERVAL_S, variables: { container_depth_mm: 1200, sensor_offset_mm: 50 }, tags: { commune: 'south' }, area: { lat: 52.27, lon: 5.0, radiusM: 300 } },
    ],
  };
}

function gatewayConfig(listen: string, web: object = {}): GatewayConfig {
  return checkConfig(
    {
      name: 'pages-test',
      data_dir: './data',
      http: { listen },
      log: { level: 'warn' },
      registry: { devices_file: 'devices.yaml' },
      buffer: { fsync_interval_ms: 20 },
      sources: [{ type: 'chirpstack_mqtt', name: 'cs', url: broker.url, client_id: `pages-${listen}` }],
      web,
    },
    join(dir, 'gateway.yaml'),
    { WEB_TOKEN: 'a-token-of-sixteen-chars-or-more' },
  );
}

async function startGateway(): Promise<void> {
  gateway = createGateway(config, { logStream: { write: () => true } as unknown as NodeJS.WritableStream });
  await gateway.start();
  base = `http://127.0.0.1:${gateway.httpAddress()?.port}`;
}

async function openPage(path: string, width = 1200, height = 900): Promise<Page> {
  const page = await context.newPage();
  await page.setViewportSize({ width, height });
  page.on('pageerror', (err) => {
    throw err;
  });
  await page.goto(`${base}${path}`);
  return page;
}

async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

beforeAll(async () => {
  await buildWeb(await import('esbuild'));
  broker = await startMosquitto();
  dir = mkdtempSync(join(tmpdir(), 'web-pages-'));
  ledgerFile = join(dir, 'ledger.jsonl');
  simEnd = Date.now();
  const sim = await createSimulation({ fleet: fleet(simEnd - SIM_HOURS * HOUR), speed: 'max', output: { type: 'mqtt', url: broker.url, format: 'chirpstack-json' }, ledger: ledgerFile });
  devices = sim.devices;
  const registry = [
    ...devices.map((d) => ({ dev_eui: d.devEui, name: d.name, model: d.catalogueId, tags: { ...d.tags, lat: d.position.lat.toFixed(5), lon: d.position.lon.toFixed(5) }, variables: d.variables })),
    ...NEVER_HEARD,
    { ...LATE, model: 'dingtek/df703', tags: { commune: 'north' }, variables: { container_depth_mm: 1200, sensor_offset_mm: 50 } },
  ];
  writeFileSync(join(dir, 'devices.yaml'), renderRegistry(registry));
  config = gatewayConfig('127.0.0.1:0');
  await startGateway();
  const stats = await sim.run({ durationMs: SIM_HOURS * HOUR });
  await sim.stop();
  await until('every heard uplink and join in the store', () => (gateway.web?.sink.applied ?? 0) >= stats.heard + stats.joins.accepted && gateway.web?.sink.pending() === 0, 60_000);
  const profile = mkdtempSync(join(tmpdir(), 'chromium-profile-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}, 180_000);

afterAll(async () => {
  await context?.close();
  await gateway?.stop();
  await broker?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('pages in Chromium', () => {
  it('the overview lists exactly the devices the ledger says are silent', async () => {
    // The ledger's truth: last uplink a gateway heard, per device, against 2 reporting intervals.
    const lastHeard = new Map<string, number>();
    for (const e of readLedger(ledgerFile)) {
      if (e.gateways.length === 0 || e.faults.includes('corrupt-mic') || e.faults.includes('replay')) continue;
      lastHeard.set(e.devEui, Math.max(lastHeard.get(e.devEui) ?? 0, Date.parse(e.time)));
    }
    const now = Date.now();
    const silent = devices.filter((d) => now - (lastHeard.get(d.devEui) ?? -Infinity) > 2 * d.intervalS * 1000).map((d) => d.devEui);
    expect(silent.length).toBeGreaterThanOrEqual(3); // the outage did its job: the test can fail
    const page = await openPage('/');
    await page.waitForSelector('#silent');
    const shown = await page.$$eval('#silent li[data-dev-eui]', (els) => els.map((e) => e.getAttribute('data-dev-eui')));
    expect(shown.sort()).toEqual([...silent].sort());
    expect(await page.textContent('#silent-count')).toBe(String(silent.length));
    const never = await page.$$eval('#never-joined li[data-dev-eui]', (els) => els.map((e) => e.getAttribute('data-dev-eui')));
    expect(never.sort()).toEqual([...NEVER_HEARD.map((d) => d.dev_eui), LATE.dev_eui].sort());
    await shot(page, 'overview');
    await page.close();
  });

  it('the device list filters by state and commune, the map places devices without tiles', async () => {
    const page = await openPage('/devices?state=reporting&commune=north');
    await page.waitForSelector('table.devices tbody tr');
    const rows = await page.$$eval('table.devices tbody tr', (els) => els.map((e) => e.textContent ?? ''));
    expect(rows.length).toBe(6);
    expect(rows.every((r) => r.includes('bin-north') && r.includes('reporting'))).toBe(true);
    await page.goto(`${base}/devices`);
    await page.waitForSelector('table.devices tbody tr');
    await shot(page, 'device-list');
    await page.goto(`${base}/map`);
    await page.waitForSelector('svg.plane circle');
    expect(await page.$$eval('svg.plane circle', (els) => els.length)).toBe(devices.length);
    await shot(page, 'map-without-tiles');
    await page.close();
  });

  it('a technician sees a device join and its first reading within 2 s of the uplink', async () => {
    const page = await openPage(`/devices/${LATE.dev_eui}`, 390, 844);
    await page.waitForSelector('#verdict.never_heard');
    await until('the page listens', () => (gateway.web?.handler?.sseClients ?? 0) > 0);
    const sentAt = Date.now();
    await publish(broker.url, [
      { kind: 'join', deduplicationId: 'late-join', time: sentAt, deviceInfo: { ...df703Uplink(LATE.dev_eui, LATE.name, 0, 300, false, sentAt).deviceInfo }, devAddr: '26aa0001' },
      df703Uplink(LATE.dev_eui, LATE.name, 0, 300, false, sentAt),
    ]);
    await page.waitForFunction(() => document.querySelector('#joined')?.textContent?.startsWith('yes') === true && document.querySelector('#frames li[data-fcnt="0"]') !== null && /distance/.test(document.querySelector('#last-reading')?.textContent ?? ''), undefined, { timeout: 10_000 });
    const elapsed = Date.now() - sentAt;
    expect(elapsed, `join and first reading shown ${elapsed} ms after the uplink was published`).toBeLessThanOrEqual(2000);
    expect(await page.textContent('#last-reading')).toContain('300 mm');
    expect(await page.textContent('#verdict')).toMatch(/Good\s*heard by 2 gateways — best RSSI -80 dBm/);
    await shot(page, 'technician-phone');
    // The chart of a device with history.
    const north = devices.find((d) => d.name === 'bin-north-1') as SimDevice;
    await page.setViewportSize({ width: 1200, height: 900 });
    await page.goto(`${base}/devices/${north.devEui}`);
    await page.waitForSelector('.chart .uplot');
    await shot(page, 'technician-desktop');
    await page.close();
  });

  it('an acknowledged alarm stays acknowledged across a gateway restart', async () => {
    const north = devices.find((d) => d.name === 'bin-north-2') as SimDevice;
    await publish(broker.url, [df703Uplink(north.devEui, north.name, 10_000, 100, true, Date.now())]);
    const page = await openPage('/');
    await page.waitForSelector('#alarms li[data-alarm] button.ack', { timeout: 20_000 });
    await shot(page, 'overview-alarm');
    await page.click('#alarms li[data-alarm] button.ack');
    await page.waitForFunction(() => document.querySelector('#alarms li[data-alarm]') === null, undefined, { timeout: 10_000 });
    await page.close();
    await gateway.stop();
    await startGateway();
    const again = await openPage('/');
    await again.waitForSelector('#alarms');
    expect(await again.$$('#alarms li[data-alarm]')).toHaveLength(0);
    const all = (await (await fetch(`${base}/api/v1/alarms?state=all`)).json()) as { alarms: { devEui: string; kind: string; ackedAt: number | null }[] };
    expect(all.alarms).toMatchObject([{ devEui: north.devEui, kind: 'full', ackedAt: expect.any(Number) }]);
    await again.close();
  });

  it('has no horizontal scroll at phone size', async () => {
    const north = devices.find((d) => d.name === 'bin-north-1') as SimDevice;
    for (const path of ['/', '/devices', `/devices/${north.devEui}`, '/map']) {
      const page = await openPage(path, 375, 740);
      await page.waitForSelector('main h1');
      await page.waitForLoadState('networkidle');
      const { scroll, client } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
      expect(scroll, path).toBeLessThanOrEqual(client);
      if (path === '/') await shot(page, 'overview-phone');
      await page.close();
    }
  });

  it('off localhost without a token the browser gets 401', async () => {
    const offConfig = gatewayConfig('0.0.0.0:0', { access_token: '${WEB_TOKEN}' });
    const off = createGateway({ ...offConfig, data_dir: join(dir, 'off'), buffer: { ...offConfig.buffer, dir: join(dir, 'off', 'buffer') }, web: { ...offConfig.web, store: { ...offConfig.web.store, file: join(dir, 'off', 'local.sqlite') } }, rejects: { ...offConfig.rejects, file: join(dir, 'off', 'rejects.jsonl') } }, { logStream: { write: () => true } as unknown as NodeJS.WritableStream });
    await off.start();
    try {
      const page = await context.newPage();
      const res = await page.goto(`http://127.0.0.1:${off.httpAddress()?.port}/`);
      expect(res?.status()).toBe(401);
      expect(await page.content()).not.toContain('a-token-of-sixteen-chars-or-more');
      // With the token through the login form, the page opens.
      await page.fill('input[name=token]', 'a-token-of-sixteen-chars-or-more');
      await page.click('button[type=submit]');
      await page.waitForSelector('main h1');
      expect(await page.textContent('main h1')).toBe('Supervision');
      await page.close();
    } finally {
      await off.stop();
    }
  });
});
