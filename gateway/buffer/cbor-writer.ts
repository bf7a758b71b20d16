/**
 * The durable log's CBOR encoder for plain values — arrays, plain objects, strings, numbers,
 * booleans, null, undefined and byte arrays, which is all a record's wire form holds — writing
 * exactly the bytes cbor-x writes with the log's options (`useRecords: false, tagUint8Array:
 * false, mapsAsObjects: true, pack: false`: maps with a 16-bit count, float64 for what is not a
 * 32-bit integer, minimal headers otherwise), so the on-disk format does not change.
 *
 * Why: cbor-x allocated ~2.2 KB per edge-NS record inside its encode (bench/RESULTS.md, session 8
 * ns-alloc) and the log walked every record once more for its nesting depth (I9). This writes
 * into a shared chunk with no allocation per value and measures the depth on the way (bounded
 * recursion: it gives up past `max` levels). Anything else (a Map, a Date, a class instance, a
 * typed array other than bytes, a depth limit too large to recurse) returns `undefined`, and
 * the log falls back to the depth walk and cbor-x, which also decide its errors.
 *
 * Output views stay valid: a record is written after the previous one in the same chunk, and a
 * new chunk is taken when one is full (as cbor-x does), never overwriting bytes handed out.
 */

/** Too deep: the record nests more than `max` levels (the caller's RECORD_TOO_DEEP). */
export const TOO_DEEP = Symbol('too deep');

/** Recursion is bounded by the depth limit; past this the caller's iterative walk is used instead. */
export const MAX_WRITER_DEPTH = 256;

const CHUNK = 64 * 1024;

class Unsupported extends Error {}
class TooDeep extends Error {}
const UNSUPPORTED = new Unsupported('unsupported');
const DEEP = new TooDeep('too deep');

let buf = Buffer.allocUnsafe(CHUNK);
let view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
let start = 0;
let pos = 0;

/**
 * `value` as CBOR (a view of a shared chunk: valid until the caller drops it), `TOO_DEEP` when it
 * nests deeper than `max`, or undefined when it holds something this writer does not write.
 */
export function writeCbor(value: unknown, max: number): Uint8Array | typeof TOO_DEEP | undefined {
  pending = value;
  try {
    return writeCborWith(writePending, max);
  } finally {
    pending = undefined;
  }
}

/** The value writeCbor writes (a module slot, not a closure per value). */
let pending: unknown;
const writePending = (out: CborOut): void => out.value(pending, 0);

/**
 * What a wire codec's `write` (log.ts WireCodec) writes a value with, straight into the chunk:
 * no intermediate arrays. `depth` is how many arrays/maps enclose what is written; a container
 * deeper than the limit makes the whole value TOO_DEEP, an unsupported value makes it undefined
 * (the caller's encode path then decides).
 */
export interface CborOut {
  array(length: number, depth: number): void;
  str(s: string): void;
  num(n: number): void;
  bool(b: boolean): void;
  nil(): void;
  bytes(b: Uint8Array): void;
  /** any plain value, enclosed by `depth` containers */
  value(v: unknown, depth: number): void;
}

let limit = 0;

const OUT: CborOut = {
  array(length, depth) {
    if (depth + 1 > limit) throw DEEP;
    header(0x80, length);
  },
  str: (s) => writeString(s),
  num: (n) => writeNumber(n),
  bool(b) {
    room(1);
    buf[pos++] = b ? 0xf5 : 0xf4;
  },
  nil() {
    room(1);
    buf[pos++] = 0xf6;
  },
  bytes(b) {
    header(0x40, b.length);
    room(b.length);
    buf.set(b, pos);
    pos += b.length;
  },
  value: (v, depth) => write(v, depth, limit),
};

/** What `fn` writes to a CborOut, as writeCbor gives it (a view, TOO_DEEP or undefined). */
export function writeCborWith(fn: (out: CborOut) => void, max: number): Uint8Array | typeof TOO_DEEP | undefined {
  if (max > MAX_WRITER_DEPTH) return undefined;
  start = pos;
  if (buf.length - pos < 1024) newChunk(0);
  limit = max;
  try {
    fn(OUT);
  } catch (err) {
    pos = start;
    if (err === DEEP) return TOO_DEEP;
    if (err === UNSUPPORTED) return undefined;
    throw err;
  }
  return buf.subarray(start, pos);
}

/** Makes room for `n` more bytes of the record being written (moved to a new chunk if needed). */
function room(n: number): void {
  if (pos + n <= buf.length) return;
  newChunk(n);
}

function newChunk(n: number): void {
  const used = pos - start;
  const next = Buffer.allocUnsafe(Math.max(CHUNK, (used + n) * 2));
  buf.copy(next, 0, start, pos);
  buf = next;
  view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  start = 0;
  pos = used;
}

function header(major: number, n: number): void {
  room(9);
  if (n < 0x18) buf[pos++] = major | n;
  else if (n < 0x100) {
    buf[pos++] = major | 0x18;
    buf[pos++] = n;
  } else if (n < 0x10000) {
    buf[pos++] = major | 0x19;
    buf[pos++] = n >> 8;
    buf[pos++] = n & 0xff;
  } else {
    buf[pos++] = major | 0x1a;
    view.setUint32(pos, n);
    pos += 4;
  }
}

function writeNumber(v: number): void {
  room(9);
  if (v >>> 0 === v) return header(0x00, v);
  if (v >> 0 === v) return header(0x20, -1 - v);
  if (v < 0 && v >= -0x100000000 && Math.floor(v) === v) {
    buf[pos++] = 0x3a;
    view.setUint32(pos, -1 - v);
    pos += 4;
    return;
  }
  buf[pos++] = 0xfb;
  view.setFloat64(pos, v);
  pos += 8;
}

function writeString(s: string): void {
  const n = s.length;
  if (n >= 0x40) {
    // cbor-x: Buffer's UTF-8 writer for longer strings (lone surrogates become U+FFFD)
    const bytes = Buffer.byteLength(s, 'utf8');
    header(0x60, bytes);
    room(bytes);
    pos += buf.write(s, pos, bytes, 'utf8');
    return;
  }
  // cbor-x's own loop for shorter ones (a lone surrogate is written as its 3-byte form)
  room(5 + n * 3);
  const at = pos;
  let p = at + 2; // room for a 2-byte header; moved below if it needs 1
  for (let i = 0; i < n; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) buf[p++] = c;
    else if (c < 0x800) {
      buf[p++] = (c >> 6) | 0xc0;
      buf[p++] = (c & 0x3f) | 0x80;
    } else {
      const c2 = i + 1 < n ? s.charCodeAt(i + 1) : 0;
      if ((c & 0xfc00) === 0xd800 && (c2 & 0xfc00) === 0xdc00) {
        c = 0x10000 + ((c & 0x03ff) << 10) + (c2 & 0x03ff);
        i++;
        buf[p++] = (c >> 18) | 0xf0;
        buf[p++] = ((c >> 12) & 0x3f) | 0x80;
        buf[p++] = ((c >> 6) & 0x3f) | 0x80;
        buf[p++] = (c & 0x3f) | 0x80;
      } else {
        buf[p++] = (c >> 12) | 0xe0;
        buf[p++] = ((c >> 6) & 0x3f) | 0x80;
        buf[p++] = (c & 0x3f) | 0x80;
      }
    }
  }
  const len = p - at - 2;
  if (len < 0x18) {
    buf[at] = 0x60 | len;
    buf.copyWithin(at + 1, at + 2, p);
    pos = p - 1;
  } else {
    buf[at] = 0x78;
    buf[at + 1] = len;
    pos = p;
  }
}

function write(v: unknown, depth: number, max: number): void {
  switch (typeof v) {
    case 'string':
      return writeString(v);
    case 'number':
      return writeNumber(v);
    case 'boolean':
      room(1);
      buf[pos++] = v ? 0xf5 : 0xf4;
      return;
    case 'undefined':
      room(1);
      buf[pos++] = 0xf7;
      return;
    case 'object':
      break;
    default:
      throw UNSUPPORTED;
  }
  if (v === null) {
    room(1);
    buf[pos++] = 0xf6;
    return;
  }
  const ctor = (v as object).constructor;
  if (ctor === Array) {
    if (depth + 1 > max) throw DEEP;
    const a = v as unknown[];
    header(0x80, a.length);
    for (let i = 0; i < a.length; i++) write(a[i], depth + 1, max);
    return;
  }
  if (ctor === Object) {
    if (depth + 1 > max) throw DEEP;
    room(3);
    buf[pos++] = 0xb9;
    const countAt = pos - start;
    pos += 2;
    let count = 0;
    const o = v as Record<string, unknown>;
    for (const k in o) {
      if (!Object.prototype.hasOwnProperty.call(o, k)) continue;
      writeString(k);
      write(o[k], depth + 1, max);
      count++;
    }
    if (count >= 0x10000) throw UNSUPPORTED; // cbor-x widens the header: left to it
    buf[start + countAt] = count >> 8;
    buf[start + countAt + 1] = count & 0xff;
    return;
  }
  if (ctor === Buffer || ctor === Uint8Array) {
    const b = v as Uint8Array;
    header(0x40, b.length);
    room(b.length);
    buf.set(b, pos);
    pos += b.length;
    return;
  }
  throw UNSUPPORTED;
}
