/**
 * Planner analytics against the simulator's ground truth.
 *
 *   node --import tsx bench/planner/run.ts [--per-group 4] [--days 28] [--seed 7]
 *
 * Runs the city fleet's bin sensors (`simulator/fleets/city.yaml`, every bin group cut to
 * `--per-group` devices: 32 groups, 128 bins by default) for `--days` simulated days into a
 * ledger, then replays what a gateway would have stored (only uplinks some gateway heard) into
 * gateway/analytics and compares with what the simulated bins really did:
 *
 * - emptying detection: precision and recall against the ledger's `collected` events (each
 *   attached to the first uplink after the collection), overall and for collections of bins
 *   holding at least 5 % (emptying an almost empty bin changes no reading);
 * - ETA error: every 6 simulated hours, each filling bin's estimated time to 90 % against the
 *   first later reading at or above 90 % before its next collection (median, p90, in hours);
 * - overflows caught: for each episode of a bin reading ≥ 100 %, was it on the collection list
 *   of the daily 05:00 round before the episode began (next round 24 h later)?
 *
 * Prints a Markdown table; record it in bench/RESULTS.md with the machine and the command.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createReadStream } from 'node:fs';
import { parseArgs } from 'node:util';
import { analyzeBin, type FillSample } from '../../gateway/analytics/bin-state.ts';
import { collectionList } from '../../gateway/analytics/collection-list.ts';

const { values } = parseArgs({ options: { 'per-group': { type: 'string', default: '4' }, days: { type: 'string', default: '28' }, seed: { type: 'string', default: '7' } } });
const perGroup = Number(values['per-group']);
const days = Number(values.days);
const H = 3_600_000;
const ROOT = join(import.meta.dirname, '..', '..');

interface BinTruth {
  devEui: string;
  name: string;
  tags: Record<string, string>;
  intervalS: number;
  depthMm?: number;
  samples: FillSample[];
  /** Uplink times carrying a `collected` event, with the fill the bin had just before. */
  collections: { t: number; fromPct: number }[];
}

function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))] as number;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-planner-'));
  try {
    const city = readFileSync(join(ROOT, 'simulator', 'fleets', 'city.yaml'), 'utf8').split('\n');
    const header = city.filter((l) => !l.startsWith('  - {device') && !l.startsWith('devices:') && !l.startsWith('#'));
    const bins = city.filter((l) => l.includes("name: 'bin-")).map((l) => l.replace(/count: \d+/, `count: ${perGroup}`));
    const fleet = join(dir, 'bins.yaml');
    writeFileSync(fleet, [...header, 'devices:', ...bins].join('\n'));
    const ledger = join(dir, 'ledger.jsonl');
    const started = Date.now();
    const sim = spawnSync(process.execPath, [join(ROOT, 'bin', 'lorawan-edge'), 'simulate', '--fleet', fleet, '--dry-run', '--speed', 'max', '--quiet', '--duration', `${days}d`, '--seed', values.seed as string, '--ledger', ledger], { encoding: 'utf8' });
    if (sim.status !== 0) throw new Error(`simulate failed: ${sim.stderr}`);
    const simSeconds = (Date.now() - started) / 1000;

    const byEui = new Map<string, BinTruth>();
    const rl = createInterface({ input: createReadStream(ledger), crlfDelay: Infinity });
    let startMs = Number.POSITIVE_INFINITY;
    let endMs = 0;
    let lines = 0;
    for await (const line of rl) {
      lines++;
      const e = JSON.parse(line) as { time: string; devEui: string; device: string; tags: Record<string, string>; variables: Record<string, unknown>; gateways: unknown[]; events?: string[]; readings: { values: Record<string, unknown> }[] };
      const t = Date.parse(e.time);
      startMs = Math.min(startMs, t);
      endMs = Math.max(endMs, t);
      const v = e.readings[0]?.values ?? {};
      let b = byEui.get(e.devEui);
      if (!b) {
        b = { devEui: e.devEui, name: e.device, tags: e.tags, intervalS: 1800, depthMm: typeof e.variables['container_depth_mm'] === 'number' ? e.variables['container_depth_mm'] : undefined, samples: [], collections: [] };
        byEui.set(e.devEui, b);
      }
      if (e.events?.includes('collected')) b.collections.push({ t, fromPct: b.samples.at(-1)?.fillPct ?? 0 });
      if (e.gateways.length === 0 || typeof v['fill_pct'] !== 'number') continue; // what no gateway heard, no gateway stores
      b.samples.push({ t, fillPct: v['fill_pct'], distanceMm: typeof v['distance_mm'] === 'number' ? v['distance_mm'] : undefined, alarmTilt: v['alarm_tilt'] === true, alarmFull: v['alarm_full'] === true });
    }

    // 1. Emptying detection over the whole run.
    let truth = 0;
    let truthVisible = 0;
    let detected = 0;
    let matched = 0;
    let matchedVisible = 0;
    for (const b of byEui.values()) {
      const a = analyzeBin(b.samples, { nowMs: endMs, reportingIntervalS: b.intervalS, containerDepthMm: b.depthMm });
      detected += a.emptyings.length;
      const window = 2 * b.intervalS * 1000;
      const used = new Set<number>();
      for (const c of b.collections) {
        truth++;
        const visible = c.fromPct >= 5;
        if (visible) truthVisible++;
        const hit = a.emptyings.findIndex((e, i) => !used.has(i) && Math.abs(e.t - c.t) <= window);
        if (hit >= 0) {
          used.add(hit);
          matched++;
          if (visible) matchedVisible++;
        }
      }
    }

    // 2. ETA error and 3. overflows caught, evaluated at fixed times.
    const etaErrorsH: number[] = [];
    let overflowEpisodes = 0;
    let overflowCaught = 0;
    const firstRound = (() => {
      const d = new Date(startMs);
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), 4) + (d.getUTCHours() >= 4 ? 24 * H : 0); // 05:00 at UTC+1
    })();
    for (const b of byEui.values()) {
      const s = b.samples;
      for (let t = startMs + 24 * H; t < endMs; t += 6 * H) {
        const upTo = s.filter((x) => x.t <= t);
        const a = analyzeBin(upTo, { nowMs: t, reportingIntervalS: b.intervalS, containerDepthMm: b.depthMm });
        if (a.etaFullMs === undefined || a.rateGrade === 'none' || a.rateGrade === 'C' || (a.fillPct ?? 100) >= 90) continue;
        const nextCollection = b.collections.find((c) => c.t > t)?.t ?? Number.POSITIVE_INFINITY;
        const crossing = s.find((x) => x.t > t && x.t < nextCollection && x.fillPct >= 90);
        if (crossing) etaErrorsH.push(Math.abs(a.etaFullMs - crossing.t) / H);
      }
      // Overflow episodes: a reading ≥ 100 % after one below it.
      for (let i = 1; i < s.length; i++) {
        const cur = s[i] as FillSample;
        if (cur.fillPct < 100 || (s[i - 1] as FillSample).fillPct >= 100) continue;
        overflowEpisodes++;
        let round = firstRound;
        while (round + 24 * H <= cur.t) round += 24 * H;
        if (round > cur.t) continue;
        const a = analyzeBin(s.filter((x) => x.t <= round), { nowMs: round, reportingIntervalS: b.intervalS, containerDepthMm: b.depthMm });
        const list = collectionList([{ devEui: b.devEui, name: b.name, tags: b.tags, analysis: a }], { roundMs: round, nextRoundMs: round + 24 * H });
        if (list.total > 0) overflowCaught++;
      }
    }

    const pct = (a: number, b: number): string => (b === 0 ? 'n/a' : `${((100 * a) / b).toFixed(2)} %`);
    const out = [
      `Planner analytics vs ground truth: ${byEui.size} bins, ${days} simulated days, seed ${values.seed}, ${lines} ledger lines (simulated in ${simSeconds.toFixed(0)} s)`,
      '',
      '| measure | value | goal |',
      '|---|---|---|',
      `| emptying recall, all collections | ${pct(matched, truth)} (${matched} of ${truth}) | ≥ 99 % |`,
      `| emptying recall, bins holding ≥ 5 % | ${pct(matchedVisible, truthVisible)} (${matchedVisible} of ${truthVisible}) | ≥ 99 % |`,
      `| emptying precision | ${pct(matched, detected)} (${matched} of ${detected} detected) | ≥ 99 % |`,
      `| ETA error, median | ${percentile(etaErrorsH, 0.5).toFixed(1)} h (${etaErrorsH.length} estimates) | ≤ 6 h |`,
      `| ETA error, p90 | ${percentile(etaErrorsH, 0.9).toFixed(1)} h | — |`,
      `| overflows named on the round before | ${pct(overflowCaught, overflowEpisodes)} (${overflowCaught} of ${overflowEpisodes}) | all |`,
    ];
    process.stdout.write(`${out.join('\n')}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
