/**
 * A minimal protobuf writer for the one message the simulator publishes by the ten thousand:
 * ChirpStack's `integration.UplinkEvent`. `lorawan/chirpstack/events.ts` (`eventToProtobuf`)
 * builds it through google-protobuf message objects, which costs ~40 objects and 20–40 µs per
 * event; this writes the same bytes directly (a unit test holds them equal to
 * `eventToProtobuf` on random uplinks), caching the parts that never change (a device's
 * `deviceInfo`, a gateway's `location`).
 *
 * Field numbers from chirpstack-api 4.x: integration.proto, gw.proto, common.proto and
 * google/protobuf/timestamp.proto. Fields are written in the order google-protobuf writes them
 * (declaration order), defaults omitted (proto3), sub-messages that are set always written.
 */

const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;
const WIRE_I32 = 5;

export class ProtoWriter {
  private buf = Buffer.allocUnsafe(512);
  private pos = 0;

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** Unsigned varint of a non-negative integer below 2^53. */
  private varint(v: number): void {
    this.ensure(10);
    while (v > 0x7f) {
      this.buf[this.pos++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.pos++] = v;
  }

  private tag(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  uint32(field: number, v: number): this {
    if (v !== 0) {
      this.tag(field, WIRE_VARINT);
      this.varint(v >>> 0);
    }
    return this;
  }

  /** int32/int64/enum: negative values as 10-byte two's complement, as protobuf requires. */
  int(field: number, v: number): this {
    if (v === 0) return this;
    this.tag(field, WIRE_VARINT);
    if (v >= 0) {
      this.varint(v);
      return this;
    }
    // 64-bit two's complement of a negative 32-bit value: low word then 0xffffffff.
    let lo = v >>> 0;
    this.ensure(10);
    for (let i = 0; i < 4; i++) {
      this.buf[this.pos++] = (lo & 0x7f) | 0x80;
      lo >>>= 7;
    }
    // bits 28..31 of lo plus the first three 1-bits of the high word
    this.buf[this.pos++] = (lo & 0x0f) | 0x70 | 0x80;
    for (let i = 0; i < 4; i++) this.buf[this.pos++] = 0xff;
    this.buf[this.pos++] = 0x01;
    return this;
  }

  bool(field: number, v: boolean): this {
    if (v) {
      this.tag(field, WIRE_VARINT);
      this.varint(1);
    }
    return this;
  }

  string(field: number, s: string): this {
    if (s.length === 0) return this;
    return this.stringAlways(field, s);
  }

  /** A string written even when empty (map entries do that). */
  stringAlways(field: number, s: string): this {
    const n = Buffer.byteLength(s);
    this.tag(field, WIRE_LEN);
    this.varint(n);
    this.ensure(n);
    this.pos += this.buf.write(s, this.pos, n, 'utf8');
    return this;
  }

  bytes(field: number, b: Uint8Array): this {
    if (b.length === 0) return this;
    return this.message(field, b);
  }

  /** A length-delimited field with these bytes (an encoded sub-message), written even when empty. */
  message(field: number, b: Uint8Array): this {
    this.tag(field, WIRE_LEN);
    this.varint(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }

  double(field: number, v: number): this {
    if (v === 0) return this;
    this.tag(field, WIRE_I64);
    this.ensure(8);
    this.buf.writeDoubleLE(v, this.pos);
    this.pos += 8;
    return this;
  }

  float(field: number, v: number): this {
    if (v === 0) return this;
    this.tag(field, WIRE_I32);
    this.ensure(4);
    this.buf.writeFloatLE(v, this.pos);
    this.pos += 4;
    return this;
  }

  /** A copy of what was written; the writer is reset for reuse. */
  finish(): Buffer {
    const out = Buffer.from(this.buf.subarray(0, this.pos));
    this.pos = 0;
    return out;
  }
}

/** `google.protobuf.Timestamp` of whole milliseconds. */
export function timestampBytes(w: ProtoWriter, ms: number): Buffer {
  const seconds = Math.floor(ms / 1000);
  return w.int(1, seconds).int(2, (ms - seconds * 1000) * 1_000_000).finish();
}
