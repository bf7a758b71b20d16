/**
 * Publisher child process of the gateway benchmark: publishes uplinks `from … from+count-1` of
 * the bench fleet (fleet.ts) as ChirpStack v4 JSON `up` events, QoS 1, either as fast as the
 * broker acknowledges (a window of unacknowledged PUBLISHes) or at a fixed rate.
 *
 *   node --import tsx bench/gateway/publisher.ts '<json options>'
 *
 * Options: {url, appId, t0, from, count, rate (0 = as fast as possible), window, maxSeconds,
 * paceMetricsUrl?, paceWindow?}. With `paceMetricsUrl` (a gateway's /metrics) the publisher stays
 * at most `paceWindow` uplinks ahead of the gateway's `lorawan_edge_uplinks_received_total`, so
 * no backlog builds up in the broker: the gateway sets the pace.
 * Reports JSON lines on stdout: {type:"ready"}, {type:"start",t}, {type:"progress",t,sent,acked}
 * every 500 ms, {type:"done",t,sent,acked} (t = Date.now() of this machine).
 */
import mqtt from 'mqtt';
import { buildFleet, checkFastMessages, fastMessages } from './fleet.ts';

interface Options {
  url: string;
  appId: string;
  t0: number;
  from: number;
  count: number;
  rate: number;
  window: number;
  maxSeconds: number;
  paceMetricsUrl?: string;
  paceWindow?: number;
}

const opts = JSON.parse(process.argv[2] ?? '{}') as Options;
const say = (o: object): void => {
  process.stdout.write(`${JSON.stringify(o)}\n`);
};

const devices = buildFleet();
checkFastMessages(devices, opts.appId, opts.t0, opts.from, opts.count);
const message = fastMessages(devices, opts.appId, opts.t0);

const client = await mqtt.connectAsync(opts.url, {
  clientId: `bench-pub-${process.pid}`,
  clean: true,
  reconnectPeriod: 500,
  // Resend unacknowledged QoS 1 messages after a reconnect (mqtt.js keeps them in its store).
  queueQoSZero: false,
});
say({ type: 'ready' });

const end = opts.from + opts.count;
let next = opts.from;
let acked = 0;
let inFlight = 0;
let failed = 0;
let started = 0;
let pumping = false;
let finished = false;

const deadline = Date.now() + opts.maxSeconds * 1000;
let gatewayReceived = 0;
let pacePolling = false;
async function pollPace(): Promise<void> {
  if (!opts.paceMetricsUrl || pacePolling) return;
  pacePolling = true;
  try {
    const text = await (await fetch(opts.paceMetricsUrl, { signal: AbortSignal.timeout(2_000) })).text();
    const m = /^lorawan_edge_uplinks_received_total\{[^}]*\} (\S+)$/m.exec(text);
    if (m) gatewayReceived = Number(m[1]);
  } catch {
    // keep the last value
  } finally {
    pacePolling = false;
  }
  pump();
}
const allowed = (): number => {
  let limit = opts.rate > 0 ? Math.min(end, opts.from + Math.floor(((Date.now() - started) / 1000) * opts.rate)) : end;
  if (opts.paceMetricsUrl) limit = Math.min(limit, opts.from + gatewayReceived + (opts.paceWindow ?? 5_000));
  return limit;
};

function pump(): void {
  if (pumping) return;
  pumping = true;
  try {
    const limit = allowed();
    while (next < limit && inFlight < opts.window) {
      const m = message(next++);
      inFlight++;
      client.publish(m.topic, m.payload, { qos: 1 }, (err) => {
        inFlight--;
        if (err) failed++;
        else acked++;
        if (acked + failed === opts.count) finish();
        else if (opts.rate === 0 && inFlight < opts.window / 2) setImmediate(pump);
      });
    }
  } finally {
    pumping = false;
  }
}

function finish(): void {
  if (finished) return;
  finished = true;
  clearInterval(progress);
  clearInterval(ticker);
  if (pacer) clearInterval(pacer);
  say({ type: 'done', t: Date.now(), sent: next - opts.from, acked, failed });
  void client.endAsync().then(() => process.exit(failed ? 1 : 0));
}

started = Date.now();
say({ type: 'start', t: started });
const progress = setInterval(() => {
  say({ type: 'progress', t: Date.now(), sent: next - opts.from, acked });
  if (Date.now() > deadline) {
    say({ type: 'timeout', t: Date.now(), sent: next - opts.from, acked });
    process.exit(2);
  }
}, 500);
// Fixed rate: top up every 10 ms; as fast as possible: also a safety net for the window refill.
const ticker = setInterval(pump, opts.rate > 0 ? 10 : 50);
const pacer = opts.paceMetricsUrl ? setInterval(() => void pollPace(), 50) : undefined;
pump();
