/**
 * What bench/edge-ns reads besides the gateway's counters: the kernel's drops on the gateway's
 * UDP socket (a datagram the gateway never read is not a reject: it is counted by the kernel,
 * in /proc/net/udp, when the socket's receive buffer is full), rejects by reason, and when the
 * gateway has caught up with what was sent (the receive buffer hides queueing: the uplink
 * counter keeps rising after the sender stopped).
 */
import { readFileSync } from 'node:fs';
import { parseProcNetUdp as procNetUdpRows } from '../../gateway/sources/udp-kernel-drops.ts';
import { metricsText } from '../gateway/procs.ts';

/** Rows of /proc/net/udp (or udp6) for one local port: receive queue bytes and drops. */
export interface UdpSocketState {
  rxQueueBytes: number;
  drops: number;
}

/** Parses the text of /proc/net/udp[6] (the gateway's own parser); sums the sockets bound to `port` (normally one). */
export function parseProcNetUdp(text: string, port: number): UdpSocketState | undefined {
  const rows = procNetUdpRows(text).filter((r) => r.port === port);
  if (rows.length === 0) return undefined;
  return { rxQueueBytes: rows.reduce((n, r) => n + r.rxQueue, 0), drops: rows.reduce((n, r) => n + r.drops, 0) };
}

/** The kernel's view of the gateway's UDP socket on `port` (IPv4 and IPv6 tables). */
export function udpSocketState(port: number): UdpSocketState {
  let out: UdpSocketState = { rxQueueBytes: 0, drops: 0 };
  for (const f of ['/proc/net/udp', '/proc/net/udp6']) {
    try {
      const s = parseProcNetUdp(readFileSync(f, 'utf8'), port);
      if (s) out = { rxQueueBytes: out.rxQueueBytes + s.rxQueueBytes, drops: out.drops + s.drops };
    } catch {
      // no such table (no IPv6)
    }
  }
  return out;
}

/** `name{labels}` → value, every sample line of a Prometheus text exposition. */
export function parseExposition(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?)\s+(\S+)/.exec(line);
    if (!m) continue;
    const v = Number(m[2]);
    if (Number.isFinite(v)) out.set(m[1] as string, v);
  }
  return out;
}

export async function scrapeLabelled(httpPort: number): Promise<Map<string, number>> {
  return parseExposition(await metricsText(httpPort));
}

/** `lorawan_edge_ns_rejected_total{reason}` (and the pipeline's rejects) that grew between two scrapes. */
export function rejectsByReason(before: Map<string, number>, after: Map<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of after) {
    const m = /^lorawan_edge_(?:ns_rejected|uplinks_rejected)_total\{.*reason="([^"]*)"/.exec(k);
    if (!m) continue;
    const d = v - (before.get(k) ?? 0);
    if (d > 0) out[m[1] as string] = (out[m[1] as string] ?? 0) + d;
  }
  return out;
}

/**
 * `read()`, tried again while it times out (an AbortSignal.timeout), for at most `maxMs`: an
 * overloaded gateway's event loop may be seconds behind (1.6 s event-loop lag p99 with 50
 * forwarders at 10,000 uplinks/s on a loaded machine), longer than one scrape's 5 s timeout, and
 * that is a figure to report, not a reason to end the run.
 */
export async function patiently<T>(read: () => Promise<T>, maxMs = 120_000): Promise<T> {
  const until = performance.now() + maxMs;
  for (;;) {
    try {
      return await read();
    } catch (err) {
      if ((err as Error).name !== 'TimeoutError' || performance.now() > until) throw err;
    }
  }
}

/**
 * Polls `read` until it has not changed for `quietMs` (or `maxMs` passed): the value and the
 * time it last changed — when the gateway finished what it had queued.
 */
export async function untilSettled(read: () => Promise<number>, quietMs: number, maxMs: number, everyMs = 100): Promise<{ value: number; lastChangeAt: number }> {
  const started = performance.now();
  let value = await read();
  let lastChangeAt = performance.now();
  while (performance.now() - lastChangeAt < quietMs && performance.now() - started < maxMs) {
    await new Promise((r) => setTimeout(r, everyMs));
    const v = await read();
    if (v !== value) {
      value = v;
      lastChangeAt = performance.now();
    }
  }
  return { value, lastChangeAt };
}

/**
 * The `q` quantile of a Prometheus histogram's observations between two scrapes, as the upper
 * bound of the bucket it falls in (`+Inf` when beyond the last): `name` without `_bucket`,
 * `labels` the histogram's own labels (`kind="data"`), empty when it has none.
 */
export function histogramQuantile(before: Map<string, number>, after: Map<string, number>, name: string, q: number, labels = ''): number {
  const buckets: [number, number][] = [];
  const prefix = `${name}_bucket{`;
  const want = labels.split(',').filter(Boolean).sort().join(',');
  for (const [k, v] of after) {
    if (!k.startsWith(prefix)) continue;
    // prom-client writes `le` first, other exporters last: compare the other labels as a set.
    const parts = k.slice(prefix.length, -1).split(',');
    const le = parts.find((x) => x.startsWith('le="'))?.slice(4, -1);
    if (le === undefined || parts.filter((x) => !x.startsWith('le="')).sort().join(',') !== want) continue;
    buckets.push([le === '+Inf' ? Infinity : Number(le), v - (before.get(k) ?? 0)]);
  }
  buckets.sort((a, b) => a[0] - b[0]);
  const total = buckets.at(-1)?.[1] ?? 0;
  if (total <= 0) return NaN;
  for (const [le, n] of buckets) if (n >= q * total) return le;
  return Infinity;
}
