// A small real HTTP server on 127.0.0.1 for conditions a real InfluxDB cannot produce on demand
// (413 above N bytes, 503 with Retry-After, slow answers). It records every request, with the
// body gunzipped when it was sent with Content-Encoding: gzip.
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { gunzipSync } from 'node:zlib';

export interface RecordedRequest {
  method: string;
  url: URL;
  headers: IncomingHttpHeaders;
  /** Bytes as received (possibly gzip). */
  rawBody: Buffer;
  /** Body after gunzip when Content-Encoding was gzip. */
  body: string;
  /** Body lines (split on LF). */
  lines: string[];
  receivedAt: number;
}

export interface Reply {
  status: number;
  body?: string;
  /** Bytes to answer with instead of `body` (e.g. an image); set its content-type in `headers`. */
  bytes?: Buffer;
  headers?: Record<string, string>;
  /** Wait this long before answering. */
  delayMs?: number;
  /** Destroy the socket instead of answering (a network error for the client). */
  destroy?: boolean;
}

export type Responder = (req: RecordedRequest, index: number) => Reply | Promise<Reply>;

export interface RecordingServer {
  readonly url: string;
  readonly port: number;
  readonly requests: RecordedRequest[];
  respond: Responder;
  close(): Promise<void>;
}

export async function startRecordingServer(respond: Responder = () => ({ status: 204 })): Promise<RecordingServer> {
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  const state = { respond };
  const server: Server = createServer((req, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks);
      const gz = req.headers['content-encoding'] === 'gzip';
      const body = (gz ? gunzipSync(rawBody) : rawBody).toString('utf8');
      const rec: RecordedRequest = {
        method: req.method ?? '',
        url: new URL(req.url ?? '/', 'http://127.0.0.1'),
        headers: req.headers,
        rawBody,
        body,
        lines: body === '' ? [] : body.split('\n'),
        receivedAt: Date.now(),
      };
      const index = requests.length;
      requests.push(rec);
      void Promise.resolve(state.respond(rec, index)).then(async (reply) => {
        if (reply.delayMs) await new Promise((r) => setTimeout(r, reply.delayMs));
        if (reply.destroy) {
          req.socket.destroy();
          return;
        }
        res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
        res.end(reply.bytes ?? reply.body ?? '');
      });
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    get respond() {
      return state.respond;
    },
    set respond(r: Responder) {
      state.respond = r;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
