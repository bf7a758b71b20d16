/**
 * On-disk format of the durable log: segment file names, the segment header, record frames, and
 * the frame scanner that recovery and readers share. The format itself is described at the top
 * of `log.ts`; this file is its single implementation.
 */
import type { FileHandle } from 'node:fs/promises';
import { crc32 } from './crc32.ts';

/** "LWLG": lorawan-edge log. */
export const SEGMENT_MAGIC = 0x474c574c; // bytes 4C 57 4C 47 read as u32 LE
export const FORMAT_VERSION = 1;
export const SEGMENT_HEADER_BYTES = 20;

/** Sync marker opening every frame: 0xFE is not a valid UTF-8 byte and is a reserved CBOR initial byte. */
export const FRAME_MARKER = Buffer.from([0xfe, 0x4c, 0x57, 0x52]); // FE "LWR"
const M0 = 0xfe;
const M1 = 0x4c;
const M2 = 0x57;
const M3 = 0x52;
export const FRAME_HEADER_BYTES = 20;
/** Upper bound of one payload the format admits (a u32 length could say more). */
export const MAX_PAYLOAD_BYTES = 0x4000_0000; // 1 GiB

const TWO_32 = 0x1_0000_0000;
/** High word of Number.MAX_SAFE_INTEGER (2^53 - 1). */
const MAX_SAFE_HIGH = 0x1f_ffff;

const SEGMENT_NAME = /^(\d{20})\.seg$/;

export function segmentFileName(baseId: number): string {
  return `${String(baseId).padStart(20, '0')}.seg`;
}

/** Base id of a segment file name, or undefined for any other file (left alone). */
export function parseSegmentFileName(name: string): number | undefined {
  const m = SEGMENT_NAME.exec(name);
  if (!m) return undefined;
  const id = Number(m[1]);
  return Number.isSafeInteger(id) && id >= 1 ? id : undefined;
}

export function writeU64(buf: Buffer, offset: number, value: number): void {
  buf.writeUInt32LE(value % TWO_32, offset);
  buf.writeUInt32LE(Math.floor(value / TWO_32), offset + 4);
}

/** A u64 as a number, or -1 when it exceeds 2^53 - 1. */
export function readU64(buf: Buffer, offset: number): number {
  const high = buf.readUInt32LE(offset + 4);
  if (high > MAX_SAFE_HIGH) return -1;
  return high * TWO_32 + buf.readUInt32LE(offset);
}

export function encodeSegmentHeader(baseId: number): Buffer {
  const b = Buffer.alloc(SEGMENT_HEADER_BYTES);
  b.writeUInt32LE(SEGMENT_MAGIC, 0);
  b.writeUInt16LE(FORMAT_VERSION, 4);
  b.writeUInt16LE(SEGMENT_HEADER_BYTES, 6);
  writeU64(b, 8, baseId);
  b.writeUInt32LE(crc32(b.subarray(0, 16)), 16);
  return b;
}

export type SegmentHeader =
  | { ok: true; baseId: number }
  | { ok: false; reason: 'short' | 'checksum' | 'magic' }
  | { ok: false; reason: 'version'; version: number };

export function decodeSegmentHeader(b: Buffer): SegmentHeader {
  if (b.length < SEGMENT_HEADER_BYTES) return { ok: false, reason: 'short' };
  if (b.readUInt32LE(16) !== crc32(b.subarray(0, 16))) return { ok: false, reason: 'checksum' };
  if (b.readUInt32LE(0) !== SEGMENT_MAGIC) return { ok: false, reason: 'magic' };
  const version = b.readUInt16LE(4);
  if (version !== FORMAT_VERSION || b.readUInt16LE(6) !== SEGMENT_HEADER_BYTES) return { ok: false, reason: 'version', version };
  const baseId = readU64(b, 8);
  if (baseId < 1) return { ok: false, reason: 'checksum' };
  return { ok: true, baseId };
}

/**
 * Writes one frame (header + payload) into `out` at `at`; returns the frame's length.
 * `out` must have room for FRAME_HEADER_BYTES + payload.length bytes.
 */
export function writeFrame(out: Buffer, at: number, id: number, payload: Uint8Array): number {
  out[at] = M0;
  out[at + 1] = M1;
  out[at + 2] = M2;
  out[at + 3] = M3;
  out.writeUInt32LE(payload.length, at + 8);
  writeU64(out, at + 12, id);
  out.set(payload, at + FRAME_HEADER_BYTES);
  const end = at + FRAME_HEADER_BYTES + payload.length;
  out.writeUInt32LE(crc32(out.subarray(at + 8, end)), at + 4);
  return end - at;
}

/** What `FrameScanner.step()` found. */
export const Scan = {
  /** A valid frame: see frameId, frameStart, frameEnd, payloadStart, payloadEnd in `buf`. */
  Frame: 0,
  /** Invalid bytes [gapStart, gapEnd) followed by a valid frame, which the next step returns. */
  Gap: 1,
  /** Invalid or incomplete bytes from tailStart up to the limit, with no valid frame after them. */
  Tail: 2,
  /** Clean end: the scan position reached the limit on a frame boundary. */
  End: 3,
  /** The scanner needs bytes from the file: await fill(), then step again. */
  NeedIo: 4,
} as const;
export type Scan = (typeof Scan)[keyof typeof Scan];

/**
 * Walks the frames of one segment file between `start` and `limit` (exclusive), reading the file
 * in large chunks so the common path is synchronous and allocation-free.
 *
 * A frame is valid when its marker matches, it ends at or before the limit, its CRC matches and
 * its id is greater than the previous valid id. Anything else starts an invalid region; the
 * scanner then searches forward for the next marker that opens a valid frame (resync). If one is
 * found the region is a Gap, else the region is the Tail.
 */
export class FrameScanner {
  /** Bytes of the file from `bufStart`; exactly the valid bytes (never stale). */
  buf: Buffer = Buffer.alloc(0);
  bufStart = 0;
  /** File offset of the next frame to parse. */
  pos: number;
  /** Id of the last valid frame (the segment's base id - 1 before the first one). */
  lastId: number;
  frameId = 0;
  frameStart = 0;
  frameEnd = 0;
  /** Offsets of the payload of the last Frame inside `buf`. */
  payloadStart = 0;
  payloadEnd = 0;
  gapStart = 0;
  gapEnd = 0;
  tailStart = 0;

  private badStart = -1;
  private searchFrom = 0;
  private ioOffset = 0;
  private ioMin = 0;
  /** Read buffer, grown on demand (small segments never cost a full chunk). */
  private store: Buffer = Buffer.alloc(0);

  constructor(
    private readonly fh: FileHandle,
    start: number,
    /** Bytes past the limit are never looked at; readers raise it as data becomes durable. */
    public limit: number,
    lastId: number,
    private readonly chunkBytes = 1 << 20,
  ) {
    this.pos = start;
    this.lastId = lastId;
  }

  step(): Scan {
    if (this.badStart >= 0) return this.resync();
    const pos = this.pos;
    if (pos >= this.limit) return Scan.End;
    const bufEnd = this.bufStart + this.buf.length;
    if (pos < this.bufStart || bufEnd - pos < FRAME_HEADER_BYTES) {
      if (this.limit - pos < FRAME_HEADER_BYTES) return this.startBad(pos);
      return this.needIo(pos, FRAME_HEADER_BYTES);
    }
    const b = this.buf;
    const rel = pos - this.bufStart;
    if (b[rel] !== M0 || b[rel + 1] !== M1 || b[rel + 2] !== M2 || b[rel + 3] !== M3) return this.startBad(pos);
    const len = b.readUInt32LE(rel + 8);
    const end = pos + FRAME_HEADER_BYTES + len;
    if (len > MAX_PAYLOAD_BYTES || end > this.limit) return this.startBad(pos);
    if (end > bufEnd) return this.needIo(pos, FRAME_HEADER_BYTES + len);
    const relEnd = rel + FRAME_HEADER_BYTES + len;
    if (crc32(b.subarray(rel + 8, relEnd)) !== b.readUInt32LE(rel + 4)) return this.startBad(pos);
    const id = readU64(b, rel + 12);
    if (id <= this.lastId) return this.startBad(pos);
    this.frameId = id;
    this.frameStart = pos;
    this.frameEnd = end;
    this.payloadStart = rel + FRAME_HEADER_BYTES;
    this.payloadEnd = relEnd;
    this.lastId = id;
    this.pos = end;
    return Scan.Frame;
  }

  /** Reads the bytes the last NeedIo asked for. */
  async fill(): Promise<void> {
    const offset = this.ioOffset;
    const want = Math.min(Math.max(this.chunkBytes, this.ioMin), this.limit - offset);
    if (this.store.length < want) this.store = Buffer.allocUnsafe(Math.max(want, Math.min(2 * this.store.length, this.chunkBytes)));
    let got = 0;
    while (got < want) {
      const { bytesRead } = await this.fh.read(this.store, got, want - got, offset + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    // A file shorter than the limit (truncated behind our back) ends where its bytes end.
    if (got < want) this.limit = offset + got;
    this.buf = this.store.subarray(0, got);
    this.bufStart = offset;
  }

  private needIo(offset: number, min: number): Scan {
    this.ioOffset = offset;
    this.ioMin = min;
    return Scan.NeedIo;
  }

  private startBad(at: number): Scan {
    this.badStart = at;
    this.searchFrom = at + 1;
    return this.resync();
  }

  private resync(): Scan {
    for (;;) {
      const from = this.searchFrom;
      if (from >= this.limit) {
        this.tailStart = this.badStart;
        return Scan.Tail;
      }
      const bufEnd = this.bufStart + this.buf.length;
      if (from < this.bufStart || from >= bufEnd) return this.needIo(from, FRAME_HEADER_BYTES);
      const idx = this.buf.indexOf(FRAME_MARKER, from - this.bufStart);
      if (idx < 0) {
        // A marker may straddle the end of the buffer: continue 3 bytes before it.
        const next = Math.max(from, bufEnd - (FRAME_MARKER.length - 1));
        if (bufEnd >= this.limit) {
          this.searchFrom = this.limit;
          continue;
        }
        this.searchFrom = next;
        return this.needIo(next, FRAME_HEADER_BYTES);
      }
      const q = this.bufStart + idx;
      const verdict = this.candidate(q, bufEnd);
      if (verdict === 'io') {
        this.searchFrom = q;
        return Scan.NeedIo;
      }
      if (verdict === 'bad') {
        this.searchFrom = q + 1;
        continue;
      }
      this.gapStart = this.badStart;
      this.gapEnd = q;
      this.badStart = -1;
      this.pos = q;
      return Scan.Gap;
    }
  }

  /** Whether a valid frame starts at q (the marker is known to be there). */
  private candidate(q: number, bufEnd: number): 'ok' | 'bad' | 'io' {
    if (q + FRAME_HEADER_BYTES > this.limit) return 'bad';
    if (q + FRAME_HEADER_BYTES > bufEnd) {
      this.needIo(q, FRAME_HEADER_BYTES);
      return 'io';
    }
    const rel = q - this.bufStart;
    const b = this.buf;
    const len = b.readUInt32LE(rel + 8);
    const end = q + FRAME_HEADER_BYTES + len;
    if (len > MAX_PAYLOAD_BYTES || end > this.limit) return 'bad';
    if (end > bufEnd) {
      this.needIo(q, FRAME_HEADER_BYTES + len);
      return 'io';
    }
    if (crc32(b.subarray(rel + 8, rel + FRAME_HEADER_BYTES + len)) !== b.readUInt32LE(rel + 4)) return 'bad';
    const id = readU64(b, rel + 12);
    return id > this.lastId ? 'ok' : 'bad';
  }
}
