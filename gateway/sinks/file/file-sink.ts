/**
 * Sink `file`: rotated InfluxDB line-protocol files — the embedded default when no InfluxDB is
 * configured, and a portable export (`influx -import`, Telegraf's file input, or plain grep).
 *
 * Files are `points-<UTC timestamp>-<seq>.lp` in `dir`; the current file is rotated when it
 * would exceed `rotate_bytes`, and only the newest `keep_files` are kept. A batch is confirmed
 * only after it is fsynced, so the log's cursor for this sink never runs ahead of the disk.
 * Lines carry millisecond timestamps (`precision=ms` when importing).
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { encodePoints, type Point } from '../influxdb/line-protocol.ts';

export interface FileSinkOptions {
  dir: string;
  rotate_bytes: number;
  keep_files: number;
}

export interface FileWriteOutcome {
  written: number;
  rejected: number;
}

export class LineProtocolFiles {
  private fd: number | undefined;
  private size = 0;
  private seq = 0;
  private current: string | undefined;
  pointsWritten = 0;
  rotations = 0;

  constructor(private readonly opts: FileSinkOptions) {}

  get currentFile(): string | undefined {
    return this.current;
  }

  private openNew(): void {
    this.closeCurrent();
    mkdirSync(this.opts.dir, { recursive: true });
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
    this.seq++;
    this.current = join(this.opts.dir, `points-${stamp}-${String(this.seq).padStart(4, '0')}.lp`);
    this.fd = openSync(this.current, 'a', 0o644);
    this.size = statSync(this.current).size;
    this.prune();
  }

  private closeCurrent(): void {
    if (this.fd !== undefined) {
      fsyncSync(this.fd);
      closeSync(this.fd);
      this.fd = undefined;
    }
  }

  /** Deletes the oldest files beyond keep_files (the names sort by time). */
  private prune(): void {
    const files = readdirSync(this.opts.dir)
      .filter((f) => /^points-.*\.lp$/.test(f))
      .sort();
    for (const f of files.slice(0, Math.max(0, files.length - this.opts.keep_files))) rmSync(join(this.opts.dir, f), { force: true });
  }

  /** Appends the points and fsyncs; resolves once they are on disk. */
  write(points: readonly Point[]): FileWriteOutcome {
    const enc = encodePoints(points);
    if (enc.lines.length > 0) {
      const text = `${enc.lines.join('\n')}\n`;
      const bytes = Buffer.byteLength(text);
      if (this.fd === undefined || (this.size > 0 && this.size + bytes > this.opts.rotate_bytes)) {
        if (this.fd !== undefined) this.rotations++;
        this.openNew();
      }
      writeSync(this.fd as number, text);
      fsyncSync(this.fd as number);
      this.size += bytes;
      this.pointsWritten += enc.lines.length;
    }
    return { written: enc.lines.length, rejected: enc.rejected.length };
  }

  close(): void {
    this.closeCurrent();
  }
}
