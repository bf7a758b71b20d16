/**
 * Merging the session store's appended blobs (session-counters.ts, adr-store.ts `adr_log`): many
 * blobs of keyed entries, in commit order, into one blob holding each key's latest entry — what a
 * compaction writes in their place. No Buffer per entry: where each key's latest entry lies
 * (blob, start, end), then one copy.
 */

/** Calls `each` per entry of `b` in order with its key and where it lies; false if `b` does not parse past some point. */
export type EntryScanner = (b: Buffer, each: (key: string, start: number, end: number) => void) => boolean;

export function mergeLatest(blobs: readonly Uint8Array[], scan: EntryScanner): Buffer {
  const slot = new Map<string, number>();
  const from: Buffer[] = [];
  const starts: number[] = [];
  const ends: number[] = [];
  for (const blob of blobs) {
    const b = Buffer.isBuffer(blob) ? blob : Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
    scan(b, (key, start, end) => {
      const k = slot.get(key);
      if (k === undefined) {
        slot.set(key, from.length);
        from.push(b);
        starts.push(start);
        ends.push(end);
      } else {
        from[k] = b;
        starts[k] = start;
        ends[k] = end;
      }
    });
  }
  let size = 0;
  for (let k = 0; k < from.length; k++) size += (ends[k] as number) - (starts[k] as number);
  const out = Buffer.allocUnsafe(size);
  let o = 0;
  for (let k = 0; k < from.length; k++) o += (from[k] as Buffer).copy(out, o, starts[k], ends[k]);
  return out;
}

/** u8 length + the text's char codes (latin1: hex text); a loop, not Buffer#write: for 8–16 characters the binding call costs more. */
export function putShortText(b: Buffer, o: number, text: string): number {
  const n = text.length;
  if (n > 255) throw new Error(`text of ${n} characters does not fit a u8 length`);
  b[o] = n;
  for (let i = 0; i < n; i++) b[o + 1 + i] = text.charCodeAt(i);
  return o + 1 + n;
}
