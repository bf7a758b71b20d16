/**
 * ADR for the edge network server (EU868), modelled on ChirpStack's default algorithm:
 *
 * - per device, the best SNR (over all gateways) of each of the last `historyLength` (20)
 *   uplinks sent with the ADR bit, with their FCnt;
 * - nothing changes until the history is full;
 * - margin = max SNR − required SNR of the current DR − installation margin (10 dB);
 *   nStep = floor(margin / 3); each positive step raises the DR (up to DR5, SF7) and, at the top
 *   DR, lowers the TX power (raises the index, up to 7); each negative step raises the TX power
 *   (down to index 0) — the DR is never lowered by ADR (the device's ADRACKReq backoff does that);
 * - NbTrans from the packet loss seen in the history's FCnt gaps (< 5 %, < 10 %, < 30 %, more).
 *
 * State: the engine holds each device's history, TX power index, NbTrans and the last request in
 * memory and marks what is due to be written (`takeDirty`); the network server writes those
 * devices to the session store (`adr-store.ts`) in the same transaction as the batch's frame
 * counters, and restores them at start — so a restart keeps what the device was told and its
 * history (at most `historyLength` uplinks). A decision (a request, an answer, a new session) is
 * due at once; history alone every `HISTORY_WRITE_EVERY` uplinks, and all of it at a clean stop —
 * a crash may forget the last few SNRs of a device (they only delay its next step). Writing every
 * uplink cost 4.2 µs CPU per ADR uplink, every 5th 1.4 µs (bench/edge-ns/adr-store.ts).
 */
import type { MacCommand } from '../../lorawan/mac-commands.ts';

/** EU868 demodulation floor (dB) per DR 0..5 (SF12..SF7, 125 kHz). */
export const REQUIRED_SNR_EU868 = [-20, -17.5, -15, -12.5, -10, -7.5] as const;
/** Highest DR ADR moves a device to (EU868 DR5 = SF7BW125), highest TX power index (EU868: 7 = max EIRP − 14 dB). */
export const ADR_MAX_DR = 5;
export const ADR_MAX_TX_POWER_INDEX = 7;

export interface AdrUplink {
  fCnt: number;
  maxSnr: number;
}

export interface AdrState {
  dr: number;
  txPowerIndex: number;
  nbTrans: number;
}

export interface AdrInput extends AdrState {
  history: readonly AdrUplink[];
  historyLength: number;
  installationMarginDb: number;
}

/**
 * A history as the engine keeps it: `[fCnt0, maxSnr0, fCnt1, maxSnr1, …]`, oldest first — one
 * array of unboxed doubles per device instead of an object (and often a heap number) per uplink:
 * 10,000 devices with 19 uplinks each took 14.9 MB of heap as objects, 5.0 MB packed
 * (bench/RESULTS.md "ns-heap").
 */
export type PackedHistory = number[];

export function packHistory(history: readonly AdrUplink[]): PackedHistory {
  const out: PackedHistory = [];
  for (const h of history) out.push(h.fCnt, h.maxSnr);
  return out;
}

export function unpackHistory(p: readonly number[]): AdrUplink[] {
  const out: AdrUplink[] = [];
  for (let i = 0; i + 1 < p.length; i += 2) out.push({ fCnt: p[i] as number, maxSnr: p[i + 1] as number });
  return out;
}

/** Packet loss (%) from the FCnt gaps of the history. */
export function packetLossPct(history: readonly AdrUplink[]): number {
  return packedLossPct(packHistory(history));
}

function packedLossPct(p: readonly number[]): number {
  let lost = 0;
  for (let i = 2; i < p.length; i += 2) {
    const gap = (p[i] as number) - (p[i - 2] as number);
    if (gap > 1) lost += gap - 1;
  }
  const received = p.length >> 1;
  return received === 0 ? 0 : (lost * 100) / (lost + received);
}

/** ChirpStack's table: rows = loss bucket, columns = current NbTrans (1..3). */
const NB_TRANS_TABLE = [
  [1, 1, 2],
  [1, 2, 3],
  [2, 3, 3],
  [3, 3, 3],
] as const;

export function nextNbTrans(current: number, lossPct: number): number {
  const row = lossPct < 5 ? 0 : lossPct < 10 ? 1 : lossPct < 30 ? 2 : 3;
  const col = Math.min(3, Math.max(1, current)) - 1;
  return NB_TRANS_TABLE[row]?.[col] ?? 1;
}

/** The DR / TX power index / NbTrans the device should use; the current ones while the history is short. */
export function adrDecision(input: AdrInput): AdrState {
  return packedDecision(input, packHistory(input.history));
}

/** `adrDecision` over a packed history (`input.history` is not read). */
function packedDecision(input: Omit<AdrInput, 'history'>, p: readonly number[]): AdrState {
  if (p.length >> 1 < input.historyLength) return { dr: input.dr, txPowerIndex: input.txPowerIndex, nbTrans: input.nbTrans };
  let dr = Math.min(input.dr, ADR_MAX_DR);
  let tx = input.txPowerIndex;
  let maxSnr = -Infinity;
  for (let i = 1; i < p.length; i += 2) if ((p[i] as number) > maxSnr) maxSnr = p[i] as number;
  const required = REQUIRED_SNR_EU868[dr] ?? REQUIRED_SNR_EU868[0];
  let nStep = Math.floor((maxSnr - required - input.installationMarginDb) / 3);
  // Bounded: at most ADR_MAX_DR + ADR_MAX_TX_POWER_INDEX steps can change anything.
  while (nStep > 0) {
    if (dr < ADR_MAX_DR) dr++;
    else if (tx < ADR_MAX_TX_POWER_INDEX) tx++;
    else break;
    nStep--;
  }
  while (nStep < 0) {
    if (tx > 0) tx--;
    else break;
    nStep++;
  }
  return { dr, txPowerIndex: tx, nbTrans: nextNbTrans(input.nbTrans, packedLossPct(p)) };
}

/** A device's ADR state as stored and restored (adr-store.ts). */
export interface DeviceAdr extends AdrState {
  history: AdrUplink[];
  /** what the last LinkADRReq asked, until the device answers */
  asked?: AdrState;
  /** the device refused a channel mask beyond the three default channels: ask for 0–2 only from then on */
  maskRefused?: boolean;
}

/** The same as the engine keeps it: the history packed. */
export interface AdrDevice extends Omit<DeviceAdr, 'history'> {
  packed: PackedHistory;
}

/** History-only changes are written every this many uplinks of a device (see the module comment). */
export const HISTORY_WRITE_EVERY = 5;

/** EU868's three default channels (every device has them). */
export const DEFAULT_CH_MASK = 0x0007;

export interface AdrOptions {
  historyLength: number;
  installationMarginDb: number;
}

/**
 * Per-device ADR state (memory only). `observe` takes each accepted uplink of a device with the
 * ADR bit and returns the LinkADRReq to send with the answer, if the decision differs from what
 * the device uses; `answered` takes its LinkADRAns.
 */
export class AdrEngine {
  private readonly devices = new Map<string, AdrDevice>();
  /** devices due to be written (a decision, or HISTORY_WRITE_EVERY uplinks) since the last `takeDirty` */
  private dirty = new Set<string>();
  /** uplinks of each device not written yet */
  private readonly unsaved = new Map<string, number>();

  constructor(private readonly opts: AdrOptions) {}

  /** The devices due to be written (`all`: every device with something unwritten), with their state (undefined: forgotten). */
  takeDirty(all = false): [string, Readonly<AdrDevice> | undefined][] {
    if (all) for (const devEui of this.unsaved.keys()) this.dirty.add(devEui);
    const out: [string, Readonly<AdrDevice> | undefined][] = [];
    for (const devEui of this.dirty) {
      out.push([devEui, this.devices.get(devEui)]);
      this.unsaved.delete(devEui);
    }
    this.dirty = new Set();
    return out;
  }

  private changed(devEui: string, decision: boolean): void {
    const n = (this.unsaved.get(devEui) ?? 0) + 1;
    this.unsaved.set(devEui, n);
    if (decision || n >= HISTORY_WRITE_EVERY) this.dirty.add(devEui);
  }

  /** A device's state as stored (at start); the history is cut to `historyLength`. */
  restore(devEui: string, d: DeviceAdr): void {
    const { history, ...rest } = d;
    this.devices.set(devEui, { ...rest, packed: packHistory(history.slice(-this.opts.historyLength)) });
  }

  /** A device's state with its history unpacked (for tests and diagnostics: it copies). */
  state(devEui: string): Readonly<DeviceAdr> | undefined {
    const d = this.devices.get(devEui);
    if (!d) return undefined;
    const { packed, ...rest } = d;
    return { ...rest, history: unpackHistory(packed) };
  }

  /** A new session (join, new ABP keys): the device starts again from its defaults. */
  forget(devEui: string): void {
    if (this.devices.delete(devEui)) this.changed(devEui, true);
  }

  /**
   * `chMask`: the channels the device is known to have (`channel-plan.ts`): 0–7 for devices that
   * got our CFList, 0–2 plus the configured extra channels for ABP devices.
   */
  observe(devEui: string, uplink: AdrUplink & { dr: number }, chMask: number): MacCommand | undefined {
    let d = this.devices.get(devEui);
    if (!d) {
      d = { dr: uplink.dr, txPowerIndex: 0, nbTrans: 1, packed: [] };
      this.devices.set(devEui, d);
    }
    const drChanged = d.dr !== uplink.dr;
    d.dr = uplink.dr;
    const p = d.packed;
    p.push(uplink.fCnt, uplink.maxSnr);
    const keep = 2 * this.opts.historyLength;
    if (p.length > keep) {
      // Shifted in place: no array of removed entries per uplink (as splice would return).
      p.copyWithin(0, p.length - keep);
      p.length = keep;
    }
    // Nothing to decide while the history fills (most uplinks of a fleet that is being heard).
    if (p.length >> 1 < this.opts.historyLength) {
      this.changed(devEui, drChanged);
      return undefined;
    }
    const next = packedDecision({ dr: d.dr, txPowerIndex: d.txPowerIndex, nbTrans: d.nbTrans, historyLength: this.opts.historyLength, installationMarginDb: this.opts.installationMarginDb }, p);
    if (next.dr === d.dr && next.txPowerIndex === d.txPowerIndex && next.nbTrans === d.nbTrans) {
      this.changed(devEui, drChanged);
      return undefined;
    }
    this.changed(devEui, true);
    d.asked = next;
    // The new settings need their own history before the next step (and no request per uplink).
    d.packed = [];
    return {
      name: 'LinkADRReq',
      dataRate: next.dr,
      txPower: next.txPowerIndex,
      // A mask naming a channel the device does not have is refused as a whole (LinkADRAns
      // without the channel-mask ack): after such a refusal only the default channels.
      chMask: d.maskRefused ? DEFAULT_CH_MASK : chMask,
      chMaskCntl: 0,
      nbTrans: next.nbTrans,
    };
  }

  /** The device's LinkADRAns: all three acks → the asked settings are the device's now. */
  answered(devEui: string, ans: { powerAck: boolean; dataRateAck: boolean; channelMaskAck: boolean }): 'accepted' | 'refused' | 'unexpected' {
    const d = this.devices.get(devEui);
    const asked = d?.asked;
    if (!d || !asked) return 'unexpected';
    d.asked = undefined;
    this.changed(devEui, true);
    if (!ans.channelMaskAck) d.maskRefused = true;
    if (!(ans.powerAck && ans.dataRateAck && ans.channelMaskAck)) return 'refused';
    d.txPowerIndex = asked.txPowerIndex;
    d.nbTrans = asked.nbTrans;
    return 'accepted';
  }
}
