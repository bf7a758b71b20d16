/**
 * 16 → 32-bit frame-counter reconstruction (LoRaWAN 1.0.x §4.3.1.5).
 *
 * Only the low 16 bits of FCnt travel; the receiver keeps `expectedNext` (E, the counter it
 * expects next, 0 after a join) and infers the upper 16 bits:
 *
 * - the low bits of `E − 1` again → a retransmission of the last frame (NbTrans repeats, or a
 *   confirmed uplink whose ACK was lost): `fCnt32 = E − 1`; the caller decides whether the
 *   PHYPayload is byte-identical (re-ACK, do not forward again) or a replay (drop);
 * - otherwise the nearest counter ≥ E with those low bits, accepted if it is at most `maxGap`
 *   ahead (MAX_FCNT_GAP = 16384 in 1.0.0–1.0.3; crossing a 16-bit boundary is a rollover);
 * - else `replay` when the low bits are nearer behind E than ahead, `too-far` otherwise;
 * - `exhausted` when the counter would pass 2^32 − 1: the session must rejoin.
 *
 * This only proposes a value: verify the MIC with `fCnt32` and commit `E = fCnt32 + 1` only when
 * it is valid, so a forged frame cannot move the window.
 */
import { requireUint } from './bytes.ts';

export const MAX_FCNT_GAP = 16384;
const WRAP = 0x10000;
const MAX_FCNT32 = 0xffffffff;

export interface FCntOptions {
  /** Largest accepted jump ahead of `expectedNext` (frames lost in between). Default 16384. */
  maxGap?: number;
}

export type FCntAccepted = {
  ok: true;
  fCnt32: number;
  /** Same counter as the last accepted frame. */
  retransmission: boolean;
  /** Frames skipped since `expectedNext` (0 for the expected frame and for retransmissions). */
  lost: number;
  /** The upper 16 bits moved on (the on-air counter wrapped). */
  rolledOver: boolean;
};

export type FCntRejected = {
  ok: false;
  reason: 'replay' | 'too-far' | 'exhausted';
  message: string;
};

export type FCntResult = FCntAccepted | FCntRejected;

/**
 * Infer the 32-bit counter of a received frame. `expectedNext` is 0..2^32 (2^32 once
 * 0xFFFFFFFF was used). Throws RangeError only for arguments out of range (a programming error).
 */
export function reconstructFCnt(fCnt16: number, expectedNext: number, options: FCntOptions = {}): FCntResult {
  const maxGap = options.maxGap ?? MAX_FCNT_GAP;
  requireUint(fCnt16, 0xffff, 'fCnt16');
  requireUint(expectedNext, MAX_FCNT32 + 1, 'expectedNext');
  requireUint(maxGap, WRAP - 2, 'maxGap');
  const e = expectedNext;
  if (e > 0 && fCnt16 === (e - 1) % WRAP) {
    return { ok: true, fCnt32: e - 1, retransmission: true, lost: 0, rolledOver: false };
  }
  const ahead = (fCnt16 - (e % WRAP) + WRAP) % WRAP;
  const candidate = e + ahead;
  if (ahead <= maxGap) {
    if (candidate > MAX_FCNT32) {
      return { ok: false, reason: 'exhausted', message: `frame counter would pass 2^32-1 (expected ${e}): the device must rejoin` };
    }
    return { ok: true, fCnt32: candidate, retransmission: false, lost: ahead, rolledOver: Math.floor(candidate / WRAP) !== Math.floor(e / WRAP) };
  }
  const behind = WRAP - ahead;
  if (e - behind >= 0 && behind < ahead) {
    return {
      ok: false,
      reason: 'replay',
      message: `FCnt ${fCnt16} is ${behind} behind the expected ${e} (old or replayed frame)`,
    };
  }
  return {
    ok: false,
    reason: 'too-far',
    message: `FCnt ${fCnt16} would be ${ahead} ahead of the expected ${e}, more than the allowed gap ${maxGap}`,
  };
}
