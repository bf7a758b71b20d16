/// <reference lib="dom" />
/**
 * `/devices`: every device with filters (category, commune, state, model, text), 100 per page;
 * the filters are the URL's query, so a filtered list can be bookmarked or sent.
 */
import { api, type Session } from './client.ts';
import { h, mount } from './dom.ts';
import { age, dbm, formatValue, STATE_TEXT } from './format.ts';
import type { DeviceList, DeviceSummary, OverviewResponse } from './types.ts';

const PAGE = 100;
const MAIN_FIELDS = ['fill_pct', 'volume_m3', 'co2_ppm', 'pm2_5_ugm3', 'water_level_mm', 'temperature_c'];

function mainReading(d: DeviceSummary): string {
  for (const f of MAIN_FIELDS) if (d.readings[f] !== undefined) return formatValue(f, d.readings[f]);
  return '';
}

function select(name: string, label: string, options: string[], current: string | null, text: (v: string) => string = (v) => v): HTMLElement {
  return h(
    'label',
    {},
    label,
    h('select', { name }, h('option', { value: '' }, 'all'), options.map((o) => h('option', { value: o, selected: o === current }, text(o)))),
  );
}

export async function renderDeviceList(main: HTMLElement, params: URLSearchParams, session: Session): Promise<void> {
  const offset = Math.max(0, Number(params.get('offset') ?? 0) || 0);
  const q = new URLSearchParams();
  for (const k of ['category', 'commune', 'state', 'model', 'q']) {
    const v = params.get(k);
    if (v) q.set(k, v);
  }
  const [list, o] = await Promise.all([api<DeviceList>(`/api/v1/devices?${q.toString()}&limit=${PAGE}&offset=${offset}`), api<OverviewResponse>('/api/v1/overview')]);
  const communes = o.byCommune.map((c) => c.key).filter((k): k is string => k !== null);
  const categories = o.byCategory.map((c) => c.key).filter((k): k is string => k !== null);
  const models = [...new Set(list.devices.map((d) => d.model).filter((m): m is string => m !== null).concat(params.get('model') ? [params.get('model') as string] : []))].sort();
  const pageLink = (to: number, text: string): HTMLElement => {
    const p = new URLSearchParams(q);
    p.set('offset', String(to));
    return h('a', { href: `/devices?${p.toString()}`, class: 'button' }, text);
  };
  mount(
    main,
    h('h1', {}, 'Devices'),
    h(
      'form',
      { class: 'filters', method: 'get', action: '/devices' },
      select('category', 'Category', categories, params.get('category')),
      select('commune', session.communeTag, communes, params.get('commune')),
      select('state', 'State', ['reporting', 'silent', 'never_joined'], params.get('state'), (v) => STATE_TEXT[v as keyof typeof STATE_TEXT]),
      select('model', 'Model', models, params.get('model')),
      h('label', {}, 'Name or DevEUI', h('input', { type: 'search', name: 'q', value: params.get('q') ?? '', maxlength: 200 })),
      h('button', { type: 'submit' }, 'Filter'),
    ),
    h('p', { class: 'muted', id: 'count' }, `${list.total} device${list.total === 1 ? '' : 's'}${list.total > PAGE ? `, ${offset + 1}–${Math.min(offset + PAGE, list.total)} shown` : ''}`),
    h(
      'div',
      { class: 'scroll' },
      h(
        'table',
        { class: 'devices' },
        h('thead', {}, h('tr', {}, h('th', {}, 'device'), h('th', {}, 'state'), h('th', {}, 'last heard'), h('th', {}, 'reading'), h('th', {}, 'best RSSI'), h('th', { class: 'wide' }, 'model'), h('th', { class: 'wide' }, session.communeTag))),
        h(
          'tbody',
          {},
          list.devices.map((d) =>
            h(
              'tr',
              { 'data-dev-eui': d.devEui },
              h('td', {}, h('a', { href: `/devices/${d.devEui}` }, d.name), h('div', { class: 'mono muted' }, d.devEui)),
              h('td', {}, h('span', { class: `state ${d.state}` }, STATE_TEXT[d.state])),
              h('td', {}, d.lastSeen ? age(list.now - d.lastSeen) : '–'),
              h('td', {}, mainReading(d)),
              h('td', {}, dbm(d.bestRssi)),
              h('td', { class: 'wide' }, d.model ?? ''),
              h('td', { class: 'wide' }, d.commune ?? ''),
            ),
          ),
        ),
      ),
    ),
    h('p', { class: 'pager' }, offset > 0 ? pageLink(Math.max(0, offset - PAGE), '← previous') : null, offset + PAGE < list.total ? pageLink(offset + PAGE, 'next →') : null),
  );
}
