/**
 * Screenshots of the nodes in the Node-RED editor for flows/README.md: a real Node-RED 4.1 with
 * the package npm-installed into a temp userDir (bench/gateway's harness), the example flows
 * deployed against a temp Mosquitto, and headless Chromium driven by playwright-core.
 *
 *   node --import tsx flows/src/screenshots.ts       → flows/docs/*.png
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { chromium } from 'playwright-core';
import { startNodeRed } from '../../bench/gateway/node-red.ts';
import { REPO_ROOT } from '../../codecs/testing/paths.ts';
import { startMosquitto } from '../../support/mosquitto.ts';

const OUT = join(REPO_ROOT, 'flows', 'docs');
const example = (name: string): Record<string, unknown>[] => JSON.parse(readFileSync(join(REPO_ROOT, 'flows', 'examples', `${name}.json`), 'utf8')) as Record<string, unknown>[];

const { buildFlows } = await import('../build.mjs');
await buildFlows(await import('esbuild'));
const broker = await startMosquitto();
const point = (nodes: Record<string, unknown>[]): Record<string, unknown>[] =>
  nodes.map((n) => {
    if (n['type'] === 'mqtt-broker') return { ...n, port: String(broker.port), autoConnect: true, broker: '127.0.0.1' };
    if (n['type'] === 'lorawan mqtt in') return { ...n, broker: `mqtt://127.0.0.1:${broker.port}` };
    // Nothing listens on port 1: the durable nodes buffer, which is what their status should show.
    if (n['type'] === 'lorawan-influxdb-config') return { ...n, url: 'http://127.0.0.1:1' };
    return n;
  });
// The example for ChirpStack reads MQTT itself; decode → influxdb out is the chain for other
// sources (README "Delivery"), shown on a tab of its own that reuses the example's config nodes.
const otherSources: Record<string, unknown>[] = [
  { id: 'shot0000000000t1', type: 'tab', label: 'Other sources → durable InfluxDB', disabled: false, info: '' },
  { id: 'shot0000000000n1', type: 'mqtt in', z: 'shot0000000000t1', name: 'TTS uplinks', topic: 'v3/+/devices/+/up', qos: '1', datatype: 'json', broker: 'shot0000000000b1', nl: false, rap: true, rh: 0, inputs: 0, x: 130, y: 80, wires: [['shot0000000000n2']] },
  { id: 'shot0000000000n2', type: 'lorawan decode', z: 'shot0000000000t1', name: '', catalogue: 'a1f0c0de00000011', model: '', property: 'payload', x: 330, y: 80, wires: [['shot0000000000n3'], []] },
  { id: 'shot0000000000n3', type: 'lorawan influxdb out', z: 'shot0000000000t1', name: '', server: 'a1f0c0de00000012', schema: 'native', dir: '', maxMb: 1024, whenFull: 'drop_oldest', x: 560, y: 80, wires: [] },
  { id: 'shot0000000000b1', type: 'mqtt-broker', name: 'The Things Stack', broker: '127.0.0.1', port: '1883', clientid: '', autoConnect: true, usetls: false, protocolVersion: '4', keepalive: '60', cleansession: true },
];
const red = await startNodeRed({ brokerPort: broker.port, influxPort: 1, database: 'x', appId: 'x', devices: [] }, 90_000, {
  packages: [join(REPO_ROOT, 'flows')],
  editor: true,
  connections: 1,
  flows: () => [...point(example('ChirpStack MQTT to durable InfluxDB')), ...point(otherSources), ...point(example('Downlink set bin sensor reporting interval'))],
});
const profile = mkdtempSync(join(tmpdir(), 'lorawan-edge-chromium-'));
// A fresh profile folder (playwright passes it as --user-data-dir).
const browser = await chromium.launchPersistentContext(profile, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  viewport: { width: 1600, height: 800 },
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = browser.pages()[0] ?? (await browser.newPage());
  await page.goto(`http://127.0.0.1:${red.port}/`);
  await page.locator('.red-ui-flow-node-label', { hasText: 'ChirpStack uplinks' }).first().waitFor({ timeout: 60_000 });
  await page.waitForTimeout(1_500);
  // The LoRaWAN palette category, opened, and the durable example flow on the canvas.
  await page.locator('#red-ui-palette-search input').pressSequentially('lorawan', { delay: 50 });
  await page.waitForTimeout(500);
  await page.screenshot({ path: join(OUT, 'editor-flow.png') });
  const openNode = async (label: string): Promise<void> => {
    // SVG labels are never "stable" to playwright's checks: double-click where the node is.
    const box = await page.locator('.red-ui-flow-node-label', { hasText: label }).first().boundingBox();
    if (!box) throw new Error(`node "${label}" not on the canvas`);
    await page.mouse.dblclick(box.x + box.width / 2, box.y + box.height / 2);
    await page.waitForSelector('.red-ui-tray', { timeout: 10_000 });
    // Off the tray, or its tab's tooltip shows in the picture.
    await page.mouse.move(300, 20);
    await page.waitForTimeout(1_000);
  };
  const closeTray = async (): Promise<void> => {
    await page.locator('#node-dialog-cancel').click();
    await page.waitForTimeout(500);
  };
  // The lorawan mqtt in node's edit dialog (the durable example's first node).
  await openNode('ChirpStack uplinks');
  await page.screenshot({ path: join(OUT, 'mqtt-in-node.png') });
  await closeTray();
  // The other-sources tab: the decode and influxdb out nodes' edit dialogs.
  await page.locator('.red-ui-tab', { hasText: 'Other sources' }).first().click();
  await page.waitForTimeout(800);
  await openNode('lorawan decode');
  await page.screenshot({ path: join(OUT, 'decode-node.png') });
  await closeTray();
  await openNode('lorawan influxdb out');
  await page.screenshot({ path: join(OUT, 'influxdb-out-node.png') });
  await closeTray();
  // The help sidebar of the decode node.
  const box = await page.locator('.red-ui-flow-node-label', { hasText: 'lorawan decode' }).first().boundingBox();
  if (box) await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
  await page.evaluate(() => (globalThis as unknown as { RED: { sidebar: { show(id: string): void } } }).RED.sidebar.show('help'));
  await page.waitForTimeout(1_000);
  await page.screenshot({ path: join(OUT, 'decode-help.png') });
  // The downlink example tab and the encode node's dialog.
  await page.locator('.red-ui-tab', { hasText: 'Downlink' }).first().click();
  await page.waitForTimeout(800);
  await openNode('lorawan encode downlink');
  await page.screenshot({ path: join(OUT, 'encode-node.png') });
  process.stdout.write(`screenshots in ${OUT}\n`);
} finally {
  await browser.close();
  await red.stop();
  await broker.dispose();
  rmSync(profile, { recursive: true, force: true });
}
