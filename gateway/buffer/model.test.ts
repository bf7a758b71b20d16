/**
 * Model-based test: random sequences of appends, batch appends, reads, commits, rewinds and
 * reopens run against the real log (small segments, so rotation and deletion happen all the time)
 * and against a plain in-memory model; after every step both must agree.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DurableLog } from './index.ts';
import type { DurableLogConfig, LogReader } from './index.ts';
import { tempDir } from './testing/tmp.ts';

interface Value {
  s: string;
  n: number;
  d: number;
  raw: Uint8Array;
  tags: Record<string, string>;
}

const SINKS = ['a', 'b'] as const;
type Sink = (typeof SINKS)[number];

interface Model {
  values: Map<number, Value>;
  lastId: number;
  committed: Record<Sink, number>;
  /** Last id each open reader returned; undefined when the sink has no reader now. */
  readPos: Record<Sink, number | undefined>;
}

interface Real {
  log: DurableLog<Value>;
  readers: Map<Sink, LogReader<Value>>;
  config: DurableLogConfig;
}

const plain = (v: Value) => ({ ...v, raw: Array.from(v.raw) });

function readerOf(m: Model, r: Real, sink: Sink): LogReader<Value> {
  let reader = r.readers.get(sink);
  if (!reader) {
    reader = r.log.reader(sink);
    r.readers.set(sink, reader);
    m.readPos[sink] = m.committed[sink];
  }
  return reader;
}

function checkInvariants(m: Model, r: Real): void {
  const s = r.log.stats();
  expect(r.log.nextId).toBe(m.lastId + 1);
  expect(s.last_id).toBe(m.lastId);
  expect(s.pending_records).toBe(0);
  for (const sink of SINKS) {
    expect(s.sinks[sink]?.committed).toBe(m.committed[sink]);
    expect(s.sinks[sink]?.lag).toBe(m.lastId - m.committed[sink]);
  }
  // Nothing a sink has not committed was deleted.
  expect(s.first_id - 1).toBeLessThanOrEqual(Math.min(...SINKS.map((k) => m.committed[k])));
  expect(s.corrupt_records + s.truncated_bytes + s.records_dropped).toBe(0);
}

class AppendCmd implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly values: Value[],
    readonly batch: boolean,
  ) {}
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    const ids = this.batch ? await r.log.appendBatch(this.values) : await Promise.all(this.values.map((v) => r.log.append(v)));
    const expected = this.values.map((_, i) => m.lastId + 1 + i);
    expect(ids).toEqual(expected);
    this.values.forEach((v, i) => m.values.set(expected[i] as number, v));
    m.lastId += this.values.length;
    checkInvariants(m, r);
  }
  toString = () => `${this.batch ? 'appendBatch' : 'append'}(${this.values.length})`;
}

class ReadCmd implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly sink: Sink,
    readonly max: number,
  ) {}
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    const reader = readerOf(m, r, this.sink);
    const got = await reader.read(this.max);
    const from = Math.max(m.readPos[this.sink] ?? 0, m.committed[this.sink]) + 1;
    const wantIds: number[] = [];
    for (let id = from; id <= m.lastId && wantIds.length < this.max; id++) wantIds.push(id);
    expect(got.map((x) => x.id)).toEqual(wantIds);
    for (const rec of got) expect(plain(rec.value)).toEqual(plain(m.values.get(rec.id) as Value));
    if (got.length > 0) m.readPos[this.sink] = wantIds[wantIds.length - 1];
    checkInvariants(m, r);
  }
  toString = () => `read(${this.sink}, ${this.max})`;
}

/** Commits what the sink's reader has read (what a sink does), or any id up to the last. */
class CommitCmd implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly sink: Sink,
    readonly fraction: number | 'read',
  ) {}
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    const id = this.fraction === 'read' ? (m.readPos[this.sink] ?? m.committed[this.sink]) : Math.floor(this.fraction * m.lastId);
    await r.log.commit(this.sink, id);
    m.committed[this.sink] = Math.max(m.committed[this.sink], id);
    checkInvariants(m, r);
  }
  toString = () => `commit(${this.sink}, ${this.fraction === 'read' ? 'read' : this.fraction.toFixed(2)})`;
}

class RewindCmd implements fc.AsyncCommand<Model, Real> {
  constructor(readonly sink: Sink) {}
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    await readerOf(m, r, this.sink).rewind();
    m.readPos[this.sink] = m.committed[this.sink];
  }
  toString = () => `rewind(${this.sink})`;
}

class ReopenCmd implements fc.AsyncCommand<Model, Real> {
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    await r.log.close();
    r.readers.clear();
    for (const sink of SINKS) m.readPos[sink] = undefined;
    r.log = await DurableLog.open<Value>(r.config);
    checkInvariants(m, r);
  }
  toString = () => 'reopen';
}

const valueArb: fc.Arbitrary<Value> = fc.record({
  s: fc.string({ maxLength: 40 }),
  n: fc.integer(),
  d: fc.double({ noNaN: true, noDefaultInfinity: true }),
  raw: fc.uint8Array({ maxLength: 60 }),
  tags: fc.dictionary(fc.stringMatching(/^[a-z]{1,8}$/), fc.string({ maxLength: 12 }), { maxKeys: 3 }),
});
const sinkArb = fc.constantFrom<Sink>(...SINKS);

const commands = fc.commands(
  [
    fc.tuple(fc.array(valueArb, { minLength: 1, maxLength: 12 }), fc.boolean()).map(([v, b]) => new AppendCmd(v, b)),
    fc.tuple(sinkArb, fc.integer({ min: 1, max: 15 })).map(([s, n]) => new ReadCmd(s, n)),
    fc.tuple(sinkArb, fc.oneof(fc.constant('read' as const), fc.integer({ min: 0, max: 100 }).map((p) => p / 100))).map(
      ([s, f]) => new CommitCmd(s, f),
    ),
    sinkArb.map((s) => new RewindCmd(s)),
    fc.constant(new ReopenCmd()),
  ],
  { maxCommands: 60, size: 'max' },
);

describe('durable log agrees with an in-memory model', () => {
  it('over random appends, reads, commits, rewinds and reopens', async () => {
    await fc.assert(
      // Tail cache off, tiny (readers switch between memory and the files all the time) or large.
      fc.asyncProperty(commands, fc.constantFrom(300, 700, 4096), fc.constantFrom(0, 3, 10_000), async (cmds, segmentBytes, cacheRecords) => {
        const t = await tempDir('model');
        const config: DurableLogConfig = { dir: t.dir, segment_bytes: segmentBytes, fsync_interval_ms: 0, sinks: [...SINKS], read_cache_records: cacheRecords };
        const real: Real = { log: await DurableLog.open<Value>(config), readers: new Map(), config };
        const model: Model = { values: new Map(), lastId: 0, committed: { a: 0, b: 0 }, readPos: { a: undefined, b: undefined } };
        try {
          await fc.asyncModelRun(() => ({ model, real }), cmds);
        } finally {
          await real.log.close();
          await t.remove();
        }
      }),
      { numRuns: 90 },
    );
  });
});
