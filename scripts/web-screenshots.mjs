// Screenshots of the pages of a running demo (`npm run demo -- --keep`) for the README:
// node scripts/web-screenshots.mjs http://127.0.0.1:<port>/ gateway/web/screenshots
/* global fetch */
import { chromium } from 'playwright-core';
import { mkdtempSync } from 'node:fs';
const [,, base, out] = process.argv;
const ctx = await chromium.launchPersistentContext(mkdtempSync('/tmp/prof-'), { executablePath: '/usr/bin/chromium', headless: true, args: ['--headless','--no-sandbox','--disable-gpu','--disable-quic','--no-first-run','--disable-background-networking','--disable-component-update','--disable-sync'] });
const page = await ctx.newPage();
await page.setViewportSize({ width: 1200, height: 900 });
const api = await (await fetch(`${base}api/v1/devices?q=bin-glass-3`)).json();
const eui = api.devices[0].devEui;
for (const [path, name, w, h] of [['', 'demo-overview', 1200, 900], ['devices', 'demo-device-list', 1200, 900], ['map', 'demo-map', 1200, 900], [`devices/${eui}`, 'demo-technician', 1200, 900], [`devices/${eui}`, 'demo-technician-phone', 390, 844]]) {
  await page.setViewportSize({ width: w, height: h });
  await page.goto(base + path);
  await page.waitForSelector('main h1');
  await page.waitForLoadState('networkidle').catch(() => {});
  await page.waitForTimeout(500);
  await page.screenshot({ path: `${out}/${name}.png`, fullPage: name === 'demo-overview' || name === 'demo-device-list' });
}
await ctx.close();
