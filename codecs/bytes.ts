/**
 * Byte helpers shared by every codec.
 *
 * `ByteReader` checks bounds on every read and throws `PayloadError` with the offset and what
 * was expected, so a codec can read straight through a frame and still report a truncated one
 * precisely. `define.ts` turns a `PayloadError` into the TS013 `errors` array; nothing escapes
 * a registered codec.
 */

/**
 * Thrown inside codecs for malformed input; becomes an entry of `errors`.
 *
 * Built without a stack trace: it is always caught by the codec (define.ts), and its message
 * already says where in the frame it happened. V8 captures a stack for every Error it
 * constructs. That made a truncated frame cost 30–36 µs against 0.5–4 µs for a whole one
 * (measured on the Milesight and Decentlab examples). The cost put the bin-fill and air
 * codecs over the bench's < 20 % of JSON.parse goal.
 */
export class PayloadError extends Error {
  constructor(message: string) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      super(message);
    } finally {
      Error.stackTraceLimit = limit;
    }
    this.name = 'PayloadError';
  }
}

/** Scratch word for reinterpreting 32 bits as a float32 (reads are synchronous, so one suffices). */
const F32_VIEW = new DataView(new ArrayBuffer(4));

export class ByteReader {
  // `declare`: the fields are only assigned in the constructor. As class fields (or parameter
  // properties) they would each be defined first and assigned after, on every construction,
  // and codecs construct readers on every decode.
  declare readonly bytes: Uint8Array;
  declare private readonly end: number;
  declare private pos: number;

  constructor(bytes: Uint8Array, start = 0, end = bytes.length) {
    this.bytes = bytes;
    this.end = end;
    this.pos = start;
  }

  get offset(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  private need(n: number, what: string): number {
    if (this.pos + n > this.end) {
      throw new PayloadError(
        `truncated payload: ${what} needs ${n} byte(s) at offset ${this.pos}, ${Math.max(0, this.end - this.pos)} left`,
      );
    }
    const at = this.pos;
    this.pos += n;
    return at;
  }

  skip(n: number, what = 'field'): void {
    this.need(n, what);
  }

  u8(what = 'u8'): number {
    return this.bytes[this.need(1, what)] as number;
  }

  i8(what = 'i8'): number {
    const v = this.u8(what);
    return v > 0x7f ? v - 0x100 : v;
  }

  u16le(what = 'u16'): number {
    const at = this.need(2, what);
    return (this.bytes[at] as number) | ((this.bytes[at + 1] as number) << 8);
  }

  u16be(what = 'u16'): number {
    const at = this.need(2, what);
    return ((this.bytes[at] as number) << 8) | (this.bytes[at + 1] as number);
  }

  i16le(what = 'i16'): number {
    const v = this.u16le(what);
    return v > 0x7fff ? v - 0x10000 : v;
  }

  i16be(what = 'i16'): number {
    const v = this.u16be(what);
    return v > 0x7fff ? v - 0x10000 : v;
  }

  u24le(what = 'u24'): number {
    const at = this.need(3, what);
    return (this.bytes[at] as number) | ((this.bytes[at + 1] as number) << 8) | ((this.bytes[at + 2] as number) << 16);
  }

  u24be(what = 'u24'): number {
    const at = this.need(3, what);
    return ((this.bytes[at] as number) << 16) | ((this.bytes[at + 1] as number) << 8) | (this.bytes[at + 2] as number);
  }

  i24be(what = 'i24'): number {
    const v = this.u24be(what);
    return v > 0x7fffff ? v - 0x1000000 : v;
  }

  i24le(what = 'i24'): number {
    const v = this.u24le(what);
    return v > 0x7fffff ? v - 0x1000000 : v;
  }

  // 32-bit reads assemble the bytes directly: a DataView per read would allocate on every call.

  u32le(what = 'u32'): number {
    const at = this.need(4, what);
    return this.int32le(at) >>> 0;
  }

  u32be(what = 'u32'): number {
    const at = this.need(4, what);
    return this.int32be(at) >>> 0;
  }

  i32le(what = 'i32'): number {
    return this.int32le(this.need(4, what));
  }

  i32be(what = 'i32'): number {
    return this.int32be(this.need(4, what));
  }

  f32le(what = 'f32'): number {
    F32_VIEW.setInt32(0, this.int32le(this.need(4, what)), true);
    return F32_VIEW.getFloat32(0, true);
  }

  f32be(what = 'f32'): number {
    F32_VIEW.setInt32(0, this.int32be(this.need(4, what)), true);
    return F32_VIEW.getFloat32(0, true);
  }

  /** The signed 32-bit little-endian word at `at` (bounds already checked). */
  private int32le(at: number): number {
    const b = this.bytes;
    return (b[at] as number) | ((b[at + 1] as number) << 8) | ((b[at + 2] as number) << 16) | ((b[at + 3] as number) << 24);
  }

  /** The signed 32-bit big-endian word at `at` (bounds already checked). */
  private int32be(at: number): number {
    const b = this.bytes;
    return ((b[at] as number) << 24) | ((b[at + 1] as number) << 16) | ((b[at + 2] as number) << 8) | (b[at + 3] as number);
  }

  /** Unsigned little-endian integer of 1..6 bytes (exact in a double). */
  uintLE(n: number, what = 'uint'): number {
    const at = this.need(n, what);
    let v = 0;
    for (let i = n - 1; i >= 0; i--) v = v * 256 + (this.bytes[at + i] as number);
    return v;
  }

  /** Unsigned big-endian integer of 1..6 bytes (exact in a double). */
  uintBE(n: number, what = 'uint'): number {
    const at = this.need(n, what);
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 256 + (this.bytes[at + i] as number);
    return v;
  }

  take(n: number, what = 'bytes'): Uint8Array {
    const at = this.need(n, what);
    return this.bytes.subarray(at, at + n);
  }

  rest(): Uint8Array {
    const at = this.pos;
    this.pos = this.end;
    return this.bytes.subarray(at, this.end);
  }
}

/** Appends bytes for encoders; values are range-checked so an encoder never wraps silently. */
export class ByteWriter {
  private readonly out: number[] = [];

  private check(v: number, min: number, max: number, what: string): number {
    if (!Number.isInteger(v) || v < min || v > max) {
      throw new PayloadError(`${what} out of range: ${v} (allowed ${min}..${max})`);
    }
    return v;
  }

  u8(v: number, what = 'u8'): this {
    this.out.push(this.check(v, 0, 0xff, what));
    return this;
  }

  i8(v: number, what = 'i8'): this {
    this.out.push(this.check(v, -0x80, 0x7f, what) & 0xff);
    return this;
  }

  u16le(v: number, what = 'u16'): this {
    this.check(v, 0, 0xffff, what);
    this.out.push(v & 0xff, v >> 8);
    return this;
  }

  u16be(v: number, what = 'u16'): this {
    this.check(v, 0, 0xffff, what);
    this.out.push(v >> 8, v & 0xff);
    return this;
  }

  i16le(v: number, what = 'i16'): this {
    this.check(v, -0x8000, 0x7fff, what);
    return this.u16le(v & 0xffff, what);
  }

  i16be(v: number, what = 'i16'): this {
    this.check(v, -0x8000, 0x7fff, what);
    return this.u16be(v & 0xffff, what);
  }

  u24be(v: number, what = 'u24'): this {
    this.check(v, 0, 0xffffff, what);
    this.out.push((v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff);
    return this;
  }

  u24le(v: number, what = 'u24'): this {
    this.check(v, 0, 0xffffff, what);
    this.out.push(v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff);
    return this;
  }

  u32le(v: number, what = 'u32'): this {
    this.check(v, 0, 0xffffffff, what);
    return this.uintLE(v, 4, what);
  }

  u32be(v: number, what = 'u32'): this {
    this.check(v, 0, 0xffffffff, what);
    return this.uintBE(v, 4, what);
  }

  i32le(v: number, what = 'i32'): this {
    this.check(v, -0x80000000, 0x7fffffff, what);
    return this.uintLE(v < 0 ? v + 0x100000000 : v, 4, what);
  }

  i32be(v: number, what = 'i32'): this {
    this.check(v, -0x80000000, 0x7fffffff, what);
    return this.uintBE(v < 0 ? v + 0x100000000 : v, 4, what);
  }

  f32le(v: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.out.push(...b);
    return this;
  }

  f32be(v: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, false);
    this.out.push(...b);
    return this;
  }

  uintLE(v: number, n: number, what = 'uint'): this {
    this.check(v, 0, 256 ** n - 1, what);
    for (let i = 0; i < n; i++) {
      this.out.push(v % 256);
      v = Math.floor(v / 256);
    }
    return this;
  }

  uintBE(v: number, n: number, what = 'uint'): this {
    this.check(v, 0, 256 ** n - 1, what);
    const tmp: number[] = [];
    for (let i = 0; i < n; i++) {
      tmp.push(v % 256);
      v = Math.floor(v / 256);
    }
    this.out.push(...tmp.reverse());
    return this;
  }

  bytes(b: ArrayLike<number>): this {
    for (let i = 0; i < b.length; i++) this.u8(b[i] as number);
    return this;
  }

  toArray(): number[] {
    return this.out.slice();
  }

  get length(): number {
    return this.out.length;
  }
}

const HEX_RE = /^(?:[0-9a-fA-F]{2})*$/;
const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function toHex(bytes: ArrayLike<number>): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += (bytes[i] as number).toString(16).padStart(2, '0');
  return s;
}

/** Parses hex (spaces and an optional 0x prefix allowed); returns undefined when not hex. */
export function fromHex(text: string): Uint8Array | undefined {
  const clean = text.trim().replace(/^0x/i, '').replace(/[\s:]/g, '');
  if (!HEX_RE.test(clean)) return undefined;
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** Parses canonical base64 (padding required); returns undefined when not base64. */
export function fromBase64(text: string): Uint8Array | undefined {
  const clean = text.trim();
  if (!BASE64_RE.test(clean)) return undefined;
  return new Uint8Array(Buffer.from(clean, 'base64'));
}

/**
 * Accepts the `bytes` forms TS013 callers use (Uint8Array, Buffer, number[]) and checks that a
 * number array really holds bytes; returns a string describing the problem otherwise.
 */
export function toBytes(input: unknown): Uint8Array | string {
  if (input instanceof Uint8Array) return input;
  if (!Array.isArray(input)) return 'bytes must be a byte array';
  const out = new Uint8Array(input.length);
  for (let i = 0; i < input.length; i++) {
    const v: unknown = input[i];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 255) {
      return `bytes[${i}] is not a byte (0..255): ${String(v)}`;
    }
    out[i] = v;
  }
  return out;
}

/** Rounds to `digits` decimals without binary-float noise (e.g. 0.1 * 3 → 0.3). */
export function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f + (value >= 0 ? 1e-9 : -1e-9)) / f;
}
