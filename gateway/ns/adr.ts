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
 * Why a separate module with its state in memory: the session store's rows stay as they are
 * (another branch works on its performance). After a restart the history fills again (20
 * uplinks) before the next LinkADRReq; the TX power index and NbTrans the device was last told
 * are then assumed to be the defaults (0 and 1), so the first request after a restart may repeat
 * what the device already has — harmless, it answers LinkADRAns with every ack bit set.
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

/** Packet loss (%) from the FCnt gaps of the history. */
export function packetLossPct(history: readonly AdrUplink[]): number {
  let lost = 0;
  for (let i = 1; i < history.length; i++) {
    const gap = (history[i] as AdrUplink).fCnt - (history[i - 1] as AdrUplink).fCnt;
    if (gap > 1) lost += gap - 1;
  }
  const received = history.length;
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
  const current = { dr: input.dr, txPowerIndex: input.txPowerIndex, nbTrans: input.nbTrans };
  if (input.history.length < input.historyLength) return current;
  let dr = Math.min(input.dr, ADR_MAX_DR);
  let tx = input.txPowerIndex;
  const maxSnr = Math.max(...input.history.map((h) => h.maxSnr));
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
  return { dr, txPowerIndex: tx, nbTrans: nextNbTrans(input.nbTrans, packetLossPct(input.history)) };
}

interface DeviceAdr extends AdrState {
  history: AdrUplink[];
  /** what the last LinkADRReq asked, until the device answers */
  asked?: AdrState;
}

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
  private readonly devices = new Map<string, DeviceAdr>();

  constructor(private readonly opts: AdrOptions) {}

  state(devEui: string): Readonly<AdrState> | undefined {
    return this.devices.get(devEui);
  }

  /** A new session (join, new ABP keys): the device starts again from its defaults. */
  forget(devEui: string): void {
    this.devices.delete(devEui);
  }

  observe(devEui: string, uplink: AdrUplink & { dr: number }, channels: 'join-cflist' | 'default'): MacCommand | undefined {
    let d = this.devices.get(devEui);
    if (!d) {
      d = { dr: uplink.dr, txPowerIndex: 0, nbTrans: 1, history: [] };
      this.devices.set(devEui, d);
    }
    d.dr = uplink.dr;
    d.history.push({ fCnt: uplink.fCnt, maxSnr: uplink.maxSnr });
    if (d.history.length > this.opts.historyLength) d.history.splice(0, d.history.length - this.opts.historyLength);
    const next = adrDecision({ ...d, history: d.history, historyLength: this.opts.historyLength, installationMarginDb: this.opts.installationMarginDb });
    if (next.dr === d.dr && next.txPowerIndex === d.txPowerIndex && next.nbTrans === d.nbTrans) return undefined;
    d.asked = next;
    // The new settings need their own history before the next step (and no request per uplink).
    d.history = [];
    return {
      name: 'LinkADRReq',
      dataRate: next.dr,
      txPower: next.txPowerIndex,
      // Channels 0–7 for devices that got our CFList; the three default channels otherwise
      // (an ABP device's extra channels are not known here, and a mask naming an undefined
      // channel is refused by the device).
      chMask: channels === 'join-cflist' ? 0x00ff : 0x0007,
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
    if (!(ans.powerAck && ans.dataRateAck && ans.channelMaskAck)) return 'refused';
    d.txPowerIndex = asked.txPowerIndex;
    d.nbTrans = asked.nbTrans;
    return 'accepted';
  }
}
