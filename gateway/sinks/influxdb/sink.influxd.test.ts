// The sink against a REAL InfluxDB 1.6 (Debian's influxdb package) started by test/support.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quoteIdent, startInfluxd, type InfluxdServer } from '../../../support/influxd.ts';
import type { InfluxSinkConfigInput } from './config.ts';
import { integer, type Point } from './line-protocol.ts';
import { InfluxSink, type SinkLogger } from './sink.ts';

const T0 = 1_750_000_000_000;
const quiet: SinkLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

function points(measurement: string, n: number, from = 0): Point[] {
  return Array.from({ length: n }, (_, i) => ({
    measurement,
    tags: { dev_eui: `a8404100018${String((from + i) % 97).padStart(5, '0')}`, model: 'df703' },
    fields: { fill_pct: ((from + i) % 100) + 0.5, f_cnt: integer(from + i), alarm_fire: (from + i) % 13 === 0 },
    timeMs: T0 + from + i,
  }));
}

async function count(server: InfluxdServer, measurement: string, field = 'fill_pct', db?: string): Promise<number> {
  const series = await server.query(`SELECT count(${quoteIdent(field)}) FROM ${quoteIdent(measurement)}`, db === undefined ? {} : { db });
  const v = series[0]?.values[0]?.[1];
  return typeof v === 'number' ? v : 0;
}

async function until(cond: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

let influx: InfluxdServer;
let dir: string;
const sinks: InfluxSink[] = [];

async function makeSink(cfg: Partial<InfluxSinkConfigInput> = {}, server: InfluxdServer = influx): Promise<InfluxSink> {
  const sink = new InfluxSink(
    {
      url: server.url,
      database: server.database ?? 'test',
      flush_interval_ms: 10,
      retry_min_backoff_ms: 20,
      retry_max_backoff_ms: 300,
      dead_letter_file: join(dir, `dead-${sinks.length}.jsonl`),
      ...cfg,
    },
    { logger: quiet },
  );
  sinks.push(sink);
  await sink.start();
  return sink;
}

async function deadLetters(sink: InfluxSink): Promise<Array<{ line: string; reason: string; status: number; time: string }>> {
  const text = await readFile(sink.config.dead_letter_file ?? '', 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as { line: string; reason: string; status: number; time: string });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'influx-sink-real-'));
  influx = await startInfluxd();
});

afterAll(async () => {
  await Promise.all(sinks.map((s) => s.stop({ timeoutMs: 0 })));
  await influx?.dispose();
  await rm(dir, { recursive: true, force: true });
});

describe('InfluxSink with a real InfluxDB 1.6', () => {
  it('writes points that query back with their tags, field types and ms timestamps', async () => {
    const sink = await makeSink();
    const outcome = await sink.write(points('plain', 300));
    expect(outcome).toMatchObject({ points: 300, lines: 300, written: 300, deadLettered: 0 });
    expect(await count(influx, 'plain')).toBe(300);
    const rows = await influx.rows(`SELECT * FROM plain WHERE time = ${T0 + 13}ms`);
    expect(rows).toEqual([{ time: T0 + 13, alarm_fire: true, dev_eui: 'a840410001800013', f_cnt: 13, fill_pct: 13.5, model: 'df703' }]);
    const types = await influx.query('SHOW FIELD KEYS FROM plain');
    expect(Object.fromEntries(types[0]?.values.map((v) => [v[0], v[1]]) ?? [])).toEqual({
      alarm_fire: 'boolean',
      f_cnt: 'integer',
      fill_pct: 'float',
    });
  });

  it('writes gzip bodies', async () => {
    const sink = await makeSink({ gzip: true, gzip_min_bytes: 1024 });
    await sink.write(points('gz', 2_000));
    const st = sink.stats();
    expect(st.bytesSent).toBeLessThan(st.uncompressedBytesSent / 3);
    expect(await count(influx, 'gz')).toBe(2_000);
  });

  it('overwrites instead of duplicating when the same points are written again (also by a new sink)', async () => {
    const batch = points('idem', 500);
    const a = await makeSink();
    await a.write(batch);
    await a.write(batch);
    expect(await count(influx, 'idem')).toBe(500);
    await a.stop();
    const b = await makeSink(); // a restarted gateway replaying from its log
    await b.write(batch);
    expect(await count(influx, 'idem')).toBe(500);
  });

  it('partial write: keeps the good lines and dead-letters field type conflicts and parse errors with the reason', async () => {
    const sink = await makeSink();
    await sink.write([{ measurement: 'pw', fields: { v: 1.5 }, timeMs: T0 }]); // v is a float from now on
    const lines = [
      `pw v=2 ${T0 + 1}`,
      `pw v="text" ${T0 + 2}`,
      `pw v=3 ${T0 + 3}`,
      `pw v= ${T0 + 4}`,
      `pw v="more text" ${T0 + 5}`,
      `pw v=6 ${T0 + 6}`,
      `pw v=7 not-a-time`,
      `pw,t=x v=8 ${T0 + 8}`,
    ];
    const outcome = await sink.writeLines(lines);
    expect(outcome).toMatchObject({ lines: 8, written: 4, deadLettered: 4 });
    const rows = await influx.rows('SELECT v FROM pw');
    expect(rows.map((r) => r['v'])).toEqual([1.5, 2, 3, 6, 8]);
    const dl = await deadLetters(sink);
    expect(dl.map((d) => d.line).sort()).toEqual([lines[1], lines[3], lines[4], lines[6]].sort());
    const reasonOf = (l: string | undefined): string => dl.find((d) => d.line === l)?.reason ?? '';
    expect(reasonOf(lines[1])).toMatch(/field type conflict: input field "v" on measurement "pw" is type string, already exists as type float/);
    expect(reasonOf(lines[3])).toMatch(/unable to parse/);
    expect(reasonOf(lines[6])).toMatch(/unable to parse: bad timestamp/);
    for (const d of dl) {
      expect(d.status).toBe(400);
      expect(Number.isNaN(Date.parse(d.time))).toBe(false);
    }
    expect(sink.stats().deadLetteredLines).toBe(4);
  });

  it('a type conflict inside one batch on a new measurement: what is reported written is exactly what is stored', async () => {
    const sink = await makeSink();
    const lines = [`nb v=1 ${T0 + 1}`, `nb v="s" ${T0 + 2}`, `nb v=2i ${T0 + 3}`, 'bad line', `nb v=4 ${T0 + 4}`, `nb v=true ${T0 + 5}`];
    const outcome = await sink.writeLines(lines);
    expect(outcome.written + outcome.deadLettered).toBe(lines.length);
    const stored = await influx.rows('SELECT v FROM nb');
    expect(stored).toHaveLength(outcome.written);
    const dead = (await deadLetters(sink)).map((d) => d.line);
    expect(dead).toContain('bad line');
    const storedTimes = new Set(stored.map((r) => r['time']));
    for (const l of lines) {
      const t = Number(l.split(' ')[2]);
      if (l === 'bad line') continue;
      expect(storedTimes.has(t)).toBe(!dead.includes(l));
    }
  });

  it('database missing: stops loudly with a 404, keeps the data, writes it after the database exists and resume()', async () => {
    const sink = await makeSink({ database: 'nodb', stopped_retry_interval_ms: 0 });
    const errors: Error[] = [];
    sink.on('error', (e: Error) => errors.push(e));
    let done = false;
    const pending = sink.write(points('late', 50)).then((o) => {
      done = true;
      return o;
    });
    await until(() => sink.state === 'stopped', 30_000);
    expect(errors[0]?.message).toMatch(/^InfluxDB database not found \(404\): database not found: "nodb"/);
    expect(sink.stats().stoppedReason).toMatch(/database not found/);
    await new Promise((r) => setTimeout(r, 50));
    expect(done).toBe(false);
    await influx.query('CREATE DATABASE nodb', { db: null });
    sink.resume();
    expect((await pending).written).toBe(50);
    expect(await count(influx, 'late', 'fill_pct', 'nodb')).toBe(50);
    expect(sink.state).toBe('running');
  });

  it('a missing retention policy stops the sink too (500 on 1.6)', async () => {
    const sink = await makeSink({ retention_policy: 'nope', stopped_retry_interval_ms: 0 });
    const errors: Error[] = [];
    sink.on('error', (e: Error) => errors.push(e));
    const pending = sink.write(points('rp', 5)).catch((e: unknown) => e);
    await until(() => errors.length > 0, 30_000);
    expect(errors[0]?.message).toMatch(/retention policy not found \(500\)/);
    await sink.stop({ timeoutMs: 0 });
    expect(String(await pending)).toMatch(/SinkClosedError/);
  });

  it('influxd stopped and later SIGKILLed mid-write: the sink retries and nothing is lost', async () => {
    const sink = await makeSink({ batch_lines: 1_000, timeout_ms: 2_000, retry_max_backoff_ms: 200 });
    const per = 1_000;
    let resolved = 0;
    let issued = 0;
    const writes: Array<Promise<unknown>> = [];
    const writeChunks = (n: number): void => {
      for (let i = 0; i < n; i++, issued++) {
        writes.push(
          sink.write(points('outage', per, issued * per)).then((o) => {
            resolved++;
            return o;
          }),
        );
      }
    };
    writeChunks(20);
    await until(() => resolved >= 3, 20_000);
    await influx.stop();
    writeChunks(5); // certainly during the outage
    await until(() => sink.stats().networkErrors > 0, 30_000);
    expect(resolved).toBeLessThan(issued);
    await influx.start();
    await until(() => resolved >= 12, 30_000);
    await influx.kill();
    writeChunks(5);
    await new Promise((r) => setTimeout(r, 300));
    await influx.start();
    const outcomes = await Promise.all(writes);
    expect(outcomes).toHaveLength(issued);
    expect(await count(influx, 'outage')).toBe(issued * per);
    expect(sink.stats().writtenLines).toBe(issued * per);
  });
});

describe('InfluxSink with a real InfluxDB 1.6 with authentication', () => {
  let secured: InfluxdServer;
  const password = 'Pa55-w0rd-never-logged';

  beforeAll(async () => {
    secured = await startInfluxd({ auth: { username: 'gateway', password }, database: 'lorawan' });
  });
  afterAll(async () => {
    await secured?.dispose();
  });

  it('writes with user/password (Basic and query-parameter styles)', async () => {
    const basic = await makeSink({ username: 'gateway', password }, secured);
    expect((await basic.write(points('auth', 20))).written).toBe(20);
    const query = await makeSink({ username: 'gateway', password, v1_auth: 'query' }, secured);
    expect((await query.write(points('auth', 20, 20))).written).toBe(20);
    expect(await count(secured, 'auth')).toBe(40);
  });

  it('a wrong password stops the sink (401) without losing data or leaking the password; resume() with the right one writes it', async () => {
    const wrong = 'wrong-Secret-pw-xyz';
    const logs: string[] = [];
    const logger: SinkLogger = {
      info: (m, d) => logs.push(m, JSON.stringify(d)),
      warn: (m, d) => logs.push(m, JSON.stringify(d)),
      error: (m, d) => logs.push(m, JSON.stringify(d)),
    };
    const sink = new InfluxSink(
      { url: secured.url, database: 'lorawan', username: 'gateway', password: wrong, flush_interval_ms: 10, stopped_retry_interval_ms: 0 },
      { logger },
    );
    sinks.push(sink);
    await sink.start();
    const errors: Error[] = [];
    sink.on('error', (e: Error) => errors.push(e));
    const pending = sink.write(points('auth2', 30));
    await until(() => sink.state === 'stopped', 30_000);
    expect(errors[0]?.message).toMatch(/^InfluxDB rejected the credentials \(401\): authorization failed/);
    expect(sink.stats()).toMatchObject({ state: 'stopped', queuedLines: 0, inFlightLines: 30 });
    const everything = JSON.stringify({ logs, stats: sink.stats(), errors: errors.map((e) => [e.message, e.stack]), config: sink.stats().target });
    for (const secret of [wrong, password, Buffer.from(`gateway:${wrong}`).toString('base64')]) expect(everything).not.toContain(secret);

    sink.resume({ password });
    expect((await pending).written).toBe(30);
    expect(await count(secured, 'auth2')).toBe(30);
  });
});
