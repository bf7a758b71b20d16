/** Human-readable run summary and the live progress line. */
import { formatDuration } from './duration.ts';
import { FAULT_NAMES } from './faults.ts';
import type { SimulationStats } from './simulation.ts';

const n = (x: number): string => x.toLocaleString('en-US');

export function formatSummary(s: SimulationStats): string {
  const realS = s.realElapsedMs / 1000;
  const factor = s.realElapsedMs > 0 ? s.simElapsedMs / s.realElapsedMs : 0;
  const lines = [
    `Simulated ${s.simStart} → ${s.simNow} (${formatDuration(s.simElapsedMs)}) in ${realS.toFixed(1)} s real` +
      (factor > 0 ? ` (×${factor >= 100 ? n(Math.round(factor)) : factor.toFixed(1)})` : ''),
    `Uplinks: ${n(s.uplinks)} sent, ${n(s.heard)} heard by a gateway, ${n(s.uplinks - s.heard)} not heard` +
      (realS > 0 ? `; ${n(Math.round(s.uplinks / realS))}/s` : ''),
    `  by category: ${Object.entries(s.byCategory).sort(([a], [b]) => a.localeCompare(b)).map(([c, k]) => `${c} ${n(k)}`).join(' · ') || '—'}`,
    `Joins: ${n(s.joins.requests)} requests, ${n(s.joins.accepted)} accepted, ${n(s.joins.notHeard)} not heard, ${n(s.joins.timedOut)} timed out` +
      (s.joins.pending ? `, ${n(s.joins.pending)} pending` : ''),
    `Faults: ${FAULT_NAMES.map((f) => `${f} ${n(s.faults[f])}`).join(' · ')}`,
  ];
  const dl = s.downlinks;
  if (dl.joinAccepts || dl.data || dl.unmatched || dl.badMic) {
    lines.push(`Downlinks: ${n(dl.joinAccepts)} join-accepts, ${n(dl.data)} data (${n(dl.acks)} ACK), ${n(dl.unmatched)} unmatched, ${n(dl.badMic)} bad MIC`);
  }
  if (s.encodeErrors) lines.push(`Encode errors: ${n(s.encodeErrors)} uplinks skipped (see warnings)`);
  lines.push(`Output ${s.output.summary}`);
  return lines.join('\n');
}

export function progressLine(s: SimulationStats): string {
  const realS = s.realElapsedMs / 1000;
  const heardPct = s.uplinks ? ((100 * s.heard) / s.uplinks).toFixed(1) : '0.0';
  const faults = FAULT_NAMES.reduce((a, f) => a + s.faults[f], 0);
  return (
    `${s.simNow.slice(0, 16).replace('T', ' ')}  ${n(s.uplinks)} uplinks (${heardPct}% heard, ${realS > 0 ? n(Math.round(s.uplinks / realS)) : 0}/s)` +
    `  joins ${n(s.joins.accepted)}/${n(s.joins.requests)}  faults ${n(faults)}`
  );
}
