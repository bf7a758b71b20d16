/** Session rows for the session store's tests and bench/edge-ns/session-commit.ts (not used at run time). */
import type { Session } from '../session-store.ts';

/** An ABP session numbered `i` (DevEUI 70b3d5e7… + i, DevAddr 0x27000000 + i), counters at 0. */
export function abpSession(i: number, over: Partial<Session> = {}): Session {
  return {
    devEui: (0x70b3d5e700000000n + BigInt(i)).toString(16),
    activation: 'ABP',
    devAddr: (0x27000000 + i) >>> 0,
    nwkSKey: Buffer.alloc(16, i & 0xff),
    appSKey: Buffer.alloc(16, (i + 1) & 0xff),
    fCntUpNext: 0,
    fCntDownNext: 0,
    seq: 1,
    rx1DrOffset: 0,
    rx2Dr: 0,
    rxDelay: 1,
    dr: 5,
    adr: true,
    lastMic: '',
    awaitingAck: 0,
    ...over,
  };
}
