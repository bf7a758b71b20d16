/**
 * A sink that is no longer in the config must not keep its cursor in the durable log: it would
 * hold every segment from its position on, fill the log and, with when_full: block, stop
 * ingestion for good.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DurableLog } from '../gateway/buffer/index.ts';
import { checkConfig } from '../gateway/config.ts';
import { createGateway } from '../gateway/gateway.ts';
import { freePort } from '../support/free-port.ts';

const dir = mkdtempSync(join(tmpdir(), 'gw-cursors-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('gateway start: cursors of sinks that are not configured', () => {
  it('are removed with a warning naming the sink; configured sinks keep theirs', async () => {
    const deadPort = await freePort(); // nothing listens: the source just keeps reconnecting
    const config = (sinks: string[]) =>
      checkConfig(
        {
          data_dir: './data',
          http: { listen: false },
          log: { level: 'warn' },
          sources: [{ type: 'chirpstack_mqtt', url: `mqtt://127.0.0.1:${deadPort}` }],
          sinks: sinks.map((name) => ({ type: 'file', name })),
        },
        join(dir, 'gateway.yaml'),
        {},
      );
    // A log with cursors for "kept", "renamed" and a crashed replay's cursor.
    const log = new DurableLog(config(['kept']).buffer);
    await log.open();
    await log.appendBatch([{ a: 1 }, { a: 2 }]);
    for (const sink of ['kept', 'renamed', 'replay-4242']) log.reader(sink);
    await log.close();

    const lines: string[] = [];
    const gw = createGateway(config(['kept']), {
      logStream: { write: (chunk: string | Uint8Array) => (lines.push(String(chunk)), true) } as unknown as NodeJS.WritableStream,
    });
    await gw.start();
    try {
      expect(gw.log.sinks.sort()).toEqual(['kept', 'local']); // local: the pages' store, on by default
      const warnings = lines.map((l) => JSON.parse(l) as { level: number; sink?: string; msg: string }).filter((l) => l.level === 40 && l.msg.includes('not configured'));
      expect(warnings.map((w) => w.sink).sort()).toEqual(['renamed', 'replay-4242']);
    } finally {
      await gw.stop();
    }
  }, 30_000);
});
