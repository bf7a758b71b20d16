/**
 * Summarizes a V8 `.cpuprofile` (written by `node --cpu-prof`): self time per function, top N,
 * plus the share of time in the categories that matter for the gateway (GC, JSON, CBOR, fs, …).
 *
 *   node --import tsx bench/gateway/profile.ts <file.cpuprofile> [top]
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { REPO_ROOT } from '../../codecs/testing/paths.ts';

interface CpuNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface CpuProfile {
  nodes: CpuNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileRow {
  fn: string;
  where: string;
  selfMs: number;
  pct: number;
}

function shortUrl(url: string): string {
  if (!url) return '';
  const path = url.replace(/^file:\/\//, '');
  const nm = path.lastIndexOf('node_modules/');
  if (nm >= 0) return path.slice(nm + 'node_modules/'.length);
  if (path.startsWith('/')) return relative(REPO_ROOT, path);
  return path;
}

export function summarizeProfile(file: string, top = 25): { totalMs: number; idlePct: number; rows: ProfileRow[]; byFile: ProfileRow[] } {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) {
    const id = p.samples[i] as number;
    // timeDeltas[i] is the time before sample i; attribute the following delta to sample i.
    const dt = (p.timeDeltas[i + 1] ?? 0) / 1000;
    self.set(id, (self.get(id) ?? 0) + dt);
  }
  const totalMs = (p.endTime - p.startTime) / 1000;
  const fnAgg = new Map<string, ProfileRow>();
  const fileAgg = new Map<string, ProfileRow>();
  let idle = 0;
  for (const [id, ms] of self) {
    const n = byId.get(id) as CpuNode;
    const name = n.callFrame.functionName || '(anonymous)';
    if (name === '(idle)') idle += ms;
    const where = shortUrl(n.callFrame.url);
    const key = `${name}@${where}:${n.callFrame.lineNumber + 1}`;
    const row = fnAgg.get(key) ?? { fn: name, where: where ? `${where}:${n.callFrame.lineNumber + 1}` : '', selfMs: 0, pct: 0 };
    row.selfMs += ms;
    fnAgg.set(key, row);
    const fkey = where ? where.replace(/^(.*?\/)?([^/]+\/[^/]+)$/, '$2') && where.split('/').slice(0, -1).join('/') || where : `(${name})`;
    const frow = fileAgg.get(fkey) ?? { fn: fkey, where: '', selfMs: 0, pct: 0 };
    frow.selfMs += ms;
    fileAgg.set(fkey, frow);
  }
  const finish = (m: Map<string, ProfileRow>): ProfileRow[] =>
    [...m.values()]
      .map((r) => ({ ...r, pct: (100 * r.selfMs) / totalMs }))
      .sort((a, b) => b.selfMs - a.selfMs)
      .slice(0, top);
  return { totalMs, idlePct: (100 * idle) / totalMs, rows: finish(fnAgg), byFile: finish(fileAgg) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const file = process.argv[2];
  if (!file) throw new Error('usage: profile.ts <file.cpuprofile> [top]');
  const s = summarizeProfile(file, Number(process.argv[3] ?? 25));
  console.log(`total ${(s.totalMs / 1000).toFixed(1)} s, idle ${s.idlePct.toFixed(1)} %`);
  console.log('| self ms | % | function | where |\n|---:|---:|---|---|');
  for (const r of s.rows) console.log(`| ${r.selfMs.toFixed(0)} | ${r.pct.toFixed(1)} | ${r.fn} | ${r.where} |`);
  console.log('\n| self ms | % | folder / package |\n|---:|---:|---|');
  for (const r of s.byFile) console.log(`| ${r.selfMs.toFixed(0)} | ${r.pct.toFixed(1)} | ${r.fn} |`);
}
