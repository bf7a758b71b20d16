/**
 * Summarises a `--trace-gc-nvp` log of the gateway (bench/edge-ns/run.ts
 * `'--node-flags=--trace-gc-nvp' --gateway-output <file>`) over the busiest window: scavenges/s,
 * MB/s allocated in new space and promoted to old space, mark-compacts/s and GC pause share —
 * and, given the phase's accepted uplinks, the same per uplink.
 *
 *   node --import tsx bench/edge-ns/gc-summary.ts <file> [--seconds 9.5] [--uplinks 40420]
 *
 * The window is the `--seconds` long span with the most bytes allocated (the 10,000/s phase
 * with its catch-up: run.ts's accepted/s is accepted ÷ that span).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface Gc {
  t: number;
  kind: string;
  pause: number;
  allocated: number;
  promoted: number;
  /** bytes that survived a scavenge (copied within new space or promoted) */
  survived: number;
}

const { values, positionals } = parseArgs({ allowPositionals: true, options: { seconds: { type: 'string', default: '9.5' }, uplinks: { type: 'string', default: '0' } } });
const file = positionals[0];
if (!file) {
  console.error('usage: gc-summary.ts <trace-gc-nvp file> [--seconds s] [--uplinks n]');
  process.exit(2);
}
const spanMs = Number(values.seconds) * 1000;
const uplinks = Number(values.uplinks);

const gcs: Gc[] = [];
for (const line of readFileSync(file, 'utf8').split('\n')) {
  const m = /\s(\d+) ms: pause=([\d.]+) .*?gc=(\w+) /.exec(line);
  if (!m) continue;
  const field = (k: string): number => Number(new RegExp(`\\s${k}=(\\d+)`).exec(line)?.[1] ?? 0);
  gcs.push({ t: Number(m[1]), kind: m[3] as string, pause: Number(m[2]), allocated: field('allocated'), promoted: field('promoted'), survived: field('new_space_survived') });
}
if (gcs.length === 0) {
  console.error(`${file}: no --trace-gc-nvp lines`);
  process.exit(1);
}

// The busiest window: two pointers over the events in time order (bounded by their count).
let best = { from: 0, to: 0, bytes: -1 };
let j = 0;
let sum = 0;
for (let i = 0; i < gcs.length; i++) {
  sum += (gcs[i] as Gc).allocated;
  while ((gcs[i] as Gc).t - (gcs[j] as Gc).t > spanMs) sum -= (gcs[j++] as Gc).allocated;
  if (sum > best.bytes) best = { from: j, to: i, bytes: sum };
}
const w = gcs.slice(best.from, best.to + 1);
const s = spanMs / 1000;
const scav = w.filter((g) => g.kind === 's');
const mc = w.filter((g) => g.kind === 'mc' || g.kind === 'ms');
const MB = 1024 * 1024;
const allocated = w.reduce((n, g) => n + g.allocated, 0);
const promoted = scav.reduce((n, g) => n + g.promoted, 0);
const pause = w.reduce((n, g) => n + g.pause, 0);
const scavPause = scav.reduce((n, g) => n + g.pause, 0);
const survived = scav.reduce((n, g) => n + g.survived, 0);
const perUp = (bytes: number): string => (uplinks > 0 ? `${((bytes / uplinks) / 1024).toFixed(1)} KB/uplink` : '');
console.log(
  [
    `window ${((w[0] as Gc).t / 1000).toFixed(1)}–${((w[w.length - 1] as Gc).t / 1000).toFixed(1)} s (${s} s)`,
    `scavenges ${(scav.length / s).toFixed(1)}/s`,
    `heap growth between GCs (nvp "allocated") ${(allocated / MB / s).toFixed(1)} MB/s`,
    `survived per scavenge ${(survived / Math.max(1, scav.length) / 1024).toFixed(0)} KB (${perUp(survived)})`,
    `promoted ${(promoted / MB / s).toFixed(2)} MB/s ${perUp(promoted)}`,
    `mark-compacts ${(mc.length / s).toFixed(2)}/s`,
    `GC pauses ${pause.toFixed(0)} ms (${((pause / (s * 1000)) * 100).toFixed(1)} % of the window; scavenges ${scavPause.toFixed(0)} ms, ${(scavPause / Math.max(1, scav.length)).toFixed(2)} ms each)`,
  ].join('; '),
);
