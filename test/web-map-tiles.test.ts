/**
 * The map page with a tile URL configured (`web.map.tiles`), in headless Chromium against the
 * real gateway: the tile URL points at a local recording HTTP server (support/) that answers
 * every tile with a real PNG. The browser must ask it for tiles of the devices' area (z/x/y
 * from the template), show them loaded, and place a marker for every device with coordinates —
 * the Content-Security-Policy lets exactly that tile origin through.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkConfig } from '../gateway/config.ts';
import { createGateway, type Gateway } from '../gateway/gateway.ts';
import { buildWeb } from '../scripts/build-web.mjs';
import { startMosquitto, type MosquittoServer } from '../support/mosquitto.ts';
import { startRecordingServer, type RecordingServer } from '../support/recording-server.ts';
import { until } from './web-fixtures.ts';

const DEVICES = [
  { dev_eui: '70b3d5e75e00c001', name: 'bin-map-1', model: 'dingtek/df703', tags: { commune: 'centre', lat: '52.0900', lon: '5.1200' }, variables: { container_depth_mm: 1200, sensor_offset_mm: 50 } },
  { dev_eui: '70b3d5e75e00c002', name: 'bin-map-2', model: 'dingtek/df703', tags: { commune: 'centre', lat: '52.0950', lon: '5.1300' }, variables: { container_depth_mm: 1200, sensor_offset_mm: 50 } },
  { dev_eui: '70b3d5e75e00c003', name: 'bin-map-3', model: 'dingtek/df703', tags: { commune: 'west', lat: '52.0800', lon: '5.1000' }, variables: { container_depth_mm: 1200, sensor_offset_mm: 50 } },
  // No coordinates: listed, not placed.
  { dev_eui: '70b3d5e75e00c004', name: 'water-map-1', model: 'kamstrup/flowiq2200', tags: { commune: 'west' }, variables: {} },
];

/** A 256×256 tile, one colour: a real PNG the browser decodes. */
function tilePng(): Buffer {
  const png = new PNG({ width: 256, height: 256 });
  for (let i = 0; i < png.data.length; i += 4) png.data.set([200, 220, 240, 255], i);
  return PNG.sync.write(png);
}

/** Web Mercator tile of a position at zoom z (the scheme Leaflet's {x}/{y} use). */
function tileOf(lat: number, lon: number, z: number): { x: number; y: number } {
  const n = 2 ** z;
  const rad = (lat * Math.PI) / 180;
  return { x: Math.floor(((lon + 180) / 360) * n), y: Math.floor(((1 - Math.log(Math.tan(rad) + 1 / Math.cos(rad)) / Math.PI) / 2) * n) };
}

let broker: MosquittoServer;
let tiles: RecordingServer;
let gateway: Gateway;
let browser: Browser;
let dir: string;

beforeAll(async () => {
  await buildWeb(await import('esbuild'));
  broker = await startMosquitto();
  const png = tilePng();
  tiles = await startRecordingServer(() => ({ status: 200, bytes: png, headers: { 'content-type': 'image/png' } }));
  dir = mkdtempSync(join(tmpdir(), 'web-map-tiles-'));
  writeFileSync(join(dir, 'devices.yaml'), `devices:\n${DEVICES.map((d) => `  - ${JSON.stringify(d)}`).join('\n')}\n`);
  const config = checkConfig(
    {
      name: 'map-tiles',
      data_dir: './data',
      http: { listen: '127.0.0.1:0' },
      log: { level: 'warn' },
      registry: { devices_file: 'devices.yaml' },
      sources: [{ type: 'chirpstack_mqtt', name: 'cs', url: broker.url }],
      web: { map: { tiles: `${tiles.url}/tiles/{z}/{x}/{y}.png`, attribution: 'test tiles' } },
    },
    join(dir, 'gateway.yaml'),
    {},
  );
  gateway = createGateway(config, { logStream: { write: () => true } as unknown as NodeJS.WritableStream });
  await gateway.start();
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await gateway?.stop();
  await tiles?.close();
  await broker?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('map with tiles', () => {
  it('requests tiles of the devices’ area from the configured URL and places every device with coordinates', async () => {
    const base = `http://127.0.0.1:${gateway.httpAddress()?.port}`;
    await until('the registry in the store', async () => ((await (await fetch(`${base}/api/v1/devices`)).json()) as { total: number }).total === DEVICES.length);
    const page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    // Every request the page makes answers (the browser's own favicon probe aside).
    page.on('response', (r) => void (r.status() >= 400 && !r.url().endsWith('/favicon.ico') && errors.push(`${r.status()} ${r.url()}`)));
    await page.goto(`${base}/map`);
    await page.waitForSelector('.leaflet img.leaflet-tile-loaded', { timeout: 20_000 });
    await page.waitForFunction(() => document.querySelector('.leaflet')?.getAttribute('data-markers') !== null, undefined, { timeout: 10_000 });
    expect(await page.$eval('.leaflet', (e) => e.getAttribute('data-markers'))).toBe('3');
    // Markers are on the canvas of the overlay pane.
    expect(await page.$$('.leaflet-overlay-pane canvas')).toHaveLength(1);
    expect(await page.textContent('.leaflet-control-attribution')).toContain('test tiles');
    // Tiles were asked for by the template, and the devices' tile at the zoom used is among them.
    const asked = tiles.requests.map((r) => /^\/tiles\/(\d+)\/(\d+)\/(\d+)\.png$/.exec(r.url.pathname)).filter((m) => m !== null);
    expect(asked.length).toBe(tiles.requests.length);
    expect(asked.length).toBeGreaterThan(0);
    const z = Number(asked[0]?.[1]);
    expect(asked.every((m) => Number(m[1]) === z)).toBe(true);
    const centre = tileOf(52.09, 5.12, z);
    expect(asked.some((m) => Number(m[2]) === centre.x && Number(m[3]) === centre.y), `tile ${z}/${centre.x}/${centre.y} among ${asked.map((m) => m[0]).join(' ')}`).toBe(true);
    const loaded = await page.$$eval('img.leaflet-tile-loaded', (els) => els.map((e) => (e as HTMLImageElement).naturalWidth));
    expect(loaded.length).toBeGreaterThan(0);
    expect(loaded.every((w) => w === 256)).toBe(true);
    expect(errors).toEqual([]);
    await page.close();
  });
});
