import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LineProtocolFiles } from './file-sink.ts';

const dir = mkdtempSync(join(tmpdir(), 'file-sink-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('file sink', () => {
  it('writes line protocol with ms timestamps, rotates by size and keeps the newest files', () => {
    const out = join(dir, 'points');
    const files = new LineProtocolFiles({ dir: out, rotate_bytes: 4096, keep_files: 3 });
    for (let i = 0; i < 200; i++) {
      const r = files.write([{ measurement: 'bin_fill', tags: { dev_eui: '0102030405060708', device: 'bin 1' }, fields: { fill_pct: i / 2, alarm_full: i > 150 }, timeMs: 1_760_000_000_000 + i * 1000 }]);
      expect(r).toEqual({ written: 1, rejected: 0 });
    }
    files.close();
    const names = readdirSync(out).sort();
    expect(names.length).toBe(3);
    expect(files.rotations).toBeGreaterThan(3);
    const last = readFileSync(join(out, names[2] as string), 'utf8').trim().split('\n');
    expect(last[last.length - 1]).toBe('bin_fill,dev_eui=0102030405060708,device=bin\\ 1 fill_pct=99.5,alarm_full=true 1760000199000');
    for (const n of names) expect(readFileSync(join(out, n)).length).toBeLessThanOrEqual(4096);
  });

  it('counts points it cannot write instead of failing the batch', () => {
    const files = new LineProtocolFiles({ dir: join(dir, 'p2'), rotate_bytes: 1 << 20, keep_files: 2 });
    const r = files.write([
      { measurement: 'x', fields: {}, timeMs: 1 },
      { measurement: 'x', fields: { v: 1 }, timeMs: 1 },
    ]);
    expect(r).toEqual({ written: 1, rejected: 1 });
    files.close();
  });
});
