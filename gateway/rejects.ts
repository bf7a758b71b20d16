/**
 * Where input the gateway could not accept is kept for inspection: a JSON-lines file, one line
 * per rejected message with the time, the source, the reason and the raw payload (base64), so a
 * malformed event or an unknown device's frame can be looked at — and fed again — later.
 * Bounded in size: past `maxBytes` new lines are counted, not written (`dropped`, exported as
 * `lorawan_edge_rejects_dropped`). One entry is bounded too (`maxEntryBytes`): a payload longer
 * than fits is kept as its first bytes plus its full size (`payloadBytes`, `payloadTruncated`),
 * and only that prefix is ever copied — a 150 MB message must not become a 200 MB base64 string
 * on an 80 MB heap, nor take the whole budget of the file.
 */
import { createWriteStream, mkdirSync, statSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';

export interface RejectEntry {
  source: string;
  reason: string;
  detail: string;
  topic?: string;
  payload?: Uint8Array;
  /** The payload's full size when `payload` is only its head (a message cut before it was read whole). */
  payloadBytes?: number;
}

/** Default bound on one line of the rejects file. */
export const DEFAULT_MAX_ENTRY_BYTES = 64 * 1024;
const MAX_DETAIL_CHARS = 1000;
const MAX_TOPIC_CHARS = 512;

export class RejectsFile {
  private stream: WriteStream | undefined;
  private bytes = 0;
  dropped = 0;
  written = 0;
  /** Payload bytes kept per entry: what fits in maxEntryBytes as base64 beside the other fields. */
  private readonly payloadPrefixBytes: number;

  constructor(
    readonly path: string,
    private readonly maxBytes = 64 * 1024 * 1024,
    maxEntryBytes = DEFAULT_MAX_ENTRY_BYTES,
  ) {
    this.payloadPrefixBytes = Math.max(0, Math.floor((maxEntryBytes - 2048) / 4) * 3);
  }

  private open(): WriteStream {
    if (!this.stream) {
      mkdirSync(dirname(this.path), { recursive: true });
      try {
        this.bytes = statSync(this.path).size;
      } catch {
        this.bytes = 0;
      }
      this.stream = createWriteStream(this.path, { flags: 'a', mode: 0o640 });
      this.stream.on('error', () => {
        // A full disk must not take the gateway down: further rejects are counted as dropped.
        this.bytes = Number.POSITIVE_INFINITY;
      });
    }
    return this.stream;
  }

  write(entry: RejectEntry): void {
    const p = entry.payload;
    const kept = p && p.length > this.payloadPrefixBytes ? p.subarray(0, this.payloadPrefixBytes) : p;
    const line = `${JSON.stringify({
      time: new Date().toISOString(),
      source: entry.source,
      reason: entry.reason,
      detail: entry.detail.length > MAX_DETAIL_CHARS ? `${entry.detail.slice(0, MAX_DETAIL_CHARS)}…` : entry.detail,
      ...(entry.topic !== undefined ? { topic: entry.topic.length > MAX_TOPIC_CHARS ? `${entry.topic.slice(0, MAX_TOPIC_CHARS)}…` : entry.topic } : {}),
      ...(p && kept ? { payloadBase64: Buffer.from(kept.buffer, kept.byteOffset, kept.byteLength).toString('base64'), payloadBytes: Math.max(p.length, entry.payloadBytes ?? 0) } : {}),
      ...(p && kept && kept.length < Math.max(p.length, entry.payloadBytes ?? 0) ? { payloadTruncated: true } : {}),
    })}\n`;
    const s = this.open();
    if (this.bytes + Buffer.byteLength(line) > this.maxBytes) {
      this.dropped++;
      return;
    }
    this.bytes += Buffer.byteLength(line);
    this.written++;
    s.write(line);
  }

  async close(): Promise<void> {
    const s = this.stream;
    this.stream = undefined;
    if (s) await new Promise<void>((resolve) => s.end(resolve));
  }
}
