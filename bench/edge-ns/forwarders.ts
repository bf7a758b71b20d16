/**
 * The virtual packet forwarders of bench/edge-ns: how the frames the radios hear become PUSH_DATA
 * datagrams (`--gateways`, `--rxpk-per-datagram`, `--heard-by`).
 *
 * - `--rxpk-per-datagram 1` (the default, with `--gateways 1 --heard-by 1`: the worst case the
 *   bench has always measured): every frame is its own PUSH_DATA, sent the moment it is due, no
 *   wait for PUSH_ACK, tmst stamped at sending.
 * - `--rxpk-per-datagram N` (2–255): every N frames a gateway heard go out as one PUSH_DATA when
 *   the Nth is heard (what is left at the end of a phase goes out then); no wait for PUSH_ACK. A
 *   knob to see the cost per datagram against the cost per rxpk, not a real forwarder.
 * - `--rxpk-per-datagram auto`: the upstream thread of Semtech's lora_pkt_fwd (sx1302_hal,
 *   packet_forwarder/src/lora_pkt_fwd.c, `thread_up`): a loop that fetches what the concentrator
 *   holds (`lgw_receive(NB_PKT_MAX, …)`, at most NB_PKT_MAX = 255 packets per fetch/send cycle),
 *   sleeps FETCH_SLEEP_MS = 10 ms when the fetch returned nothing, else puts every fetched packet
 *   in one PUSH_DATA, sends it and waits for its PUSH_ACK (two `recv` with `push_timeout_half` =
 *   50 ms each, so at most PUSH_TIMEOUT_MS = 100 ms) before fetching again. So the rxpk per
 *   datagram follow from the frame rate of the gateway and from how fast the server ACKs — the
 *   gateway under test PUSH_ACKs once the datagram is in its inbox journal.
 *
 * In the batched modes a frame's tmst is its gateway's counter when it was heard (its due time),
 * not when its datagram left: as on a concentrator, the frames of one datagram have different
 * tmst. Every forwarder has its own socket (uplinks and downlinks on one port, as the shipped
 * configs have it), its own EUI and counter, and sends PULL_DATA at start and every 5 s (the
 * Semtech default `keepalive_interval`). No `stat` objects (30 s interval, longer than a phase).
 *
 * `--heard-by k`: every frame is heard by k gateways — its home gateway (device index mod
 * `--gateways`) and the k − 1 next ones — each with its own tmst and a weaker RSSI/SNR per copy;
 * the network server's dedup merges them into one record (InfluxDB counts each uplink once, its
 * `gateway_count` is k).
 */
import { createSocket, type Socket } from 'node:dgram';
import { randomInt } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { ConcentratorClock, stampTmst } from './answer-times.ts';
import { buildPullData } from './datagrams.ts';

/** lora_pkt_fwd.c (sx1302_hal): max number of packets per fetch/send cycle */
export const NB_PKT_MAX = 255;
/** lora_pkt_fwd.c: ms waited when a fetch returned no packets */
export const FETCH_SLEEP_MS = 10;
/** lora_pkt_fwd.c: PUSH_TIMEOUT_MS, waited for a PUSH_ACK in two halves */
export const PUSH_TIMEOUT_MS = 100;
/** lora_pkt_fwd.c: DEFAULT_KEEPALIVE, s between PULL_DATA */
export const KEEPALIVE_MS = 5_000;
/** tmst counters of different gateways are this many µs apart (ten digits for up to MAX_GATEWAYS) */
const CLOCK_SPACING_US = 1_000_003;
export const MAX_GATEWAYS = 1000;

export type Batching = { mode: 'auto' } | { mode: 'fixed'; n: number };

export interface ForwarderModel {
  gateways: number;
  batching: Batching;
  heardBy: number;
}

/** The forwarder flags; throws an Error naming the flag on a bad value. */
export function parseForwarderModel(gateways: string, rxpkPerDatagram: string, heardBy: string): ForwarderModel {
  const int = (flag: string, text: string, min: number, max: number): number => {
    const v = Number(text);
    if (!/^\d+$/.test(text) || v < min || v > max) throw new Error(`--${flag}: ${JSON.stringify(text)} is not an integer ${min}..${max}`);
    return v;
  };
  const g = int('gateways', gateways, 1, MAX_GATEWAYS);
  const batching: Batching = rxpkPerDatagram === 'auto' ? { mode: 'auto' } : { mode: 'fixed', n: int('rxpk-per-datagram', rxpkPerDatagram, 1, NB_PKT_MAX) };
  const k = int('heard-by', heardBy, 1, g);
  return { gateways: g, batching, heardBy: k };
}

/** Today's default (one forwarder, one rxpk per datagram, each frame heard once): the worst case. */
export function isWorstCase(m: ForwarderModel): boolean {
  return m.gateways === 1 && m.heardBy === 1 && m.batching.mode === 'fixed' && m.batching.n === 1;
}

export function describeModel(m: ForwarderModel): string {
  const b = m.batching.mode === 'auto' ? `lora_pkt_fwd batching (rxpk per PUSH_DATA as its upstream loop makes them)` : m.batching.n === 1 ? 'one rxpk per PUSH_DATA' : `${m.batching.n} rxpk per PUSH_DATA`;
  return `${m.gateways === 1 ? 'one virtual forwarder' : `${m.gateways} virtual forwarders`} on loopback, ${b}, each frame heard by ${m.heardBy === 1 ? 'one gateway' : `${m.heardBy} gateways`}`;
}

/** Gateway g's EUI; gateway 0 is the EUI the bench always used. */
export function gatewayEuiOf(g: number): string {
  return (0x0016c001f15e0001n + BigInt(g)).toString(16).padStart(16, '0');
}

/** The gateways that hear `device`: its home gateway (device mod gateways), then the next heardBy − 1. */
export function hearingGateways(device: number, gateways: number, heardBy: number): number[] {
  return Array.from({ length: heardBy }, (_, j) => (device + j) % gateways);
}

/**
 * The concentrator fetch: from `cursor`, the frames heard by `nowMs` (queue sorted by dueMs), at
 * most `max`; returns the new cursor.
 */
export function takeDue(queue: readonly { dueMs: number }[], cursor: number, nowMs: number, max: number): number {
  let c = cursor;
  while (c < queue.length && c - cursor < max && (queue[c] as { dueMs: number }).dueMs <= nowMs) c++;
  return c;
}

const RXPK_OPEN = Buffer.from('{"rxpk":[', 'latin1');
const RXPK_CLOSE = Buffer.from(']}', 'latin1');
const COMMA = Buffer.from(',', 'latin1');

/**
 * One PUSH_DATA holding the rxpk of several one-rxpk PUSH_DATAs of the same gateway (their header
 * from the first, `token` set), as lora_pkt_fwd writes them: `{"rxpk":[{…},{…}]}`.
 */
export function batchPushData(token: number, singles: readonly Buffer[]): Buffer {
  const first = singles[0];
  if (!first) throw new Error('batchPushData: no datagram');
  const parts: Buffer[] = [Buffer.from(first.subarray(0, 12)), RXPK_OPEN];
  singles.forEach((s, i) => {
    if (s.length < 12 + RXPK_OPEN.length + RXPK_CLOSE.length || s.compare(RXPK_OPEN, 0, RXPK_OPEN.length, 12, 12 + RXPK_OPEN.length) !== 0 || s.compare(RXPK_CLOSE, 0, 2, s.length - 2) !== 0) throw new Error('batchPushData: not a PUSH_DATA with only rxpk');
    if (i > 0) parts.push(COMMA);
    parts.push(s.subarray(12 + RXPK_OPEN.length, s.length - 2));
  });
  parts.push(RXPK_CLOSE);
  const out = Buffer.concat(parts);
  out[1] = token >> 8;
  out[2] = token & 0xff;
  return out;
}

/** A frame as one gateway heard it: its one-rxpk PUSH_DATA (tmst placeholder at `tmstAt`), when it is heard in the phase. */
export interface HeardCopy {
  bytes: Buffer;
  tmstAt: number;
  /** ms after the phase's start */
  dueMs: number;
  /** an uplink whose answer is timed (ACK or join-accept): its id, the same for every copy */
  answer?: { kind: 'ack' | 'join'; id: number };
}

export interface ForwarderCounts {
  datagrams: number;
  rxpk: number;
  maxRxpk: number;
  maxBytes: number;
  /** PUSH_DATA whose PUSH_ACK did not come within PUSH_TIMEOUT_MS (auto mode only) */
  ackTimeouts: number;
}

const zeroCounts = (): ForwarderCounts => ({ datagrams: 0, rxpk: 0, maxRxpk: 0, maxBytes: 0, ackTimeouts: 0 });

export class VirtualForwarder {
  readonly eui: string;
  readonly clock: ConcentratorClock;
  queue: HeardCopy[] = [];
  cursor = 0;
  counts = zeroCounts();
  private sock: Socket | undefined;
  private ackWait: { token: number; done: (acked: boolean) => void } | undefined;
  private keepalive: NodeJS.Timeout | undefined;

  constructor(
    readonly index: number,
    private readonly serverPort: number,
    private readonly onPullResp: (msg: Buffer, at: number, gateway: number) => void,
  ) {
    this.eui = gatewayEuiOf(index);
    this.clock = new ConcentratorClock(performance.now(), 1_500_000_000 + index * CLOCK_SPACING_US);
  }

  async open(): Promise<void> {
    const sock = createSocket('udp4');
    this.sock = sock;
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    try {
      sock.setSendBufferSize(8 * 1024 * 1024);
    } catch {
      // kernel limit
    }
    sock.on('message', (msg) => {
      if (msg[3] === 0x01) {
        // PUSH_ACK: only the auto mode waits for it; matched by token, as lora_pkt_fwd does.
        const w = this.ackWait;
        if (w && msg.length >= 4 && ((msg[1] as number) << 8 | (msg[2] as number)) === w.token) w.done(true);
        return;
      }
      if (msg[3] === 0x03) this.onPullResp(msg, performance.now(), this.index);
    });
    this.send(buildPullData(this.eui));
    this.keepalive = setInterval(() => this.send(buildPullData(this.eui)), KEEPALIVE_MS);
  }

  send(b: Buffer): void {
    this.sock?.send(b, this.serverPort, '127.0.0.1');
  }

  /** Replaces the queue for a phase (sorted by due time). */
  load(queue: HeardCopy[]): void {
    this.queue = queue.sort((a, b) => a.dueMs - b.dueMs);
    this.cursor = 0;
    this.counts = zeroCounts();
  }

  /** Sends copies as one PUSH_DATA, each tmst stamped with `tmstOf(copy)`; returns the datagram's token. */
  sendBatch(copies: readonly HeardCopy[], tmstOf: (c: HeardCopy) => number, onSent: (c: HeardCopy, tmst: number, at: number, gateway: number) => void): number {
    const tmsts: number[] = [];
    for (const c of copies) {
      const t = tmstOf(c);
      stampTmst(c.bytes, c.tmstAt, t);
      tmsts.push(t);
    }
    const only = copies[0] as HeardCopy;
    // One copy: its pre-built datagram as it is (the worst case stays as cheap to send as it was).
    const token = copies.length === 1 ? ((only.bytes[1] as number) << 8) | (only.bytes[2] as number) : randomInt(0, 0x10000);
    const datagram = copies.length === 1 ? only.bytes : batchPushData(token, copies.map((c) => c.bytes));
    const at = performance.now();
    this.send(datagram);
    const n = this.counts;
    n.datagrams++;
    n.rxpk += copies.length;
    if (copies.length > n.maxRxpk) n.maxRxpk = copies.length;
    if (datagram.length > n.maxBytes) n.maxBytes = datagram.length;
    for (let i = 0; i < copies.length; i++) onSent(copies[i] as HeardCopy, tmsts[i] as number, at, this.index);
    return token;
  }

  /** Resolves true when the PUSH_ACK with `token` arrives, false after `timeoutMs`. */
  pushAck(token: number, timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => finish(false), timeoutMs);
      const finish = (acked: boolean): void => {
        clearTimeout(timer);
        this.ackWait = undefined;
        if (!acked) this.counts.ackTimeouts++;
        resolve(acked);
      };
      this.ackWait = { token, done: finish };
    });
  }

  close(): void {
    if (this.keepalive) clearInterval(this.keepalive);
    this.sock?.close();
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Sends every forwarder's queue as the model says, the phase starting at `started`
 * (performance.now()); resolves when all is sent or `deadline` (performance.now()) passed.
 */
export async function drive(forwarders: readonly VirtualForwarder[], batching: Batching, started: number, deadline: number, onSent: (c: HeardCopy, tmst: number, at: number, gateway: number) => void): Promise<void> {
  const heardAt = (f: VirtualForwarder) => (c: HeardCopy): number => f.clock.at(started + c.dueMs);
  if (batching.mode === 'auto') {
    // lora_pkt_fwd's upstream loop, one per forwarder.
    await Promise.all(
      forwarders.map(async (f) => {
        const tmstOf = heardAt(f);
        while (f.cursor < f.queue.length && performance.now() < deadline) {
          const from = f.cursor;
          f.cursor = takeDue(f.queue, from, performance.now() - started, NB_PKT_MAX);
          if (f.cursor === from) {
            await sleep(FETCH_SLEEP_MS);
            continue;
          }
          const token = f.sendBatch(f.queue.slice(from, f.cursor), tmstOf, onSent);
          await f.pushAck(token, PUSH_TIMEOUT_MS);
        }
      }),
    );
    return;
  }
  // Fixed: paced in 10 ms slices, as the bench always was.
  const n = batching.n;
  const pending: HeardCopy[][] = forwarders.map(() => []);
  const atSend = forwarders.map((f) => (): number => f.clock.now());
  const heard = forwarders.map(heardAt);
  for (;;) {
    const now = performance.now() - started;
    let left = false;
    forwarders.forEach((f, gi) => {
      const to = takeDue(f.queue, f.cursor, now, Infinity);
      const p = pending[gi] as HeardCopy[];
      for (let k = f.cursor; k < to; k++) {
        const c = f.queue[k] as HeardCopy;
        if (n === 1) f.sendBatch([c], atSend[gi] as () => number, onSent);
        else {
          p.push(c);
          if (p.length === n) f.sendBatch(p.splice(0), heard[gi] as (c: HeardCopy) => number, onSent);
        }
      }
      f.cursor = to;
      if (to < f.queue.length) left = true;
    });
    if (!left || performance.now() > deadline) break;
    await sleep(10);
  }
  forwarders.forEach((f, gi) => {
    const p = pending[gi] as HeardCopy[];
    if (p.length) f.sendBatch(p.splice(0), heard[gi] as (c: HeardCopy) => number, onSent);
  });
}
