/// <reference lib="dom" />
/**
 * `/`: what needs attention now — open alarms first (with acknowledge buttons), silent and
 * never-joined devices, counts by category and commune, gateways, the gateway's own health.
 * Refreshes every 15 s and at once when an alarm changes.
 */
import { acknowledge, api, liveEvents, type Session } from './client.ts';
import { h, mount } from './dom.ts';
import { age, alarmText, clock } from './format.ts';
import type { AlarmRow, CountRow, DeviceList, OverviewResponse } from './types.ts';

function countTable(title: string, rows: (CountRow & { openAlarms?: number })[], param: string): HTMLElement {
  const link = (key: string | null, state: string | undefined, n: number): HTMLElement | string => {
    if (n === 0) return '0';
    const q = new URLSearchParams();
    if (key !== null) q.set(param, key);
    if (state) q.set('state', state);
    return h('a', { href: `/devices?${q.toString()}` }, String(n));
  };
  return h(
    'section',
    { class: 'card' },
    h('h2', {}, title),
    h(
      'div',
      { class: 'scroll' },
      h(
        'table',
        {},
        h('thead', {}, h('tr', {}, h('th', {}, ''), h('th', {}, 'reporting'), h('th', {}, 'silent'), h('th', {}, 'never joined'), h('th', {}, 'total'), rows.some((r) => r.openAlarms !== undefined) ? h('th', {}, 'open alarms') : null)),
        h(
          'tbody',
          {},
          rows.map((r) =>
            h(
              'tr',
              {},
              h('th', {}, r.key ?? '(none)'),
              h('td', {}, link(r.key, 'reporting', r.reporting)),
              h('td', { class: r.silent ? 'warn' : undefined }, link(r.key, 'silent', r.silent)),
              h('td', {}, link(r.key, 'never_joined', r.never_joined)),
              h('td', {}, link(r.key, undefined, r.total)),
              r.openAlarms !== undefined ? h('td', { class: r.openAlarms ? 'bad' : undefined }, String(r.openAlarms)) : null,
            ),
          ),
        ),
      ),
    ),
  );
}

function alarmsSection(alarms: AlarmRow[], now: number, refresh: () => void): HTMLElement {
  return h(
    'section',
    { class: 'card attention', id: 'alarms' },
    h('h2', {}, `Open alarms (${alarms.length})`),
    alarms.length === 0
      ? h('p', { class: 'ok' }, 'No alarm waiting for acknowledgement.')
      : h(
          'ul',
          { class: 'alarms' },
          alarms.map((a) =>
            h(
              'li',
              { 'data-alarm': a.id },
              h('div', {}, h('strong', {}, alarmText(a.kind)), ' — ', h('a', { href: `/devices/${a.devEui}` }, a.device ?? a.devEui)),
              h('div', { class: 'muted' }, `raised ${clock(a.raisedAt)} (${age(now - a.raisedAt)})`, a.clearedAt ? ` · cleared ${clock(a.clearedAt)}` : ' · still active'),
              h(
                'button',
                {
                  class: 'ack',
                  type: 'button',
                  onclick: (e: Event) => {
                    const b = e.currentTarget as HTMLButtonElement;
                    b.disabled = true;
                    b.textContent = 'Acknowledging…';
                    acknowledge(a.id).then(refresh, () => {
                      b.disabled = false;
                      b.textContent = 'Failed — try again';
                    });
                  },
                },
                'Acknowledge',
              ),
            ),
          ),
        ),
  );
}

function deviceNames(title: string, id: string, list: DeviceList, state: string, now: number): HTMLElement {
  return h(
    'section',
    { class: 'card', id },
    h('h2', {}, `${title} (${list.total})`),
    list.total === 0
      ? h('p', { class: 'ok' }, 'None.')
      : h(
          'ul',
          { class: 'names' },
          list.devices.map((d) => h('li', { 'data-dev-eui': d.devEui }, h('a', { href: `/devices/${d.devEui}` }, d.name), d.lastSeen ? h('span', { class: 'muted' }, ` ${age(now - d.lastSeen)}`) : null)),
        ),
    list.total > list.devices.length ? h('p', {}, h('a', { href: `/devices?state=${state}` }, `all ${list.total} →`)) : null,
  );
}

export async function renderOverview(main: HTMLElement, session: Session): Promise<void> {
  let timer: number | undefined;
  const refresh = async (): Promise<void> => {
    window.clearTimeout(timer);
    const [o, silent, never] = await Promise.all([
      api<OverviewResponse>('/api/v1/overview'),
      api<DeviceList>('/api/v1/devices?state=silent&limit=500'),
      api<DeviceList>('/api/v1/devices?state=never_joined&limit=500'),
    ]);
    const d = o.devices;
    mount(
      main,
      h('h1', {}, 'Supervision'),
      h('p', { class: 'muted' }, `${session.gateway} · as of ${clock(o.now)}`),
      h(
        'div',
        { class: 'tiles' },
        h('div', { class: 'tile' }, h('b', {}, String(d.total)), 'devices'),
        h('div', { class: 'tile good' }, h('b', {}, String(d.reporting)), 'reporting'),
        h('div', { class: `tile ${d.silent ? 'warn' : ''}` }, h('b', { id: 'silent-count' }, String(d.silent)), 'silent > 2 intervals'),
        h('div', { class: 'tile' }, h('b', {}, String(d.never_joined)), 'never joined'),
        h('div', { class: `tile ${o.alarms.open ? 'bad' : ''}` }, h('b', {}, String(o.alarms.open)), 'open alarms'),
      ),
      alarmsSection(o.openAlarms, o.now, () => void refresh()),
      deviceNames('Silent devices', 'silent', silent, 'silent', o.now),
      countTable('Devices by category', o.byCategory, 'category'),
      countTable(`By ${session.communeTag}`, o.byCommune, 'commune'),
      deviceNames('Never joined', 'never-joined', never, 'never_joined', o.now),
      h(
        'section',
        { class: 'card' },
        h('h2', {}, 'Gateways heard'),
        h(
          'div',
          { class: 'scroll' },
          h(
            'table',
            {},
            h('thead', {}, h('tr', {}, h('th', {}, 'gateway'), h('th', {}, 'last uplink'), h('th', {}, 'devices'), h('th', {}, 'uplinks'), h('th', {}, 'last stat'))),
            h(
              'tbody',
              {},
              o.gateways.map((g) =>
                h(
                  'tr',
                  { 'data-gateway': g.id },
                  h('td', { class: 'mono' }, g.id),
                  h('td', {}, g.uplinks ? age(o.now - g.lastSeen) : '–'),
                  h('td', {}, String(g.devices)),
                  h('td', {}, String(g.uplinks)),
                  h('td', { class: 'gateway-stat' }, g.stat ? statText(g.stat, o.now) : '–'),
                ),
              ),
            ),
          ),
        ),
      ),
      h(
        'section',
        { class: 'card', id: 'health' },
        h('h2', {}, 'This gateway'),
        h(
          'ul',
          { class: 'health' },
          o.health.components.map((c) => h('li', { class: c.state === 'running' ? 'ok' : 'bad' }, `${c.name}: ${c.state}`, c.detail ? ` — ${c.detail}` : '')),
          o.health.sinks.map((s) => h('li', { class: s.lag > 1000 || s.errors > 0 ? 'warn' : 'ok' }, `sink ${s.name}: ${s.lag} records behind, ${s.errors} errors`)),
        ),
      ),
    );
    timer = window.setTimeout(() => void refresh(), 15_000);
  };
  await refresh();
  liveEvents({ types: 'alarm' }, (type) => {
    if (type === 'alarm') void refresh();
  });
}

/** A gateway's last Semtech `stat` in one line: received / CRC ok / forwarded, ack ratio, sent, age. */
function statText(s: { time: number; rxnb?: number; rxok?: number; rxfw?: number; ackr?: number; dwnb?: number; txnb?: number }, now: number): string {
  const n = (v: number | undefined): string => (v === undefined ? '?' : String(v));
  const ack = s.ackr === undefined ? '' : ` · ack ${Math.round(s.ackr)} %`;
  return `rx ${n(s.rxnb)} / ok ${n(s.rxok)} / fw ${n(s.rxfw)}${ack} · down ${n(s.dwnb)} / tx ${n(s.txnb)} · ${age(now - s.time)}`;
}
