/// <reference lib="dom" />
/**
 * `/devices/<devEui>`: the technician's view of one device, made for a phone on site — joined
 * or not, "heard by N gateways — best RSSI … dBm" with a plain verdict, the last reading next to
 * the raw payload, warnings and decode errors in words, and every uplink live as it arrives
 * (Server-Sent Events), then the device's gateways, alarms and 7-day history chart.
 */
import { acknowledge, api, ApiFailure, liveEvents } from './client.ts';
import { renderChart, type HistoryPoint } from './chart.ts';
import { h, mount } from './dom.ts';
import { age, alarmText, clock, dbm, explainProblem, fieldLabel, formatValue, STATE_TEXT } from './format.ts';
import type { DeviceDetail, StoredFrame } from './types.ts';

const VERDICT_WORD = { good: 'Good', weak: 'Weak', not_heard: 'Not heard', never_heard: 'Never heard' } as const;

function readingsTable(values: Record<string, unknown>): HTMLElement {
  const rows = Object.entries(values).filter(([k]) => !k.startsWith('alarm_') || values[k] === true);
  return h(
    'table',
    { class: 'readings' },
    h(
      'tbody',
      {},
      rows.map(([k, v]) => h('tr', { class: k.startsWith('alarm_') ? 'bad' : undefined }, h('th', {}, k.startsWith('alarm_') ? alarmText(k.slice(6)) : fieldLabel(k).name), h('td', {}, formatValue(k, v)))),
    ),
  );
}

function problems(warnings: string[], errors: string[]): HTMLElement | null {
  if (warnings.length === 0 && errors.length === 0) return null;
  return h('ul', { class: 'problems' }, errors.map((e) => h('li', { class: 'bad' }, explainProblem('error', e))), warnings.map((w) => h('li', { class: 'warn' }, explainProblem('warning', w))));
}

function inlineReadings(values: Record<string, unknown>): string {
  return Object.entries(values)
    .filter(([k, v]) => !k.startsWith('alarm_') || v === true)
    .map(([k, v]) => (k.startsWith('alarm_') ? alarmText(k.slice(6)).toUpperCase() : `${fieldLabel(k).name} ${formatValue(k, v)}`))
    .join(' · ');
}

/** The newest uplinks open, older ones one line each (a phone screen is short). */
const OPEN_FRAMES = 3;

function frameCard(f: StoredFrame, now: number, open: boolean): HTMLElement {
  const values: Record<string, unknown> = {};
  for (const r of f.readings) Object.assign(values, r.values);
  const best = f.gateways.reduce<number | null>((b, g) => (b === null || g.rssi > b ? g.rssi : b), null);
  if (!open) {
    return h(
      'li',
      { class: 'frame', 'data-fcnt': f.fCnt },
      h(
        'details',
        {},
        h('summary', {}, h('strong', {}, clock(f.time)), ` FCnt ${f.fCnt} · ${f.gateways.length} gw · ${dbm(best)}`, f.errors.length ? h('span', { class: 'bad' }, ' · decode error') : null),
        h('div', { class: 'frame-body' }, h('div', { class: 'decoded' }, inlineReadings(values) || 'no readings'), h('div', { class: 'raw' }, h('code', { class: 'payload' }, f.payloadHex || '(empty)'))),
        problems(f.warnings, f.errors),
      ),
    );
  }
  return h(
    'li',
    { class: 'frame', 'data-fcnt': f.fCnt },
    h(
      'div',
      { class: 'frame-head' },
      h('strong', {}, clock(f.time)),
      h('span', { class: 'muted' }, ` ${age(now - f.time)}`),
      h('span', {}, ` · FCnt ${f.fCnt} · port ${f.fPort}${f.sf ? ` · SF${f.sf}` : ''}`),
    ),
    h(
      'div',
      { class: 'frame-radio' },
      `${f.gateways.length} gateway${f.gateways.length === 1 ? '' : 's'} (duplicates merged): `,
      f.gateways.map((g, i) => h('span', { class: 'gwrx' }, `${i ? ', ' : ''}${g.id.slice(-6)} ${dbm(g.rssi)} / SNR ${g.snr} dB`)),
    ),
    h(
      'div',
      { class: 'frame-body' },
      h('div', { class: 'decoded' }, h('div', { class: 'label' }, 'Decoded'), f.readings.length ? inlineReadings(values) : h('span', { class: 'muted' }, 'no readings')),
      h('div', { class: 'raw' }, h('div', { class: 'label' }, 'Raw payload (hex)'), h('code', { class: 'payload' }, f.payloadHex || '(empty)')),
    ),
    problems(f.warnings, f.errors),
  );
}

export async function renderTechnician(main: HTMLElement, devEui: string): Promise<void> {
  let detail: DeviceDetail;
  try {
    detail = await api<DeviceDetail>(`/api/v1/devices/${encodeURIComponent(devEui)}`);
  } catch (err) {
    if (err instanceof ApiFailure && (err.status === 404 || err.status === 400)) {
      mount(main, h('h1', {}, 'Device not found'), h('p', { class: 'problem' }, err.message), h('p', {}, 'Check the DevEUI on the label, or scan its QR code into the search box.'));
      return;
    }
    throw err;
  }
  const eui = detail.device.devEui;
  const frames: StoredFrame[] = (await api<{ frames: StoredFrame[] }>(`/api/v1/devices/${eui}/frames?limit=50`)).frames;
  const summary = h('div', {});
  const frameList = h('ul', { class: 'frames', id: 'frames' });
  const chartBox = h('div', { class: 'chart' });
  const side = h('div', {});

  const drawSummary = (): void => {
    const d = detail.device;
    const s = detail.state;
    const v = detail.verdict;
    mount(
      summary,
      h('h1', {}, d.name),
      h('p', { class: 'muted mono' }, eui, d.model ? ` · ${d.model}` : '', d.commune ? ` · ${d.commune}` : ''),
      h('div', { class: `verdict ${v.level}`, id: 'verdict', role: 'status' }, h('b', {}, VERDICT_WORD[v.level]), h('span', {}, v.text)),
      h(
        'dl',
        { class: 'facts' },
        h('dt', {}, 'Joined'),
        h('dd', { id: 'joined' }, s?.joinedAt ? `yes, ${clock(s.joinedAt)} (${age(detail.now - s.joinedAt)})` : s?.lastUplink ? 'sending (ABP or joined earlier)' : 'not yet'),
        h('dt', {}, 'State'),
        h('dd', {}, STATE_TEXT[d.state]),
        h('dt', {}, 'Last uplink'),
        h('dd', {}, s?.lastUplink ? `${clock(s.lastUplink)} (${age(detail.now - s.lastUplink)}), FCnt ${s.fCnt}` : '–'),
        h('dt', {}, 'Battery'),
        h('dd', {}, s?.batteryPct !== null && s?.batteryPct !== undefined ? `${Math.round(s.batteryPct)} %` : s?.readings['battery_pct'] ? formatValue('battery_pct', s.readings['battery_pct'].value) : s?.readings['battery_v'] ? formatValue('battery_v', s.readings['battery_v'].value) : 'unknown'),
        h('dt', {}, 'Reporting every'),
        h('dd', {}, s?.intervalMs ? `${Math.round(s.intervalMs / 60_000)} min (observed)` : '–'),
      ),
    );
    const lastValues: Record<string, unknown> = {};
    for (const [k, fv] of Object.entries(s?.readings ?? {})) lastValues[k] = fv.value;
    const last = frames[0];
    mount(
      side,
      h(
        'section',
        { class: 'card', id: 'last-reading' },
        h('h2', {}, 'Last reading'),
        Object.keys(lastValues).length ? readingsTable(lastValues) : h('p', { class: 'muted' }, 'No reading yet.'),
        last ? h('p', {}, 'Raw payload: ', h('code', { class: 'payload' }, last.payloadHex)) : null,
        problems(s?.warnings ?? [], s?.errors ?? []),
      ),
      detail.alarms.length
        ? h(
            'section',
            { class: 'card attention' },
            h('h2', {}, 'Alarms'),
            h(
              'ul',
              { class: 'alarms' },
              detail.alarms.map((a) =>
                h(
                  'li',
                  {},
                  h('strong', {}, alarmText(a.kind)),
                  ` raised ${clock(a.raisedAt)}`,
                  a.clearedAt ? `, cleared ${clock(a.clearedAt)}` : ', active',
                  a.ackedAt
                    ? h('span', { class: 'muted' }, ` · acknowledged by ${a.ackedBy ?? '?'}`)
                    : h('button', { type: 'button', class: 'ack', onclick: () => void acknowledge(a.id).then(refresh) }, 'Acknowledge'),
                ),
              ),
            ),
          )
        : null,
      h(
        'section',
        { class: 'card' },
        h('h2', {}, 'Gateways that heard it'),
        detail.gateways.length
          ? h(
              'div',
              { class: 'scroll' },
              h(
                'table',
                {},
                h('thead', {}, h('tr', {}, h('th', {}, 'gateway'), h('th', {}, 'RSSI'), h('th', {}, 'SNR'), h('th', {}, 'last'), h('th', {}, 'uplinks'))),
                h('tbody', {}, detail.gateways.map((g) => h('tr', {}, h('td', { class: 'mono' }, g.id), h('td', {}, dbm(g.rssi)), h('td', {}, `${g.snr} dB`), h('td', {}, age(detail.now - g.lastSeen)), h('td', {}, String(g.uplinks))))),
              ),
            )
          : h('p', { class: 'muted' }, 'None yet.'),
      ),
    );
  };
  const drawFrames = (): void => mount(frameList, frames.length ? frames.map((f, i) => frameCard(f, Date.now(), i < OPEN_FRAMES)) : h('li', { class: 'muted' }, 'No uplink yet — waiting for the device…'));
  const refresh = async (): Promise<void> => {
    detail = await api<DeviceDetail>(`/api/v1/devices/${eui}`);
    drawSummary();
  };
  const drawChart = async (): Promise<void> => {
    const since = Date.now() - 7 * 86_400_000;
    const r = await api<{ readings: HistoryPoint[] }>(`/api/v1/devices/${eui}/readings?since=${since}`);
    renderChart(chartBox, r.readings);
  };

  mount(
    main,
    summary,
    h('div', { class: 'cols' }, side, h('section', { class: 'card' }, h('h2', {}, 'History (7 days)'), chartBox)),
    h('section', { class: 'card live' }, h('h2', {}, 'Uplinks ', h('span', { class: 'live-dot', title: 'live' }, '● live')), frameList),
  );
  drawSummary();
  drawFrames();
  await drawChart();

  let pending: number | undefined;
  let chartStale = false;
  liveEvents({ devEui: eui }, (type, data) => {
    if (type === 'uplink') {
      chartStale = true;
      const f = (data as { frame: StoredFrame }).frame;
      frames.unshift(f);
      frames.length = Math.min(frames.length, 50);
      drawFrames();
    }
    // Several events in a burst: one refresh of the summary (and of the chart after uplinks).
    window.clearTimeout(pending);
    pending = window.setTimeout(() => {
      void refresh();
      if (chartStale) void drawChart();
      chartStale = false;
    }, 100);
  });
  window.setInterval(() => void refresh(), 30_000);
}
