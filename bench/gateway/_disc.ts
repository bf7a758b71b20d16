import { startInfluxd } from '../../test/support/influxd.ts';
import { startMosquitto } from '../../test/support/mosquitto.ts';
import { buildFleet } from './fleet.ts';
import { Publisher, scrape, sleep, startGateway } from './procs.ts';
const devices = buildFleet();
const [broker, influx] = await Promise.all([startMosquitto({ maxQueuedMessages: 2_000_000, maxInflightMessages: 2000, log: true }), startInfluxd({ database: 'x' })]);
const gw = await startGateway({ name: 'disc', brokerUrl: broker.url, appId: 'disc', influxUrl: influx.url, database: 'x', devices });
await influx.stop();
const pub = new Publisher({ url: broker.url, appId: 'disc', t0: 0, count: Number(process.argv[2] ?? 300000), rate: 0, maxSeconds: 300 });
void pub.result.then((r) => console.log('published', r.acked, ((r.done - r.start) / 1000).toFixed(1), 's'));
let lastRecv = -1;
for (let i = 0; i < 120; i++) {
  await sleep(2000);
  const m = await scrape(gw.httpPort).catch(() => ({} as Record<string, number>));
  const recv = m['lorawan_edge_uplinks_received_total'] ?? 0;
  const h = await (await fetch(`http://127.0.0.1:${gw.httpPort}/healthz`)).json().catch(() => ({})) as { components?: Record<string, { state: string; detail?: string }> };
  console.log(`t=${2 * i + 2} recv=${recv} lag=${m['lorawan_edge_sink_lag_records']} dup=${m['lorawan_edge_duplicates_total'] ?? 0} src=${h.components?.['source:chirpstack']?.state} ${h.components?.['source:chirpstack']?.detail ?? ''}`);
  if (recv === lastRecv && recv >= Number(process.argv[2] ?? 300000)) break;
  lastRecv = recv;
}
console.log('gateway log:', gw.logKinds());
console.log('mosquitto:', broker.outputTail.split('\n').filter((l) => !/PUBLISH|PUBACK|PINGREQ|PINGRESP|Sending|Received/.test(l)).slice(-30).join('\n'));
await gw.stop(); gw.dispose();
await Promise.all([broker.dispose(), influx.dispose()]);
