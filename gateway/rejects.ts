/**
 * Where input the gateway could not accept is kept for inspection: a JSON-lines file, one line
 * per rejected message with the time, the source, the reason and the raw payload (base64), so a
 * malformed event or an unknown device's frame can be looked at — and fed again — later.
 * Bounded in size: past `maxBytes` new lines are counted, not written.
 */
import { createWriteStream, mkdirSync, statSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';

export interface RejectEntry {
  source: string;
  reason: string;
  detail: string;
  topic?: string;
  payload?: Uint8Array;
}

export class RejectsFile {
  private stream: WriteStream | undefined;
  private bytes = 0;
  dropped = 0;
  written = 0;

  constructor(
    readonly path: string,
    private readonly maxBytes = 64 * 1024 * 1024,
  ) {}

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
    const line = `${JSON.stringify({
      time: new Date().toISOString(),
      source: entry.source,
      reason: entry.reason,
      detail: entry.detail,
      ...(entry.topic !== undefined ? { topic: entry.topic } : {}),
      ...(entry.payload ? { payloadBase64: Buffer.from(entry.payload).toString('base64') } : {}),
    })}\n`;
    const s = this.open();
    if (this.bytes + line.length > this.maxBytes) {
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
