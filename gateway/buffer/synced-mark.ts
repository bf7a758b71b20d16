/**
 * The SYNCED mark: how far the active segment was durable the last time the writer fsync'ed it,
 * kept beside the segments so recovery can tell a torn tail (bytes never acknowledged: cut, as
 * expected after a crash) from acknowledged records that are gone (damage: counted and logged
 * as loss).
 *
 * `<dir>/SYNCED`, 32 bytes, rewritten in place after every flush (one positional write, no
 * fsync of its own — that would double the fsyncs):
 *    0  u32  magic 0x59534C4C ("LLSY")
 *    4  u32  CRC-32 of bytes 8..31
 *    8  u64  base id of the segment the mark is about
 *   16  u64  durable size of that segment (bytes, header included)
 *   24  u64  last durable id
 * Because it is written only after the fdatasync that made those bytes durable, whatever value
 * survives a power cut (the new one, the previous one, or none: a torn mark fails its CRC and
 * is ignored) never claims more than was durable. It can claim less (an unsynced newer mark was
 * lost), so losses are a lower bound, never invented.
 */
import type { FileHandle } from 'node:fs/promises';
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from './crc32.ts';
import { writeAll } from './files.ts';

export const SYNCED_FILE = 'SYNCED';
const MAGIC = 0x59534c4c;
const BYTES = 32;

export interface SyncedState {
  baseId: number;
  size: number;
  lastId: number;
}

export function encodeSynced(s: SyncedState): Buffer {
  const b = Buffer.alloc(BYTES);
  b.writeUInt32LE(MAGIC, 0);
  b.writeBigUInt64LE(BigInt(s.baseId), 8);
  b.writeBigUInt64LE(BigInt(s.size), 16);
  b.writeBigUInt64LE(BigInt(s.lastId), 24);
  b.writeUInt32LE(crc32(b.subarray(8, BYTES)), 4);
  return b;
}

/** The mark in `buf`, or undefined when it is missing, short, torn or not a mark. */
export function decodeSynced(buf: Uint8Array): SyncedState | undefined {
  if (buf.length < BYTES) return undefined;
  const b = Buffer.from(buf.buffer, buf.byteOffset, BYTES);
  if (b.readUInt32LE(0) !== MAGIC || b.readUInt32LE(4) !== crc32(b.subarray(8, BYTES))) return undefined;
  const n = (at: number): number | undefined => {
    const v = b.readBigUInt64LE(at);
    return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : undefined;
  };
  const baseId = n(8);
  const size = n(16);
  const lastId = n(24);
  if (baseId === undefined || size === undefined || lastId === undefined) return undefined;
  return { baseId, size, lastId };
}

export async function readSynced(dir: string): Promise<SyncedState | undefined> {
  try {
    return decodeSynced(await readFile(join(dir, SYNCED_FILE)));
  } catch {
    return undefined;
  }
}

/** The writer's handle on the mark: one write at a time (the log flushes one batch at a time). */
export class SyncedMark {
  private constructor(private readonly fh: FileHandle) {}

  static async open(dir: string): Promise<SyncedMark> {
    const fh = await open(join(dir, SYNCED_FILE), 'a+').then(async (a) => {
      await a.close();
      return open(join(dir, SYNCED_FILE), 'r+');
    });
    return new SyncedMark(fh);
  }

  async write(baseId: number, size: number, lastId: number): Promise<void> {
    const b = encodeSynced({ baseId, size, lastId });
    await writeAll(this.fh, b, BYTES, 0);
  }

  async close(): Promise<void> {
    await this.fh.close().catch(() => undefined);
  }
}
