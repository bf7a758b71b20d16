/// <reference lib="dom" />
/**
 * The pages' entry (bundled by scripts/build-web.mjs into dist/web/app.js + app.css): a header
 * with navigation and the search box, then the page for the path —
 * `/` supervision overview, `/devices` device list, `/devices/<devEui>` technician view,
 * `/map` devices on a map, `/planner` the collection list of a round.
 */
import 'uplot/dist/uPlot.min.css';
import 'leaflet/dist/leaflet.css';
import './style.css';
import { api, ApiFailure, getSession } from './client.ts';
import { h, mount } from './dom.ts';
import { renderDeviceList } from './device-list.ts';
import { renderMap } from './map.ts';
import { renderOverview } from './overview.ts';
import { renderPlanner } from './planner.ts';
import { renderTechnician } from './technician.ts';
import type { DeviceList } from './types.ts';

/** Resolves what was typed or scanned (DevEUI, name, TR005 QR) to one device, else a list. */
async function search(q: string): Promise<void> {
  const r = await api<DeviceList>(`/api/v1/devices?q=${encodeURIComponent(q)}&limit=2`);
  const only = r.devices[0];
  if (r.total === 1 && only) location.assign(`/devices/${only.devEui}`);
  else location.assign(`/devices?q=${encodeURIComponent(q)}`);
}

function header(gateway: string, path: string): HTMLElement {
  const link = (href: string, text: string, on: boolean): HTMLElement => h('a', { href, class: on ? 'on' : undefined, 'aria-current': on ? 'page' : undefined }, text);
  const input = h('input', { type: 'search', name: 'q', placeholder: 'DevEUI, name or scan QR', 'aria-label': 'Find a device', autocomplete: 'off', maxlength: 200 });
  const form = h(
    'form',
    {
      class: 'search',
      role: 'search',
      onsubmit: (e: Event) => {
        e.preventDefault();
        if (input.value.trim()) void search(input.value.trim());
      },
    },
    input,
    h('button', { type: 'submit' }, 'Find'),
  );
  return h(
    'header',
    {},
    h('div', { class: 'brand' }, 'lorawan-edge ', h('span', { class: 'gw' }, gateway)),
    h('nav', {}, link('/', 'Overview', path === '/'), link('/devices', 'Devices', path === '/devices'), link('/map', 'Map', path === '/map'), link('/planner', 'Planner', path === '/planner')),
    form,
  );
}

async function main(): Promise<void> {
  const root = document.getElementById('app') as HTMLElement;
  const path = location.pathname.replace(/\/$/, '') || '/';
  try {
    const session = await getSession();
    const main = h('main', {});
    mount(root, header(session.gateway, path), main);
    const dev = /^\/devices\/([^/]+)$/.exec(path);
    if (dev) await renderTechnician(main, decodeURIComponent(dev[1] as string));
    else if (path === '/devices') await renderDeviceList(main, new URLSearchParams(location.search), session);
    else if (path === '/map') await renderMap(main, session);
    else if (path === '/planner') await renderPlanner(main, new URLSearchParams(location.search));
    else await renderOverview(main, session);
  } catch (err) {
    const msg = err instanceof ApiFailure ? err.message : 'The gateway did not answer. Check that it is running and reload.';
    mount(root, h('p', { class: 'problem', role: 'alert' }, msg));
  }
}

void main();
