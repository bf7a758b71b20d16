/**
 * bench/edge-ns/inbox-commit — the inbox journal alone (gateway/sources/udp-inbox.ts): how long a
 * PUSH_DATA waits for its entry to be durable (= for its PUSH_ACK) at a given datagram rate, on
 * this machine's disk, with the group commit every `--fsync` ms. The stock Semtech forwarder waits
 * `push_timeout_ms` = 100 ms for the PUSH_ACK; the gateway's own event loop adds its lag on top
 * (city-crash.ts reports the whole path).
 *
 *   node --import tsx bench/edge-ns/inbox-commit.ts [--rates 200,2000,10000] [--seconds 5] [--fsync 5]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { Registry } from 'prom-client';
import { inboxMetrics } from '../../gateway/sources/inbox-metrics.ts';
import { UdpInbox } from '../../gateway/sources/udp-inbox.ts';
import { inboxDatagram } from '../../gateway/sources/testing/inbox-datagrams.ts';

const { values } = parseArgs({ options: { rates: { type: 'string', default: '200,2000,10000' }, seconds: { type: 'string', default: '5' }, fsync: { type: 'string', default: '5' } } });
const rates = values.rates.split(',').map(Number);
const seconds = Number(values.seconds);
const fsyncMs = Number(values.fsync);

const q = (xs: number[], p: number): number => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))] ?? NaN;
const rows: string[] = [];
for (const rate of rates) {
  const dir = mkdtempSync(join(tmpdir(), 'inbox-bench-'));
  const inbox = await UdpInbox.open({ dir, fsync_interval_ms: fsyncMs }, inboxMetrics(new Registry()), () => {});
  const waits: number[] = [];
  const pending: Promise<void>[] = [];
  const t0 = performance.now();
  const total = rate * seconds;
  let sent = 0;
  // Datagrams arrive in 1 ms ticks at the rate asked for; each one's wait is measured to its ack.
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * rate) + 1);
    for (; sent < due; sent++) {
      const at = performance.now();
      const d = inboxDatagram(sent);
      pending.push(
        inbox.append('0016c001f1500001', d).then((id) => {
          waits.push(performance.now() - at);
          inbox.track(id, 0);
        }),
      );
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all(pending);
  const wall = (performance.now() - t0) / 1000;
  const fsyncs = inbox.stats().fsyncs;
  await inbox.close();
  rmSync(dir, { recursive: true, force: true });
  waits.sort((a, b) => a - b);
  rows.push(`| ${rate} | ${(total / wall).toFixed(0)} | ${q(waits, 0.5).toFixed(1)} | ${q(waits, 0.99).toFixed(1)} | ${(waits[waits.length - 1] ?? NaN).toFixed(1)} | ${fsyncs} |`);
}
console.log(
  [
    `### inbox journal group commit (fsync every ${fsyncMs} ms), ${seconds} s per rate`,
    '',
    `${cpus().length} × ${cpus()[0]?.model ?? '?'}; load ${loadavg().map((x) => x.toFixed(1)).join(' ')}; Node ${process.version}; ${tmpdir()}`,
    `\`node --import tsx bench/edge-ns/inbox-commit.ts --rates ${values.rates} --seconds ${seconds} --fsync ${fsyncMs}\``,
    '',
    '| datagrams/s asked | achieved | PUSH_DATA → durable p50 ms | p99 ms | max ms | fsyncs |',
    '|---|---|---|---|---|---|',
    ...rows,
  ].join('\n'),
);
