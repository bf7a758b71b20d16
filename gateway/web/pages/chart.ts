/// <reference lib="dom" />
/**
 * A device's history as a uPlot line chart: one numeric reading over the chosen window, the
 * reading picked from the fields the history has.
 */
import uPlot from 'uplot';
import { h, mount } from './dom.ts';
import { fieldLabel } from './format.ts';

export interface HistoryPoint {
  time: number;
  values: Record<string, number | boolean | string>;
}

export function numericFields(points: HistoryPoint[]): string[] {
  const seen = new Set<string>();
  for (const p of points) for (const [k, v] of Object.entries(p.values)) if (typeof v === 'number') seen.add(k);
  const preferred = ['fill_pct', 'volume_m3', 'flow_m3h', 'co2_ppm', 'pm2_5_ugm3', 'water_level_mm', 'distance_mm', 'temperature_c', 'battery_pct'];
  return [...seen].sort((a, b) => (preferred.indexOf(a) + 1 || 99) - (preferred.indexOf(b) + 1 || 99) || a.localeCompare(b));
}

export function renderChart(box: HTMLElement, points: HistoryPoint[]): void {
  const fields = numericFields(points);
  if (fields.length === 0) {
    mount(box, h('p', { class: 'muted' }, 'No numeric readings in this period.'));
    return;
  }
  const plotBox = h('div', { class: 'plot' });
  let plot: uPlot | undefined;
  const draw = (field: string): void => {
    plot?.destroy();
    const rows = points.filter((p) => typeof p.values[field] === 'number');
    const { name, unit } = fieldLabel(field);
    const width = Math.max(240, Math.min(900, box.clientWidth || 320));
    plot = new uPlot(
      {
        width,
        height: 220,
        series: [{}, { label: `${name}${unit ? ` (${unit})` : ''}`, stroke: '#1f6feb', width: 2, points: { show: rows.length < 60 } }],
        axes: [{}, { size: 50 }],
        scales: { x: { time: true } },
        legend: { show: true },
      },
      [rows.map((p) => p.time / 1000), rows.map((p) => p.values[field] as number)],
      plotBox,
    );
  };
  const picker = h(
    'select',
    { 'aria-label': 'Reading to chart', onchange: (e: Event) => draw((e.target as HTMLSelectElement).value) },
    fields.map((f) => h('option', { value: f }, fieldLabel(f).name + (fieldLabel(f).unit ? ` (${fieldLabel(f).unit})` : ''))),
  );
  mount(box, h('label', { class: 'pick' }, 'Chart ', picker), plotBox);
  draw(fields[0] as string);
}
