// A deliberately small MQTT 3.1.1 client for tests of the broker helper: CONNECT (clean or
// persistent session), SUBSCRIBE, PUBLISH at QoS 0/1 (waiting for PUBACK), PUBACK of incoming
// QoS 1 messages, DISCONNECT. No QoS 2, no reconnect, no TLS — just enough to prove a real
// Mosquitto works, keeps sessions across a restart and applies its queue limit.
import { connect as netConnect, type Socket } from 'node:net';

export interface ReceivedMessage {
  topic: string;
  payload: Buffer;
  qos: 0 | 1 | 2;
  retain: boolean;
  dup: boolean;
}

export interface MqttConnectOptions {
  port: number;
  host?: string;
  clientId: string;
  /** Clean session (default true); false keeps a persistent session on the broker. */
  clean?: boolean;
  keepaliveSeconds?: number;
  timeoutMs?: number;
}

function encodeLength(n: number): Buffer {
  const bytes: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    bytes.push(b);
  } while (n > 0);
  return Buffer.from(bytes);
}

function utf8Field(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  const len = Buffer.alloc(2);
  len.writeUInt16BE(b.length);
  return Buffer.concat([len, b]);
}

function packet(firstByte: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([firstByte]), encodeLength(body.length), body]);
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

export class MqttTestClient {
  readonly messages: ReceivedMessage[] = [];
  sessionPresent = false;
  private readonly socket: Socket;
  private buffer: Buffer = Buffer.alloc(0);
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (payload: Buffer) => void; reject: (e: Error) => void }>();
  private connack: { resolve: (b: Buffer) => void; reject: (e: Error) => void } | undefined;
  private closedError: Error | undefined;
  private waiters: Array<() => void> = [];
  private pingTimer: NodeJS.Timeout | undefined;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new Error('connection closed')));
  }

  static async connect(opts: MqttConnectOptions): Promise<MqttTestClient> {
    const timeoutMs = opts.timeoutMs ?? 5_000;
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = netConnect({ host: opts.host ?? '127.0.0.1', port: opts.port });
      const t = setTimeout(() => {
        s.destroy();
        reject(new Error(`MQTT connect to port ${opts.port} timed out`));
      }, timeoutMs);
      s.once('connect', () => {
        clearTimeout(t);
        resolve(s);
      });
      s.once('error', (e) => {
        clearTimeout(t);
        reject(e);
      });
    });
    socket.setNoDelay(true);
    const client = new MqttTestClient(socket);
    const keepalive = opts.keepaliveSeconds ?? 60;
    const flags = opts.clean === false ? 0x00 : 0x02;
    const body = Buffer.concat([utf8Field('MQTT'), Buffer.from([4, flags]), u16(keepalive), utf8Field(opts.clientId)]);
    const ack = new Promise<Buffer>((resolve, reject) => {
      client.connack = { resolve, reject };
    });
    socket.write(packet(0x10, body));
    const res = await withTimeout(ack, timeoutMs, 'CONNACK');
    const code = res[1];
    if (code !== 0) {
      socket.destroy();
      throw new Error(`MQTT CONNACK refused with return code ${String(code)}`);
    }
    client.sessionPresent = ((res[0] ?? 0) & 1) === 1;
    if (keepalive > 0) {
      client.pingTimer = setInterval(() => socket.write(Buffer.from([0xc0, 0])), (keepalive * 1000) / 2);
      client.pingTimer.unref();
    }
    return client;
  }

  async subscribe(topic: string, qos: 0 | 1 = 1, timeoutMs = 5_000): Promise<number> {
    const id = this.takeId();
    const done = this.expect(id);
    this.socket.write(packet(0x82, Buffer.concat([u16(id), utf8Field(topic), Buffer.from([qos])])));
    const granted = await withTimeout(done, timeoutMs, 'SUBACK');
    const code = granted[0] ?? 0x80;
    if (code === 0x80) throw new Error(`subscription to ${topic} refused`);
    return code;
  }

  /** QoS 1 resolves on PUBACK; QoS 0 once the bytes are handed to the socket. */
  async publish(topic: string, payload: string | Buffer, qos: 0 | 1 = 1, timeoutMs = 10_000): Promise<void> {
    const data = typeof payload === 'string' ? Buffer.from(payload) : payload;
    if (qos === 0) {
      await new Promise<void>((resolve, reject) =>
        this.socket.write(packet(0x30, Buffer.concat([utf8Field(topic), data])), (e) => (e ? reject(e) : resolve())),
      );
      return;
    }
    const id = this.takeId();
    const done = this.expect(id);
    this.socket.write(packet(0x32, Buffer.concat([utf8Field(topic), u16(id), data])));
    await withTimeout(done, timeoutMs, 'PUBACK');
  }

  /** Resolves when at least `count` messages have arrived, or rejects after `timeoutMs`. */
  async waitForMessages(count: number, timeoutMs = 10_000): Promise<ReceivedMessage[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.messages.length < count) {
      if (this.closedError) throw this.closedError;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`received ${this.messages.length} of ${count} messages within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.messages;
  }

  /** Clean DISCONNECT (the broker keeps a persistent session). */
  async disconnect(): Promise<void> {
    clearInterval(this.pingTimer);
    if (this.socket.destroyed) return;
    await new Promise<void>((resolve) => {
      this.socket.once('close', () => resolve());
      this.socket.end(Buffer.from([0xe0, 0]));
      setTimeout(() => {
        this.socket.destroy();
        resolve();
      }, 2_000).unref();
    });
  }

  destroy(): void {
    clearInterval(this.pingTimer);
    this.socket.destroy();
  }

  private takeId(): number {
    const id = this.nextId;
    this.nextId = this.nextId >= 0xffff ? 1 : this.nextId + 1;
    return id;
  }

  private expect(id: number): Promise<Buffer> {
    if (this.closedError) return Promise.reject(this.closedError);
    return new Promise<Buffer>((resolve, reject) => this.pending.set(id, { resolve, reject }));
  }

  private fail(err: Error): void {
    clearInterval(this.pingTimer);
    if (this.closedError) return;
    this.closedError = err;
    this.connack?.reject(err);
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    this.wake();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private onData(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    for (;;) {
      // Fixed header: 1 byte + 1..4 bytes remaining length.
      let mult = 1;
      let len = 0;
      let i = 1;
      let complete = false;
      while (i < this.buffer.length && i <= 4) {
        const b = this.buffer[i] ?? 0;
        len += (b & 0x7f) * mult;
        mult *= 128;
        i++;
        if ((b & 0x80) === 0) {
          complete = true;
          break;
        }
      }
      if (!complete || this.buffer.length < i + len) return;
      const first = this.buffer[0] ?? 0;
      const body = this.buffer.subarray(i, i + len);
      this.buffer = this.buffer.subarray(i + len);
      this.onPacket(first, body);
    }
  }

  private onPacket(first: number, body: Buffer): void {
    const type = first >> 4;
    switch (type) {
      case 2: // CONNACK
        this.connack?.resolve(body);
        break;
      case 3: {
        // PUBLISH
        const qos = ((first >> 1) & 3) as 0 | 1 | 2;
        const topicLen = body.readUInt16BE(0);
        const topic = body.subarray(2, 2 + topicLen).toString('utf8');
        let off = 2 + topicLen;
        let id = 0;
        if (qos > 0) {
          id = body.readUInt16BE(off);
          off += 2;
        }
        this.messages.push({ topic, payload: Buffer.from(body.subarray(off)), qos, retain: (first & 1) === 1, dup: (first & 8) === 8 });
        if (qos === 1) this.socket.write(packet(0x40, u16(id)));
        this.wake();
        break;
      }
      case 4: // PUBACK
      case 9: {
        // SUBACK
        const id = body.readUInt16BE(0);
        const p = this.pending.get(id);
        this.pending.delete(id);
        p?.resolve(body.subarray(2));
        break;
      }
      default:
        break; // PINGRESP and anything else
    }
  }
}

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
