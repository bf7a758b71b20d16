/**
 * The edge network server's and the Semtech UDP source's metrics, on the gateway's registry.
 * No label ever carries a key; gateway EUIs and reasons only.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface NsMetrics {
  rejected: Counter<'reason'>;
  uplinks: Counter;
  macOnly: Counter;
  joins: Counter;
  retransmissions: Counter;
  fcntResets: Counter;
  acks: Counter;
  macCommands: Counter<'command'>;
  macErrors: Counter;
  adr: Counter<'outcome'>;
  downlinks: Counter<'outcome'>;
  sessions: Gauge;
  answerSeconds: Histogram<'kind'>;
  receiveDelay: Histogram;
  dedupWait: Histogram;
  dedupClosed: Counter<'how'>;
  batchStage: Histogram<'stage'>;
  tooLate: Counter<'kind'>;
  logRetries: Counter<'outcome'>;
  datagrams: Counter<'type'>;
  gatewayRx: Gauge<'gateway'>;
  gatewayRxOk: Gauge<'gateway'>;
  gatewayTx: Gauge<'gateway'>;
  gatewayAckRatio: Gauge<'gateway'>;
  gatewayLastSeen: Gauge<'gateway'>;
}

/** Created once per registry (several sources share them; prom-client refuses a second copy). */
const made = new WeakMap<Registry, NsMetrics>();

export function nsMetrics(registry: Registry): NsMetrics {
  const have = made.get(registry);
  if (have) return have;
  const r = [registry];
  const m: NsMetrics = {
    rejected: new Counter({ name: 'lorawan_edge_ns_rejected_total', help: 'Datagrams and frames the edge network server rejected, per reason', labelNames: ['reason'], registers: r }),
    uplinks: new Counter({ name: 'lorawan_edge_ns_uplinks_total', help: 'Data uplinks accepted (MIC, FCnt) with an application payload', registers: r }),
    macOnly: new Counter({ name: 'lorawan_edge_ns_mac_only_uplinks_total', help: 'Accepted uplinks without application payload (MAC commands only, or empty)', registers: r }),
    joins: new Counter({ name: 'lorawan_edge_ns_joins_total', help: 'OTAA joins accepted', registers: r }),
    retransmissions: new Counter({ name: 'lorawan_edge_ns_retransmissions_total', help: 'Confirmed uplinks heard again (answered again, not stored again)', registers: r }),
    fcntResets: new Counter({ name: 'lorawan_edge_ns_fcnt_resets_total', help: 'ABP devices that restarted at FCnt 0 (abp_fcnt_reset: accept_zero)', registers: r }),
    acks: new Counter({ name: 'lorawan_edge_ns_acks_total', help: 'ACKs sent for confirmed uplinks', registers: r }),
    macCommands: new Counter({ name: 'lorawan_edge_ns_mac_commands_total', help: 'MAC commands received, per command', labelNames: ['command'], registers: r }),
    macErrors: new Counter({ name: 'lorawan_edge_ns_mac_errors_total', help: 'Uplinks whose MAC command block did not decode completely', registers: r }),
    adr: new Counter({ name: 'lorawan_edge_ns_adr_total', help: 'ADR: LinkADRReq sent (requested), LinkADRAns accepted / refused / unexpected', labelNames: ['outcome'], registers: r }),
    downlinks: new Counter({ name: 'lorawan_edge_ns_downlinks_total', help: 'Downlinks per outcome (rx1, rx2 sent; sent/acked/failed for queued ones)', labelNames: ['outcome'], registers: r }),
    sessions: new Gauge({ name: 'lorawan_edge_ns_sessions', help: 'Device sessions held (OTAA and ABP)', registers: r }),
    answerSeconds: new Histogram({
      name: 'lorawan_edge_ns_answer_seconds',
      help: 'From when the uplink was heard (its tmst on our clock) to its PULL_RESP (join-accept or data downlink), including the socket buffer and the dedup window',
      labelNames: ['kind'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1, 2, 5],
      registers: r,
    }),
    // Receive-window timing (gateway/ns/README.md, "Timing model").
    receiveDelay: new Histogram({
      name: 'lorawan_edge_ns_receive_delay_seconds',
      help: 'How long an uplink datagram took to be read beyond the least-delayed recent one of its gateway (socket buffer, backhaul), from its tmst',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5],
      registers: r,
    }),
    dedupWait: new Histogram({
      name: 'lorawan_edge_ns_dedup_wait_seconds',
      help: 'How long a frame\'s dedup window was open, from its first copy entering it (after the inbox journal) to its close (early when every connected gateway has reported it)',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.5, 1],
      registers: r,
    }),
    dedupClosed: new Counter({
      name: 'lorawan_edge_ns_dedup_closed_total',
      help: 'Dedup windows closed, per how: window (its full length), complete (every connected gateway, or every gateway expected for the device, reported), answer_deadline (a frame needing an answer at dedup_answer_ms), bound (the open-window bound, or stop)',
      labelNames: ['how'],
      registers: r,
    }),
    // Where an answer's time goes after the dedup window (README.md, "Timing model").
    batchStage: new Histogram({
      name: 'lorawan_edge_ns_batch_stage_seconds',
      help: 'Per commit batch: wait (opened to commit), answer_wait (its first frame needing an answer to commit), store (the SQLite transaction with its fsync), log (records appended to durable)',
      labelNames: ['stage'],
      buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 0.5, 1],
      registers: r,
    }),
    tooLate: new Counter({ name: 'lorawan_edge_ns_answers_too_late_total', help: 'Answers not sent because both receive windows were out of reach (also counted in rejected_total{reason="too_late"})', labelNames: ['kind'], registers: r }),
    logRetries: new Counter({
      name: 'lorawan_edge_ns_log_retries_total',
      help: 'Records of batches the durable log refused (when_full: block): held for a retry while running, stored by one, or not held (over the bound: stored at the next start)',
      labelNames: ['outcome'],
      registers: r,
    }),
    datagrams: new Counter({ name: 'lorawan_edge_udp_datagrams_total', help: 'Semtech UDP datagrams received, per type', labelNames: ['type'], registers: r }),
    gatewayRx: new Gauge({ name: 'lorawan_edge_gateway_rx_packets', help: 'Gateway stat rxnb (packets received) of the last interval', labelNames: ['gateway'], registers: r }),
    gatewayRxOk: new Gauge({ name: 'lorawan_edge_gateway_rx_ok_packets', help: 'Gateway stat rxok (packets with a good CRC)', labelNames: ['gateway'], registers: r }),
    gatewayTx: new Gauge({ name: 'lorawan_edge_gateway_tx_packets', help: 'Gateway stat txnb (packets emitted)', labelNames: ['gateway'], registers: r }),
    gatewayAckRatio: new Gauge({ name: 'lorawan_edge_gateway_ack_ratio', help: 'Gateway stat ackr (% of upstream datagrams acknowledged)', labelNames: ['gateway'], registers: r }),
    gatewayLastSeen: new Gauge({ name: 'lorawan_edge_gateway_last_seen_seconds', help: 'Unix time of the last datagram from the gateway', labelNames: ['gateway'], registers: r }),
  };
  made.set(registry, m);
  return m;
}
