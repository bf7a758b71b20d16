/// <reference lib="dom" />
/**
 * `/planner`: the collection list of a day's round (default tomorrow) from GET /api/v1/planner —
 * bins to empty grouped by commune with the fill expected when the crew arrives, bins to check
 * (offline, faulty sensor) and skipped collections. Printable (the print stylesheet drops the
 * navigation and the controls) and downloadable as CSV.
 */
import { api } from './client.ts';
import { h, mount } from './dom.ts';

type BinState = 'ok' | 'collect_soon' | 'full' | 'overfull' | 'fault' | 'offline';
interface Entry {
  devEui: string;
  name: string;
  site?: string;
  state: BinState;
  fillPct?: number;
  expectedFillPct?: number;
  reason: string;
}
interface PlannerResponse {
  now: number;
  date: string;
  communes: string[];
  states: Record<BinState, number>;
  list: { roundMs: number; thresholdPct: number; groupBy: string; groups: { key: string; bins: Entry[] }[]; check: Entry[]; skipped: { devEui: string; name: string; roundMs: number; detail: string }[]; total: number };
}

const pct = (v: number | undefined): string => (v === undefined ? '—' : `${v.toFixed(1)} %`);
const STATE_TEXT: Record<BinState, string> = { ok: 'ok', collect_soon: 'collect soon', full: 'full', overfull: 'overfull', fault: 'fault', offline: 'offline' };

function binTable(bins: Entry[], expected: boolean): HTMLElement {
  return h(
    'div',
    { class: 'scroll' },
    h(
      'table',
      { class: 'planner' },
      h('thead', {}, h('tr', {}, h('th', {}, 'bin'), h('th', { class: 'wide' }, 'DevEUI'), h('th', {}, 'state'), h('th', {}, 'fill now'), expected ? h('th', {}, 'at the round') : null, h('th', {}, 'why'))),
      h(
        'tbody',
        {},
        bins.map((b) =>
          h(
            'tr',
            { 'data-dev-eui': b.devEui },
            h('td', {}, h('a', { href: `/devices/${b.devEui}` }, b.name)),
            h('td', { class: 'wide mono' }, b.devEui),
            h('td', {}, h('span', { class: `bin-state ${b.state}` }, STATE_TEXT[b.state])),
            h('td', {}, pct(b.fillPct)),
            expected ? h('td', { class: (b.expectedFillPct ?? 0) >= 100 ? 'bad' : undefined }, pct(b.expectedFillPct)) : null,
            h('td', {}, b.reason),
          ),
        ),
      ),
    ),
  );
}

export async function renderPlanner(main: HTMLElement, params: URLSearchParams): Promise<void> {
  const q = new URLSearchParams();
  for (const k of ['date', 'commune']) {
    const v = params.get(k);
    if (v) q.set(k, v);
  }
  const r = await api<PlannerResponse>(`/api/v1/planner${q.size ? `?${q.toString()}` : ''}`);
  const l = r.list;
  const round = new Date(l.roundMs);
  const csv = new URLSearchParams(q);
  csv.set('date', r.date);
  csv.set('format', 'csv');
  const commune = params.get('commune') ?? '';
  const filters = h(
    'form',
    { class: 'filters no-print', method: 'get', action: '/planner' },
    h('label', {}, 'Round on', h('input', { type: 'date', name: 'date', value: r.date, required: true })),
    h('label', {}, 'Commune', h('select', { name: 'commune' }, h('option', { value: '' }, 'all'), r.communes.map((c) => h('option', { value: c, selected: c === commune }, c)))),
    h('button', { type: 'submit' }, 'Show'),
    h('a', { class: 'button', href: `/api/v1/planner?${csv.toString()}`, download: '' }, 'Download CSV'),
    h('button', { type: 'button', onclick: () => window.print() }, 'Print'),
  );
  const tiles = h(
    'div',
    { class: 'tiles no-print' },
    (Object.keys(STATE_TEXT) as BinState[]).map((s) => h('div', { class: `tile ${s === 'full' || s === 'overfull' ? 'bad' : s === 'collect_soon' || s === 'fault' || s === 'offline' ? 'warn' : 'good'}` }, h('b', {}, String(r.states[s])), STATE_TEXT[s])),
  );
  mount(
    main,
    h('h1', {}, `Collection list — ${r.date} ${round.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}${commune ? `, ${commune}` : ''}`),
    h('p', { class: 'muted', id: 'planner-summary' }, `${l.total} bin(s) to empty: full now, or passing ${l.thresholdPct} % before the next round. Expected fill is at the round's time.`),
    filters,
    tiles,
    l.groups.length === 0 ? h('section', { class: 'card' }, h('p', {}, 'No bin needs emptying at this round.')) : null,
    l.groups.map((g) => h('section', { class: 'card planner-group', 'data-group': g.key }, h('h2', {}, `${g.key} (${g.bins.length})`), binTable(g.bins, true))),
    l.check.length ? h('section', { class: 'card attention', id: 'planner-check' }, h('h2', {}, `To check (${l.check.length}): fill not known well enough to plan`), binTable(l.check, false)) : null,
    h(
      'section',
      { class: 'card', id: 'planner-skipped' },
      h('h2', {}, `Skipped collections (${l.skipped.length})`),
      l.skipped.length === 0
        ? h('p', { class: 'muted' }, 'None: every full bin was emptied at its round.')
        : h('ul', { class: 'names' }, l.skipped.map((s) => h('li', {}, h('a', { href: `/devices/${s.devEui}` }, s.name), ` — round of ${new Date(s.roundMs).toLocaleString()}`))),
    ),
  );
}
