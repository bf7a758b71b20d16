/**
 * The S6 rows of one commit batch (session-store.ts `AppliedUplink`) packed into one blob, so a
 * batch writes one `applied_batches` row instead of one indexed row per uplink: an indexed row
 * per uplink landed on a random page of the (dev_eui, f_cnt) b-tree and cost ~4.4 µs of the main
 * thread each (bench/edge-ns/session-commit.ts); the blob is a few sequential pages.
 *
 * Layout, per row, back to back: u8 n, n bytes of the DevEUI (latin1: hex text), then f64 LE
 * f_cnt (negative for a join: −1 − DevNonce), f64 LE log id (−1 = refused by the log), f64 LE
 * journal entry. Doubles hold every value exactly (integers below 2^53).
 */
import type { AppliedUplink } from './session-store.ts';

const FIXED = 24;

/** The key a row is looked up by. */
export const appliedKey = (devEui: string, fCnt: number): string => `${devEui}/${fCnt}`;

export function packApplied(rows: readonly AppliedUplink[]): Buffer {
  let size = 0;
  for (const r of rows) size += 1 + r.devEui.length + FIXED;
  const b = Buffer.allocUnsafe(size);
  let o = 0;
  for (const r of rows) {
    const n = r.devEui.length;
    if (n > 255) throw new Error(`DevEUI of ${n} characters cannot be recorded`);
    b[o] = n;
    b.write(r.devEui, o + 1, n, 'latin1');
    o += 1 + n;
    b.writeDoubleLE(r.fCnt, o);
    b.writeDoubleLE(r.logId, o + 8);
    b.writeDoubleLE(r.entry, o + 16);
    o += FIXED;
  }
  return b;
}

/** key → log id, a later row of the same key winning (as INSERT OR REPLACE did); undefined if the blob does not parse. */
export function unpackApplied(blob: Uint8Array): Map<string, number> | undefined {
  const b = Buffer.isBuffer(blob) ? blob : Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  const out = new Map<string, number>();
  let o = 0;
  while (o < b.length) {
    const n = b[o] as number;
    if (o + 1 + n + FIXED > b.length) return undefined;
    const devEui = b.toString('latin1', o + 1, o + 1 + n);
    o += 1 + n;
    out.set(appliedKey(devEui, b.readDoubleLE(o)), b.readDoubleLE(o + 8));
    o += FIXED;
  }
  return out;
}
