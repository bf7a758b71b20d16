/**
 * The `semtech_udp` source's intake, in a worker thread (`intake_thread: true`): the UDP socket
 * and everything done per datagram before the network server — the size bound, the protocol
 * checks and JSON decode, the allow-list, PULL_DATA → PULL_ACK and the downlink routes, PUSH_DATA →
 * the inbox journal (udp-inbox.ts: CBOR, segment writes, group-commit fdatasync, N5's resend
 * memory) → PUSH_ACK once durable (N1; at once with `inbox: false`), and the PULL_RESPs the main
 * thread asks for (they must leave from this socket: the forwarder's downlink socket is
 * connected to it).
 *
 * Why: at 10,000 uplinks/s that work was a fifth of the main thread's time (bench/RESULTS.md,
 * session 7), and the machine's second core had room.
 *
 * What the main thread gets, once per turn of this thread (not per datagram; udp-intake-protocol.ts):
 * the entries that became durable, in id order (N2), as one transferred buffer; the rejects
 * (reason, detail, raw datagram), `stat`s, PULL_DATA routes, TX_ACKs, log lines and metric
 * tallies of that turn; the journal's cursor. It answers with the entries done (N3), in batches.
 * Tracking (`UdpInbox.track`) happens here when an entry is handed over, so a `done` — which can
 * only come after the main thread read the entry — always finds it.
 *
 * Start (N4): the journal is opened and the entries after its cursor are handed over flagged as
 * replayed, then `opened`; the socket is bound only when the main thread says `listen`, after
 * it has run the replay through the network server.
 *
 * Loads only the UDP codec and the journal (the durable log): no catalogue, registry, QuickJS,
 * mqtt or prom-client, so the thread costs a few MB.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { decodeUdpPacket, encodeUdpPacket } from '../../lorawan/udp/codec.ts';
import { txAckOutcome } from '../../lorawan/udp/server.ts';
import type { PushData, Rxpk } from '../../lorawan/udp/types.ts';
import { UdpInbox } from './udp-inbox.ts';
import { UDP_REASON } from './udp-reasons.ts';
import { EntryBatchWriter, INTAKE_JOURNALING_BYTES, NO_ENTRY, SizeQueue, type FromIntake, type IntakeTallies, type IntakeTurn, type IntakeWorkerData, type ToIntake } from './udp-intake-protocol.ts';

if (!parentPort) throw new Error('udp-intake-worker.ts runs only as a worker thread');
const port: MessagePort = parentPort;
const config = workerData as IntakeWorkerData;

const allowed = config.gateways.length ? new Set(config.gateways) : undefined;
const writer = new EntryBatchWriter();
const gatewayIndex = new Map<string, number>();
let newGateways: [number, string][] = [];
let gatewaysReset = false;
let turn: Omit<IntakeTurn, 'op' | 'count' | 'cursor' | 'entries' | 'tallies' | 'commitSeconds' | 'gateways'> = {};
let tallies: IntakeTallies = emptyTallies();
let commitSeconds: number[] = [];
let scheduled = false;
let lastCursor = -1;
let socket: Socket | undefined;
let socketOpen = false;
/** journal writes not settled yet (stopSocket waits for them: their entries go out first) */
const inflight = new Set<Promise<unknown>>();
/** entries of all turns the main thread has read (it reports the count) */
let taken = 0;
/**
 * INTAKE_BACKLOG_BYTES: datagram bytes being journaled plus those of the entries handed over and
 * not yet read; `handedSizes` holds the latter's sizes in hand-over order (the main thread reads
 * entries in that order and reports only how many: `taken`).
 */
let backlogBytes = 0;
/** datagram bytes being journaled (their decoded rxpk are on this thread's heap: INTAKE_JOURNALING_BYTES) */
let journalingBytes = 0;
const handedSizes = new SizeQueue();
/** the main thread says it is overloaded (its estimate and heap gate, overload.ts): PUSH_DATA are shed */
let mainOverloaded = false;

function emptyTallies(): IntakeTallies {
  return { datagrams: {}, lastSeen: {}, resends: 0, entries: 0, replayed: 0, overloaded: 0 };
}

const inboxMetrics = {
  entries: { inc: (n = 1) => void (tallies.entries += n) },
  replayed: { inc: (n = 1) => void (tallies.replayed += n) },
  commitSeconds: { observe: (s: number) => void commitSeconds.push(s) },
};

function post(m: FromIntake, transfer: ArrayBuffer[] = []): void {
  port.postMessage(m, transfer);
}

function log(level: 'info' | 'warn' | 'error', obj: Record<string, unknown>, msg: string): void {
  (turn.logs ??= []).push({ level, obj, msg });
  schedule();
}

/**
 * Entries, routes, TX_ACKs and log lines go out at the end of this turn of the event loop, with
 * whatever else happened, in one message.
 */
function schedule(): void {
  if (scheduled) return;
  scheduled = true;
  setImmediate(flushTurn);
}

/**
 * Counts, rejects and the cursor alone wait up to LAZY_MS for a message that goes anyway (an
 * entry's, every group commit): one message per datagram read was a message per turn of both
 * threads' event loops, thousands a second, for a counter.
 */
const LAZY_MS = 20;
let lazy: NodeJS.Timeout | undefined;
function scheduleLazy(): void {
  if (scheduled || lazy) return;
  lazy = setTimeout(flushTurn, LAZY_MS);
}

function flushTurn(): void {
  scheduled = false;
  if (lazy) clearTimeout(lazy);
  lazy = undefined;
  const batch = writer.take();
  const entries = batch?.buffer;
  const count = batch?.count ?? 0;
  const cursor = inbox?.committedCursor ?? 0;
  const t = tallies;
  const hasTallies = t.entries || t.replayed || t.resends || t.overloaded || Object.keys(t.datagrams).length || Object.keys(t.lastSeen).length;
  const m: IntakeTurn = { op: 'turn', count, cursor, ...turn };
  if (entries) m.entries = entries;
  if (newGateways.length) m.gateways = newGateways;
  if (gatewaysReset) m.gatewaysReset = true;
  if (hasTallies) m.tallies = t;
  const cs = commitSeconds.length ? Float64Array.from(commitSeconds) : undefined;
  if (cs) m.commitSeconds = cs;
  if (!entries && !hasTallies && !cs && !newGateways.length && !gatewaysReset && Object.keys(turn).length === 0 && cursor === lastCursor) return;
  lastCursor = cursor;
  turn = {};
  newGateways = [];
  gatewaysReset = false;
  tallies = emptyTallies();
  commitSeconds = [];
  const transfer: ArrayBuffer[] = [];
  if (entries) transfer.push(entries);
  if (cs) transfer.push(cs.buffer as ArrayBuffer);
  post(m, transfer);
}

function indexOf(gateway: string): number {
  let i = gatewayIndex.get(gateway);
  if (i === undefined) {
    // Past the u16 range (a flood of made-up EUIs with no allow-list) the table starts again:
    // what was written with the old one goes out first, and the main thread starts a new one.
    if (gatewayIndex.size >= 0xffff) {
      flushTurn();
      gatewayIndex.clear();
      gatewaysReset = true;
    }
    i = gatewayIndex.size;
    gatewayIndex.set(gateway, i);
    newGateways.push([i, gateway]);
  }
  return i;
}

function reject(reason: string, detail: string, payload?: Uint8Array): void {
  (turn.rejects ??= []).push(payload ? { reason, detail, payload } : { reason, detail });
  scheduleLazy();
}

function send(buf: Uint8Array, toPort: number, address: string): void {
  if (!socket || !socketOpen) return;
  socket.send(buf, toPort, address, (err) => {
    if (err) log('warn', { err: err.message, to: `${address}:${toPort}` }, 'UDP send failed');
  });
}

/** A PUSH_DATA's content (acknowledged or durable already): rejects, `stat`, its good rxpks as an entry. */
function handOver(p: PushData, msg: Buffer, at: number, id: number, replayed: boolean): { rxpks: number } {
  for (const r of p.rejected) reject(r.error.code === 'bad-field' && /\.data$/.test(r.error.field ?? '') ? 'bad_base64' : UDP_REASON[r.error.code], `gateway ${p.gatewayEui}: ${r.error.message}`, msg);
  if (p.stat) (turn.stats ??= []).push({ gateway: p.gatewayEui, stat: p.stat });
  const good: Rxpk[] = [];
  for (const rx of p.rxpk) {
    if (rx.stat === 1) good.push(rx);
    else reject('crc_error', `gateway ${p.gatewayEui}: rxpk stat ${rx.stat} (CRC ${rx.stat === -1 ? 'bad' : 'absent'})`, rx.data);
  }
  // Tracked before the main thread can report any of them done (it reads the entry first).
  if (id !== NO_ENTRY) inbox?.track(id, good.length);
  writer.entry(id, at, replayed, indexOf(p.gatewayEui), good.length);
  handedSizes.push(msg.length);
  backlogBytes += msg.length;
  for (const rx of good) writer.rxpk(rx);
  schedule();
  return { rxpks: good.length };
}

function pushAck(p: PushData, from: RemoteInfo): void {
  send(encodeUdpPacket({ type: 'PUSH_ACK', version: p.version, token: p.token }), from.port, from.address);
}

function onDatagram(msg: Buffer, from: RemoteInfo): void {
  const at = performance.now();
  if (msg.length > config.max_datagram_bytes) return reject('oversized', `${msg.length} bytes > max_datagram_bytes ${config.max_datagram_bytes} from ${from.address}`, msg.subarray(0, 1024));
  const decoded = decodeUdpPacket(msg);
  if (!decoded.ok) return reject(UDP_REASON[decoded.error.code], `${decoded.error.message} (from ${from.address}:${from.port})`, msg);
  const p = decoded.packet;
  tallies.datagrams[p.type] = (tallies.datagrams[p.type] ?? 0) + 1;
  scheduleLazy();
  if ((p.type === 'PUSH_DATA' || p.type === 'PULL_DATA' || p.type === 'TX_ACK') && allowed && !allowed.has(p.gatewayEui)) {
    return reject('unknown_gateway', `gateway ${p.gatewayEui} is not in the gateways allow-list`, msg);
  }
  switch (p.type) {
    case 'PUSH_DATA': {
      tallies.lastSeen[p.gatewayEui] = Math.floor(Date.now() / 1000);
      const journal = inbox;
      if (!journal) {
        if (shed(p, msg)) return;
        pushAck(p, from);
        handOver(p, msg, at, NO_ENTRY, false);
        return;
      }
      // N5: the forwarder sent it again (our PUSH_ACK was late or lost): one entry, ACKed again.
      const first = journal.resent(p.gatewayEui, msg);
      if (first) {
        tallies.resends++;
        first.then(
          () => pushAck(p, from),
          () => undefined,
        );
        return;
      }
      if (shed(p, msg)) return;
      // N1/N2: PUSH_ACK and hand-over once the entry is durable.
      const durable = journal.append(p.gatewayEui, msg);
      if (p.rxpk.some(awaitsAnswer)) journal.flushSoon();
      backlogBytes += msg.length;
      journalingBytes += msg.length;
      const settled = durable.then(
        (id) => {
          backlogBytes -= msg.length; // handOver counts it again until the main thread reads it
          journalingBytes -= msg.length;
          pushAck(p, from);
          handOver(p, msg, at, id, false);
        },
        (err: unknown) => {
          backlogBytes -= msg.length;
          journalingBytes -= msg.length;
          reject('inbox_error', `gateway ${p.gatewayEui}: not journaled, not acknowledged: ${(err as Error).message}`);
          log('error', { err: (err as Error).message, gateway: p.gatewayEui }, 'inbox journal refused a datagram: no PUSH_ACK (a resending forwarder sends it again)');
        },
      );
      inflight.add(settled);
      void settled.finally(() => inflight.delete(settled));
      return;
    }
    case 'PULL_DATA':
      tallies.lastSeen[p.gatewayEui] = Math.floor(Date.now() / 1000);
      (turn.pulls ??= []).push({ gateway: p.gatewayEui, at, route: { address: from.address, port: from.port, version: p.version } });
      schedule();
      send(encodeUdpPacket({ type: 'PULL_ACK', version: p.version, token: p.token }), from.port, from.address);
      return;
    case 'TX_ACK': {
      const o = txAckOutcome(p);
      (turn.txAcks ??= []).push(o.ok ? { gateway: p.gatewayEui, token: p.token } : { gateway: p.gatewayEui, token: p.token, error: o.error });
      schedule();
      return;
    }
    default:
      return reject('unexpected_datagram', `${p.type} is sent by servers, not gateways (from ${from.address}:${from.port})`, msg);
  }
}

/**
 * The main thread's overload shedding (semtech-udp.ts `shed`), here where the PUSH_DATA is
 * journaled and acknowledged: while the main thread reports itself overloaded, or when this
 * datagram would take the backlog past INTAKE_BACKLOG_BYTES (or what is being journaled past
 * INTAKE_JOURNALING_BYTES: a disk that stalls the group commit), it is dropped before its journal
 * entry and PUSH_ACK — every rxpk in it counted as `overloaded` (the main thread logs the warning),
 * not kept in the rejects file. A forwarder that resends un-ACKed datagrams sends it again.
 */
function shed(p: PushData, msg: Buffer): boolean {
  if (!mainOverloaded && backlogBytes + msg.length <= config.backlog_bytes && journalingBytes + msg.length <= INTAKE_JOURNALING_BYTES) return false;
  tallies.overloaded += p.rxpk.length + p.rejected.length;
  tallies.overloadedGateway = p.gatewayEui;
  scheduleLazy();
  return true;
}

/** A confirmed data uplink or a join-request (MHDR): its answer's receive window is running. */
function awaitsAnswer(rx: { stat: number; data: Uint8Array }): boolean {
  const mType = (rx.data[0] ?? 0xff) >> 5;
  return rx.stat === 1 && (mType === 4 || mType === 0);
}

/** N4: the entries after the cursor, handed over flagged as replayed (their wall-clock arrival). */
function handOverReplay(journal: UdpInbox): { entries: number; rxpks: number } {
  const entries = journal.takeReplay();
  let rxpks = 0;
  for (const { id, entry } of entries) {
    const decoded = decodeUdpPacket(entry.datagram);
    if (!decoded.ok || decoded.packet.type !== 'PUSH_DATA') {
      journal.track(id, 0);
      continue;
    }
    // Only the rxpks: the first pass counted this datagram's rejects and `stat` already.
    const p = decoded.packet;
    const good = p.rxpk.filter((rx) => rx.stat === 1);
    journal.track(id, good.length);
    writer.entry(id, entry.receivedAt, true, indexOf(p.gatewayEui), good.length);
      handedSizes.push(entry.datagram.length);
    backlogBytes += entry.datagram.length;
    for (const rx of good) writer.rxpk(rx);
    rxpks += good.length;
    // Bounded messages: a long replay goes out in several.
    if (writer.count >= 5000) flushTurn();
  }
  flushTurn();
  return { entries: entries.length, rxpks };
}

async function listen(seq: number): Promise<void> {
  const s = createSocket({ type: config.family, reuseAddr: false });
  socket = s;
  s.on('message', onDatagram);
  s.on('error', (err) => post({ op: 'socketError', message: err.message }));
  try {
    await new Promise<void>((resolve, rejectBind) => {
      s.once('error', rejectBind);
      s.bind(config.port, config.host, () => {
        s.off('error', rejectBind);
        resolve();
      });
    });
  } catch (err) {
    socket = undefined;
    post(failure(seq, err));
    return;
  }
  socketOpen = true;
  try {
    s.setRecvBufferSize(config.recv_buffer_bytes);
  } catch {
    // not permitted (net.core.rmem_max): the kernel default stays
  }
  const a = s.address();
  post({ op: 'listening', seq, address: a.address, port: a.port });
}

async function stopSocket(): Promise<void> {
  const s = socket;
  socket = undefined;
  socketOpen = false;
  if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  // Journal writes in flight: their entries are handed over before the answer (the main
  // thread's flush at stop then covers them; their PUSH_ACKs no longer leave).
  for (let i = 0; i < 100 && inflight.size; i++) await Promise.allSettled([...inflight]);
  flushTurn();
}

let inbox: UdpInbox | undefined;

function failure(seq: number, err: unknown): FromIntake {
  const system: Record<string, string | number> = {};
  for (const k of ['code', 'syscall', 'address', 'port', 'path', 'errno']) {
    const v = (err as Record<string, unknown>)[k];
    if (typeof v === 'string' || typeof v === 'number') system[k] = v;
  }
  return { op: 'failed', seq, message: (err as Error).message, system };
}

async function open(): Promise<void> {
  // The offset that puts this thread's performance.now() on the main thread's clock: both
  // threads' clocks are performance.now() = hrtime − their own origin.
  const clockOffsetMs = Number(process.hrtime.bigint()) / 1e6 - performance.now();
  if (!config.inbox) {
    post({ op: 'opened', corrupt_records: 0, truncated_bytes: 0, replayDropped: 0, replayEntries: 0, replayRxpks: 0, cursor: 0, clockOffsetMs });
    return;
  }
  inbox = await UdpInbox.open({ dir: config.inbox.dir, fsync_interval_ms: config.inbox.fsync_interval_ms }, inboxMetrics, (err) =>
    log('error', { err: err.message }, 'inbox journal cursor not written (retried; entries after it are processed again at the next start)'),
  );
  // The cursor moves on a timer of the journal's: the main thread hears of it within ~100 ms.
  setInterval(() => {
    if ((inbox?.committedCursor ?? 0) !== lastCursor) scheduleLazy();
  }, 100).unref();
  const st = inbox.stats();
  const replay = handOverReplay(inbox);
  post({ op: 'opened', corrupt_records: st.corrupt_records, truncated_bytes: st.truncated_bytes, replayDropped: inbox.replayDropped, replayEntries: replay.entries, replayRxpks: replay.rxpks, cursor: inbox.committedCursor, clockOffsetMs });
}

port.on('message', (m: ToIntake) => {
  switch (m.op) {
    case 'done':
      if (m.ids) inbox?.done(m.ids);
      for (; taken < m.taken; taken++) backlogBytes -= handedSizes.shift();
      return;
    case 'overload':
      mainOverloaded = m.on;
      return;
    case 'send':
      send(m.datagram, m.port, m.address);
      return;
    case 'listen':
      void listen(m.seq);
      return;
    case 'stopSocket':
      void stopSocket().then(() => post({ op: 'reply', seq: m.seq, cursor: inbox?.committedCursor ?? 0 }));
      return;
    case 'flushCursor':
      void (inbox?.flushCursor() ?? Promise.resolve()).then(
        () => post({ op: 'reply', seq: m.seq, cursor: inbox?.committedCursor ?? 0 }),
        (err: unknown) => post(failure(m.seq, err)),
      );
      return;
    case 'close':
      void (async () => {
        await stopSocket();
        await inbox?.close();
        inbox = undefined;
      })().then(
        () => {
          post({ op: 'reply', seq: m.seq, cursor: lastCursor });
          port.close();
        },
        (err: unknown) => post(failure(m.seq, err)),
      );
      return;
  }
});

open().catch((err: unknown) => post(failure(0, err)));
