import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RejectsFile } from './rejects.ts';

const dir = mkdtempSync(join(tmpdir(), 'rejects-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const lines = (path: string) =>
  readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .map((l) => ({ raw: l, entry: JSON.parse(l) as { reason: string; detail: string; topic?: string; payloadBase64?: string; payloadBytes?: number; payloadTruncated?: boolean } }));

describe('RejectsFile', () => {
  it('keeps a small payload whole, with its size', async () => {
    const f = new RejectsFile(join(dir, 'small.jsonl'));
    f.write({ source: 'cs', reason: 'malformed_json', detail: 'x', topic: 't', payload: Buffer.from('{"not": json') });
    await f.close();
    const [l] = lines(f.path);
    expect(Buffer.from(l?.entry.payloadBase64 ?? '', 'base64').toString()).toBe('{"not": json');
    expect(l?.entry.payloadBytes).toBe(12);
    expect(l?.entry.payloadTruncated).toBeUndefined();
  });

  it('bounds one entry: a huge payload is kept as a prefix plus its size, and a huge topic or detail is cut', async () => {
    const f = new RejectsFile(join(dir, 'big.jsonl'), 64 * 1024 * 1024, 16 * 1024);
    const payload = Buffer.alloc(40 * 1024 * 1024, 0x41);
    f.write({ source: 'cs', reason: 'oversized', detail: 'd'.repeat(100_000), topic: 't'.repeat(100_000), payload });
    await f.close();
    const [l] = lines(f.path);
    expect(Buffer.byteLength(l?.raw ?? '')).toBeLessThanOrEqual(16 * 1024);
    expect(l?.entry.payloadBytes).toBe(40 * 1024 * 1024);
    expect(l?.entry.payloadTruncated).toBe(true);
    const prefix = Buffer.from(l?.entry.payloadBase64 ?? '', 'base64');
    expect(prefix.length).toBeGreaterThan(1000);
    expect(prefix.every((b) => b === 0x41)).toBe(true);
    // One 40 MB message no longer takes most of the file's budget.
    expect(f.written).toBe(1);
  });

  it('counts what does not fit the file as dropped', async () => {
    const f = new RejectsFile(join(dir, 'full.jsonl'), 1000);
    for (let i = 0; i < 20; i++) f.write({ source: 'cs', reason: 'bad_topic', detail: 'x'.repeat(50) });
    await f.close();
    expect(f.written).toBeGreaterThan(0);
    expect(f.dropped).toBe(20 - f.written);
    expect(readFileSync(f.path).length).toBeLessThanOrEqual(1000);
  });
});
