/**
 * Where the gateway's memory is, from its own Prometheus metrics (prom-client's default
 * `nodejs_*` gauges: V8 heap used/total, external memory — Buffers' and typed arrays' bytes
 * outside the heap) next to RSS, and how much of its CPU went to garbage collection
 * (`nodejs_gc_duration_seconds`: main-thread GC pauses, all kinds). What RSS holds besides
 * these is the node binary's pages, code, malloc arenas (SQLite's cache) and thread stacks.
 */
import type { MetricSums } from '../gateway/procs.ts';

const MB = 1048576;

/** `heap used/total … MB, external … MB` of one scrape. */
export function memoryLine(m: MetricSums): string {
  const v = (k: string): string => ((m[`lorawan_edge_${k}`] ?? NaN) / MB).toFixed(0);
  return `V8 heap used ${v('nodejs_heap_size_used_bytes')} / total ${v('nodejs_heap_size_total_bytes')} MB, external ${v('nodejs_external_memory_bytes')} MB`;
}

/** GC pause seconds between two scrapes. */
export function gcSeconds(before: MetricSums, after: MetricSums): number {
  const k = 'lorawan_edge_nodejs_gc_duration_seconds_sum';
  return (after[k] ?? 0) - (before[k] ?? 0);
}
