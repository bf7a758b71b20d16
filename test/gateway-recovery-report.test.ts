/**
 * What the durable log's recovery found is reported when the gateway starts: an unreadable sink
 * cursor (that sink re-delivers from the oldest retained record; the file is kept aside) and
 * acknowledged records cut off the last segment (damage, not a crash) each get a log line and a
 * metric, next to the rejects file's dropped count.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DurableLog } from '../gateway/buffer/index.ts';
import { checkConfig } from '../gateway/config.ts';
import { createGateway } from '../gateway/gateway.ts';
import type { PipelineRecord } from '../gateway/pipeline/record.ts';
import { RECORD_WIRE } from '../gateway/pipeline/record-wire.ts';
import { freePort } from '../support/free-port.ts';

const dir = mkdtempSync(join(tmpdir(), 'gw-recovery-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('gateway start after a damaged buffer', () => {
  it('logs and counts an unreadable cursor and lost acknowledged records', async () => {
    const port = await freePort();
    const out = join(dir, 'points');
    mkdirSync(out);
    const config = checkConfig(
      {
        data_dir: './data',
        http: { listen: '127.0.0.1:0' },
        log: { level: 'info' },
        sources: [{ type: 'chirpstack_mqtt', url: `mqtt://127.0.0.1:${port}` }],
        sinks: [{ type: 'file', name: 'file', dir: out }],
      },
      join(dir, 'gateway.yaml'),
      {},
    );
    const log = new DurableLog<PipelineRecord>(config.buffer, { wire: RECORD_WIRE });
    await log.open();
    const joins: PipelineRecord[] = Array.from({ length: 10 }, (_, i) => ({ v: 1, kind: 'join', src: 'cs', id: `j${i}`, time: Date.UTC(2026, 0, 1) + i, rxAt: 0, devEui: '70b3d5e75e000301', devAddr: '26000301', device: { name: 'd', tags: {} } }));
    await log.appendBatch(joins);
    await log.close();
    // Damage: the cursor file is garbage, and the segment lost its last bytes after they were fsynced.
    writeFileSync(join(config.buffer.dir, 'sink-file.cursor'), '\0\0\0garbage');
    const seg = readdirSync(config.buffer.dir).find((n) => n.endsWith('.seg')) as string;
    truncateSync(join(config.buffer.dir, seg), statSync(join(config.buffer.dir, seg)).size - 10);

    const lines: string[] = [];
    const gw = createGateway(config, { logStream: { write: (c: string) => lines.push(String(c)) > 0 } as unknown as NodeJS.WritableStream });
    await gw.start();
    try {
      const logged = lines.map((l) => JSON.parse(l) as { level: number; msg: string });
      const reset = logged.find((l) => l.msg.includes('the cursor of sink "file" could not be read'));
      expect(reset?.msg).toMatch(/re-delivers from the oldest retained record .*nothing is lost/);
      const lost = logged.find((l) => l.msg.includes('acknowledged record(s)'));
      expect(lost?.level).toBe(50); // error
      expect(lost?.msg).toMatch(/^durable log: 1 acknowledged record\(s\) \(ids 10\.\.10\) are missing/);
      expect(readdirSync(config.buffer.dir)).toContain('sink-file.cursor.corrupt');
      const res = await fetch(`http://127.0.0.1:${gw.httpAddress()?.port}/metrics`);
      const metrics = await res.text();
      expect(metrics).toMatch(/^lorawan_edge_buffer_cursor_resets 1$/m);
      expect(metrics).toMatch(/^lorawan_edge_buffer_lost_acknowledged_records 1$/m);
      expect(metrics).toMatch(/^lorawan_edge_buffer_torn_tail_bytes 0$/m);
      expect(metrics).toMatch(/^lorawan_edge_rejects_dropped 0$/m);
      expect(metrics).toMatch(/^lorawan_edge_buffer_disk_full 0$/m);
      // The sink re-delivers the 9 records that are left (joins become device_status points).
      const until = Date.now() + 30_000;
      const points = (): number =>
        readdirSync(out)
          .filter((f) => f.endsWith('.lp'))
          .reduce((n, f) => n + readFileSync(join(out, f), 'utf8').split('\n').filter((l) => l.startsWith('device_status')).length, 0);
      while (points() < 9 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
      expect(points()).toBe(9);
    } finally {
      await gw.stop();
    }
  }, 120_000);
});
