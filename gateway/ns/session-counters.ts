/**
 * The per-batch counter entries of the session store (`session_counters`, session-store.ts): what
 * an uplink or an answer changes in a session — seq, FCntUp next, FCntDown next, DR, ADR bit,
 * last MIC, awaited downlink — for every session of a commit batch, packed into one blob.
 *
 * Why not `UPDATE sessions` per session: each such row sits on a random page of the table
 * (10,000 sessions ≈ 300 pages), so a batch of 200 dirtied ~150 pages and the commit wrote and
 * fsynced ~600 KB of WAL, on the main thread (better-sqlite3 is synchronous): ~6 µs of CPU per
 * session plus the larger fsync (bench/edge-ns/session-commit.ts). One appended blob is a few
 * sequential pages.
 *
 * Layout, per entry, back to back: u8 n, n bytes DevEUI (latin1: hex text); f64 LE seq, FCntUp
 * next, FCntDown next, awaited queue id; u8 DR, u8 ADR (0/1); u8 m, m bytes last MIC (latin1).
 * Doubles hold every counter exactly.
 */
import { mergeLatest, putShortText } from './latest-entries.ts';
import type { Session } from './session-store.ts';

/** The fields an entry carries (the mutable part of a session). */
export type CounterState = Pick<Session, 'seq' | 'fCntUpNext' | 'fCntDownNext' | 'dr' | 'adr' | 'lastMic' | 'awaitingAck'>;

const FIXED = 4 * 8 + 2;

function sizeOf(s: { devEui: string; lastMic: string }): number {
  if (s.devEui.length > 255 || s.lastMic.length > 255) throw new Error('DevEUI or MIC text too long for a counter entry');
  return 1 + s.devEui.length + FIXED + 1 + s.lastMic.length;
}

/** One entry per session, in iteration order (a later entry of the same DevEUI wins at load). */
export function packCounters(sessions: readonly Session[]): Buffer {
  let size = 0;
  for (const s of sessions) size += sizeOf(s);
  const b = Buffer.allocUnsafe(size);
  let o = 0;
  for (const s of sessions) {
    o = putShortText(b, o, s.devEui);
    b.writeDoubleLE(s.seq, o);
    b.writeDoubleLE(s.fCntUpNext, o + 8);
    b.writeDoubleLE(s.fCntDownNext, o + 16);
    b.writeDoubleLE(s.awaitingAck, o + 24);
    b[o + 32] = s.dr;
    b[o + 33] = s.adr ? 1 : 0;
    o += FIXED;
    o = putShortText(b, o, s.lastMic);
  }
  return b;
}

/** Calls `each` for every entry in order, with where it lies in the blob; false if the blob does not parse (entries before the damage were given). */
function scan(b: Buffer, each: (devEui: string, start: number, end: number) => void): boolean {
  let o = 0;
  while (o < b.length) {
    const start = o;
    const n = b[o] as number;
    const micAt = o + 1 + n + FIXED;
    if (micAt >= b.length) return false;
    const end = micAt + 1 + (b[micAt] as number);
    if (end > b.length) return false;
    each(b.toString('latin1', o + 1, o + 1 + n), start, end);
    o = end;
  }
  return true;
}

/** The entries of a blob in order (up to damage, if it does not parse: `complete` false). */
export function unpackCounters(blob: Uint8Array): { entries: [devEui: string, state: CounterState][]; complete: boolean } {
  const b = Buffer.isBuffer(blob) ? blob : Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  const out: [string, CounterState][] = [];
  const ok = scan(b, (devEui, start) => {
    const o = start + 1 + devEui.length;
    const m = b[o + FIXED] as number;
    out.push([
      devEui,
      {
        seq: b.readDoubleLE(o),
        fCntUpNext: b.readDoubleLE(o + 8),
        fCntDownNext: b.readDoubleLE(o + 16),
        awaitingAck: b.readDoubleLE(o + 24),
        dr: b[o + 32] as number,
        adr: b[o + 33] === 1,
        lastMic: b.toString('latin1', o + FIXED + 1, o + FIXED + 1 + m),
      },
    ]);
  });
  return { entries: out, complete: ok };
}

/**
 * The blobs (in commit order) as one blob holding only each DevEUI's latest entry — what the
 * store's compaction writes in their place. A blob that does not parse counts up to its
 * damage, as at load.
 */
export function mergeCounters(blobs: readonly Uint8Array[]): Buffer {
  return mergeLatest(blobs, scan);
}
