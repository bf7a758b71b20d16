/**
 * The inbox journal's metrics (`udp-inbox.ts`), created once per registry. A module of its own
 * so that the journal itself does not load prom-client: the intake worker
 * (udp-intake-worker.ts) runs the journal with plain tallies and reports them to the main thread,
 * which adds them to these.
 */
import { Counter, Histogram, type Registry } from 'prom-client';

export interface InboxPromMetrics {
  entries: Counter;
  replayed: Counter;
  resends: Counter<'state'>;
  recovered: Counter<'outcome'>;
  commitSeconds: Histogram;
}

const made = new WeakMap<Registry, InboxPromMetrics>();

/** Created once per registry (several sources share them). */
export function inboxMetrics(registry: Registry): InboxPromMetrics {
  const have = made.get(registry);
  if (have) return have;
  const r = [registry];
  const m: InboxPromMetrics = {
    entries: new Counter({ name: 'lorawan_edge_ns_inbox_entries_total', help: 'PUSH_DATA datagrams written to the inbox journal', registers: r }),
    replayed: new Counter({ name: 'lorawan_edge_ns_inbox_replayed_total', help: 'Inbox entries after the cursor handed to the network server again at start', registers: r }),
    resends: new Counter({ name: 'lorawan_edge_ns_inbox_resends_total', help: 'PUSH_DATA sent again by the forwarder (same gateway, token, bytes) and acknowledged without a second entry', labelNames: ['state'], registers: r }),
    recovered: new Counter({
      name: 'lorawan_edge_ns_inbox_recovered_total',
      help: 'Replayed frames the network server had processed before the crash (already_processed: skipped, not stored twice) or whose records had not become durable (restored: stored now)',
      labelNames: ['outcome'],
      registers: r,
    }),
    commitSeconds: new Histogram({
      name: 'lorawan_edge_ns_inbox_commit_seconds',
      help: 'PUSH_DATA receipt to its journal entry durable (when the PUSH_ACK leaves)',
      buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1],
      registers: r,
    }),
  };
  made.set(registry, m);
  return m;
}

