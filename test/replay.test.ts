/**
 * Replay: uplinks stored while their device was unknown (or its codec broken) are decoded again
 * after the registry is fixed, and reach the sink with their original timestamps.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { nativeCodec } from '../codecs/registry.ts';
import { DurableLog } from '../gateway/buffer/index.ts';
import { checkConfig } from '../gateway/config.ts';
import { createGateway } from '../gateway/gateway.ts';
import type { PipelineRecord } from '../gateway/pipeline/record.ts';
import { replay } from '../gateway/replay.ts';
import { freePort } from '../support/free-port.ts';

const dir = mkdtempSync(join(tmpdir(), 'replay-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('lorawan-edge replay', () => {
  it('decodes stored raw uplinks again with the fixed registry and delivers them with their own timestamps', async () => {
    const deadPort = await freePort(); // nothing listens: the source just keeps reconnecting
    const config = checkConfig(
      {
        data_dir: './data',
        http: { listen: false },
        log: { level: 'silent' },
        registry: { devices_file: 'devices.yaml' },
        sources: [{ type: 'chirpstack_mqtt', url: `mqtt://127.0.0.1:${deadPort}` }],
        sinks: [{ type: 'file', name: 'file' }],
      },
      join(dir, 'gateway.yaml'),
      {},
    );
    const codec = nativeCodec('dingtek/df703');
    const T0 = Date.UTC(2026, 5, 1);
    // What the gateway stored while the device was not in the registry: raw frame, no readings.
    const log = new DurableLog<PipelineRecord>(config.buffer);
    await log.open();
    const records: PipelineRecord[] = [];
    for (let i = 0; i < 5; i++) {
      const enc = codec?.encodeUplink({ readings: [{ values: { distance_mm: 300 + i * 100, temperature_c: 5 } }] });
      records.push({
        v: 1,
        kind: 'up',
        src: 'cs',
        id: `r${i}`,
        time: T0 + i * 3_600_000,
        rxAt: T0,
        devEui: '70b3d5e75e000010',
        devAddr: '26000010',
        fCnt: i,
        fPort: 3,
        dr: 5,
        adr: true,
        confirmed: false,
        payload: Uint8Array.from(enc?.bytes ?? []),
        gateways: [],
        device: { name: 'unknown', tags: {} },
      });
    }
    await log.appendBatch(records);
    await log.close();

    writeFileSync(join(dir, 'devices.yaml'), 'devices:\n  - {dev_eui: "70b3d5e75e000010", name: bin-late, model: dingtek/df703, tags: {commune: north}, variables: {container_depth_mm: 1000}}\n');
    const dry = await replay(config, { failedOnly: true }, { dryRun: true });
    expect(dry).toMatchObject({ scanned: 5, matched: 5, redecoded: 5, stillFailing: 0, appended: 0 });
    const report = await replay(config, { failedOnly: true });
    expect(report.appended).toBe(5);

    const gw = createGateway(config, { logStream: { write: () => true } as unknown as NodeJS.WritableStream });
    await gw.start();
    const pointsDir = join(config.data_dir, 'points');
    const until = Date.now() + 20_000;
    let lines: string[] = [];
    while (Date.now() < until) {
      try {
        lines = readdirSync(pointsDir).flatMap((f) => readFileSync(join(pointsDir, f), 'utf8').trim().split('\n'));
      } catch {
        lines = [];
      }
      if (lines.filter((l) => l.startsWith('bin_fill,')).length >= 5) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await gw.stop();
    const bins = lines.filter((l) => l.startsWith('bin_fill,'));
    expect(bins).toHaveLength(5);
    for (let i = 0; i < 5; i++) {
      const line = bins.find((l) => l.endsWith(` ${T0 + i * 3_600_000}`));
      expect(line).toContain('device=bin-late');
      expect(line).toContain('commune=north');
      expect(line).toContain(`distance_mm=${300 + i * 100}`);
      expect(line).toContain(`fill_pct=${Math.round((1 - (300 + i * 100) / 1000) * 1000) / 10}`);
    }
  }, 60_000);
});
