/**
 * Summarises a sampling allocation profile (Chrome `.heapprofile` JSON, written by
 * bench/edge-ns/alloc-sampler.mjs or `--heap-prof`): bytes allocated per function (self), and
 * per allocation site with its callers, as KB per uplink when the phase's uplinks are given.
 *
 *   node --import tsx bench/edge-ns/alloc-summary.ts <file> [--uplinks n] [--top 30] [--depth 3]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface Frame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface HeapNode {
  callFrame: Frame;
  selfSize: number;
  children: HeapNode[];
}

const { values, positionals } = parseArgs({ allowPositionals: true, options: { uplinks: { type: 'string', default: '0' }, top: { type: 'string', default: '30' }, depth: { type: 'string', default: '3' } } });
const file = positionals[0];
if (!file) {
  console.error('usage: alloc-summary.ts <file.heapprofile> [--uplinks n] [--top n] [--depth n]');
  process.exit(2);
}
const uplinks = Number(values.uplinks);
const top = Number(values.top);
const depth = Number(values.depth);
const profile = JSON.parse(readFileSync(file, 'utf8')) as { head: HeapNode };

const short = (f: Frame): string => {
  const url = f.url.replace(/^file:\/\//, '');
  const nm = url.lastIndexOf('node_modules/');
  const where = nm >= 0 ? url.slice(nm + 13) : url.split('/').slice(-2).join('/');
  return `${f.functionName || '(anonymous)'} ${where}:${f.lineNumber + 1}`;
};

const self = new Map<string, number>();
const sites = new Map<string, number>();
let total = 0;
// Iterative walk (a deep call tree must not overflow the stack), with each node's caller chain.
const stack: { n: HeapNode; path: string[] }[] = [{ n: profile.head, path: [] }];
for (let guard = 0; stack.length > 0 && guard < 10_000_000; guard++) {
  const { n, path } = stack.pop() as { n: HeapNode; path: string[] };
  const name = short(n.callFrame);
  const here = [...path, name];
  if (n.selfSize > 0) {
    total += n.selfSize;
    self.set(name, (self.get(name) ?? 0) + n.selfSize);
    const site = here.slice(-depth - 1).reverse().join(' ← ');
    sites.set(site, (sites.get(site) ?? 0) + n.selfSize);
  }
  for (const c of n.children) stack.push({ n: c, path: here });
}

const fmt = (bytes: number): string => {
  const pct = `${((bytes / total) * 100).toFixed(1).padStart(5)} %`;
  return uplinks > 0 ? `${pct} ${((bytes / uplinks) / 1024).toFixed(2).padStart(6)} KB/uplink` : `${pct} ${(bytes / 1024 / 1024).toFixed(1)} MB`;
};
console.log(`total sampled ${(total / 1024 / 1024).toFixed(1)} MB${uplinks > 0 ? ` = ${(total / uplinks / 1024).toFixed(1)} KB per uplink (${uplinks} uplinks)` : ''}`);
console.log('\nby function (self):');
for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${fmt(v)}  ${k}`);
console.log(`\nby site (self ← ${depth} callers):`);
for (const [k, v] of [...sites].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${fmt(v)}  ${k}`);
