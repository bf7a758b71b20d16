// The sink against a small real HTTP server that plays InfluxDB where the real one cannot
// produce the condition on demand (413 above N bytes, 503 + Retry-After, dropped connections,
// slow answers, a v2-style 401).
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startRecordingServer, type RecordingServer } from '../../../support/recording-server.ts';
import type { InfluxSinkConfigInput } from './config.ts';
import { addPoint, batchLines, encodePoints, newLineBatch, type Point } from './line-protocol.ts';
import { InfluxSink, InfluxSinkStoppedError, SinkClosedError, type SinkLogger } from './sink.ts';

const T0 = 1_750_000_000_000;

function points(n: number, from = 0, measurement = 'm'): Point[] {
  return Array.from({ length: n }, (_, i) => ({
    measurement,
    tags: { dev_eui: `a84041000181${String((from + i) % 1000).padStart(4, '0')}` },
    fields: { v: from + i },
    timeMs: T0 + from + i,
  }));
}

interface CapturedLog {
  level: string;
  message: string;
  data: string;
}

function captureLogger(into: CapturedLog[]): SinkLogger {
  const push = (level: string) => (message: string, data?: Record<string, unknown>) => {
    into.push({ level, message, data: JSON.stringify(data ?? {}) });
  };
  return { info: push('info'), warn: push('warn'), error: push('error') };
}

let server: RecordingServer;
let sink: InfluxSink | undefined;
let dir: string;
let logs: CapturedLog[];

beforeEach(async () => {
  server = await startRecordingServer();
  dir = await mkdtemp(join(tmpdir(), 'influx-sink-test-'));
  logs = [];
});

afterEach(async () => {
  await sink?.stop({ timeoutMs: 0 });
  sink = undefined;
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

async function makeSink(cfg: Partial<InfluxSinkConfigInput> = {}): Promise<InfluxSink> {
  sink = new InfluxSink(
    {
      url: server.url,
      database: 'test',
      flush_interval_ms: 20,
      retry_min_backoff_ms: 5,
      retry_max_backoff_ms: 40,
      dead_letter_file: join(dir, 'dead.jsonl'),
      ...cfg,
    },
    { logger: captureLogger(logs) },
  );
  await sink.start();
  return sink;
}

async function deadLetters(): Promise<Array<Record<string, unknown>>> {
  const text = await readFile(join(dir, 'dead.jsonl'), 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** A v2 sink whose server refuses every request holding lines with "bad", naming those lines. */
function makeV2SinkRefusingBadLines(): Promise<InfluxSink> {
  server.respond = (req) => {
    const bad = req.lines.filter((l) => l.includes('bad'));
    if (bad.length === 0) return { status: 204 };
    return { status: 400, body: JSON.stringify({ code: 'invalid', message: bad.map((l) => `unable to parse '${l}': invalid field format`).join('\n') }) };
  };
  return makeSink({ version: 2, database: undefined, org: 'o', bucket: 'b' });
}

describe('batching', () => {
  it('cuts batches by lines, and flush() sends the remainder', async () => {
    const s = await makeSink({ batch_lines: 100, flush_interval_ms: 60_000 });
    const pending = s.write(points(250));
    // Two full batches go out on their own; a bounded poll, not a fixed sleep (a loaded machine
    // may take longer than any sleep to send them).
    const deadline = Date.now() + 20_000;
    while (server.requests.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(server.requests.map((r) => r.lines.length)).toEqual([100, 100]);
    await s.flush();
    const outcome = await pending;
    expect(server.requests.map((r) => r.lines.length)).toEqual([100, 100, 50]);
    expect(outcome).toMatchObject({ points: 250, lines: 250, written: 250, deadLettered: 0 });
    expect(server.requests[0]?.url.searchParams.get('precision')).toBe('ms');
  });

  it('cuts batches by bytes', async () => {
    const s = await makeSink({ batch_bytes: 2048, gzip: false });
    await s.write(points(300));
    expect(server.requests.length).toBeGreaterThan(5);
    for (const r of server.requests) expect(r.rawBody.length).toBeLessThanOrEqual(2048);
    expect(server.requests.flatMap((r) => r.lines)).toHaveLength(300);
  });

  it('writes each batch body byte for byte as the lines joined by LF, also with multi-byte characters', async () => {
    const s = await makeSink({ batch_bytes: 1_024, gzip: false });
    const lines = Array.from({ length: 60 }, (_, i) => `m,t=é${'😀'.repeat(i % 7)} s="ü\ud800",v=${i} ${T0 + i}`);
    await s.writeLines(lines);
    expect(server.requests.length).toBeGreaterThanOrEqual(3);
    let from = 0;
    for (const r of server.requests) {
      const sent = lines.slice(from, from + r.lines.length);
      expect(r.rawBody.equals(Buffer.from(sent.join('\n'), 'utf8'))).toBe(true);
      expect(r.rawBody.length).toBeLessThanOrEqual(1_024);
      from += r.lines.length;
    }
    expect(from).toBe(60);
  });

  it('sends a partial batch after flush_interval_ms', async () => {
    const s = await makeSink({ flush_interval_ms: 150 });
    const started = Date.now();
    await s.write(points(5));
    const waited = (server.requests[0]?.receivedAt ?? 0) - started;
    expect(waited).toBeGreaterThanOrEqual(140);
    // The timer, not a later write, sent it; the upper bound only has to stay far below "never".
    expect(waited).toBeLessThan(20_000);
  });

  it('keeps at most max_in_flight requests open', async () => {
    let active = 0;
    let peak = 0;
    server.respond = async () => {
      active++;
      peak = Math.max(peak, active);
      await new Promise((r) => setTimeout(r, 30));
      active--;
      return { status: 204 };
    };
    const s = await makeSink({ batch_lines: 10, max_in_flight: 2 });
    await Promise.all([s.write(points(50)), s.write(points(50, 50))]);
    expect(peak).toBe(2);
    expect(server.requests).toHaveLength(10);
  });

  it('makes write() wait when max_buffered_lines are pending', async () => {
    server.respond = () => ({ status: 204, delayMs: 20 });
    const s = await makeSink({ batch_lines: 10, max_in_flight: 1, max_buffered_lines: 30 });
    let peak = 0;
    const writes = Array.from({ length: 20 }, (_, i) => {
      const p = s.write(points(10, i * 10));
      peak = Math.max(peak, s.stats().queuedLines + s.stats().inFlightLines);
      return p;
    });
    const poll = setInterval(() => {
      peak = Math.max(peak, s.stats().queuedLines + s.stats().inFlightLines);
    }, 2);
    await Promise.all(writes);
    clearInterval(poll);
    expect(peak).toBeLessThanOrEqual(30);
    expect(server.requests.flatMap((r) => r.lines)).toHaveLength(200);
  });
});

describe('413: split in halves', () => {
  it('splits recursively until the server accepts, and dead-letters a single line that is too large', async () => {
    const limit = 1_500;
    server.respond = (req) => (req.rawBody.length > limit ? { status: 413, body: '{"error":"Request Entity Too Large"}' } : { status: 204 });
    const s = await makeSink({ batch_lines: 5_000, gzip: false });
    const big: Point = { measurement: 'm', fields: { s: 'x'.repeat(2_000) }, timeMs: T0 - 1 };
    const outcome = await s.write([...points(200), big]);
    expect(outcome).toMatchObject({ written: 200, deadLettered: 1 });
    const accepted = server.requests.filter((r) => r.rawBody.length <= limit);
    expect(new Set(accepted.flatMap((r) => r.lines)).size).toBe(200);
    expect(s.stats().splits).toBeGreaterThan(3);
    const dl = await deadLetters();
    expect(dl).toHaveLength(1);
    expect(dl[0]?.['reason']).toMatch(/413/);
    expect(dl[0]?.['status']).toBe(413);
  });
});

describe('retries', () => {
  it('retries 503 honouring Retry-After, and 500 with backoff', async () => {
    server.respond = (_req, i) =>
      i === 0 ? { status: 503, body: 'unavailable', headers: { 'retry-after': '1' } } : i === 1 ? { status: 500, body: '{"error":"boom"}' } : { status: 204 };
    const s = await makeSink();
    const outcome = await s.write(points(10));
    expect(outcome.written).toBe(10);
    expect(server.requests).toHaveLength(3);
    const gap = (server.requests[1]?.receivedAt ?? 0) - (server.requests[0]?.receivedAt ?? 0);
    expect(gap).toBeGreaterThanOrEqual(950);
    expect(s.stats()).toMatchObject({ retries: 2, responses: { '503': 1, '500': 1, '204': 1 } });
  });

  it('retries 429 with an HTTP-date Retry-After', async () => {
    // HTTP dates have 1 s resolution: 2 s ahead is at least 1 s ahead once truncated.
    server.respond = (_req, i) => (i === 0 ? { status: 429, headers: { 'retry-after': new Date(Date.now() + 2_000).toUTCString() } } : { status: 204 });
    const s = await makeSink();
    await s.write(points(3));
    const gap = (server.requests[1]?.receivedAt ?? 0) - (server.requests[0]?.receivedAt ?? 0);
    expect(gap).toBeGreaterThanOrEqual(900);
  });

  it('retries dropped connections', async () => {
    server.respond = (_req, i) => (i < 3 ? { status: 204, destroy: true } : { status: 204 });
    const s = await makeSink();
    const outcome = await s.write(points(10));
    expect(outcome.written).toBe(10);
    expect(s.stats().networkErrors).toBe(3);
    expect(server.requests).toHaveLength(4);
  });

  it('uses exponential backoff with full jitter, capped', async () => {
    const times: number[] = [];
    server.respond = (_req, i) => {
      times.push(Date.now());
      return i < 9 ? { status: 502 } : { status: 204 };
    };
    sink = new InfluxSink(
      { url: server.url, database: 'd', flush_interval_ms: 0, retry_min_backoff_ms: 20, retry_max_backoff_ms: 100 },
      { logger: captureLogger(logs), random: () => 1 }, // jitter at its maximum: delays are the caps
    );
    await sink.start();
    await sink.write(points(1));
    const gaps = times.slice(1).map((t, i) => t - (times[i] ?? 0));
    // caps: 20, 40, 80, 100, 100, … (uncapped, the 9th would be 20 · 2^8 = 5120 ms)
    expect(gaps[0]).toBeGreaterThanOrEqual(18);
    expect(gaps[2]).toBeGreaterThanOrEqual(75);
    expect(gaps[5]).toBeGreaterThanOrEqual(95);
    expect(gaps[8]).toBeGreaterThanOrEqual(95);
    expect(Math.max(...gaps)).toBeLessThan(2_000);
  });
});

describe('rejected lines (fake v2 server)', () => {
  it('a v2 400 refusing the whole batch: the named lines are dead-lettered, the others sent again', async () => {
    const s = await makeV2SinkRefusingBadLines();
    const outcome = await s.writeLines(['m v=1 1', 'bad line', 'm v=2 2']);
    expect(outcome).toMatchObject({ written: 2, deadLettered: 1 });
    expect(server.requests.map((r) => r.lines)).toEqual([['m v=1 1', 'bad line', 'm v=2 2'], ['m v=1 1', 'm v=2 2']]);
    expect((await deadLetters())[0]).toMatchObject({ line: 'bad line', reason: 'unable to parse: invalid field format', status: 400 });
  });

  it('a 400 that is not about lines stops the sink instead of dropping data', async () => {
    server.respond = (_req, i) => (i === 0 ? { status: 400, body: '{"error":"database is required"}' } : { status: 204 });
    const s = await makeSink({ stopped_retry_interval_ms: 50 });
    const outcome = await s.write(points(3));
    expect(outcome.written).toBe(3);
    expect(outcome.deadLettered).toBe(0);
    expect(logs.some((l) => l.level === 'error' && /refused the request \(400\)/.test(l.message))).toBe(true);
  });
});

describe('credentials', () => {
  it('401 stops the sink loudly, keeps the data, and the token appears nowhere', async () => {
    const token = 'tok-SUPER-secret-0123456789';
    server.respond = (req) =>
      req.headers.authorization === 'Token good-token'
        ? { status: 204 }
        : { status: 401, body: JSON.stringify({ code: 'unauthorized', message: `unauthorized access for ${String(req.headers.authorization)}` }) };
    const s = await makeSink({ version: 2, database: undefined, org: 'o', bucket: 'b', token, stopped_retry_interval_ms: 0 });
    const errors: Error[] = [];
    s.on('error', (e: Error) => errors.push(e));
    const states: string[] = [];
    s.on('state', (st: string) => states.push(st));

    const pending = s.write(points(20));
    let settled = false;
    void pending.then(() => {
      settled = true;
    });
    const deadline = Date.now() + 5_000;
    while (s.state !== 'stopped' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 100));

    expect(s.state).toBe('stopped');
    expect(settled).toBe(false); // nothing acked
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(InfluxSinkStoppedError);
    expect(errors[0]?.message).toMatch(/^InfluxDB rejected the credentials \(401\)/);
    const stats = s.stats();
    expect(stats.stoppedReason).toMatch(/InfluxDB rejected the credentials \(401\)/);
    expect(stats.queuedLines + stats.inFlightLines).toBe(20);
    expect(server.requests.length).toBeLessThanOrEqual(2); // no hammering while stopped

    const everything = JSON.stringify({ errors: errors.map((e) => [e.message, e.stack]), stats, logs, states });
    expect(everything).not.toContain(token);
    expect(everything).not.toContain('SUPER-secret');
    expect(everything).toContain('[REDACTED]'); // the server echoed it; we scrubbed it

    s.resume({ token: 'good-token' });
    const outcome = await pending;
    expect(outcome.written).toBe(20);
    expect(s.stats()).toMatchObject({ state: 'running', stoppedReason: null });
    expect(states).toEqual(['stopped', 'running']);
  });

  it('v1 password never appears in logs, stats or errors (403 and query-param auth)', async () => {
    const password = 'pw-Very-Secret-42';
    server.respond = (req) => ({ status: 403, body: JSON.stringify({ error: `user gw with password ${req.url.searchParams.get('p') ?? ''} may not write` }) });
    const s = await makeSink({ username: 'gw', password, v1_auth: 'query', stopped_retry_interval_ms: 0 });
    const errors: Error[] = [];
    s.on('error', (e: Error) => errors.push(e));
    const pending = s.write(points(2)).catch((e: unknown) => e);
    const deadline = Date.now() + 5_000;
    while (errors.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(errors[0]?.message).toMatch(/no write permission \(403\)/);
    await s.stop({ timeoutMs: 100 });
    const err = await pending;
    expect(err).toBeInstanceOf(SinkClosedError);
    const everything = JSON.stringify({ errors: errors.map((e) => [e.message, e.stack]), stats: s.stats(), logs, err: String(err) });
    expect(everything).not.toContain(password);
    expect(everything).not.toContain(encodeURIComponent(password));
  });
});

describe('lifecycle', () => {
  it('refuses write() before start() and after stop()', async () => {
    const s = new InfluxSink({ url: server.url, database: 'd' }, { logger: captureLogger(logs) });
    await expect(s.write(points(1))).rejects.toThrow(/before start/);
    await s.start();
    await s.stop();
    await expect(s.write(points(1))).rejects.toBeInstanceOf(SinkClosedError);
  });

  it('stop() drains what is queued', async () => {
    server.respond = () => ({ status: 204, delayMs: 10 });
    const s = await makeSink({ flush_interval_ms: 60_000, batch_lines: 50 });
    const pending = s.write(points(120));
    await s.stop();
    expect(await pending).toMatchObject({ written: 120 });
    expect(s.state).toBe('closed');
  });

  it('stop() gives up after drain_timeout_ms: the writes reject and stay unacked', async () => {
    server.respond = () => ({ status: 503 });
    const s = await makeSink({ retry_min_backoff_ms: 20 });
    const pending = s.write(points(30)).catch((e: unknown) => e);
    const started = Date.now();
    await s.stop({ timeoutMs: 200 });
    // Far below the retries' "forever", generous for a loaded machine.
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(await pending).toBeInstanceOf(SinkClosedError);
    expect(s.stats().writtenLines).toBe(0);
  });

  it('counts and dead-letters points that cannot be encoded', async () => {
    const s = await makeSink();
    const outcome = await s.write([
      { measurement: 'm', fields: { v: Number.NaN }, timeMs: T0 },
      { measurement: 'm', fields: { v: 1, w: Infinity }, timeMs: T0 },
    ]);
    expect(outcome).toMatchObject({ points: 2, lines: 1, written: 1, skippedFields: 2, rejectedPoints: [{ index: 0, reason: 'no writable fields' }] });
    const dl = await deadLetters();
    expect(dl[0]).toMatchObject({ reason: 'no writable fields', point: { measurement: 'm', fields: { v: null } } });
    expect(s.stats()).toMatchObject({ rejectedPoints: 1, skippedFields: 2 });
  });

  it('writeBatch() queues lines a schema encoded as they are, and dead-letters the batch’s rejected points', async () => {
    const s = await makeSink();
    const batch = newLineBatch();
    addPoint(batch, { measurement: 'm', fields: { v: Number.NaN }, timeMs: T0 });
    addPoint(batch, { measurement: 'm', tags: { t: 'a b' }, fields: { v: 1, w: Infinity }, timeMs: T0 });
    const outcome = await s.writeBatch(batch);
    expect(server.requests.flatMap((r) => r.lines)).toEqual([`m,t=a\\ b v=1 ${T0}`]);
    expect(outcome).toMatchObject({ points: 2, lines: 1, written: 1, skippedFields: 2, rejectedPoints: [{ index: 0, reason: 'no writable fields' }] });
    const dl = await deadLetters();
    expect(dl[0]).toMatchObject({ reason: 'no writable fields', point: { measurement: 'm', fields: { v: null } } });
    expect(s.stats()).toMatchObject({ acceptedPoints: 1, rejectedPoints: 1, skippedFields: 2 });
  });

  it('writeBatch(): bodies byte for byte as the lines joined by LF, mixed with write() lines, multi-byte characters, cut and split', async () => {
    const limit = 1_000;
    server.respond = (req) => (req.rawBody.length > limit ? { status: 413, body: '{"error":"Request Entity Too Large"}' } : { status: 204 });
    const s = await makeSink({ batch_bytes: 2_500, gzip: false, flush_interval_ms: 60_000 });
    const batch = newLineBatch();
    const mk = (i: number): Point => ({ measurement: 'm', tags: { t: `é${'😀'.repeat(i % 7)}` }, fields: { s: `ü\ud800"`, v: i }, timeMs: T0 + i });
    for (let i = 0; i < 60; i++) addPoint(batch, mk(i));
    const first = s.writeBatch(batch);
    const second = s.write([mk(60), mk(61)]);
    await s.flush();
    expect(await first).toMatchObject({ points: 60, lines: 60, written: 60 });
    expect(await second).toMatchObject({ written: 2 });
    const expected = encodePoints(Array.from({ length: 62 }, (_, i) => mk(i))).lines;
    expect(batchLines(batch)).toEqual(expected.slice(0, 60));
    const accepted = server.requests.filter((r) => r.rawBody.length <= limit);
    expect(s.stats().splits).toBeGreaterThan(0);
    expect(accepted.flatMap((r) => r.lines).sort()).toEqual([...expected].sort());
    for (const r of accepted) expect(r.rawBody.equals(Buffer.from(r.lines.join('\n'), 'utf8'))).toBe(true);
  });

  it('writeBatch(): lines the server names are dead-lettered as text', async () => {
    const s = await makeV2SinkRefusingBadLines();
    const batch = newLineBatch();
    addPoint(batch, { measurement: 'm', fields: { v: 1 }, timeMs: 1 });
    addPoint(batch, { measurement: 'bad', fields: { v: 'ü' }, timeMs: 2 });
    addPoint(batch, { measurement: 'm', fields: { v: 2 }, timeMs: 2 });
    const outcome = await s.writeBatch(batch);
    expect(outcome).toMatchObject({ written: 2, deadLettered: 1 });
    expect(server.requests.map((r) => r.lines)).toEqual([['m v=1 1', 'bad v="ü" 2', 'm v=2 2'], ['m v=1 1', 'm v=2 2']]);
    expect((await deadLetters())[0]).toMatchObject({ line: 'bad v="ü" 2', status: 400 });
  });
});

describe('recovery after an outage', () => {
  it('batches in backoff retry as soon as one write succeeds, instead of sleeping out their delays', async () => {
    // Down for the first 4 requests (dropped connections), then up. Jitter at its maximum and a
    // 10 s cap: without the wake-up the other batches would sleep for seconds.
    let up = false;
    server.respond = (_req, i) => {
      if (i >= 4) up = true;
      return up ? { status: 204 } : { status: 204, destroy: true };
    };
    sink = new InfluxSink(
      { url: server.url, database: 'd', flush_interval_ms: 0, batch_lines: 10, max_in_flight: 4, retry_min_backoff_ms: 30_000, retry_max_backoff_ms: 60_000 },
      { logger: captureLogger(logs), random: (() => { let n = 0; return () => (n++ === 0 ? 0.01 : 1); })() },
    );
    await sink.start();
    const started = Date.now();
    const outcomes = await Promise.all([sink.write(points(10, 0)), sink.write(points(10, 10)), sink.write(points(10, 20)), sink.write(points(10, 30))]);
    expect(outcomes.map((o) => o.written)).toEqual([10, 10, 10, 10]);
    // First retry after ~300 ms succeeds; the three others are woken instead of sleeping 30 s+
    // (a wide gap, so a loaded machine cannot blur it).
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(sink.stats().recoveryWakeups).toBeGreaterThanOrEqual(3);
  });

  it('still honours Retry-After: the server asked for the wait', async () => {
    server.respond = (_req, i) => (i === 0 ? { status: 503, headers: { 'retry-after': '1' } } : { status: 204 });
    const s = await makeSink({ batch_lines: 5, max_in_flight: 2, flush_interval_ms: 0 });
    const [a, b] = await Promise.all([s.write(points(5, 0)), s.write(points(5, 5))]);
    expect(a.written + b.written).toBe(10);
    const first503 = server.requests[0]?.receivedAt ?? 0;
    const retried = server.requests.filter((r) => r.receivedAt >= first503).slice(-1)[0]?.receivedAt ?? 0;
    expect(retried - first503).toBeGreaterThanOrEqual(950);
    expect(s.stats().recoveryWakeups).toBe(0);
  });
});
