// Dead-letter file: one JSON object per line for every line (or point) InfluxDB will never
// accept, with the server's reason, so nothing rejected disappears without a trace.
//
//   {"time":"2026-…Z","line":"m,t=a v=\"x\" 1700000000000","reason":"partial write: field type conflict: …","status":400}
//   {"time":"2026-…Z","point":{…},"reason":"no writable fields"}
//
// Appends are serialised and fdatasync'ed, so a record is on disk before the sink counts the
// line as settled (and the pipeline acks it).
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface DeadLetterRecord {
  line?: string;
  point?: unknown;
  reason: string;
  status?: number;
}

function jsonSafe(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}

export class DeadLetterFile {
  readonly path: string;
  private handle: FileHandle | undefined;
  private chain: Promise<void> = Promise.resolve();

  constructor(path: string) {
    this.path = path;
  }

  async open(): Promise<void> {
    if (this.handle) return;
    await mkdir(dirname(this.path), { recursive: true });
    this.handle = await open(this.path, 'a', 0o640);
  }

  /** Append records; resolves once they are synced to disk. */
  append(records: readonly DeadLetterRecord[], now = new Date()): Promise<void> {
    const time = now.toISOString();
    const text = records.map((r) => JSON.stringify({ time, ...r }, jsonSafe)).join('\n') + '\n';
    const next = this.chain.then(async () => {
      await this.open();
      const h = this.handle;
      if (!h) throw new Error('dead-letter file is closed');
      await h.appendFile(text, 'utf8');
      await h.datasync();
    });
    // Keep the chain alive after a failure; the caller sees the error through `next`.
    this.chain = next.catch(() => undefined);
    return next;
  }

  async close(): Promise<void> {
    await this.chain;
    const h = this.handle;
    this.handle = undefined;
    await h?.close();
  }
}
