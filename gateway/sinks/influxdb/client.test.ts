import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { startRecordingServer, type RecordingServer } from '../../../support/recording-server.ts';
import { InfluxNetworkError, InfluxWriteClient, parseRetryAfter } from './client.ts';
import { resolveInfluxSinkConfig, type InfluxSinkConfigInput } from './config.ts';

let server: RecordingServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function client(cfg: Omit<InfluxSinkConfigInput, 'url'>, url = server?.url ?? ''): InfluxWriteClient {
  return new InfluxWriteClient(resolveInfluxSinkConfig({ url, ...cfg }));
}

describe('InfluxWriteClient', () => {
  it('v1: POST /write with db, rp, precision=ms and HTTP Basic auth', async () => {
    server = await startRecordingServer();
    const c = client({ database: 'lorawan', retention_policy: 'autogen', username: 'gw', password: 'p@ss word' });
    const r = await c.send(await c.prepare(['m v=1 1', 'm v=2 2']));
    c.close();
    expect(r.status).toBe(204);
    const req = server.requests[0];
    expect(req?.method).toBe('POST');
    expect(req?.url.pathname).toBe('/write');
    expect(Object.fromEntries(req?.url.searchParams ?? [])).toEqual({ db: 'lorawan', rp: 'autogen', precision: 'ms' });
    expect(req?.headers.authorization).toBe(`Basic ${Buffer.from('gw:p@ss word').toString('base64')}`);
    expect(req?.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(req?.body).toBe('m v=1 1\nm v=2 2');
  });

  it('v1 with v1_auth=query sends u and p', async () => {
    server = await startRecordingServer();
    const c = client({ database: 'd', username: 'gw', password: 'pw', v1_auth: 'query' });
    await c.send(await c.prepare(['m v=1 1']));
    c.close();
    expect(server.requests[0]?.url.searchParams.get('u')).toBe('gw');
    expect(server.requests[0]?.url.searchParams.get('p')).toBe('pw');
    expect(server.requests[0]?.headers.authorization).toBeUndefined();
  });

  it('v2: POST /api/v2/write with org, bucket, precision=ms and a Token header; keeps a path prefix', async () => {
    server = await startRecordingServer();
    const c = client({ version: 2, org: 'city', bucket: 'sensors', token: 'tok123' }, `${server.url}/influx`);
    await c.send(await c.prepare(['m v=1 1']));
    c.close();
    const req = server.requests[0];
    expect(req?.url.pathname).toBe('/influx/api/v2/write');
    expect(Object.fromEntries(req?.url.searchParams ?? [])).toEqual({ org: 'city', bucket: 'sensors', precision: 'ms' });
    expect(req?.headers.authorization).toBe('Token tok123');
  });

  it('v2 with auth_scheme Bearer (InfluxDB 3) and 1.8-style user:password', async () => {
    server = await startRecordingServer();
    const bearer = client({ version: 2, bucket: 'b', token: 't', auth_scheme: 'Bearer' });
    await bearer.send(await bearer.prepare(['m v=1 1']));
    bearer.close();
    const compat = client({ version: 2, bucket: 'db/rp', username: 'u', password: 'p' });
    await compat.send(await compat.prepare(['m v=1 1']));
    compat.close();
    expect(server.requests.map((r) => r.headers.authorization)).toEqual(['Bearer t', 'Token u:p']);
  });

  it('gzips bodies from gzip_min_bytes on, and not below', async () => {
    server = await startRecordingServer();
    const c = client({ database: 'd', gzip: true, gzip_min_bytes: 100 });
    const small = await c.prepare(['m v=1 1']);
    const big = await c.prepare(Array.from({ length: 50 }, (_, i) => `m,t=x v=${i} ${i}`));
    expect(small.gzipped).toBe(false);
    expect(big.gzipped).toBe(true);
    await c.send(small);
    await c.send(big);
    c.close();
    expect(server.requests[0]?.headers['content-encoding']).toBeUndefined();
    expect(server.requests[1]?.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(server.requests[1]?.rawBody ?? Buffer.alloc(0)).toString()).toBe(server.requests[1]?.body);
    expect(server.requests[1]?.lines).toHaveLength(50);
    const off = client({ database: 'd', gzip: false });
    await expect(off.prepare(['x'.repeat(10_000)])).resolves.toMatchObject({ gzipped: false });
    off.close();
    // 'auto' (the default) compresses for remote hosts only.
    const auto = client({ database: 'd' });
    await expect(auto.prepare(['x'.repeat(10_000)])).resolves.toMatchObject({ gzipped: false });
    auto.close();
    const remote = client({ database: 'd' }, 'http://influx.example:8086');
    await expect(remote.prepare(['x'.repeat(10_000)])).resolves.toMatchObject({ gzipped: true });
    remote.close();
  });

  it('reports status, body and Retry-After; redacts secrets from bodies', async () => {
    server = await startRecordingServer(() => ({ status: 503, body: 'busy, token tok-SECRET-1', headers: { 'retry-after': '7' } }));
    const c = client({ version: 2, bucket: 'b', token: 'tok-SECRET-1' });
    const r = await c.send(await c.prepare(['m v=1 1']));
    c.close();
    expect(r).toMatchObject({ status: 503, retryAfterMs: 7000, body: 'busy, token [REDACTED]' });
  });

  it('times out with an InfluxNetworkError', async () => {
    server = await startRecordingServer(() => ({ status: 204, delayMs: 2_000 }));
    const c = client({ database: 'd', timeout_ms: 150 });
    const started = Date.now();
    const err = await c.send(await c.prepare(['m v=1 1'])).catch((e: unknown) => e);
    c.close();
    expect(err).toBeInstanceOf(InfluxNetworkError);
    expect((err as InfluxNetworkError).timedOut).toBe(true);
    // The timeout, not the server's 2 s answer, ended it: timedOut says so; the clock is only a
    // loose check (a loaded machine may take seconds).
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('connection refused is an InfluxNetworkError', async () => {
    server = await startRecordingServer();
    const url = server.url;
    await server.close();
    server = undefined;
    const c = client({ database: 'd' }, url);
    const err = await c.send(await c.prepare(['m v=1 1'])).catch((e: unknown) => e);
    c.close();
    expect(err).toBeInstanceOf(InfluxNetworkError);
    expect((err as InfluxNetworkError).code).toBe('ECONNREFUSED');
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates', () => {
    expect(parseRetryAfter('120')).toBe(120_000);
    expect(parseRetryAfter(new Date(10_000 + 5_000).toUTCString(), 10_000)).toBe(5_000);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });
});
