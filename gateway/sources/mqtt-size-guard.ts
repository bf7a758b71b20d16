/**
 * A size bound on the PUBLISH packets a broker sends, applied to the socket's bytes before
 * mqtt.js sees them. mqtt.js (mqtt-packet) has no such bound: it collects a packet whole, then
 * copies its payload out, so a 150 MB message took the gateway to 411 MB RSS before the source
 * could reject it. MQTT 5's CONNECT property `maximumPacketSize` is not used: a broker then
 * drops a larger message without a trace on our side (Mosquitto discards it as if delivered),
 * and mqtt.js closes the connection on one it receives anyway — the message must instead be
 * counted, kept (its head) in the rejects file and acknowledged.
 *
 * How: the guard reads each packet's fixed header (type byte, remaining length) as the bytes
 * pass. Every packet up to the bound is passed on unchanged, chunk by chunk, without copying.
 * A PUBLISH over it is not passed on: its first `HEAD_BYTES` are kept, the rest is counted and
 * dropped as it arrives, and in its place mqtt.js gets a PUBLISH with the same flags and packet
 * id, no payload, and a marker topic from `onCut` (a topic with `#`, which a broker never sends:
 * [MQTT-3.3.2-2]). The source recognises the marker in its message hook, so the cut message
 * is rejected and acknowledged in its place in the stream — PUBACKs stay in arrival order.
 *
 * The bound is on the whole packet: the source's `max_payload_bytes` plus room for the topic and
 * MQTT 5 properties (`CUT_HEADROOM`). A message between the two reaches the source whole and is
 * rejected there, exactly by its payload size; memory stays bounded either way.
 */
import { Transform, type TransformCallback } from 'node:stream';

/** Room for a topic (at most 65,535 bytes), the packet id and MQTT 5 properties above the payload bound. */
export const CUT_HEADROOM = 65_536 + 1024;
/** Bytes of a cut packet kept (topic, packet id, properties, then the head of the payload). */
const HEAD_BYTES = 2 + 65_535 + 2 + 8 + 16_384;
/** Marker topics start with this (`#` cannot be in a PUBLISH topic name). */
export const CUT_TOPIC_PREFIX = '#cut/';

/** What the guard knows of a PUBLISH it cut. */
export interface CutPublish {
  /** the original topic ('' when the kept head is too short to hold it) */
  topic: string;
  qos: number;
  /** the bytes of the whole MQTT packet */
  packetBytes: number;
  /** the payload's size (the packet minus its variable header) */
  payloadBytes: number;
  /** the first bytes of the payload */
  head: Buffer;
}

export interface SizeGuardOptions {
  /** A PUBLISH whose remaining length (variable header + payload) is above this is cut. */
  maxRemainingLength: number;
  protocolVersion: 4 | 5;
  /** Called once per cut packet; returns the marker topic its stand-in carries. */
  onCut: (cut: CutPublish) => string;
}

const enum Mode {
  Header,
  Body,
  Cut,
  /** a malformed fixed header: passed on as it is (mqtt-packet reports it) */
  Raw,
}

function varint(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return out;
}

export class MqttSizeGuard extends Transform {
  private mode = Mode.Header;
  private readonly hdr = Buffer.alloc(5);
  private hdrLen = 0;
  /** header bytes held from earlier chunks (not passed on yet) */
  private hdrCarried = 0;
  private left = 0;
  private cutByte0 = 0;
  private cutRemaining = 0;
  private headParts: Buffer[] = [];
  private headLen = 0;

  constructor(private readonly opts: SizeGuardOptions) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    const out: Buffer[] = [];
    let passFrom = 0;
    let hdrStart = 0;
    let pos = 0;
    while (pos < chunk.length) {
      if (this.mode === Mode.Raw) {
        pos = chunk.length;
      } else if (this.mode === Mode.Body) {
        const n = Math.min(this.left, chunk.length - pos);
        pos += n;
        this.left -= n;
        if (this.left === 0) this.mode = Mode.Header;
      } else if (this.mode === Mode.Cut) {
        const n = Math.min(this.left, chunk.length - pos);
        const take = Math.min(n, HEAD_BYTES - this.headLen);
        if (take > 0) {
          // A copy: a view would keep the whole socket chunk alive.
          this.headParts.push(Buffer.from(chunk.subarray(pos, pos + take)));
          this.headLen += take;
        }
        pos += n;
        this.left -= n;
        if (this.left === 0) {
          out.push(this.standIn());
          this.mode = Mode.Header;
          passFrom = pos;
        }
      } else {
        if (this.hdrLen === 0) hdrStart = pos;
        this.hdr[this.hdrLen++] = chunk[pos++] as number;
        if (this.hdrLen === 1) continue;
        const last = this.hdr[this.hdrLen - 1] as number;
        if (last & 0x80) {
          if (this.hdrLen < 5) continue;
          // Five length bytes: not MQTT. Pass everything on from here.
          if (this.hdrCarried > 0) out.push(Buffer.from(this.hdr.subarray(0, this.hdrCarried)));
          this.mode = Mode.Raw;
          continue;
        }
        let remaining = 0;
        for (let i = this.hdrLen - 1; i >= 1; i--) remaining = remaining * 128 + ((this.hdr[i] as number) & 0x7f);
        const byte0 = this.hdr[0] as number;
        if (byte0 >> 4 === 3 && remaining > this.opts.maxRemainingLength) {
          // Pass on what came before this header; the header itself is replaced.
          out.push(chunk.subarray(passFrom, hdrStart));
          this.mode = Mode.Cut;
          this.cutByte0 = byte0;
          this.cutRemaining = remaining;
          this.left = remaining;
          this.headParts = [];
          this.headLen = 0;
          passFrom = pos;
        } else {
          if (this.hdrCarried > 0) out.push(Buffer.from(this.hdr.subarray(0, this.hdrCarried)));
          this.mode = remaining === 0 ? Mode.Header : Mode.Body;
          this.left = remaining;
        }
        this.hdrLen = 0;
        this.hdrCarried = 0;
      }
    }
    if (this.mode === Mode.Header && this.hdrLen > 0) {
      // A header split across chunks: hold its bytes until its length is known.
      out.push(chunk.subarray(passFrom, hdrStart));
      this.hdrCarried = this.hdrLen;
    } else if (this.mode !== Mode.Cut) {
      out.push(chunk.subarray(passFrom));
    }
    for (const b of out) if (b.length > 0) this.push(b);
    done();
  }

  /** The small PUBLISH that takes the cut one's place: same flags and packet id, marker topic, no payload. */
  private standIn(): Buffer {
    const head = Buffer.concat(this.headParts);
    this.headParts = [];
    const qos = (this.cutByte0 >> 1) & 3;
    let topic = '';
    let messageId: number | undefined;
    let payloadAt = head.length;
    if (head.length >= 2) {
      const topicEnd = 2 + head.readUInt16BE(0);
      if (head.length >= topicEnd + (qos > 0 ? 2 : 0)) {
        topic = head.toString('utf8', 2, topicEnd);
        let at = topicEnd;
        if (qos > 0) {
          messageId = head.readUInt16BE(at);
          at += 2;
        }
        if (this.opts.protocolVersion === 5) {
          let props = 0;
          let shift = 0;
          while (at < head.length && shift <= 21) {
            const b = head[at++] as number;
            props += (b & 0x7f) * 2 ** shift;
            shift += 7;
            if (b < 0x80) break;
          }
          at += props;
        }
        payloadAt = Math.min(at, head.length);
      }
    }
    const varHeaderBytes = Math.min(payloadAt, this.cutRemaining);
    const marker = this.opts.onCut({
      topic,
      qos,
      packetBytes: 1 + varint(this.cutRemaining).length + this.cutRemaining,
      payloadBytes: this.cutRemaining - varHeaderBytes,
      head: head.subarray(payloadAt),
    });
    // Without a readable packet id it cannot be acknowledged: it goes on as QoS 0 (the broker
    // redelivers it after a reconnect, and it is cut again).
    const keepQos = messageId !== undefined;
    const topicBytes = Buffer.from(marker, 'utf8');
    const body = [topicBytes.length >> 8, topicBytes.length & 0xff, ...topicBytes];
    if (keepQos && messageId !== undefined) body.push(messageId >> 8, messageId & 0xff);
    if (this.opts.protocolVersion === 5) body.push(0);
    const byte0 = keepQos ? this.cutByte0 : this.cutByte0 & ~0x06;
    return Buffer.from([byte0, ...varint(body.length), ...body]);
  }
}
