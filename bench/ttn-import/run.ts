/**
 * bench/ttn-import: runs `lorawan-edge codec import-ttn --dry-run` on every vendor folder of a
 * checkout (or partial copy) of TheThingsNetwork/lorawan-devices and counts what happened to
 * each example of the repository, per vendor and per kind (uplink decode, downlink encode,
 * downlink decode): passed, failed, or skipped (not imported, or imported only in part — with
 * the note that says why). The counts are what bench/RESULTS.md records for issue #11.
 *
 *   node --import tsx bench/ttn-import/run.ts <lorawan-devices-dir> [--bin <lorawan-edge>] [--json]
 *
 * `--bin` runs another build of the command (for example an older commit unpacked elsewhere), so
 * "before" and "after" are counted by the same rules. The vendor files are someone else's code:
 * keep them outside this repository; nothing here reads them except through the command.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { bin: { type: 'string' }, json: { type: 'boolean', default: false } },
});
const repo = positionals[0];
if (repo === undefined) {
  process.stderr.write('usage: bench/ttn-import/run.ts <lorawan-devices-dir> [--bin <lorawan-edge>] [--json]\n');
  process.exit(2);
}
const bin = resolve(values.bin ?? join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'lorawan-edge'));

type Kind = 'uplink' | 'downlink-encode' | 'downlink-decode';
interface Tally {
  passed: Record<Kind, number>;
  failed: Record<Kind, number>;
  /** Skip reason → examples (or devices, for device-level reasons). */
  skipped: Record<string, number>;
  /** Failure lines, for classifying by hand. */
  failures: string[];
  devices: { imported: number; skipped: number; notImported: number };
}

const zero = (): Record<Kind, number> => ({ uplink: 0, 'downlink-encode': 0, 'downlink-decode': 0 });

/** The skip classes the importer's notes name; the first matching pattern counts. */
const SKIP_CLASSES: [RegExp, string][] = [
  [/expects errors; lorawan-edge's examples have no failing encoder case/, 'encoder example expecting errors (not imported)'],
  [/is in a third file .*: its (\d+) example/, 'downlink section in a third file (not imported)'],
  [/its normalized output is not checked/, 'normalizedOutput not checked (data checked)'],
  [/warnings are not checked/, 'encoder/decoder warnings not checked'],
  [/output\.data is ignored next to errors/, 'data next to errors dropped'],
];

/**
 * The counts of one vendor folder. A device with no profile for the default region is measured
 * again with the first region it has (`--device <id> --region <r>`): The Things Stack runs its
 * examples whatever the region, so they count here too.
 */
function tallyVendor(dir: string, extra: readonly string[] = []): Tally {
  const out = mkdtempSync(join(tmpdir(), 'ttn-import-'));
  const otherRegion: { device: string; region: string }[] = [];
  try {
    const r = spawnSync(bin, ['codec', 'import-ttn', dir, '--out', out, '--dry-run', ...extra], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    const t: Tally = { passed: zero(), failed: zero(), skipped: {}, failures: [], devices: { imported: 0, skipped: 0, notImported: 0 } };
    for (const line of `${r.stdout}\n${r.stderr}`.split('\n')) {
      const ex = /^(PASS|FAIL) \S+ (uplink|downlink-encode|downlink-decode) /.exec(line);
      if (ex) {
        const kind = ex[2] as Kind;
        if (ex[1] === 'PASS') t.passed[kind]++;
        else {
          t.failed[kind]++;
          t.failures.push(line);
        }
        continue;
      }
      const region = /^SKIP \S+?\/(\S+): no firmware version has a (\S+) profile with a codec \(regions: ([^;)]+)/.exec(line);
      const other = region?.[3]?.split(', ').find((r) => r !== region[2]);
      if (region && other !== undefined && extra.length === 0) otherRegion.push({ device: region[1] as string, region: other });
      else if (line.startsWith('SKIP ')) t.skipped['device: no codec for the region'] = (t.skipped['device: no codec for the region'] ?? 0) + 1;
      if (line.startsWith('ERROR ') && / no firmware version has a \S+ profile/.test(line)) {
        // Measured with another region and that one has no codec either: a skip, not a refusal.
        t.skipped['device: no codec for any region'] = (t.skipped['device: no codec for any region'] ?? 0) + 1;
        continue;
      }
      if (line.startsWith('ERROR ')) {
        t.devices.notImported++;
        t.failures.push(line);
      }
      const summary = /^summary: (\d+) device\(s\) (?:would be )?imported, (\d+) skipped/.exec(line);
      if (summary) {
        t.devices.imported = Number(summary[1]);
        t.devices.skipped = Number(summary[2]);
      }
      for (const [pattern, name] of SKIP_CLASSES) {
        const m = pattern.exec(line);
        if (m) {
          t.skipped[name] = (t.skipped[name] ?? 0) + (m[1] !== undefined ? Number(m[1]) : 1);
          break;
        }
      }
    }
    for (const o of otherRegion) {
      const again = tallyVendor(dir, ['--device', o.device, '--region', o.region]);
      for (const k of Object.keys(t.passed) as Kind[]) {
        t.passed[k] += again.passed[k];
        t.failed[k] += again.failed[k];
      }
      for (const [name, n] of Object.entries(again.skipped)) t.skipped[name] = (t.skipped[name] ?? 0) + n;
      t.failures.push(...again.failures);
      t.devices.imported += again.devices.imported;
      t.devices.skipped -= 1;
      t.devices.notImported += again.devices.notImported;
      if (again.devices.imported > 0) {
        const name = `device measured with another region (${o.region}: none with a codec for the default)`;
        t.skipped[name] = (t.skipped[name] ?? 0) + 1;
      }
    }
    return t;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

const vendorsDir = join(resolve(repo), 'vendor');
const vendors = readdirSync(vendorsDir)
  .filter((v) => statSync(join(vendorsDir, v)).isDirectory())
  .sort();
const results: Record<string, Tally> = {};
for (const v of vendors) results[v] = tallyVendor(join(vendorsDir, v));

if (values.json) {
  process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
} else {
  const sum = (r: Record<Kind, number>): number => r.uplink + r['downlink-encode'] + r['downlink-decode'];
  const cell = (r: Record<Kind, number>): string => `${sum(r)} (${r.uplink}/${r['downlink-encode']}/${r['downlink-decode']})`;
  process.stdout.write('| vendor | devices | passed (up/enc/dec) | failed (up/enc/dec) | skipped |\n|---|---|---|---|---|\n');
  const total = { passed: zero(), failed: zero(), skipped: {} as Record<string, number> };
  for (const [v, t] of Object.entries(results)) {
    for (const k of Object.keys(total.passed) as Kind[]) {
      total.passed[k] += t.passed[k];
      total.failed[k] += t.failed[k];
    }
    for (const [s, n] of Object.entries(t.skipped)) total.skipped[s] = (total.skipped[s] ?? 0) + n;
    const skipped = Object.entries(t.skipped).map(([s, n]) => `${n} ${s}`).join('; ') || '—';
    process.stdout.write(`| ${v} | ${t.devices.imported}${t.devices.notImported ? ` (+${t.devices.notImported} refused)` : ''} | ${cell(t.passed)} | ${cell(t.failed)} | ${skipped} |\n`);
  }
  const skipped = Object.entries(total.skipped).map(([s, n]) => `${n} ${s}`).join('; ') || '—';
  process.stdout.write(`| **all** | | ${cell(total.passed)} | ${cell(total.failed)} | ${skipped} |\n\nfailures:\n`);
  for (const [v, t] of Object.entries(results)) for (const f of t.failures) process.stdout.write(`  [${v}] ${f}\n`);
}
