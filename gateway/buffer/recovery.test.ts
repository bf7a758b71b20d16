import { readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as zlib from 'node:zlib';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { crc32, crc32Table } from './crc32.ts';
import { FRAME_HEADER_BYTES, SEGMENT_HEADER_BYTES, decodeSegmentHeader, encodeSegmentHeader } from './format.ts';
import { DurableLog } from './index.ts';
import type { LogRecord } from './index.ts';
import { isUplinkFor, uplinkFor } from './testing/records.ts';
import type { TestUplink } from './testing/records.ts';
import { tempDir } from './testing/tmp.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A closed log holding records 1..n in segments of segmentBytes. */
async function logWith(n: number, segmentBytes = 1 << 20, sinks: string[] = ['a']): Promise<string> {
  const t = await tempDir('recovery');
  cleanups.push(t.remove);
  const log = await DurableLog.open<TestUplink>({ dir: t.dir, segment_bytes: segmentBytes, fsync_interval_ms: 1, sinks });
  await Promise.all(Array.from({ length: n }, (_, i) => log.append(uplinkFor(i + 1))));
  await log.close();
  return t.dir;
}

async function open(dir: string, segmentBytes = 1 << 20): Promise<DurableLog<TestUplink>> {
  const log = await DurableLog.open<TestUplink>({ dir, segment_bytes: segmentBytes, fsync_interval_ms: 1 });
  cleanups.push(() => log.close());
  return log;
}

async function readAll(log: DurableLog<TestUplink>, sink = 'a'): Promise<LogRecord<TestUplink>[]> {
  const r = log.reader(sink);
  const out: LogRecord<TestUplink>[] = [];
  for (let b = await r.read(1000); b.length > 0; b = await r.read(1000)) out.push(...b);
  await r.close();
  return out;
}

const segments = async (dir: string) => (await readdir(dir)).filter((n) => n.endsWith('.seg')).sort();

/** Frame start offsets of a healthy segment file. */
function frameOffsets(file: Buffer): number[] {
  const out: number[] = [];
  for (let at = SEGMENT_HEADER_BYTES; at + FRAME_HEADER_BYTES <= file.length; at += FRAME_HEADER_BYTES + file.readUInt32LE(at + 8)) out.push(at);
  return out;
}

async function flip(path: string, offset: number): Promise<void> {
  const b = await readFile(path);
  b[offset] = (b[offset] as number) ^ 0x5a;
  await writeFile(path, b);
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const ids = (recs: LogRecord<TestUplink>[]) => recs.map((r) => r.id);

describe('crc32', () => {
  it('is zlib\'s CRC-32 (check value of "123456789") in both implementations', () => {
    const check = Buffer.from('123456789');
    expect(crc32(check)).toBe(0xcbf43926);
    expect(crc32Table(check)).toBe(0xcbf43926);
    expect(crc32Table(new Uint8Array(0))).toBe(0);
  });

  it('the table version agrees with the native one on any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        expect(crc32Table(bytes)).toBe(zlib.crc32(bytes));
      }),
      { numRuns: 300 },
    );
  });
});

describe('segment header', () => {
  it('round-trips and rejects damage', () => {
    const h = encodeSegmentHeader(2 ** 40 + 7);
    expect(decodeSegmentHeader(h)).toEqual({ ok: true, baseId: 2 ** 40 + 7 });
    expect(decodeSegmentHeader(h.subarray(0, 10))).toMatchObject({ ok: false, reason: 'short' });
    const bad = Buffer.from(h);
    bad[9] = (bad[9] as number) ^ 1;
    expect(decodeSegmentHeader(bad)).toMatchObject({ ok: false, reason: 'checksum' });
  });
});

describe('recovery on open', () => {
  it('cuts a torn tail (bytes never acknowledged) back to the last whole record', async () => {
    const dir = await logWith(20);
    const [seg] = await segments(dir);
    const path = join(dir, seg as string);
    const before = await readFile(path);
    // What a crash in the middle of a write leaves: part of a frame past the last fsync.
    const torn = before.subarray(SEGMENT_HEADER_BYTES, SEGMENT_HEADER_BYTES + 30);
    await writeFile(path, Buffer.concat([before, torn]));
    const log = await open(dir);
    const s = log.stats();
    expect(s.truncated_bytes).toBe(30);
    expect(s.lost_acknowledged_records).toBe(0);
    expect(s.corrupt_records).toBe(0);
    expect(log.recoveryNotes()).toEqual([{ kind: 'torn_tail', segment: path, bytes: 30 }]);
    expect(log.nextId).toBe(21);
    expect((await readFile(path)).length).toBe(before.length);
    const recs = await readAll(log);
    expect(ids(recs)).toEqual(range(1, 20));
    expect(recs.every((r) => isUplinkFor(r.id, r.value))).toBe(true);
    expect(await log.append(uplinkFor(21))).toBe(21);
  });

  it('tells acknowledged records cut off the last segment apart from a torn tail (the SYNCED mark)', async () => {
    const dir = await logWith(20);
    const [seg] = await segments(dir);
    const path = join(dir, seg as string);
    const before = await readFile(path);
    const offs = frameOffsets(before);
    // Records 19 and 20 were fsync'ed and acknowledged; then the file lost its end (damage).
    await truncate(path, (offs[18] as number) + 7);
    const log = await open(dir);
    const s = log.stats();
    expect(s.truncated_bytes).toBe(0);
    expect(s.lost_acknowledged_records).toBe(2);
    expect(s.lost_acknowledged_bytes).toBe(before.length - (offs[18] as number));
    expect(log.recoveryNotes()).toEqual([
      { kind: 'lost_acknowledged', segment: path, records: 2, bytes: before.length - (offs[18] as number), synced_last_id: 20, found_last_id: 18 },
    ]);
    expect(ids(await readAll(log))).toEqual(range(1, 18));
    // Their ids were acknowledged upstream: never handed out again.
    expect(log.nextId).toBe(21);
    expect(await log.append(uplinkFor(21))).toBe(21);
  });

  it('without a SYNCED mark (a log written before it existed) every cut byte counts as torn tail', async () => {
    const dir = await logWith(20);
    await rm(join(dir, 'SYNCED'));
    const [seg] = await segments(dir);
    const path = join(dir, seg as string);
    const before = await readFile(path);
    const offs = frameOffsets(before);
    await truncate(path, before.length - 7);
    const log = await open(dir);
    expect(log.stats().truncated_bytes).toBe(before.length - 7 - (offs[19] as number));
    expect(log.stats().lost_acknowledged_records).toBe(0);
    expect(log.nextId).toBe(20);
  });

  it('cuts zeros and garbage past the last record (a file extended but not written)', async () => {
    const dir = await logWith(10);
    const path = join(dir, (await segments(dir))[0] as string);
    const healthy = await readFile(path);
    await writeFile(path, Buffer.concat([healthy, Buffer.alloc(4096), Buffer.from('\xfeLWR garbage')]));
    const log = await open(dir);
    expect(log.stats().truncated_bytes).toBeGreaterThan(4096);
    expect(ids(await readAll(log))).toEqual(range(1, 10));
    expect((await readFile(path)).equals(healthy)).toBe(true);
  });

  it('skips and counts a damaged record in the middle of the last segment, at open', async () => {
    const dir = await logWith(20, 1 << 20, ['a', 'b']);
    const path = join(dir, (await segments(dir))[0] as string);
    const offs = frameOffsets(await readFile(path));
    await flip(path, (offs[4] as number) + FRAME_HEADER_BYTES + 30); // payload of record 5
    const log = await open(dir);
    expect(log.stats().corrupt_records).toBe(1);
    expect(log.stats().truncated_bytes).toBe(0);
    const a = await readAll(log, 'a');
    expect(ids(a)).toEqual([...range(1, 4), ...range(6, 20)]);
    expect(a.every((r) => isUplinkFor(r.id, r.value))).toBe(true);
    await readAll(log, 'b');
    expect(log.stats().corrupt_records).toBe(1); // counted once, however many sinks pass it
    expect(log.nextId).toBe(21);
  });

  it('resynchronises after a damaged length or marker', async () => {
    const dir = await logWith(20);
    const path = join(dir, (await segments(dir))[0] as string);
    const b = await readFile(path);
    const offs = frameOffsets(b);
    b.writeUInt32LE(100_000, (offs[3] as number) + 8); // record 4: length beyond the file
    b.writeUInt32LE(5, (offs[9] as number) + 8); // record 10: length too short
    b[(offs[14] as number) + 1] = 0; // record 15: marker
    await writeFile(path, b);
    const log = await open(dir);
    expect(ids(await readAll(log))).toEqual([1, 2, 3, ...range(5, 9), ...range(11, 14), ...range(16, 20)]);
    expect(log.stats().corrupt_records).toBe(3);
  });

  it('counts damage in sealed segments when readers pass it, also at a segment end', async () => {
    const dir = await logWith(60, 2048);
    const segs = await segments(dir);
    expect(segs.length).toBeGreaterThan(3);
    const second = join(dir, segs[1] as string);
    const offs = frameOffsets(await readFile(second));
    const secondBase = Number((segs[1] as string).slice(0, 20));
    await flip(second, (offs[1] as number) + 25); // its 2nd record
    await flip(second, (offs[offs.length - 1] as number) + 25); // its last record
    const log = await open(dir, 2048);
    expect(log.stats().corrupt_records).toBe(0); // sealed segments are verified by readers
    const recs = await readAll(log);
    const lost = [secondBase + 1, secondBase + offs.length - 1];
    expect(ids(recs)).toEqual(range(1, 60).filter((id) => !lost.includes(id)));
    expect(log.stats().corrupt_records).toBe(2);
  });

  it('repairs a damaged header of the last segment and reads sealed ones whose header is damaged', async () => {
    const dir = await logWith(40, 2048);
    const segs = await segments(dir);
    await flip(join(dir, segs[0] as string), 3);
    await flip(join(dir, segs[segs.length - 1] as string), 10);
    const log = await open(dir, 2048);
    expect(log.stats().header_repairs).toBe(1);
    expect(ids(await readAll(log))).toEqual(range(1, 40));
    expect(log.stats().corrupt_records).toBe(0);
  });

  it('recovers a last segment whose header itself was torn', async () => {
    const dir = await logWith(40, 2048);
    const segs = await segments(dir);
    const last = segs[segs.length - 1] as string;
    const base = Number(last.slice(0, 20));
    await truncate(join(dir, last), 5);
    const log = await open(dir, 2048);
    // The records of that segment had been acknowledged: counted as lost, their ids not reused.
    expect(log.stats().lost_acknowledged_records).toBe(40 - base + 1);
    expect(log.nextId).toBe(41);
    expect(ids(await readAll(log))).toEqual(range(1, base - 1));
    expect(await log.append(uplinkFor(41))).toBe(41);
  });

  it('counts the records of a sealed segment that disappeared, and goes on', async () => {
    const dir = await logWith(60, 2048);
    const segs = await segments(dir);
    const lostFrom = Number((segs[1] as string).slice(0, 20));
    const lostTo = Number((segs[2] as string).slice(0, 20)) - 1;
    await rm(join(dir, segs[1] as string));
    const log = await open(dir, 2048);
    expect(ids(await readAll(log))).toEqual(range(1, 60).filter((id) => id < lostFrom || id > lostTo));
    expect(log.stats().corrupt_records).toBe(lostTo - lostFrom + 1);
  });

  it('resets an unreadable cursor to 0 (re-delivery, never loss) and counts it', async () => {
    const dir = await logWith(10);
    await writeFile(join(dir, 'sink-a.cursor'), '{"format":1,"sink":"a","committ');
    const log = await open(dir);
    expect(log.stats().cursor_resets).toBe(1);
    expect(ids(await readAll(log))).toEqual(range(1, 10));
  });

  it('ids beyond 32 bits, up to 2^53 - 1, survive the u64 encoding and restarts', async () => {
    const t = await tempDir('bigids');
    cleanups.push(t.remove);
    const start = Number.MAX_SAFE_INTEGER - 20;
    await writeFile(join(t.dir, 'sink-a.cursor'), JSON.stringify({ format: 1, sink: 'a', committed: start - 1 }));
    const log1 = await DurableLog.open<TestUplink>({ dir: t.dir, segment_bytes: 1024, fsync_interval_ms: 1 });
    expect(log1.nextId).toBe(start);
    const got = await Promise.all(range(start, start + 9).map((id) => log1.append(uplinkFor(id))));
    expect(got).toEqual(range(start, start + 9));
    await log1.close();
    expect((await segments(t.dir))[0]).toBe(`${start}.seg`.padStart(24, '0'));
    const log2 = await open(t.dir, 1024);
    expect(log2.nextId).toBe(start + 10);
    const recs = await readAll(log2);
    expect(ids(recs)).toEqual(range(start, start + 9));
    expect(recs.every((r) => isUplinkFor(r.id, r.value))).toBe(true);
  });

  it('refuses a segment of a newer format version instead of dropping it', async () => {
    const dir = await logWith(5);
    const path = join(dir, (await segments(dir))[0] as string);
    const b = await readFile(path);
    b.writeUInt16LE(2, 4);
    b.writeUInt32LE(crc32(b.subarray(0, 16)), 16);
    await writeFile(path, b);
    await expect(DurableLog.open({ dir })).rejects.toMatchObject({ code: 'UNSUPPORTED_FORMAT' });
    // The failed open released the folder.
    b.writeUInt16LE(1, 4);
    b.writeUInt32LE(crc32(b.subarray(0, 16)), 16);
    await writeFile(path, b);
    const log = await open(dir);
    expect(ids(await readAll(log))).toEqual(range(1, 5));
  });
});
