/**
 * The edge network server (LoRaWAN 1.0.x, EU868, class A) for the devices in the keys file.
 *
 * One frame's way through, as the Semtech UDP source hands over each received `rxpk`:
 *
 * 1. Dedup (`dedup.ts`): the same PHYPayload from several gateways within the window (default
 *    200 ms) becomes one frame listing every gateway's RSSI/SNR; the same gateway twice is a
 *    duplicate (counted, not listed twice).
 * 2. Join-request: known device (keys file), JoinEUI, MIC, DevNonce never used (persisted) →
 *    new session (DevAddr, JoinNonce, keys) committed durably → join-accept (RX1 delay, RX2 DR,
 *    EU868 CFList) through PULL_RESP at tmst + 5 s, or RX2 (tmst + 6 s, 869.525 MHz) when RX1
 *    cannot be met or the gateway refuses it (TX_ACK error).
 * 3. Data uplink: DevAddr → candidate sessions, the 16→32-bit FCnt per candidate (max gap),
 *    the MIC decides which (shared DevAddrs); replays, bad MICs, too-far counters rejected and
 *    counted; FRMPayload decrypted, FOpts/port-0 MAC commands parsed; the record is decoded
 *    with the catalogue model like a ChirpStack event and batched.
 * 4. Commit: a batch's FCntUps and FCntDowns go to the session store (one durable transaction),
 *    then each frame that needs an answer gets one in RX1 (RX2 fallback), and the records go to
 *    the log: ACK
 *    for a confirmed uplink, LinkCheckAns, DeviceTimeAns, and the device's queued downlink.
 *
 * Every rejection is counted under its reason (`lorawan_edge_ns_rejected_total{reason}`) and,
 * when it carries a payload, kept in the rejects file; nothing here throws on input.
 */
import { hash } from 'node:crypto';
import { SoftAesKey } from '../../lorawan/aes-soft.ts';
import { hex32, readEuiLE } from '../../lorawan/bytes.ts';
import type { UplinkEvent } from '../../lorawan/chirpstack/events.ts';
import { buildDataFrame, decryptDataFrame } from '../../lorawan/data-frame.ts';
import { reconstructFCnt } from '../../lorawan/fcnt.ts';
import { buildJoinAccept, verifyJoinRequestMic } from '../../lorawan/join.ts';
import { deviceTimeFromUnixMs, encodeMacCommands, type MacCommand } from '../../lorawan/mac-commands.ts';
import { parsePhyPayload, type DataFrame, type JoinRequestFrame } from '../../lorawan/phy-payload.ts';
import { EU868 } from '../../lorawan/regions/eu868.ts';
import { dataRateFromDatr, datrOf, rx1DataRate } from '../../lorawan/regions/index.ts';
import { verifyDataMic } from '../../lorawan/mic.ts';
import { deriveSessionKeys } from '../../lorawan/session-keys.ts';
import { parseLoraDatr } from '../../lorawan/udp/radio.ts';
import { downlinkTxpk } from '../../lorawan/udp/server.ts';
import type { Rxpk, Txpk } from '../../lorawan/udp/types.ts';
import { eventToRecord, type DecodeContext } from '../pipeline/decode.ts';
import type { PipelineRecord } from '../pipeline/record.ts';
import type { KeyIndex } from '../registry/keys-file.ts';
import { AdrEngine } from './adr.ts';
import { AdrStore } from './adr-store.ts';
import { BatchLogIds, REFUSED, type AppliedRows } from './batch-log-ids.ts';
import { channelMask, JOIN_CF_LIST_HZ } from './channel-plan.ts';
import { CommandIds } from './command-ids.ts';
import type { DownlinkOutcome } from './command-down.ts';
import { OutcomeOutbox } from './outcome-outbox.ts';
import { ConnectedGateways } from './connected-gateways.ts';
import { DedupWindow, type Reception } from './dedup.ts';
import { answerAsked } from './answer-asked.ts';
import { ExpectedGateways } from './expected-gateways.ts';
import { DEDUP_MAX_OPEN, inFlightBytes, MAX_BATCH_UPLINKS } from './overload.ts';
import { GatewayClocks } from './gateway-clock.ts';
import { planWindow } from './receive-windows.ts';
import { RecentJoinRequests } from './recent-join-requests.ts';
import { RefusedBatches, unplaced, type RefusedBatch, type RetryOutcome } from './refused-batches.ts';
import { SessionKeyTable } from './session-key-table.ts';
import type { NsMetrics } from './metrics.ts';
import type { DownlinkState, Session, SessionStore } from './session-store.ts';

export interface NetworkServerConfig {
  /** source name (records' `src`, metric labels) */
  name: string;
  dedup_window_ms: number;
  max_fcnt_gap: number;
  net_id: number;
  rx1_dr_offset: number;
  rx2_dr: number;
  rx2_frequency_hz: number;
  /** RX1 delay of data downlinks, s (join-accepts use the region's 5 s) */
  rx_delay_s: number;
  tx_power_dbm: number;
  /** ABP devices that restart count from 0: `reject` (LoRaWAN), or accept a new frame 0 */
  abp_fcnt_reset: 'reject' | 'accept_zero';
  confirmed_retries: number;
  application_id: string;
  /**
   * Close a frame's dedup window as soon as every connected gateway has reported it (default
   * on); the window is then only the upper bound (connected-gateways.ts)
   */
  dedup_early_close?: boolean;
  /**
   * Close the window of a frame that needs an answer also once every connected gateway that
   * heard its device's recent frames has reported it (default on; expected-gateways.ts); needs
   * dedup_early_close
   */
  dedup_expected_gateways?: boolean;
  /** a frame that needs an answer closes at most this long after its first copy, ms (unset or ≥ the window: no deadline; dedup.ts) */
  dedup_answer_ms?: number;
  /** the forwarders' keepalive_interval, s: a gateway is connected while its last PULL_DATA is younger than twice this (default 10) */
  gateway_keepalive_s?: number;
  /** ADR engine (adr.ts) for devices that set the ADR bit; default on */
  adr?: boolean;
  /** uplinks of SNR history before a LinkADRReq (ChirpStack: 20) */
  adr_history?: number;
  /** dB kept above the demodulation floor (ChirpStack: 10) */
  adr_installation_margin_db?: number;
  /** frequencies (Hz) of ABP devices' channels 3, 4, … (channel-plan.ts); unset: 0–2 only */
  abp_channels?: readonly number[];
}

export interface NsDeps {
  keys: () => KeyIndex;
  store: SessionStore;
  decode: DecodeContext;
  metrics: NsMetrics;
  /**
   * appends records; resolves when durable; `onRefused` hears at once — before the log's flush
   * can start — the indices the log refused (maybe none); `urgent`: an answer waits for this
   * durability (the log flushes now, not at its interval); `onPlaced`: the log ids as records
   * get them (RecordSink, S6: batch-log-ids.ts)
   */
  append: (records: PipelineRecord[], onRefused?: (indices: number[]) => void, urgent?: boolean, onPlaced?: (first: number, firstId: number, count: number) => void) => Promise<void>;
  /** sends a PULL_RESP to a gateway; returns its token, undefined when the gateway has no route */
  transmit: (gatewayEui: string, txpk: Txpk) => number | undefined;
  reject: (reason: string, detail: string, payload?: Uint8Array) => void;
  logger: { info(o: object, m: string): void; warn(o: object, m: string): void; error(o: object, m: string): void };
  /** monotonic ms (performance.now) */
  monotonic: () => number;
  now: () => number;
  /** The inbox journal (../sources/udp-inbox.ts, `inbox.ts` below), when it is on. */
  inbox?: InboxHooks;
}

/**
 * What the network server tells the inbox journal and asks of it: which journal entries are
 * done (each reception carries its entry id), and what S6 of session-store.ts needs to tell a
 * replayed frame that was stored from one that was lost.
 */
export interface InboxHooks {
  /** one reception of each of these entries is done: rejected, or its effects durable */
  done: (entries: number[]) => void;
  /** the durable log's next record id now */
  nextLogId: () => number;
  /** the durable log's next record id at start: records below it were durable before the crash */
  storedBelowLogId: number;
  /** the journal's persisted cursor (S6 applied rows up to it are pruned) */
  cursor: () => number;
  /** a replayed frame found already processed, or restored (stored now: it had been lost) */
  recovered: (outcome: 'already_processed' | 'restored') => void;
}

/** EU868 extra channels 3..7 of the CFList (the usual 867.1–867.9 MHz plan). */
const CF_LIST_HZ = [...JOIN_CF_LIST_HZ];
/** Demodulation floor per SF (dB), for LinkCheckAns margins. */
const SNR_FLOOR: Record<number, number> = { 7: -7.5, 8: -10, 9: -12.5, 10: -15, 11: -17.5, 12: -20 };
/** A PULL_RESP must reach the forwarder this long before its tmst (42.5 ms + network + margin). */
const TX_LEAD_MS = 100;
/** How long after the replay at start a live copy of a replayed frame is a `duplicate` (a resending forwarder gives up after ~12 s). */
const REPLAY_COPY_HORIZON_MS = 60_000;
/** At most this many replayed frames are remembered for that (the journal replays at most max_replay entries). */
const REPLAY_COPIES_MAX = 65_536;
/** How long accepted frames collect before their counters and records are committed. */
const COMMIT_INTERVAL_MS = 20;
/**
 * Records of log-refused batches held for a retry (refused-batches.ts R4): ~6 full batches, a few
 * MB of heap; more waits in the inbox journal for the next start. Tried again every second.
 */
const REFUSED_MAX_RECORDS = 2048;
const REFUSED_RETRY_MS = 1000;
/**
 * A batch holding a frame that needs an answer (a join-accept, an ACK, a MAC answer, a queued
 * downlink) commits at once instead of waiting out COMMIT_INTERVAL_MS: its receive window is
 * running. At most one such commit per this many ms (≤ 200 fsyncs/s however many answers), so
 * a burst of confirmed uplinks still shares commits.
 */
const ANSWER_COMMIT_GAP_MS = 5;
/**
 * Test hook (test/edge-ns-restart-replay.test.ts): `LORAWAN_EDGE_TEST_CRASH=after-join-commit` kills
 * the process with SIGKILL right after a batch with joins is committed, before its records reach
 * the log — the one instant S6 has to cover for join records. Read once; never set in service.
 */
const CRASH_AFTER_JOIN_COMMIT = process.env['LORAWAN_EDGE_TEST_CRASH'] === 'after-join-commit';

interface PendingTx {
  gatewayEui: string;
  fallback?: Txpk;
  /** monotonic ms by which the fallback must be sent */
  fallbackBy: number;
  queued?: { id: number; confirmed: boolean; attempts: number };
  session?: Session;
  kind: 'join-accept' | 'data';
  sentAt: number;
}

/** An answer built, waiting for its batch's FCntDowns to be durable before it leaves. */
interface PreparedAnswer {
  a: Answer;
  phy: Buffer;
  queued?: { id: number; confirmed: boolean; attempts: number };
}

/** An accepted uplink waiting for its batch to be committed before it is answered. */
interface Answer {
  session: Session;
  /**
   * What the answer reads of the frame (the confirmed bit and FCtrl), not the parsed frame: its
   * buffers and views would live until the batch's commit, long enough to be promoted.
   */
  frame: Pick<DataFrame, 'confirmed' | 'fCtrl'>;
  receptions: Reception[];
  fCnt32: number;
  macAnswers: MacCommand[];
  /** monotonic ms when the uplink was heard (its tmst on our clock): the receive windows count from here */
  heardAt: number;
}

interface Batch {
  sessions: Set<Session>;
  records: PipelineRecord[];
  answers: Answer[];
  /** inbox journal entries of the frames in this batch (one per reception) */
  entries: number[];
  /** S6 rows: records[index] is the uplink devEui/fCnt from journal entry `entry` */
  applied: { devEui: string; fCnt: number; index: number; entry: number }[];
  /** joins committed with the batch (S1): the new session, its DevNonce, the session it replaced */
  joins: BatchJoin[];
  /** `devEui/devNonce` of `joins`: a nonce is used once it is in a batch, before it is durable (S3) */
  joinNonces: Set<string>;
  /** monotonic ms when the batch opened, and when its first frame needing an answer entered it */
  openedAt: number;
  answerAt: number | undefined;
  /** the pending commit: COMMIT_INTERVAL_MS after opening, sooner once an answer waits (`hurry`) */
  timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
}

interface BatchJoin {
  session: Session;
  devNonce: number;
  previous: Session | undefined;
  /** the journal entry of its join-request (its S6 row's) */
  entry: number;
  /** hands its join-accept (built before the commit) to the gateway: false when no window or route is left */
  accept: () => boolean;
}

/** ChirpStack-style deduplication id (UUID form), the same for the same frame of a session. */
export function uplinkId(devEui: string, seq: number, fCnt32: number): string {
  // One-shot hash (no Hash object per uplink); the same digest as createHash('sha1').
  const h = hash('sha1', `${devEui}/${seq}/${fCnt32}`, 'hex');
  // Written into one scratch buffer and read out as one flat string: the id lives in the record
  // until the sinks have it (old space), where a template of slices was a rope of ~10 strings.
  const u = UUID_SCRATCH;
  for (let i = 0; i < 8; i++) u[i] = h.charCodeAt(i);
  for (let i = 8; i < 12; i++) u[i + 1] = h.charCodeAt(i);
  for (let i = 13; i < 16; i++) u[i + 2] = h.charCodeAt(i);
  const variant = ((hexValue(h.charCodeAt(16)) * 16 + hexValue(h.charCodeAt(17))) & 0x3f) | 0x80;
  u[19] = HEX_CODES[variant >> 4] as number;
  u[20] = HEX_CODES[variant & 15] as number;
  u[21] = h.charCodeAt(18);
  u[22] = h.charCodeAt(19);
  for (let i = 20; i < 32; i++) u[i + 4] = h.charCodeAt(i);
  return u.toString('latin1', 0, 36);
}

/** `xxxxxxxx-xxxx-5xxx-vxxx-xxxxxxxxxxxx`: the dashes and the version digit never change. */
const UUID_SCRATCH = Buffer.from('00000000-0000-5000-0000-000000000000', 'latin1');

/** The value of a lowercase hex digit's char code. */
function hexValue(c: number): number {
  return c <= 57 ? c - 48 : c - 87;
}

export class NetworkServer {
  readonly sessions = new Map<string, Session>();
  private readonly byAddr = new Map<number, Session[]>();
  private readonly dedup: DedupWindow;
  private readonly pendingTx = new Map<number, PendingTx>();
  private batch: Batch | undefined;
  /** whether the frame being processed went into the batch (its journal entries are done with the batch) */
  private claimed = false;
  /** devEui/fCnt of replayed frames stored or restored in this life (S6: never twice) */
  private readonly replayDone = new Set<string>();
  /**
   * PHYPayloads (base64) the inbox replay handled at start → until when (monotonic ms) a live
   * copy of one is a `duplicate`: another gateway's copy (or a resend) of a frame that is done,
   * which the dedup window of before the restart would have merged. Without it such a copy was
   * judged as a new arrival — `devnonce_reuse` for a join-request, `late_copy` or `replay` for a
   * data frame — faults that never happened. Confirmed uplinks are left out: their
   * retransmission must be ACKed again. Bounded (`REPLAY_COPIES_MAX`), emptied as they expire.
   */
  private readonly replayedFrames = new Map<string, number>();
  /** join-requests the inbox replay handed over, by DevEUI: their journal entries and DevNonces (replayedJoin: a later committed join) */
  private readonly replayedJoins = new Map<string, { entry: number; devNonce: number }[]>();
  /** join-requests accepted in the last minute: another gateway's late copy is a `late_copy`, not a `devnonce_reuse` */
  private readonly recentJoins = new RecentJoinRequests();
  private nextJoinNonce: number;
  private nextNwkAddr: number;
  private closed = false;
  /** receptions in dedup windows, and records of committed batches not yet durable (overload.ts) */
  private inDedup = 0;
  private awaitingLog = 0;
  /** batches the log refused, appended again once it has room (refused-batches.ts; inbox journal only) */
  private readonly refused = new RefusedBatches({
    maxRecords: REFUSED_MAX_RECORDS,
    retryMs: REFUSED_RETRY_MS,
    attempt: (r) => this.retryRefused(r),
    stored: (r) => {
      this.deps.metrics.logRetries.inc({ outcome: 'stored' }, r.records.length);
      this.deps.logger.info({ records: r.records.length }, 'refused batch stored on retry: the log had room again');
      this.deps.inbox?.done(r.entries);
    },
    refusedAgain: (r, err) => this.deps.logger.warn({ err: err.message, records: r.records.length }, 'refused batch refused again by the durable log: tried again later'),
  });
  /** monotonic ms when the last batch commit started (ANSWER_COMMIT_GAP_MS counts from it) */
  private lastCommitAt = -Infinity;
  /**
   * Devices with a queued downlink, refreshed from the store every second (and after each
   * change made here): a query per uplink cost ~0.3 ms on a busy Pi-class machine.
   */
  private pending = new Set<string>();
  private readonly pendingPoll: NodeJS.Timeout;
  /**
   * gateways that reported each session's last accepted frame (memory only), their EUIs joined
   * by spaces: one string per session instead of a Set (10,000 Sets were ~1.5 MB of heap that
   * every mark-compact walked, for a check made only on late copies)
   */
  private readonly lastGateways = new WeakMap<Session, string>();
  /** when this life began (monotonic ms, wall-clock ms): a copy of a session's last frame heard before it is a `duplicate` (heardBeforeStart) */
  private readonly startedAt: number;
  private readonly startedAtWall: number;
  /**
   * MIC of the session's frame 0: with abp_fcnt_reset: accept_zero, a replay of that frame
   * must not pass for a restart (memory only: after a gateway restart one replayed frame 0
   * could — documented in README.md).
   */
  private readonly zeroMic = new WeakMap<Session, string>();
  /** per-device ADR history and settings (adr.ts), kept in the store (adr-store.ts) */
  readonly adr: AdrEngine;
  private readonly adrStore: AdrStore;
  /**
   * Told that an outcome is waiting in the outbox (the MQTT sink publishes it as a ChirpStack
   * event). Outcomes are written to the outbox only while this is set (outcome-outbox.ts O4).
   */
  onDownlinkOutcome: ((o: DownlinkOutcome) => void) | undefined;
  /** outcomes of queued downlinks, durable until published (outcome-outbox.ts) */
  readonly outbox: OutcomeOutbox;
  /** MQTT command ids of queue rows (command-ids.ts) */
  readonly commandIds: CommandIds;
  /** FCntDown each queued downlink was last sent with (for its outcome event), bounded */
  private readonly sentFCnt = new Map<number, number>();
  /** every session's prepared AES keys in one typed array (session-key-table.ts says why) */
  private readonly keyTable = new SessionKeyTable();
  /** per-gateway tmst → monotonic clock (when an uplink was heard, whatever it queued for) */
  readonly clocks = new GatewayClocks();
  /** gateways with a recent PULL_DATA: a frame all of them reported needs no more dedup wait */
  private readonly connected: ConnectedGateways;
  /** per device the gateways that hear it: a frame all of them reported needs no more dedup wait either */
  private readonly expected: ExpectedGateways;

  constructor(
    readonly config: NetworkServerConfig,
    private readonly deps: NsDeps,
  ) {
    this.startedAt = deps.monotonic();
    this.startedAtWall = deps.now();
    this.adr = new AdrEngine({ historyLength: config.adr_history ?? 20, installationMarginDb: config.adr_installation_margin_db ?? 10 });
    this.dedup = new DedupWindow(
      config.dedup_window_ms,
      (frame) => {
        this.deps.metrics.dedupWait.observe(frame.waitedMs / 1000);
        this.deps.metrics.dedupClosed.inc({ how: frame.closed });
        this.inDedup -= frame.receptions.length;
        this.process(frame.data, frame.receptions);
        // overload.ts: a full batch commits now (only the moment moves, as with hurry()).
        const b = this.batch;
        if (b && b.records.length >= MAX_BATCH_UPLINKS) {
          clearBatchTimer(b);
          this.commit(b);
        }
      },
      (r) => {
        this.inDedup--;
        deps.metrics.rejected.inc({ reason: 'duplicate' });
        this.release([r]);
      },
      DEDUP_MAX_OPEN,
    );
    this.connected = new ConnectedGateways(2 * 1000 * (config.gateway_keepalive_s ?? 10));
    this.expected = new ExpectedGateways(this.connected);
    if (config.dedup_early_close !== false) {
      // The expected gateways close only frames that need an answer: any other frame waits for
      // every copy (or every connected gateway), so its record lists every gateway that heard it
      // — in the simulator's fault run (test/edge-ns-udp.test.ts) a gateway absent from a device's
      // recent frames made such frames lose that gateway (`late_copy`) — and the full
      // windows are what the sets learn from exactly.
      this.dedup.isComplete = (receptions, device, answer) => {
        const now = this.deps.monotonic();
        return (answer && device !== undefined && this.expected.covers(device, receptions, now)) || this.connected.allReported(receptions, now);
      };
      if (config.dedup_expected_gateways !== false) {
        this.dedup.deviceOf = (data) => this.deviceOfFrame(data);
        this.dedup.onClosed = (device, receptions) => this.expected.learn(device, receptions);
      }
    }
    // Frames that need an answer close at their deadline at the latest (dedup.ts): a join-request
    // always (its record lists no gateway; a late copy costs at most the better downlink
    // gateway), a data frame only once its device's gateways are known — the first frame of a
    // device waits for every copy (its record lists every gateway; once per device and start).
    this.dedup.answerMs = config.dedup_answer_ms ?? Infinity;
    const expectedOn = config.dedup_early_close !== false && config.dedup_expected_gateways !== false;
    this.dedup.needsAnswer = (data, device) => {
      if (isJoinRequest(data)) return true;
      if (expectedOn && (device === undefined || !this.expected.knows(device))) return false;
      return answerAsked(data) || this.queuedFor(data);
    };
    // A copy from another gateway after an early close: counted, kept in the rejects file, and
    // its gateway expected for the device's next frames — not judged as a frame again (a late
    // copy of a confirmed uplink was ACKed a second time).
    this.dedup.onLateCopy = (device, r, data) => {
      this.inDedup--;
      if (device !== undefined) this.expected.lateCopy(device, r.gatewayEui);
      // A copy of a frame the inbox replay handled is a `duplicate`, as in process().
      if (this.copyOfReplayed(data, [r])) this.deps.metrics.rejected.inc({ reason: 'duplicate' });
      else this.reject('late_copy', `a copy from gateway ${r.gatewayEui} after the frame's dedup window closed early`, data);
      this.release([r]);
    };
    // A device's frames keep their order through early closes: data uplinks by DevAddr, a
    // join-request under the DevAddr of the device's current session (its last data frames
    // must not be judged after the session they belong to was replaced).
    this.dedup.sequenceKey = (data) => devAddrOfUplink(data) ?? this.sessionAddrOfJoin(data);
    const known = deps.keys();
    this.keyTable.reserve(known.otaa.size + known.abp.size);
    for (const s of deps.store.loadSessions()) this.index(s);
    this.outbox = new OutcomeOutbox(deps.store.db);
    this.commandIds = new CommandIds(deps.store.db);
    this.adrStore = new AdrStore(deps.store.db);
    for (const [devEui, d] of this.adrStore.load((e) => this.sessions.get(e)?.seq)) this.adr.restore(devEui, d);
    this.nextJoinNonce = deps.store.metaValue('next_join_nonce', 1);
    this.nextNwkAddr = deps.store.metaValue('next_nwk_addr', 1);
    this.syncAbp();
    this.pending = deps.store.devicesWithPending();
    this.pendingPoll = setInterval(() => {
      try {
        this.pending = this.deps.store.devicesWithPending();
      } catch (err) {
        this.deps.logger.warn({ err: (err as Error).message }, 'downlink queue poll failed');
      }
    }, 1000);
    this.pendingPoll.unref();
  }

  /** ABP sessions follow the keys file: new devices get a session, changed keys a fresh one. */
  syncAbp(): void {
    const changed: Session[] = [];
    for (const k of this.deps.keys().abp.values()) {
      const devAddr = parseInt(k.devAddr, 16) >>> 0;
      const cur = this.sessions.get(k.devEui);
      if (cur && cur.activation === 'ABP' && cur.devAddr === devAddr && cur.nwkSKey.toString('hex') === k.nwkSKey && cur.appSKey.toString('hex') === k.appSKey) continue;
      const s = this.newSession(k.devEui, 'ABP', devAddr, Buffer.from(k.nwkSKey, 'hex'), Buffer.from(k.appSKey, 'hex'), (cur?.seq ?? 0) + 1);
      changed.push(s);
      this.index(s);
      this.adr.forget(k.devEui);
    }
    // One transaction (one fsync) for all of them: 10,000 single commits took ~30 s.
    if (changed.length) this.deps.store.putSessions(changed);
    this.deps.metrics.sessions.set(this.sessions.size);
  }

  private newSession(devEui: string, activation: 'OTAA' | 'ABP', devAddr: number, nwkSKey: Buffer, appSKey: Buffer, seq: number): Session {
    return {
      devEui,
      activation,
      devAddr,
      nwkSKey,
      appSKey,
      fCntUpNext: 0,
      fCntDownNext: 0,
      seq,
      rx1DrOffset: this.config.rx1_dr_offset,
      rx2Dr: this.config.rx2_dr,
      rxDelay: this.config.rx_delay_s,
      dr: 0,
      adr: false,
      lastMic: '',
      awaitingAck: 0,
    };
  }

  private index(s: Session): void {
    const old = this.sessions.get(s.devEui);
    if (old) this.unindexAddr(old);
    this.sessions.set(s.devEui, s);
    this.keyTable.put(s);
    const list = this.byAddr.get(s.devAddr) ?? [];
    list.push(s);
    this.byAddr.set(s.devAddr, list);
  }

  /** Takes `s` out of the DevAddr index (it stays in `sessions` until replaced or deleted). */
  private unindexAddr(s: Session): void {
    const list = this.byAddr.get(s.devAddr)?.filter((x) => x !== s) ?? [];
    if (list.length) this.byAddr.set(s.devAddr, list);
    else this.byAddr.delete(s.devAddr);
  }

  /** Queues a downlink (an MQTT command): durable at once, sent with the device's next uplink. */
  enqueue(devEui: string, fPort: number, data: Uint8Array, confirmed: boolean): number {
    const id = this.deps.store.enqueue(devEui, fPort, data, confirmed);
    this.pending.add(devEui);
    return id;
  }

  /**
   * Queues an MQTT command durably (with its id, command-ids.ts) unless the same command was
   * queued before (a redelivery after a crash before its PUBACK): then its earlier queue id.
   */
  enqueueCommand(c: { devEui: string; fPort: number; data: Uint8Array; confirmed: boolean; id?: string }, digest: string, redelivery: boolean): { id: number; duplicate: boolean } {
    const r = this.deps.store.db.transaction(() => {
      const earlier = this.commandIds.earlier(c.devEui, c.id, digest, redelivery);
      if (earlier !== undefined) return { id: earlier, duplicate: true };
      const id = this.deps.store.enqueue(c.devEui, c.fPort, c.data, c.confirmed);
      this.commandIds.remember(id, c.devEui, c.id, digest);
      return { id, duplicate: false };
    })();
    if (!r.duplicate) this.pending.add(c.devEui);
    return r;
  }

  /** An outcome that changes no queue row (a command the codec could not encode), durable. */
  recordOutcome(o: DownlinkOutcome, queueItemId: string): void {
    this.settle(o, undefined, queueItemId);
  }

  /**
   * A queue row's state change and its outcome in one transaction (outcome-outbox.ts O1); then
   * the listener is told.
   */
  private settle(o: DownlinkOutcome | undefined, change?: { id: number; state: DownlinkState; attempts: number; text: string }, queueItemId?: string): void {
    const store = this.deps.store;
    const withOutcome = o !== undefined && this.onDownlinkOutcome !== undefined;
    if (change && !withOutcome) store.setDownlinkState(change.id, change.state, change.attempts, change.text);
    else if (withOutcome)
      store.db.transaction(() => {
        if (change) store.setDownlinkState(change.id, change.state, change.attempts, change.text);
        this.outbox.add(o, queueItemId ?? this.commandIds.idOf(o.queueId) ?? String(o.queueId), this.deps.now());
      })();
    if (o) this.outcome(o);
  }

  private outcome(o: DownlinkOutcome): void {
    try {
      this.onDownlinkOutcome?.(o);
    } catch (err) {
      this.deps.logger.warn({ err: (err as Error).message }, 'downlink outcome listener failed');
    }
  }

  /** Whether a downlink is known to wait for the device (the queue is polled every second). */
  hasQueued(devEui: string): boolean {
    return this.pending.has(devEui);
  }

  /**
   * A received rxpk (CRC checked by the caller) from a gateway; `entry` is its inbox journal
   * entry, `replayed` when it comes from the journal at start (N4 of udp-inbox.ts).
   */
  receive(gatewayEui: string, rxpk: Rxpk, receivedAt: number, entry?: number, replayed = false): void {
    if (this.closed) return;
    // A datagram replayed from the journal at start is as old as the crash: it says nothing
    // about the gateway's clock now; its windows count from its first arrival (`receivedAt`,
    // from the journal's wall-clock time), so they are mostly gone and counted as too late.
    // One object of one shape per reception (no spread temporaries: thousands per second).
    this.inDedup++;
    if (replayed) {
      this.noteReplayedJoin(rxpk.data, entry);
      return this.dedup.add(rxpk.data, { gatewayEui, rxpk, receivedAt, entry, replayed, heardAt: undefined });
    }
    const { heardAt, ageMs } = this.clocks.observe(gatewayEui, rxpk.tmst, receivedAt);
    this.deps.metrics.receiveDelay.observe(ageMs / 1000);
    this.dedup.add(rxpk.data, { gatewayEui, rxpk, receivedAt, entry, replayed: false, heardAt });
  }

  /** Heap held by read-but-unfinished work (overload.ts): the source sheds past IN_FLIGHT_BUDGET_BYTES. */
  get inFlightBytes(): number {
    return inFlightBytes(this.inDedup, (this.batch?.records.length ?? 0) + this.awaitingLog + this.refused.records);
  }

  /** Tells the inbox journal that these receptions are done. */
  private release(receptions: readonly Reception[]): void {
    if (!this.deps.inbox) return;
    const ids: number[] = [];
    for (const r of receptions) if (r.entry !== undefined) ids.push(r.entry);
    if (ids.length) this.deps.inbox.done(ids);
  }

  /** The frame's receptions are done with batch `b` (not when `process` returns). */
  private claim(b: Batch, receptions: readonly Reception[]): void {
    this.claimed = true;
    for (const r of receptions) if (r.entry !== undefined) b.entries.push(r.entry);
  }

  private static entryOf(receptions: readonly Reception[]): number {
    let e = 0;
    for (const r of receptions) if (r.entry !== undefined && r.entry > e) e = r.entry;
    return e;
  }

  /**
   * A frame replayed from the inbox journal whose counter the store already has (N4, S6): it was
   * processed before the crash — skipped — unless its batch's records never became durable,
   * then its record is built again (the counters stay as they are) and stored.
   */
  private replayedCommitted(f: DataFrame, receptions: Reception[], s: Session, fCnt32: number): void {
    const key = `${s.devEui}/${fCnt32}`;
    const logId = this.deps.store.appliedLogId(s.devEui, fCnt32);
    if (this.replayDone.has(key) || logId === undefined || logId < (this.deps.inbox?.storedBelowLogId ?? Infinity) || f.fPort === null || f.fPort === 0) {
      this.deps.inbox?.recovered('already_processed');
      return;
    }
    this.replayDone.add(key);
    // The caller verified the MIC with this session's NwkSKey and this counter.
    const opened = decryptDataFrame(f, this.keyTable.keys(s), fCnt32);
    const b = this.currentBatch();
    this.claim(b, receptions);
    b.applied.push({ devEui: s.devEui, fCnt: fCnt32, index: b.records.length, entry: NetworkServer.entryOf(receptions) });
    b.records.push(eventToRecord(this.uplinkEvent(s, f, receptions, fCnt32, opened.payload, this.bestReception(receptions).rxpk), this.config.name, this.deps.decode).record);
    this.deps.metrics.uplinks.inc();
    this.deps.inbox?.recovered('restored');
  }

  /**
   * Remembers a frame the inbox replay hands over (`replayedFrames`), and tells whether a live
   * frame is a copy of one.
   */
  private copyOfReplayed(data: Uint8Array, receptions: readonly Reception[]): boolean {
    // A confirmed data uplink (MType 100) goes its normal way: a copy is ACKed again.
    if (((data[0] ?? 0) & 0xe0) === 0x80) return false;
    const replayed = receptions.some((r) => r.replayed);
    if (!replayed && this.replayedFrames.size === 0) return false;
    const key = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64');
    const now = this.deps.monotonic();
    if (replayed) {
      this.replayedFrames.delete(key);
      if (this.replayedFrames.size >= REPLAY_COPIES_MAX) this.replayedFrames.delete(this.replayedFrames.keys().next().value as string);
      this.replayedFrames.set(key, now + REPLAY_COPY_HORIZON_MS);
      return false;
    }
    for (const [k, until] of this.replayedFrames) {
      if (until > now) break;
      this.replayedFrames.delete(k);
    }
    const until = this.replayedFrames.get(key);
    return until !== undefined && until > now;
  }

  /** The DevAddr of the current session of a join-request's DevEUI (MHDR 0x00, 23 bytes), if any. */
  private sessionAddrOfJoin(data: Uint8Array): number | undefined {
    if (data.length !== 23 || (data[0] ?? 0xff) >> 5 !== 0) return undefined;
    return this.sessions.get(readEuiLE(data, 9))?.devAddr;
  }

  /**
   * The device a frame comes from, for the expected gateways (expected-gateways.ts): a data
   * uplink's session when its DevAddr is not shared (with shared DevAddrs the frame could be
   * any of theirs: none), a join-request's DevEUI when it is in the keys file.
   */
  private deviceOfFrame(data: Uint8Array): string | undefined {
    const addr = devAddrOfUplink(data);
    if (addr !== undefined) {
      const list = this.byAddr.get(addr);
      return list?.length === 1 ? (list[0] as Session).devEui : undefined;
    }
    if (!isJoinRequest(data)) return undefined;
    const devEui = readEuiLE(data, 9);
    return this.deps.keys().otaa.has(devEui) ? devEui : undefined;
  }

  /** Whether a data uplink's device (any session of its DevAddr) has a queued downlink. */
  private queuedFor(data: Uint8Array): boolean {
    if (this.pending.size === 0) return false;
    const addr = devAddrOfUplink(data);
    if (addr === undefined) return false;
    for (const s of this.byAddr.get(addr) ?? []) if (this.pending.has(s.devEui)) return true;
    return false;
  }

  /** A PULL_DATA from a gateway: it is connected (its copies are waited for in dedup windows). */
  gatewayPulled(gatewayEui: string, at: number): void {
    this.connected.pulled(gatewayEui, at);
  }

  private reject(reason: string, detail: string, payload?: Uint8Array): void {
    this.deps.metrics.rejected.inc({ reason });
    this.deps.reject(reason, detail, payload);
  }

  private process(data: Uint8Array, receptions: Reception[]): void {
    this.claimed = false;
    if (this.copyOfReplayed(data, receptions)) {
      this.deps.metrics.rejected.inc({ reason: 'duplicate' }, receptions.length);
      return this.release(receptions);
    }
    try {
      const parsed = parsePhyPayload(data);
      if (!parsed.ok) return this.reject('bad_frame', `${parsed.error.code}: ${parsed.error.message}`, data);
      const f = parsed.frame;
      if (f.kind === 'join-request') return this.join(f, receptions);
      if (f.kind === 'data' && f.direction === 'up') return this.uplink(f, receptions);
      return this.reject('unexpected_mtype', `${f.mType} is not an uplink a network server takes`, data);
    } catch (err) {
      this.reject('internal_error', (err as Error).message, data);
      this.deps.logger.error({ err: (err as Error).message }, 'frame could not be processed; kept in the rejects file');
    } finally {
      if (!this.claimed) this.release(receptions);
    }
  }

  // ── joins ────────────────────────────────────────────────────────────────────────────────

  private join(f: JoinRequestFrame, receptions: Reception[]): void {
    const keys = this.deps.keys().otaa.get(f.devEui);
    if (!keys) return this.reject('unknown_device', `join-request of DevEUI ${f.devEui}, which has no OTAA keys`, f.phyPayload);
    if (keys.joinEui !== f.joinEui) return this.reject('join_eui_mismatch', `DevEUI ${f.devEui} sent JoinEUI ${f.joinEui}, the keys file has ${keys.joinEui}`, f.phyPayload);
    // Plain-JS AES for the join's CMACs and key derivation: a raw Buffer got a node:crypto key
    // (three cipher objects) per join-request (bench/RESULTS.md, session 8, ns-aes).
    const appKey = new SoftAesKey(Buffer.from(keys.appKey, 'hex'));
    if (!verifyJoinRequestMic(f, appKey)) return this.reject('bad_mic', `join-request MIC of DevEUI ${f.devEui} does not verify`, f.phyPayload);
    if (this.deps.store.hasDevNonce(f.devEui, f.devNonce) || this.batch?.joinNonces.has(`${f.devEui}/${f.devNonce}`)) {
      // Replayed from the inbox journal: this join was committed before the crash (N4) — its
      // record may not have reached the log (S6).
      if (receptions.some((r) => r.replayed)) return this.replayedJoin(f, receptions);
      // Another gateway's copy of the join-request accepted here, after its dedup window.
      if (this.recentJoins.isLateCopy(f.phyPayload, receptions.map((r) => r.gatewayEui), this.deps.monotonic())) {
        this.dedup.forget(f.phyPayload); // the next copy is judged here again (dedup.ts forget)
        return this.reject('late_copy', `DevEUI ${f.devEui} DevNonce ${f.devNonce}: a copy of the accepted join-request from another gateway, after the dedup window`, f.phyPayload);
      }
      return this.reject('devnonce_reuse', `DevEUI ${f.devEui} used DevNonce ${f.devNonce} before`, f.phyPayload);
    }
    const best = this.bestReception(receptions);
    if (this.joinTooLate(f, best)) return;
    this.recentJoins.accept(f.phyPayload, receptions.map((r) => r.gatewayEui), this.deps.monotonic());
    const previous = this.sessions.get(f.devEui);
    const joinNonce = this.nextJoinNonce & 0xffffff;
    const devAddr = this.allocateDevAddr();
    const sk = deriveSessionKeys(appKey, { joinNonce, netId: this.config.net_id, devNonce: f.devNonce });
    const s = this.newSession(f.devEui, 'OTAA', devAddr, Buffer.from(sk.nwkSKey), Buffer.from(sk.appSKey), (previous?.seq ?? 0) + 1);
    s.dr = dataRateFromDatr(EU868, best.rxpk.datr) ?? 0;
    this.nextJoinNonce = (this.nextJoinNonce + 1) & 0xffffff || 1;
    // S1: the session, the DevNonce and the allocators are committed with the batch (one
    // transaction, one fsync, for every join and uplink of the batch); in memory the session
    // is in use at once, as uplink counters are.
    const b = this.currentBatch();
    this.claim(b, receptions);
    // Built and encrypted now, not at the commit: once the session is durable only sending is left.
    const accept = buildJoinAccept(
      { joinNonce, netId: this.config.net_id, devAddr, rx1DrOffset: s.rx1DrOffset, rx2DataRate: s.rx2Dr, rxDelay: s.rxDelay, cfList: { type: 'frequencies', frequenciesHz: CF_LIST_HZ } },
      appKey,
    );
    const join: BatchJoin = { session: s, devNonce: f.devNonce, previous, entry: NetworkServer.entryOf(receptions), accept: () => this.schedule(best, accept, EU868.joinAcceptDelay1Ms, s.rx1DrOffset, s.rx2Dr, 'join-accept', s) };
    b.joins.push(join);
    b.joinNonces.add(`${f.devEui}/${f.devNonce}`);
    this.hurry(b);
    this.index(s);
    this.adr.forget(f.devEui);
    this.deps.metrics.sessions.set(this.sessions.size);
    this.deps.metrics.joins.inc();
    const time = rxTime(best.rxpk, this.deps.now());
    // S6 for joins: the log id of the join record rides in the batch's transaction, so a replay
    // after a kill between that commit and the log's fsync stores the record (replayedJoin).
    if (this.deps.inbox) b.applied.push({ devEui: f.devEui, fCnt: joinAppliedKey(f.devNonce), index: b.records.length, entry: join.entry });
    b.records.push(this.joinRecord(s, time));
    // The join-accept leaves once the batch is committed (the session, DevNonce and allocators
    // durable, S1) — with the inbox journal at once, like an ACK: a kill -9 before the join
    // record's fsync is followed by the replay storing the record (S6, replayedJoin); without
    // the journal once the join record is in the log too. Its windows may have run out by then
    // (a slow commit, a full log without the journal), or the gateway has no route: no accept
    // leaves and the join is taken back (abandonJoin). See commit().
  }

  /**
   * A committed join whose join-accept never left — its windows ran out during its own commit
   * and the log's fsync (a slow SD card, a full log with `when_full: block`), the gateway had no
   * downlink route, or the log refused the batch — is taken back: the device never heard an
   * accept, so it keeps the session it had (LoRaWAN 1.0.x stacks that rejoin with a session keep
   * using it until an accept comes) and joins again; leaving the new session in place would
   * reject every frame of the old one until then. The session it replaced is put back, durably,
   * with the new session's `seq` (so the next join's records get ids no other record has), and
   * the join's S6 row is marked as not to be restored (a restart replaying the join-request
   * skips it). The DevNonce stays used (S3) and the allocators stay where they are (S4): both
   * harmless for a device that sends a new nonce. Not taken back: a first join (no session to
   * put back), a join whose session was replaced again or has carried an uplink, and the join
   * record when it is already in the log (the sinks keep it). Counted by its cause
   * (`too_late`, `no_downlink_route`, `log_error`) and logged.
   */
  private abandonJoin(j: BatchJoin): void {
    const cur = this.sessions.get(j.session.devEui);
    const prev = j.previous;
    if (cur !== j.session || !prev || cur.fCntUpNext !== 0 || this.closed) return;
    prev.seq = Math.max(prev.seq, cur.seq);
    try {
      this.deps.store.db.transaction(() => {
        this.deps.store.putSession(prev);
        if (this.deps.inbox) this.deps.store.fixApplied([{ devEui: prev.devEui, fCnt: joinAppliedKey(j.devNonce), logId: REFUSED, entry: j.entry }]);
      })();
    } catch (err) {
      this.deps.logger.error({ err: (err as Error).message, devEui: prev.devEui }, 'join without join-accept not taken back (store error): the device joins again');
      return;
    }
    this.index(prev);
    this.deps.logger.warn({ devEui: prev.devEui, devNonce: j.devNonce }, 'join-accept not sent (receive windows gone, no route or log refused): the session the join replaced is in use again');
  }

  private joinRecord(s: Session, time: number): PipelineRecord {
    const ev = { kind: 'join' as const, deduplicationId: uplinkId(s.devEui, s.seq, -1), time, deviceInfo: this.deviceInfo(s.devEui), devAddr: hex32(s.devAddr), regionConfigId: 'eu868' };
    return eventToRecord(ev, this.config.name, this.deps.decode).record;
  }

  /**
   * A join-request replayed from the inbox journal whose DevNonce the store has (S6): skipped
   * when its join record was durable before the crash (or it has no S6 row: joined before the
   * row existed, or pruned with its journal entry); stored now when the kill came between the
   * batch's commit and the log's fsync — with the device's current session, which is the one
   * that join made. Unless the device joined again after it and that later join was committed
   * too (its join-request is in the same replay, later, with a committed DevNonce and an S6 row:
   * `joinedAgainAfter`) — possible when the log was slow or full (`when_full: block`) for longer than a
   * device's join retry: then the current session is the later join's, this join's accept never
   * left (it waits for the record's durability) so its session never reached the device, and its
   * record is not restored — counted `already_processed` — rather than restored with the later
   * session's DevAddr and record id. No join-accept is sent for a restored one: its JoinNonce is
   * not kept and the device, which never heard one, joins again.
   */
  private replayedJoin(f: JoinRequestFrame, receptions: Reception[]): void {
    const key = `${f.devEui}/j${f.devNonce}`;
    const logId = this.deps.store.appliedLogId(f.devEui, joinAppliedKey(f.devNonce));
    const s = this.sessions.get(f.devEui);
    const entry = NetworkServer.entryOf(receptions);
    if (this.replayDone.has(key) || logId === undefined || logId < (this.deps.inbox?.storedBelowLogId ?? Infinity) || s?.activation !== 'OTAA' || this.joinedAgainAfter(f.devEui, entry)) {
      this.deps.inbox?.recovered('already_processed');
      return;
    }
    this.replayDone.add(key);
    const b = this.currentBatch();
    this.claim(b, receptions);
    b.applied.push({ devEui: f.devEui, fCnt: joinAppliedKey(f.devNonce), index: b.records.length, entry });
    b.records.push(this.joinRecord(s, rxTime(this.bestReception(receptions).rxpk, this.deps.now())));
    this.deps.inbox?.recovered('restored');
    this.deps.logger.warn({ devEui: f.devEui, devNonce: f.devNonce }, 'join record restored from the inbox journal (the gateway was killed before it reached the log); no join-accept: the device joins again');
  }

  /** Notes a join-request (MHDR 0x00, 23 bytes) the inbox replay hands over, for joinedAgainAfter. */
  private noteReplayedJoin(data: Uint8Array, entry: number | undefined): void {
    if (entry === undefined || data.length !== 23 || (data[0] ?? 0xff) >> 5 !== 0) return;
    const devEui = readEuiLE(data, 9);
    const list = this.replayedJoins.get(devEui) ?? [];
    list.push({ entry, devNonce: (data[17] as number) | ((data[18] as number) << 8) });
    this.replayedJoins.set(devEui, list);
  }

  /**
   * Whether the device joined again after the join-request of journal entry `entry`, and that
   * later join was committed before the crash: its join-request comes later in the same replay
   * (the cursor stopped at or before this one), its DevNonce is committed and its S6 row was
   * written with it (in the same transaction) and not marked as taken back.
   */
  private joinedAgainAfter(devEui: string, entry: number): boolean {
    for (const j of this.replayedJoins.get(devEui) ?? []) {
      if (j.entry <= entry || !this.deps.store.hasDevNonce(devEui, j.devNonce)) continue;
      const logId = this.deps.store.appliedLogId(devEui, joinAppliedKey(j.devNonce));
      if (logId !== undefined && logId !== REFUSED) return true;
    }
    return false;
  }

  /**
   * Whether neither join-accept window (RX1 heard + 5 s, RX2 + 6 s) can be met any more, even
   * before the batch's commit (`COMMIT_INTERVAL_MS`): then the join is not made at all — no
   * session, no DevNonce, no JoinNonce or DevAddr used. The device never hears an accept, keeps
   * its old session (its uplinks still pass) and joins again with another DevNonce; committing
   * would replace that session with one the device does not have and spend the nonce for
   * nothing. (ChirpStack stores the DevNonce and the new session first and only then picks the
   * downlink timing, join.rs; here the windows are known from the tmst before anything is
   * written.) Counted as `answers_too_late_total{kind="join-accept"}` and `too_late`; the
   * join-request is kept in the rejects file.
   */
  private joinTooLate(f: JoinRequestFrame, best: Reception): boolean {
    const heard = heardTime(best);
    const now = this.deps.monotonic();
    if (planWindow({ heardAt: heard, rx1DelayMs: EU868.joinAcceptDelay1Ms, now, leadMs: TX_LEAD_MS + COMMIT_INTERVAL_MS }).window !== 'too_late') return false;
    this.deps.metrics.tooLate.inc({ kind: 'join-accept' });
    this.reject(
      'too_late',
      `join-request of DevEUI ${f.devEui} (DevNonce ${f.devNonce}): ${Math.round(now - heard)} ms after it was heard (${Math.round(best.receivedAt - heard)} ms of it before its datagram was read${best.replayed ? ', replayed from the inbox journal at start' : ''}), both join-accept windows are gone: not joined (session and DevNonce unchanged; the device joins again)`,
      f.phyPayload,
    );
    return true;
  }

  /** DevAddr = NwkID (7 LSBs of the NetID) | NwkAddr (25 bits), skipping addresses in use. */
  private allocateDevAddr(): number {
    const nwkId = (this.config.net_id & 0x7f) << 25;
    for (let i = 0; i < 1 << 25; i++) {
      const addr = (nwkId | (this.nextNwkAddr & 0x1ffffff)) >>> 0;
      this.nextNwkAddr = ((this.nextNwkAddr + 1) & 0x1ffffff) || 1;
      if (!this.byAddr.has(addr)) return addr;
    }
    throw new Error('no DevAddr left');
  }

  // ── data uplinks ─────────────────────────────────────────────────────────────────────────

  private uplink(f: DataFrame, receptions: Reception[]): void {
    const candidates = this.byAddr.get(f.devAddr >>> 0);
    if (!candidates?.length) return this.reject('unknown_devaddr', `no session with DevAddr ${devAddrHex(f)}`, f.phyPayload);
    let match: { s: Session; fCnt32: number; retransmission: boolean } | undefined;
    let why: 'bad_mic' | 'replay' | 'fcnt_gap' = 'bad_mic';
    /** the session and committed counter a replay's MIC verified with */
    let replayOf: { s: Session; fCnt32: number } | undefined;
    const replayed = receptions.some((r) => r.replayed);
    for (const s of candidates) {
      const fc = reconstructFCnt(f.fCnt16, s.fCntUpNext, { maxGap: this.config.max_fcnt_gap });
      if (fc.ok) {
        if (verifyDataMic(f, this.keyTable.nwkSKey(s), fc.fCnt32)) {
          match = { s, fCnt32: fc.fCnt32, retransmission: fc.retransmission };
          break;
        }
        continue;
      }
      // Behind the window: a replay if the MIC verifies with the counter it would have had —
      // or, for a restarted ABP device (accept_zero), a new session at FCnt 0.
      const behind = (s.fCntUpNext - f.fCnt16 + 0x10000) % 0x10000;
      const old = s.fCntUpNext - behind;
      if (old >= 0 && verifyDataMic(f, this.keyTable.nwkSKey(s), old)) {
        if (old === 0 && s.activation === 'ABP' && this.config.abp_fcnt_reset === 'accept_zero' && micHex(f) !== s.lastMic && micHex(f) !== this.zeroMic.get(s)) {
          this.deps.logger.warn({ devEui: s.devEui }, 'ABP device counts from 0 again (restart): counter reset');
          this.deps.metrics.fcntResets.inc();
          s.seq++;
          s.fCntUpNext = 0;
          match = { s, fCnt32: 0, retransmission: false };
          break;
        }
        why = 'replay';
        replayOf ??= { s, fCnt32: old };
      } else if (fc.reason === 'too-far' && why !== 'replay') why = 'fcnt_gap';
    }
    if (!match) {
      if (replayed && replayOf) return this.replayedCommitted(f, receptions, replayOf.s, replayOf.fCnt32);
      const detail = why === 'replay' ? `DevAddr ${devAddrHex(f)} FCnt ${f.fCnt16}: already received (replay)` : why === 'fcnt_gap' ? `DevAddr ${devAddrHex(f)} FCnt ${f.fCnt16}: further ahead than the allowed gap ${this.config.max_fcnt_gap}, or a bad MIC` : `DevAddr ${devAddrHex(f)} FCnt ${f.fCnt16}: MIC does not verify with any session`;
      return this.reject(why, detail, f.phyPayload);
    }
    const { s, fCnt32 } = match;
    if (match.retransmission) {
      if (replayed) return this.replayedCommitted(f, receptions, s, fCnt32);
      // The same counter again: byte-identical = a copy of the frame already stored.
      if (micHex(f) === s.lastMic) {
        if (f.confirmed) {
          // The device did not hear our ACK: answer again, store nothing.
          this.deps.metrics.retransmissions.inc();
          const b = this.currentBatch();
          this.claim(b, receptions);
          b.answers.push({ session: s, frame: answerBits(f), receptions, fCnt32, macAnswers: [], heardAt: heardTime(this.bestReception(receptions)) });
          this.hurry(b);
          return;
        }
        // Heard by a gateway that had not reported it: a copy that came later than the window
        // (a slow backhaul or a loaded machine), not a second transmission.
        const before = this.lastGateways.get(s);
        // Not heard in this life: the frame was done before a restart (stored, its journal entry
        // passed, so not replayed) and this is a copy another gateway sends only now — its
        // PUSH_DATA was not acknowledged while the gateway was down. The dedup window of before
        // the restart would have merged it: a `duplicate`, like a copy of a replayed frame.
        if (before === undefined && this.heardBeforeStart(receptions)) {
          this.deps.metrics.rejected.inc({ reason: 'duplicate' }, receptions.length);
          return;
        }
        const heard = before?.split(' ');
        if (heard && receptions.every((r) => !heard.includes(r.gatewayEui))) {
          this.dedup.forget(f.phyPayload); // the next copy is judged here again (dedup.ts forget)
          return this.reject('late_copy', `DevAddr ${devAddrHex(f)} FCnt ${fCnt32}: a copy of the last frame from another gateway, after the dedup window`, f.phyPayload);
        }
        return this.reject('replay', `DevAddr ${devAddrHex(f)} FCnt ${fCnt32}: a copy of the last frame, after the dedup window`, f.phyPayload);
      }
      return this.reject('replay', `DevAddr ${devAddrHex(f)} FCnt ${fCnt32}: counter already used by another frame`, f.phyPayload);
    }
    // The MIC verified above with this NwkSKey and counter: decrypt, no second CMAC.
    const opened = decryptDataFrame(f, this.keyTable.keys(s), fCnt32);
    if (replayed) this.replayDone.add(`${s.devEui}/${fCnt32}`);
    s.fCntUpNext = fCnt32 + 1;
    const mic = micHex(f);
    s.lastMic = mic;
    this.lastGateways.set(s, receptions.length === 1 ? (receptions[0] as Reception).gatewayEui : receptions.map((r) => r.gatewayEui).join(' '));
    // Read only by an ABP restart under accept_zero: not kept (10,000 entries) otherwise.
    if (fCnt32 === 0 && s.activation === 'ABP' && this.config.abp_fcnt_reset === 'accept_zero') this.zeroMic.set(s, mic);
    const best = this.bestReception(receptions);
    s.dr = dataRateFromDatr(EU868, best.rxpk.datr) ?? s.dr;
    s.adr = f.fCtrl.adr;
    const macAnswers: MacCommand[] = [];
    if (opened.macCommands) {
      if (!opened.macCommands.ok) this.deps.metrics.macErrors.inc();
      for (const c of opened.macCommands.commands) {
        this.deps.metrics.macCommands.inc({ command: c.command.name });
        if (c.command.name === 'LinkCheckReq') macAnswers.push({ name: 'LinkCheckAns', margin: linkMargin(receptions), gwCnt: Math.min(255, receptions.length) });
        else if (c.command.name === 'DeviceTimeReq') macAnswers.push({ name: 'DeviceTimeAns', ...deviceTimeFromUnixMs(rxTime(best.rxpk, this.deps.now())) });
        else if (c.command.name === 'LinkADRAns') this.deps.metrics.adr.inc({ outcome: this.adr.answered(s.devEui, c.command) });
      }
    }
    // ADR: only for devices that ask for it (the ADR bit); the DR is kept in the session either way.
    if (f.fCtrl.adr && this.config.adr !== false) {
      const req = this.adr.observe(s.devEui, { fCnt: fCnt32, maxSnr: bestSnr(receptions), dr: s.dr }, channelMask(s.activation, this.config.abp_channels ?? []));
      if (req) {
        macAnswers.push(req);
        this.deps.metrics.adr.inc({ outcome: 'requested' });
      }
    }
    const b = this.currentBatch();
    this.claim(b, receptions);
    b.sessions.add(s);
    if (f.fPort !== null && f.fPort > 0) {
      if (this.deps.inbox) b.applied.push({ devEui: s.devEui, fCnt: fCnt32, index: b.records.length, entry: NetworkServer.entryOf(receptions) });
      b.records.push(eventToRecord(this.uplinkEvent(s, f, receptions, fCnt32, opened.payload, best.rxpk), this.config.name, this.deps.decode).record);
      this.deps.metrics.uplinks.inc();
    } else this.deps.metrics.macOnly.inc();
    b.answers.push({ session: s, frame: answerBits(f), receptions, fCnt32, macAnswers, heardAt: heardTime(best) });
    // The frames prepareAnswer will answer (an awaited ACK alone needs no downlink).
    if (f.confirmed || macAnswers.length > 0 || f.fCtrl.adrAckReq || this.pending.has(s.devEui)) this.hurry(b);
  }

  /**
   * Whether a copy was heard before this life began: by the receptions' own time (the
   * forwarder's `time`: a resent PUSH_DATA carries the reception's), else — no `time` — while
   * the start is less than REPLAY_COPY_HORIZON_MS ago (a resending forwarder gives up sooner).
   */
  private heardBeforeStart(receptions: readonly Reception[]): boolean {
    let timed = false;
    for (const r of receptions) {
      const t = r.rxpk.time ? Date.parse(r.rxpk.time) : Number.NaN;
      if (!Number.isFinite(t)) continue;
      if (t >= this.startedAtWall) return false;
      timed = true;
    }
    return timed || this.deps.monotonic() < this.startedAt + REPLAY_COPY_HORIZON_MS;
  }

  private deviceInfo(devEui: string): UplinkEvent['deviceInfo'] {
    return {
      tenantId: '',
      tenantName: '',
      applicationId: this.config.application_id,
      applicationName: this.config.application_id,
      deviceProfileId: '',
      deviceProfileName: '',
      deviceName: devEui,
      devEui,
      deviceClassEnabled: 'CLASS_A',
      tags: {},
    };
  }

  private uplinkEvent(s: Session, f: DataFrame, receptions: Reception[], fCnt32: number, payload: Buffer, best: Rxpk): UplinkEvent {
    const lora = parseLoraDatr(best.datr);
    return {
      kind: 'up',
      deduplicationId: uplinkId(s.devEui, s.seq, fCnt32),
      time: rxTime(best, this.deps.now()),
      deviceInfo: this.deviceInfo(s.devEui),
      devAddr: hex32(s.devAddr),
      adr: f.fCtrl.adr,
      dr: s.dr,
      fCnt: fCnt32,
      fPort: f.fPort ?? 0,
      confirmed: f.confirmed,
      data: payload,
      rxInfo: receptions.map((r, i) => ({ gatewayId: r.gatewayEui, uplinkId: i, rssi: r.rxpk.rssi ?? 0, snr: r.rxpk.lsnr ?? 0, channel: r.rxpk.chan ?? 0, rfChain: r.rxpk.rfch ?? 0 })),
      ...(lora ? { txInfo: { frequency: Math.round(best.freq * 1e6), bandwidth: lora.bandwidthHz, spreadingFactor: lora.spreadingFactor, codeRate: best.codr ?? '4/5' } } : {}),
      regionConfigId: 'eu868',
    };
  }

  private bestReception(receptions: Reception[]): Reception {
    let best = receptions[0] as Reception;
    for (const r of receptions) if ((r.rxpk.lsnr ?? -99) > (best.rxpk.lsnr ?? -99) || ((r.rxpk.lsnr ?? -99) === (best.rxpk.lsnr ?? -99) && (r.rxpk.rssi ?? -999) > (best.rxpk.rssi ?? -999))) best = r;
    return best;
  }

  // ── commit and answers ───────────────────────────────────────────────────────────────────

  private currentBatch(): Batch {
    if (!this.batch) {
      const b: Batch = { sessions: new Set(), records: [], answers: [], entries: [], applied: [], joins: [], joinNonces: new Set(), openedAt: this.deps.monotonic(), answerAt: undefined, timer: undefined };
      // Group commit: one SQLite transaction (one fsync) and one log append per interval, not
      // per frame — dedup windows close one by one, so a per-turn batch would be one frame.
      b.timer = setTimeout(() => this.commit(b), COMMIT_INTERVAL_MS);
      this.batch = b;
    }
    return this.batch;
  }

  /**
   * `b` holds a frame whose answer has a receive window running: commit it now — after the
   * frames handed over in this turn (setImmediate), or once ANSWER_COMMIT_GAP_MS has passed
   * since the last commit — instead of at the end of the interval. Only the moment moves: the
   * commit, and what waits for it, are the same (S1, S2).
   */
  private hurry(b: Batch): void {
    if (b.answerAt !== undefined) return;
    const now = this.deps.monotonic();
    b.answerAt = now;
    const wait = this.lastCommitAt + ANSWER_COMMIT_GAP_MS - now;
    if (wait >= COMMIT_INTERVAL_MS - (now - b.openedAt)) return; // the interval ends sooner anyway
    clearBatchTimer(b);
    b.timer = wait <= 0 ? setImmediate(() => this.commit(b)) : setTimeout(() => this.commit(b), wait);
  }

  private commit(b: Batch): void {
    if (this.batch !== b) return; // taken by flush() at stop
    this.batch = undefined;
    if (this.closed) return;
    const started = this.deps.monotonic();
    this.lastCommitAt = started;
    this.deps.metrics.batchStage.observe({ stage: 'wait' }, (started - b.openedAt) / 1000);
    if (b.answerAt !== undefined) this.deps.metrics.batchStage.observe({ stage: 'answer_wait' }, (started - b.answerAt) / 1000);
    // Answers are built first (FCntDown moves on in memory) so that one transaction — one
    // fsync — makes the batch's FCntUps and FCntDowns durable together.
    const ready: PreparedAnswer[] = [];
    for (const a of b.answers) {
      try {
        const p = this.prepareAnswer(a);
        if (p) ready.push(p);
      } catch (err) {
        this.deps.logger.error({ err: (err as Error).message, devEui: a.session.devEui }, 'answer failed');
      }
    }
    // S6: the log ids the records get are predicted here, and the log append below follows in
    // the same synchronous run, so no other append can come between.
    const applied = this.appliedRows(b);
    try {
      // S2: counters first, then the records; S1: FCntDowns durable before any answer leaves.
      // The ADR state of the batch's devices rides in the same transaction (adr-store.ts).
      this.deps.store.db.transaction(() => {
        this.deps.store.commitUplinks(
          b.sessions,
          ready.map((p) => ({ session: p.a.session, queued: p.queued ? { id: p.queued.id, state: p.queued.confirmed ? 'awaiting_ack' : 'sent', attempts: p.queued.attempts, outcome: '' } : undefined })),
          applied,
        );
        // After the uplink counters: a join's row replaces what an uplink of the session it
        // replaced wrote above (same DevEUI).
        if (b.joins.length) this.deps.store.commitJoins(b.joins, { nextJoinNonce: this.nextJoinNonce, nextNwkAddr: this.nextNwkAddr });
        this.writeAdr();
      })();
      this.deps.metrics.batchStage.observe({ stage: 'store' }, (this.deps.monotonic() - started) / 1000);
      if (CRASH_AFTER_JOIN_COMMIT && b.joins.length) process.kill(process.pid, 'SIGKILL');
    } catch (err) {
      // The batch's journal entries stay open: the cursor stops before them, so the next start
      // processes them again. Its joins never happened: their devices hear no join-accept.
      this.undoJoins(b.joins);
      this.deps.logger.error({ err: (err as Error).message }, 'session store commit failed: this batch is dropped unanswered');
      this.deps.metrics.rejected.inc({ reason: 'store_error' }, b.records.length);
      return;
    }
    // Answers that acknowledge nothing (LinkCheckAns, DeviceTimeAns, a queued downlink to an
    // unconfirmed uplink) leave now: what makes them safe is the durable FCnt (no frame accepted
    // twice, no FCntDown reused). An ACK tells a device not to send its frame again, so the
    // frame must survive a kill -9 from the moment the ACK leaves (S2). With the inbox journal
    // it already does: the datagram was durable before the frame was processed, its entry stays
    // open until the record is durable, and the transaction just committed holds the frame's
    // S6 applied row, so a restart stores it again as `restored` (S6) — the ACK leaves now.
    // Without the journal the ACK waits for the log's fsync (asked for at once): a kill -9 or a
    // refused append before it leaves the device unanswered, and it retransmits.
    const ackNow = this.deps.inbox !== undefined;
    // What waits for the log's fsync (below) needs only the records, entries, joins and
    // join-accepts: the frames, receptions and S6 rows go now instead of living ~100 ms into old space.
    releaseCommitted(b);
    const send = (p: PreparedAnswer): void => {
      const s = p.a.session;
      try {
        this.schedule(this.bestReception(p.a.receptions), p.phy, s.rxDelay * 1000, s.rx1DrOffset, s.rx2Dr, 'data', s, p.queued);
        if (p.a.frame.confirmed) this.deps.metrics.acks.inc();
      } catch (err) {
        this.deps.logger.error({ err: (err as Error).message, devEui: s.devEui }, 'answer failed');
      }
    };
    const acks = ackNow ? [] : ready.filter((p) => p.a.frame.confirmed);
    for (const p of ready) if (ackNow || !p.a.frame.confirmed) send(p);
    // Join-accepts the same way (S1 with S6): with the journal they leave now — the join record's
    // loss to a kill -9 before the log's fsync is undone by the replay (`restored`), as an ACKed
    // frame's is — and did wait for that fsync before (p99 of the log stage 10–33 ms at 2,000/s,
    // bench/RESULTS.md session 9); without it they wait for the log. One whose window or route
    // is gone is taken back, after the append below: its S6 row's REFUSED mark must come after
    // the append's own corrections of the batch's rows (batch-log-ids.ts), or a full log's
    // NOT_PLACED would overwrite it and a restart would restore the record of a join undone.
    const unsent = ackNow ? b.joins.filter((j) => !this.sendAccept(j)) : [];
    const logStarted = this.deps.monotonic();
    const durable = (): void => {
      if (b.records.length) this.deps.metrics.batchStage.observe({ stage: 'log' }, (this.deps.monotonic() - logStarted) / 1000);
      for (const p of acks) send(p);
      if (!ackNow) for (const j of b.joins) if (!this.sendAccept(j)) this.abandonJoin(j);
      this.deps.inbox?.done(b.entries);
    };
    if (b.records.length === 0) {
      for (const j of unsent) this.abandonJoin(j);
      return durable();
    }
    // Without the journal an ACK or a join-accept waits for this fsync inside its receive
    // window: no group-commit wait for it (at most one more fsync of the log per batch that holds
    // one). With the journal nothing waits for it but the journal's entries and the sinks.
    const held = b.records.length;
    this.awaitingLog += held;
    const ids = this.logIds(applied, b.records.length);
    // With the journal a refused batch is held for a retry: what the log refused and placed is noted.
    const track = ackNow ? { placed: 0, unstorable: [] as readonly number[] } : undefined;
    const appended = this.appendRecords(b.records, ids, acks.length > 0 || (!ackNow && b.joins.length > 0), track);
    for (const j of unsent) this.abandonJoin(j);
    appended.then(
      () => {
        this.awaitingLog -= held;
        if (!this.closed) durable();
      },
      (err: unknown) => {
        this.awaitingLog -= held;
        this.deps.metrics.rejected.inc({ reason: 'log_error' }, b.records.length);
        // Without the journal their join-accepts wait for this durability: none will leave. With
        // it they left (the sessions are durable); their records are held for the retry below
        // (a join taken back at commit is left out: holdRefused), or stored at the next start.
        if (!ackNow) for (const j of b.joins) this.abandonJoin(j);
        if (track && this.holdRefused(b, applied, track)) {
          this.deps.logger.warn({ err: (err as Error).message, records: b.records.length }, 'durable log refused a batch: it is appended again once the log has room (its frames stay in the inbox journal until then)');
          return;
        }
        this.deps.logger.error(
          { err: (err as Error).message, records: b.records.length },
          ackNow ? 'durable log refused a batch: its frames stay in the inbox journal and are stored at the next start' : 'durable log refused a batch: its confirmed uplinks are not acknowledged',
        );
      },
    );
  }

  /**
   * Appends a batch's records with their S6 corrections (batch-log-ids.ts); `track` notes which
   * the log refused as unstorable and how many it placed (what a refused batch's retry leaves out, R1).
   */
  private appendRecords(records: PipelineRecord[], ids: BatchLogIds | undefined, urgent: boolean, track?: { placed: number; unstorable: readonly number[] }): Promise<void> {
    if (!track) return this.deps.append(records, ids && ((refused) => ids.settle(refused)), urgent, ids?.onPlaced);
    return this.deps.append(
      records,
      (refused) => {
        track.unstorable = refused;
        ids?.settle(refused);
      },
      urgent,
      (first, firstId, count) => {
        track.placed = Math.max(track.placed, first + count);
        ids?.onPlaced(first, firstId, count);
      },
    );
  }

  /**
   * A batch the log refused (inbox journal on): what it never placed is held for a retry
   * (refused-batches.ts R1, R4) — less the records of joins taken back (abandonJoin: their rows
   * say REFUSED; a join whose session is still the device's keeps its record). False when not held.
   */
  private holdRefused(b: Batch, applied: AppliedRows | undefined, track: { placed: number; unstorable: readonly number[] }): boolean {
    const rows = applied?.rows ?? [];
    const indices = applied?.indices ?? [];
    const skip = new Set<number>();
    for (const j of b.joins) {
      if (this.sessions.get(j.session.devEui) === j.session) continue;
      const k = rows.findIndex((r) => r.devEui === j.session.devEui && r.fCnt === joinAppliedKey(j.devNonce));
      if (k >= 0) skip.add(indices[k] as number);
    }
    const rest = unplaced(b.records, rows, indices, track.unstorable, track.placed, skip);
    const held = this.refused.hold({ ...rest, entries: b.entries });
    this.deps.metrics.logRetries.inc({ outcome: held ? 'held' : 'not_held' }, rest.records.length);
    return held;
  }

  /** One retry of a refused batch (refused-batches.ts R2): its S6 rows predicted and committed, then appended and corrected. */
  private retryRefused(r: RefusedBatch): RetryOutcome {
    const inbox = this.deps.inbox;
    const track = { placed: 0, unstorable: [] as readonly number[] };
    if (!inbox || this.closed) return { durable: Promise.reject(new Error('network server closed')), placed: () => 0 };
    const base = inbox.nextLogId();
    const applied: AppliedRows = { base, indices: r.indices, rows: r.rows.map((row, k) => ({ ...row, logId: base + (r.indices[k] as number) })), pruneThrough: inbox.cursor() };
    if (applied.rows.length) this.deps.store.fixApplied(applied.rows);
    // Its records count in the overload budget while held (`refused.records`), the try included.
    const durable = this.appendRecords(r.records, this.logIds(applied, r.records.length), false, track);
    return { durable, placed: () => track.placed };
  }

  /** Sends a committed join's join-accept; false when it cannot leave (no window, no route). */
  private sendAccept(j: BatchJoin): boolean {
    try {
      return j.accept();
    } catch (err) {
      this.deps.logger.error({ err: (err as Error).message, devEui: j.session.devEui }, 'join-accept failed');
      return true; // as before: not taken back (what failed is unknown)
    }
  }

  /** A batch's joins that could not be committed: the sessions they replaced are in use again. */
  private undoJoins(joins: readonly BatchJoin[]): void {
    for (let i = joins.length - 1; i >= 0; i--) {
      const j = joins[i] as BatchJoin;
      const cur = this.sessions.get(j.session.devEui);
      if (cur !== j.session) continue;
      if (j.previous) this.index(j.previous);
      else {
        this.unindexAddr(cur);
        this.sessions.delete(cur.devEui);
        this.keyTable.remove(cur.devEui);
      }
    }
    this.deps.metrics.sessions.set(this.sessions.size);
  }

  /** The ADR state the engine has due (`all`: everything unwritten, at stop); inside the caller's transaction. */
  private writeAdr(all = false): void {
    const changes = this.adr.takeDirty(all);
    if (changes.length) this.adrStore.write(changes.map(([devEui, d]) => [devEui, d, this.sessions.get(devEui)?.seq ?? 0] as const));
  }

  /** S6 rows of a batch, with the log ids its records will get if the log takes them all. */
  private appliedRows(b: Batch): AppliedRows | undefined {
    const inbox = this.deps.inbox;
    if (!inbox) return undefined;
    const base = inbox.nextLogId();
    return { base, indices: b.applied.map((a) => a.index), rows: b.applied.map((a) => ({ devEui: a.devEui, fCnt: a.fCnt, logId: base + a.index, entry: a.entry })), pruneThrough: inbox.cursor() };
  }

  /**
   * Keeps the batch's S6 rows true to where the log puts its records (batch-log-ids.ts): the
   * refused ones, the later ones shifted down, and — with a full log — the ones placed late or
   * never. Corrections are committed before the log's flush can write what they describe.
   */
  private logIds(applied: AppliedRows | undefined, records: number): BatchLogIds | undefined {
    if (!applied || applied.rows.length === 0) return undefined;
    return new BatchLogIds(applied, records, (rows) => {
      try {
        this.deps.store.fixApplied(rows);
      } catch (err) {
        this.deps.logger.error({ err: (err as Error).message }, 'recovery marks not corrected (S6): a restart may store these frames twice');
      }
    });
  }

  /**
   * The class-A answer to an accepted uplink, if it needs one: the frame built and FCntDown
   * advanced in memory; the caller commits the batch's counters, then schedules.
   */
  private prepareAnswer(a: Answer): PreparedAnswer | undefined {
    const s = a.session;
    if (this.sessions.get(s.devEui) !== s) return undefined; // re-joined meanwhile
    // A confirmed downlink awaiting its ACK: this uplink says whether it arrived.
    if (s.awaitingAck) {
      const q = this.deps.store.downlink(s.awaitingAck);
      if (a.frame.fCtrl.ack) {
        this.deps.metrics.downlinks.inc({ outcome: 'acked' });
        this.settle(
          { kind: 'ack', queueId: s.awaitingAck, devEui: s.devEui, fCntDown: this.sentFCnt.get(s.awaitingAck) ?? q?.fCntDown ?? -1, acknowledged: true, deduplicationId: uplinkId(s.devEui, s.seq, a.fCnt32) },
          q ? { id: q.id, state: 'done', attempts: q.attempts, text: 'acked' } : undefined,
        );
        this.deps.logger.info({ devEui: s.devEui, id: s.awaitingAck }, 'confirmed downlink acknowledged by the device');
      } else if (q && q.attempts < this.config.confirmed_retries + 1) {
        this.deps.store.setDownlinkState(q.id, 'pending', q.attempts, 'retry: no ACK');
        this.pending.add(s.devEui);
      } else if (q) {
        this.deps.metrics.downlinks.inc({ outcome: 'failed' });
        this.deps.logger.warn({ devEui: s.devEui, id: q.id }, 'confirmed downlink not acknowledged: given up');
        this.settle(
          { kind: 'ack', queueId: q.id, devEui: s.devEui, fCntDown: this.sentFCnt.get(q.id) ?? q.fCntDown ?? -1, acknowledged: false, deduplicationId: uplinkId(s.devEui, s.seq, a.fCnt32) },
          { id: q.id, state: 'failed', attempts: q.attempts, text: 'no ACK after retries' },
        );
      }
      s.awaitingAck = 0;
    }
    const queue = this.pending.has(s.devEui) ? this.deps.store.pendingDownlinks(s.devEui, 2) : [];
    if (this.pending.has(s.devEui) && queue.length <= 1) this.pending.delete(s.devEui);
    const q = queue[0];
    const adrAckReq = a.frame.fCtrl.adrAckReq;
    if (!a.frame.confirmed && a.macAnswers.length === 0 && !q && !adrAckReq) return undefined;
    let fOpts = encodeMacCommands('down', a.macAnswers);
    if (fOpts.length > 15) fOpts = fOpts.subarray(0, 0);
    const fCnt = s.fCntDownNext;
    s.fCntDownNext = fCnt + 1;
    const attempts = (q?.attempts ?? 0) + 1;
    if (q?.confirmed) s.awaitingAck = q.id;
    if (q) {
      this.sentFCnt.set(q.id, fCnt);
      if (this.sentFCnt.size > 10_000) this.sentFCnt.delete(this.sentFCnt.keys().next().value as number);
    }
    const phy = buildDataFrame(
      {
        mType: q?.confirmed ? 'ConfirmedDataDown' : 'UnconfirmedDataDown',
        devAddr: s.devAddr,
        fCnt,
        fCtrl: { ack: a.frame.confirmed, adr: s.adr, fPending: queue.length > 1 },
        fOpts,
        ...(q ? { fPort: q.fPort, payload: q.payload } : {}),
      },
      this.keyTable.keys(s),
    );
    return { a, phy, ...(q ? { queued: { id: q.id, confirmed: q.confirmed, attempts } } : {}) };
  }

  /**
   * Sends `phy` in RX1 (uplink tmst + delay, uplink frequency, RX1 DR) or — when RX1 cannot be
   * met any more — in RX2 (delay + 1 s, RX2 frequency and DR); the RX2 txpk is kept as the
   * fallback should the gateway refuse RX1 (TX_ACK error). The windows count from when the
   * uplink was heard (its tmst, `gateway-clock.ts`), not from when its datagram was read, so
   * time spent in the socket buffer is not mistaken for time left (`receive-windows.ts`).
   * False when nothing was handed to a gateway (too late, no downlink route).
   */
  private schedule(r: Reception, phy: Buffer, rx1DelayMs: number, rx1DrOffset: number, rx2Dr: number, kind: PendingTx['kind'], session: Session, queued?: PendingTx['queued']): boolean {
    const upDr = dataRateFromDatr(EU868, r.rxpk.datr) ?? 0;
    const rx1Dr = rx1DataRate(EU868, upDr, rx1DrOffset) ?? upDr;
    const base = { phyPayload: phy, powerDbm: this.config.tx_power_dbm };
    const rx1 = downlinkTxpk({ ...base, timing: { type: 'after-uplink', uplinkTmst: r.rxpk.tmst, delayUs: rx1DelayMs * 1000 }, frequencyHz: Math.round(r.rxpk.freq * 1e6), datr: datrOf(EU868, rx1Dr) ?? r.rxpk.datr });
    const rx2 = downlinkTxpk({ ...base, timing: { type: 'after-uplink', uplinkTmst: r.rxpk.tmst, delayUs: (rx1DelayMs + 1000) * 1000 }, frequencyHz: this.config.rx2_frequency_hz, datr: datrOf(EU868, rx2Dr) ?? 'SF12BW125' });
    const heard = heardTime(r);
    const plan = planWindow({ heardAt: heard, rx1DelayMs, now: this.deps.monotonic(), leadMs: TX_LEAD_MS });
    const elapsed = this.deps.monotonic() - heard;
    const rx1Possible = plan.window === 'rx1';
    if (plan.window === 'too_late') {
      this.deps.metrics.tooLate.inc({ kind });
      this.reject('too_late', `${kind} for ${session.devEui}: ${Math.round(elapsed)} ms after the uplink was heard (${Math.round(r.receivedAt - heard)} ms of it before its datagram was read), both receive windows are gone`);
      if (queued) {
        this.deps.store.setDownlinkState(queued.id, 'pending', queued.attempts, 'too late');
        this.pending.add(session.devEui);
      }
      return false;
    }
    const txpk = rx1Possible ? rx1 : rx2;
    const token = this.deps.transmit(r.gatewayEui, txpk);
    if (token === undefined) {
      this.reject('no_downlink_route', `gateway ${r.gatewayEui} has sent no PULL_DATA: cannot answer ${session.devEui}`);
      if (queued) {
        this.deps.store.setDownlinkState(queued.id, 'pending', queued.attempts, 'no downlink route');
        this.pending.add(session.devEui);
      }
      return false;
    }
    this.deps.metrics.answerSeconds.observe({ kind }, elapsed / 1000);
    this.deps.metrics.downlinks.inc({ outcome: rx1Possible ? 'rx1' : 'rx2' });
    this.pendingTx.set(token, {
      gatewayEui: r.gatewayEui,
      ...(rx1Possible ? { fallback: rx2 } : {}),
      fallbackBy: plan.rx2SendBy,
      ...(queued ? { queued } : {}),
      session,
      kind,
      sentAt: this.deps.monotonic(),
    });
    if (this.pendingTx.size > 10_000) {
      const first = this.pendingTx.keys().next().value;
      if (first !== undefined) this.pendingTx.delete(first);
    }
    return true;
  }

  /** TX_ACK from a gateway: success, or an error (counted; RX2 tried when there is time). */
  txAck(gatewayEui: string, token: number, error: string | undefined): void {
    const p = this.pendingTx.get(token);
    if (!p || p.gatewayEui !== gatewayEui) {
      if (error) this.deps.metrics.rejected.inc({ reason: `tx_ack_${error.toLowerCase()}` });
      return;
    }
    this.pendingTx.delete(token);
    if (!error) {
      if (!p.queued) return;
      const o: DownlinkOutcome | undefined = p.session ? { kind: 'txack', queueId: p.queued.id, devEui: p.session.devEui, fCntDown: this.sentFCnt.get(p.queued.id) ?? -1, gatewayId: gatewayEui } : undefined;
      if (!p.queued.confirmed) this.deps.metrics.downlinks.inc({ outcome: 'sent' });
      this.settle(o, p.queued.confirmed ? undefined : { id: p.queued.id, state: 'done', attempts: p.queued.attempts, text: 'sent' });
      return;
    }
    this.deps.metrics.rejected.inc({ reason: `tx_ack_${error.toLowerCase()}` });
    this.deps.logger.warn({ gateway: gatewayEui, error, kind: p.kind, devEui: p.session?.devEui }, 'gateway refused a downlink');
    if (p.fallback && this.deps.monotonic() < p.fallbackBy) {
      const t = this.deps.transmit(gatewayEui, p.fallback);
      if (t !== undefined) {
        const { fallback: _f, ...rest } = p;
        this.pendingTx.set(t, rest);
        this.deps.metrics.downlinks.inc({ outcome: 'rx2' });
        return;
      }
    }
    if (p.queued) {
      const again = p.queued.attempts <= this.config.confirmed_retries;
      const o: DownlinkOutcome | undefined = p.session ? { kind: 'tx_error', queueId: p.queued.id, devEui: p.session.devEui, fCntDown: this.sentFCnt.get(p.queued.id) ?? -1, gatewayId: gatewayEui, error, final: !again } : undefined;
      this.settle(o, { id: p.queued.id, state: again ? 'pending' : 'failed', attempts: p.queued.attempts, text: `TX_ACK ${error}` });
      if (again && p.session) this.pending.add(p.session.devEui);
    }
  }

  /** Processes what is in the dedup window now and commits (stop). */
  async flush(): Promise<void> {
    this.dedup.flushAll();
    const b = this.batch;
    this.batch = undefined;
    if (b) clearBatchTimer(b);
    // A clean stop writes the ADR history not written yet (adr.ts HISTORY_WRITE_EVERY).
    const applied = b ? this.appliedRows(b) : undefined;
    this.deps.store.db.transaction(() => {
      if (b?.sessions.size || applied?.rows.length) this.deps.store.commitUplinks(b?.sessions ?? new Set(), [], applied);
      if (b?.joins.length) this.deps.store.commitJoins(b.joins, { nextJoinNonce: this.nextJoinNonce, nextNwkAddr: this.nextNwkAddr });
      this.writeAdr(true);
    })();
    if (b) {
      const ids = this.logIds(applied, b.records.length);
      if (b.records.length) await this.deps.append(b.records, ids && ((refused) => ids.settle(refused)), false, ids?.onPlaced);
      this.deps.inbox?.done(b.entries);
    }
    // A clean stop leaves the counters in the sessions rows and the ADR state in its rows
    // (session-store.ts foldCounters, adr-store.ts fold): an optimisation of the file's shape,
    // so a failure is only logged.
    try {
      this.deps.store.foldCounters();
      this.adrStore.fold();
    } catch (err) {
      this.deps.logger.warn({ err: (err as Error).message }, 'session counters not folded into the sessions rows at stop (kept as they are)');
    }
  }

  /** Sessions with prepared keys, and lookups that found none (session-key-table.ts; tests and benches). */
  keySlots(): { sessions: number; unslottedLookups: number } {
    return { sessions: this.keyTable.size, unslottedLookups: this.keyTable.unslottedLookups };
  }

  close(): void {
    this.closed = true;
    this.refused.close();
    clearInterval(this.pendingPoll);
    this.dedup.clear();
    this.keyTable.wipe();
  }
}

/** The FCnt of a join's S6 row: negative, so never an uplink's FCnt. */
function joinAppliedKey(devNonce: number): number {
  return -1 - devNonce;
}

/** MHDR 0x00 and 23 bytes. */
function isJoinRequest(data: Uint8Array): boolean {
  return data.length === 23 && (data[0] ?? 0xff) >> 5 === 0;
}

/** The DevAddr of a data uplink (MHDR 0x40 / 0x80, LE at bytes 1–4): the dedup window keeps a device's frames in order. */
function devAddrOfUplink(data: Uint8Array): number | undefined {
  const m = (data[0] ?? 0) & 0xe0;
  if ((m !== 0x40 && m !== 0x80) || data.length < 12) return undefined;
  return ((data[1] as number) | ((data[2] as number) << 8) | ((data[3] as number) << 16) | ((data[4] as number) << 24)) >>> 0;
}

/** The best SNR of the receptions (-99 without any): a loop, not an array and a spread per uplink. */
/** A data frame's DevAddr as text, for reject reasons only (built when a frame is rejected, not per uplink). */
function devAddrHex(f: DataFrame): string {
  return hex32(f.devAddr >>> 0);
}

function bestSnr(receptions: readonly Reception[]): number {
  let best = -Infinity;
  for (const r of receptions) best = Math.max(best, r.rxpk.lsnr ?? -99);
  return best;
}

/** The parts of a data frame its answer reads (Answer.frame). */
function answerBits(f: DataFrame): Answer['frame'] {
  return { confirmed: f.confirmed, fCtrl: f.fCtrl };
}

/**
 * A committed batch's parts nothing reads after its commit (answers are prepared, rows written).
 * Its joins stay: a refused log append abandons them.
 */
function releaseCommitted(b: Batch): void {
  b.answers = [];
  b.applied = [];
  b.sessions.clear();
  b.joinNonces.clear();
}

function clearBatchTimer(b: Batch): void {
  if (b.timer === undefined) return;
  if ('refresh' in b.timer) clearTimeout(b.timer);
  else clearImmediate(b.timer);
  b.timer = undefined;
}

/** When the reception's uplink was heard on our clock (its datagram's arrival if unknown). */
function heardTime(r: Reception): number {
  return r.heardAt ?? r.receivedAt;
}

const HEX_CODES = [48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 97, 98, 99, 100, 101, 102];

/** The MIC as lowercase hex (as Buffer's 'hex'), one string and no Buffer per call. */
function micHex(f: DataFrame): string {
  const m = f.mic;
  return String.fromCharCode(hexCode(m, 0, 4), hexCode(m, 0, 0), hexCode(m, 1, 4), hexCode(m, 1, 0), hexCode(m, 2, 4), hexCode(m, 2, 0), hexCode(m, 3, 4), hexCode(m, 3, 0));
}

function hexCode(bytes: Uint8Array, i: number, shift: number): number {
  return HEX_CODES[((bytes[i] ?? 0) >> shift) & 15] as number;
}

/** The uplink's own time: the forwarder's GPS-referenced `time` when present, else now. */
function rxTime(r: Rxpk, now: number): number {
  if (r.time) {
    const t = Date.parse(r.time);
    if (Number.isFinite(t)) return t;
  }
  return now;
}

/** LinkCheckAns margin: dB above the demodulation floor of the best reception. */
function linkMargin(receptions: Reception[]): number {
  let best = -Infinity;
  for (const r of receptions) {
    const sf = parseLoraDatr(r.rxpk.datr)?.spreadingFactor ?? 12;
    best = Math.max(best, (r.rxpk.lsnr ?? 0) - (SNR_FLOOR[sf] ?? -20));
  }
  return Math.max(0, Math.min(254, Math.round(best)));
}
