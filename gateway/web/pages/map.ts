/// <reference lib="dom" />
/**
 * `/map`: devices placed by their coordinates (the registry's location tags), coloured by state.
 * With a tile URL configured (`web.map.tiles`) it is a Leaflet map over those tiles; without one
 * (a Pi with no backhaul, no tile server) the devices are drawn on a plain SVG plane in the
 * same positions (equirectangular, scaled to the fleet's extent), so they can still be found.
 */
import L from 'leaflet';
import { api, type Session } from './client.ts';
import { h, mount } from './dom.ts';
import { STATE_TEXT } from './format.ts';
import type { DeviceList, DeviceSummary } from './types.ts';

const COLOURS = { reporting: '#1a7f37', silent: '#d1242f', never_joined: '#8c959f' } as const;
const SVG = 'http://www.w3.org/2000/svg';

async function allDevices(): Promise<DeviceSummary[]> {
  const out: DeviceSummary[] = [];
  // Bounded: 50 pages of 1,000 (a city fleet is 10,000).
  for (let offset = 0, i = 0; i < 50; i++, offset += 1000) {
    const page = await api<DeviceList>(`/api/v1/devices?limit=1000&offset=${offset}`);
    out.push(...page.devices);
    if (out.length >= page.total || page.devices.length === 0) break;
  }
  return out;
}

function legend(placed: number, total: number): HTMLElement {
  return h(
    'p',
    { class: 'legend' },
    Object.entries(COLOURS).map(([state, colour]) => h('span', {}, h('i', { style: `background:${colour}` }), ` ${STATE_TEXT[state as keyof typeof COLOURS]} `)),
    h('span', { class: 'muted' }, ` · ${placed} of ${total} devices have coordinates`),
  );
}

function svgPlane(box: HTMLElement, devices: DeviceSummary[]): void {
  const lats = devices.map((d) => d.lat as number);
  const lons = devices.map((d) => d.lon as number);
  const [minLat, maxLat, minLon, maxLon] = [Math.min(...lats), Math.max(...lats), Math.min(...lons), Math.max(...lons)];
  // Equirectangular: a degree of longitude is cos(latitude) of a degree of latitude. The extent
  // is widened to the box's aspect ratio around the fleet's centre, so a long thin fleet does
  // not shrink to a line.
  const k = Math.cos((((minLat + maxLat) / 2) * Math.PI) / 180);
  const ASPECT = 1.6;
  let w = Math.max((maxLon - minLon) * k, 1e-3);
  let hgt = Math.max(maxLat - minLat, 1e-3);
  if (w / hgt < ASPECT) w = hgt * ASPECT;
  else hgt = w / ASPECT;
  const x0 = ((minLon + maxLon) / 2) * k - w / 2;
  const y0 = (minLat + maxLat) / 2 - hgt / 2;
  const W = 1000;
  const H = Math.round(W / ASPECT);
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', `-20 -20 ${W + 40} ${H + 40}`);
  svg.setAttribute('class', 'plane');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', 'Devices by position (no map tiles configured)');
  for (const d of devices) {
    const a = document.createElementNS(SVG, 'a');
    a.setAttribute('href', `/devices/${d.devEui}`);
    const c = document.createElementNS(SVG, 'circle');
    c.setAttribute('cx', String((((d.lon as number) * k - x0) / w) * W));
    c.setAttribute('cy', String(H - (((d.lat as number) - y0) / hgt) * H));
    c.setAttribute('r', devices.length > 2000 ? '4' : '9');
    c.setAttribute('fill', COLOURS[d.state]);
    c.setAttribute('data-dev-eui', d.devEui);
    const title = document.createElementNS(SVG, 'title');
    title.textContent = `${d.name} — ${STATE_TEXT[d.state]}`;
    c.append(title);
    a.append(c);
    svg.append(a);
  }
  box.append(svg);
}

export async function renderMap(main: HTMLElement, session: Session): Promise<void> {
  const devices = await allDevices();
  const placed = devices.filter((d) => d.lat !== null && d.lon !== null);
  const box = h('div', { class: 'mapbox', id: 'map' });
  mount(
    main,
    h('h1', {}, 'Map'),
    legend(placed.length, devices.length),
    session.map.tiles ? null : h('p', { class: 'muted' }, 'No map tiles configured (web.map.tiles): devices are drawn by their coordinates on a plain background.'),
    box,
  );
  if (placed.length === 0) {
    mount(box, h('p', { class: 'muted' }, 'No device has coordinates: set the registry tags lat and lon (web.location_tags).'));
    return;
  }
  if (!session.map.tiles) return svgPlane(box, placed);
  box.classList.add('leaflet');
  const map = L.map(box, { preferCanvas: true });
  L.tileLayer(session.map.tiles, { attribution: session.map.attribution, maxZoom: 19 }).addTo(map);
  const bounds = L.latLngBounds([]);
  for (const d of placed) {
    const at = L.latLng(d.lat as number, d.lon as number);
    bounds.extend(at);
    L.circleMarker(at, { radius: 7, color: COLOURS[d.state], fillOpacity: 0.8, weight: 1 })
      .bindPopup(`<a href="/devices/${d.devEui}">${d.name.replace(/[<>&"]/g, '')}</a><br>${STATE_TEXT[d.state]}`)
      .addTo(map);
  }
  map.fitBounds(bounds, { padding: [20, 20] });
  // Markers are drawn on a canvas (preferCanvas), not as elements: say how many for tests and tools.
  box.dataset['markers'] = String(placed.length);
}
