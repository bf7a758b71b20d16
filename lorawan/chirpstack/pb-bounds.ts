/**
 * google-protobuf reads a length-delimited field (a sub-message, a string, bytes, a packed
 * list) up to the length it declares, without checking it against the end of the buffer: the
 * reader then walks byte by byte past the end until it reaches the declared length. A 6-byte
 * MQTT message `22 f2 c4 ad 7f 00` (a sub-message of ~267 MB) took 3.3 s to be refused, a
 * five-byte length up to 34 GB about four minutes — this was the "stall" of the 20,000-input
 * MQTT fuzz run (input 5,721 of seed 20261206: 192 s on one message, everything behind it
 * waiting). No valid message has a field that runs past its buffer, so every such read is
 * refused at once: the reader's length-delimited read methods check the length first.
 *
 * The check wraps the public methods on `BinaryReader.prototype` (the generated `_pb.js` code
 * and `jspb.Map` call them by these names), once per process, and only adds a refusal where
 * the library would otherwise spin and then fail anyway.
 */
import { createRequire } from 'node:module';

interface Reader {
  getCursor(): number;
  getBuffer(): Uint8Array;
  getWireType(): number;
}

const require = createRequire(import.meta.url);

const WIRE_DELIMITED = 2;
const GUARDED = Symbol.for('lorawan-edge.pb-bounds');

export class ProtobufBoundsError extends Error {
  override readonly name = 'ProtobufBoundsError';
}

/** Throws when the length-delimited field at the reader's cursor runs past the buffer's end. */
function checkLength(reader: Reader): void {
  const buf = reader.getBuffer();
  let at = reader.getCursor();
  let len = 0;
  // A base-128 varint; lengths are at most 32 bits (5 bytes), anything longer is refused too.
  for (let shift = 0; ; shift += 7) {
    if (at >= buf.length || shift > 28) throw new ProtobufBoundsError('a field length runs past the end of the message');
    const b = buf[at++] as number;
    len += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) break;
  }
  if (len > buf.length - at) throw new ProtobufBoundsError(`a field of ${len} bytes runs past the end of the message (${buf.length - at} bytes left)`);
}

/** Installs the length check on google-protobuf's reader (idempotent). */
export function guardProtobufLengths(): void {
  // Required here, not at import: a gateway that never reads protobuf never loads google-protobuf.
  const jspb = require('google-protobuf') as { BinaryReader: { prototype: Record<string | symbol, unknown> } };
  const proto = jspb.BinaryReader.prototype;
  if (proto[GUARDED]) return;
  proto[GUARDED] = true;
  for (const name of Object.getOwnPropertyNames(proto)) {
    if (!/^read(Message|String|Bytes|Packed\w+)$/.test(name)) continue;
    const original = proto[name];
    if (typeof original !== 'function') continue;
    proto[name] = function guardedRead(this: Reader, ...args: unknown[]): unknown {
      // A packed list may also arrive unpacked (one varint per field): only a delimited one has a length.
      if (this.getWireType() === WIRE_DELIMITED) checkLength(this);
      return (original as (...a: unknown[]) => unknown).apply(this, args);
    };
  }
}
