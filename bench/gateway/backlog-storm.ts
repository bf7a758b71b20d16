/**
 * Reproduction (not a benchmark): what the gateway does when Mosquitto holds a backlog for it.
 *
 * InfluxDB is stopped (so the gateway only appends to its log), then `--uplinks` are published
 * as fast as Mosquitto takes them — faster than the gateway ingests, so the broker queues for
 * it. Printed every 2 s: messages received by the gateway, records in its log, redeliveries it
 * recognised, the source's health. At the end: the gateway's warn/error log lines and
 * Mosquitto's connection log.
 *
 *   node --import tsx bench/gateway/backlog-storm.ts [--uplinks 300000] [--inflight 2000] [--seconds 120]
 *
 * Seen on Mosquitto 2.0.11 (Debian 12): the broker does not hold `max_inflight_messages` for
 * queued messages, the gateway receives far more than the window without having acknowledged
 * them, mqtt.js's PINGRESP waits behind that backlog and the client closes with "Keepalive
 * timeout", the broker redelivers everything unacknowledged, and the gateway stores those
 * redeliveries again (older than its 50,000-id duplicate window): more records in the log
 * than uplinks published.
 */
import { parseArgs } from 'node:util';
import { startInfluxd } from '../../support/influxd.ts';
import { startMosquitto } from '../../support/mosquitto.ts';
import { buildFleet } from './fleet.ts';
import { Publisher, scrape, sleep, startGateway } from './procs.ts';

const { values } = parseArgs({
  options: {
    uplinks: { type: 'string', default: '300000' },
    inflight: { type: 'string', default: '2000' },
    seconds: { type: 'string', default: '120' },
  },
});
const N = Number(values.uplinks);
const devices = buildFleet();
const [broker, influx] = await Promise.all([startMosquitto({ maxQueuedMessages: 2_000_000, maxInflightMessages: Number(values.inflight), log: true }), startInfluxd({ database: 'storm' })]);
try {
  const gw = await startGateway({ name: 'storm', brokerUrl: broker.url, appId: 'storm', influxUrl: influx.url, database: 'storm', devices, buffer: { max_bytes: 8 * 1024 ** 3, when_full: 'block' } });
  await influx.stop();
  const pub = new Publisher({ url: broker.url, appId: 'storm', t0: Date.UTC(2026, 0, 1), count: N, rate: 0, maxSeconds: Number(values.seconds) });
  void pub.result.then((r) => console.log(`publisher: ${r.acked} acknowledged by Mosquitto in ${((r.done - r.start) / 1000).toFixed(1)} s`)).catch((err: unknown) => console.log(`publisher: ${(err as Error).message}`));
  const until = Date.now() + Number(values.seconds) * 1000;
  let last = -1;
  let still = 0;
  while (Date.now() < until) {
    await sleep(2_000);
    const m = await scrape(gw.httpPort).catch(() => ({}) as Record<string, number>);
    const h = (await fetch(`http://127.0.0.1:${gw.httpPort}/healthz`)
      .then((r) => r.json())
      .catch(() => ({}))) as { components?: Record<string, { state: string; detail?: string }> };
    const received = m['lorawan_edge_uplinks_received_total'] ?? 0;
    const src = h.components?.['source:chirpstack'];
    console.log(
      `received ${received}, records in the log ${m['lorawan_edge_sink_lag_records'] ?? '?'}, redeliveries recognised ${m['lorawan_edge_duplicates_total'] ?? 0}, source ${src?.state ?? '?'} ${src?.detail ?? ''}`,
    );
    still = received === last ? still + 1 : 0;
    last = received;
    if (received >= N && still >= 5) break;
  }
  console.log(`\npublished ${N}, received ${last}: ${last - N} more messages than uplinks`);
  console.log('gateway warn/error log:', gw.logKinds());
  console.log(
    'Mosquitto connection log:\n' +
      broker.outputTail
        .split('\n')
        .filter((l) => /connect|closed|timeout|Client/i.test(l))
        .slice(-12)
        .join('\n'),
  );
  await gw.stop();
  gw.dispose();
} finally {
  await Promise.all([broker.dispose(), influx.dispose()]);
}
