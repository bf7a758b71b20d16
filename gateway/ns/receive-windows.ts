/**
 * Which class-A receive window an answer can still make, from when the uplink was heard
 * (`gateway-clock.ts`), not from when its datagram was read.
 *
 * RX1 opens `rx1DelayMs` after the end of the uplink (1 s for data by default, 5 s for a
 * join-accept), RX2 one second later. The PULL_RESP must reach the forwarder `leadMs` before
 * the window: the forwarder refuses anything later than 42.5 ms before `tmst` (TOO_LATE: 1.5 ms
 * start delay + 1 ms margin + 40 ms JIT pre-delay), plus the way to the gateway and the rest of
 * the server's work after this decision. An answer that cannot make RX1 goes to RX2; one that
 * cannot make RX2 is not sent at all (a PULL_RESP after its window only costs the gateway a
 * TOO_LATE, or worse, a transmission at the wrong time after a tmst wrap).
 */

/** RX2 opens this long after RX1 (LoRaWAN 1.0.x: RECEIVE_DELAY2 = RECEIVE_DELAY1 + 1 s). */
export const RX2_AFTER_RX1_MS = 1000;

export type WindowChoice = 'rx1' | 'rx2' | 'too_late';

export interface WindowPlan {
  window: WindowChoice;
  /** monotonic ms by which a PULL_RESP for RX1 / RX2 must be sent */
  rx1SendBy: number;
  rx2SendBy: number;
  /** ms left before the chosen window's deadline (negative: too late) */
  leftMs: number;
}

export function planWindow(o: { heardAt: number; rx1DelayMs: number; now: number; leadMs: number }): WindowPlan {
  const rx1SendBy = o.heardAt + o.rx1DelayMs - o.leadMs;
  const rx2SendBy = rx1SendBy + RX2_AFTER_RX1_MS;
  if (o.now < rx1SendBy) return { window: 'rx1', rx1SendBy, rx2SendBy, leftMs: rx1SendBy - o.now };
  if (o.now < rx2SendBy) return { window: 'rx2', rx1SendBy, rx2SendBy, leftMs: rx2SendBy - o.now };
  return { window: 'too_late', rx1SendBy, rx2SendBy, leftMs: rx2SendBy - o.now };
}
