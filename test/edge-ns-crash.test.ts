/**
 * `kill -9` of the gateway (a real child process running the `gateway` verb) three times while
 * the simulator sends over UDP: after each restart no device joins again, no frame is stored
 * twice, and every heard uplink is stored — except those a UDP receiver cannot keep: frames
 * that arrived while the process was dead, or in its last dedup window / uncommitted batch when
 * it was killed (a window of ~dedup + commit time before the kill, bounded below).
 *
 * The durable log is read back at the end through a second sink that is never drained, so what
 * the network server stored is seen record by record (InfluxDB would hide a duplicate by
 * overwriting it).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../codecs/testing/paths.ts';
import { DurableLog } from '../gateway/buffer/index.ts';
import type { PipelineRecord } from '../gateway/pipeline/record.ts';
import { RECORD_WIRE } from '../gateway/pipeline/record-wire.ts';
import { renderRegistry } from '../gateway/registry/devices-file.ts';
import { writeDeviceKeysFile, type DeviceKeys } from '../gateway/registry/keys-file.ts';
import { createSimulation, type LedgerEntry } from '../simulator/index.ts';
import { demoFleet } from '../simulator/testing/fleets.ts';
import { freePorts } from '../support/free-port.ts';
import { startInfluxd, type InfluxdServer } from '../support/influxd.ts';

const BIN = join(REPO_ROOT, 'bin', 'lorawan-edge');
const dir = mkdtempSync(join(tmpdir(), 'edge-ns-crash-'));
let influx: InfluxdServer;
const procs: ChildProcess[] = [];

beforeAll(async () => {
  influx = await startInfluxd({ database: 'crash' });
}, 120_000);
afterAll(async () => {
  for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
  await influx?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

/** How long before a kill a frame may still have been in the dedup window or an uncommitted batch. */
const AT_RISK_MS = 1_000;

describe('edge network server: kill -9 three times during a run', () => {
  it('no re-join, nothing stored twice, nothing lost outside the kill windows', async () => {
    const { fleet, lookup } = await demoFleet();
    const probe = await createSimulation({ fleet, lookup, seed: 21 });
    const keys = probe.keys().devices.map((d): DeviceKeys => (d.activation === 'OTAA' ? { devEui: d.devEui, activation: 'OTAA', joinEui: d.joinEui, appKey: d.appKey } : { devEui: d.devEui, activation: 'ABP', devAddr: d.devAddr, nwkSKey: d.nwkSKey, appSKey: d.appSKey }));
    writeDeviceKeysFile(join(dir, 'keys.json'), keys);
    writeFileSync(join(dir, 'devices.yaml'), renderRegistry(probe.devices.map((d) => ({ dev_eui: d.devEui, name: d.name, model: d.catalogueId, tags: d.tags, variables: d.variables }))));
    const [udpPort, httpPort, deadPort] = (await freePorts(3)) as [number, number, number];
    writeFileSync(
      join(dir, 'gateway.yaml'),
      JSON.stringify({
        name: 'crash',
        data_dir: './data',
        http: { listen: `127.0.0.1:${httpPort}` },
        log: { level: 'warn' },
        registry: { devices_file: 'devices.yaml' },
        buffer: { fsync_interval_ms: 20 },
        sources: [{ type: 'semtech_udp', name: 'udp', listen: `127.0.0.1:${udpPort}`, keys_file: 'keys.json' }],
        sinks: [
          { type: 'influxdb', name: 'influx', url: influx.url, database: 'crash', flush_interval_ms: 100 },
          // Never reachable: keeps every record in the log for the audit below.
          { type: 'influxdb', name: 'hold', url: `http://127.0.0.1:${deadPort}`, database: 'x', retry_max_backoff_ms: 1000 },
        ],
      }),
    );
    const start = async (): Promise<ChildProcess> => {
      const proc = spawn(process.execPath, [BIN, 'gateway', '--config', join(dir, 'gateway.yaml')], { stdio: ['ignore', 'pipe', 'pipe'] });
      procs.push(proc);
      const out: string[] = [];
      proc.stdout?.on('data', (b: Buffer) => out.push(b.toString()));
      proc.stderr?.on('data', (b: Buffer) => out.push(b.toString()));
      const until = Date.now() + 60_000;
      for (;;) {
        if (proc.exitCode !== null) throw new Error(`gateway exited ${proc.exitCode}: ${out.join('')}`);
        try {
          const body = (await (await fetch(`http://127.0.0.1:${httpPort}/healthz`)).json()) as { components: Record<string, { state: string }> };
          if (body.components['source:udp']?.state === 'running') return proc;
        } catch {
          // not up yet
        }
        if (Date.now() > until) throw new Error(`gateway did not come up: ${out.join('')}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };

    let gw = await start();
    const ledger: LedgerEntry[] = [];
    const sentAt = new Map<number, number>();
    const downs: { from: number; to: number }[] = [];
    const killAt = [120, 330, 540];
    let down = false;
    let restarting: Promise<void> = Promise.resolve();
    const sim = await createSimulation({
      fleet,
      lookup,
      seed: 21,
      speed: 'max',
      rate: 40,
      output: { type: 'udp', host: '127.0.0.1', port: udpPort, ackTimeoutMs: 1000, keepaliveMs: 200 },
      joinTimeoutMs: 5000,
      onUplink: (e) => {
        ledger.push(e);
        sentAt.set(e.seq, Date.now());
        // The next kill once its uplink count is reached and the previous restart is done.
        if (down || downs.length >= killAt.length || ledger.length < (killAt[downs.length] as number)) return;
        down = true;
        const from = Date.now();
        gw.kill('SIGKILL');
        restarting = (async () => {
          await new Promise<void>((r) => (gw.exitCode !== null ? r() : gw.once('exit', () => r())));
          gw = await start();
          downs.push({ from, to: Date.now() });
          down = false;
        })();
      },
    });
    await sim.run({ count: 900, realTimeMs: 180_000 });
    await restarting;
    const stats = await sim.stop();
    // Let the last batch settle, then stop for good (SIGKILL too: the audit reads the log as a crash leaves it).
    await new Promise((r) => setTimeout(r, 1000));
    gw.kill('SIGKILL');
    await new Promise<void>((r) => (gw.exitCode !== null ? r() : gw.once('exit', () => r())));

    expect(downs).toHaveLength(3);
    const otaa = probe.devices.filter((d) => d.keys.activation === 'OTAA').length;
    // No re-join: the simulator's devices joined once each, at the start.
    expect(stats.joins.requests).toBe(otaa);
    expect(stats.joins.accepted).toBe(otaa);

    const log = new DurableLog<PipelineRecord>({ dir: join(dir, 'data', 'buffer'), sinks: ['influx', 'hold'] }, { wire: RECORD_WIRE });
    await log.open();
    const reader = log.reader('hold');
    const records: PipelineRecord[] = [];
    for (let b = await reader.read(5000); b.length > 0; b = await reader.read(5000)) records.push(...b.map((x) => x.value));
    await reader.close();
    await log.close();

    const ups = records.filter((r) => r.kind === 'up');
    const seen = new Map<string, number>();
    for (const r of ups) seen.set(`${r.devEui}/${r.fCnt}`, (seen.get(`${r.devEui}/${r.fCnt}`) ?? 0) + 1);
    const twice = [...seen].filter(([, n]) => n > 1);
    expect(twice).toEqual([]);
    expect(records.filter((r) => r.kind === 'join')).toHaveLength(otaa);

    const atRisk = (e: LedgerEntry): boolean => {
      const t = sentAt.get(e.seq) ?? 0;
      return downs.some((d) => t >= d.from - AT_RISK_MS && t <= d.to + 200);
    };
    const heard = ledger.filter((e) => e.gateways.length > 0);
    const missing = heard.filter((e) => !seen.has(`${e.devEui}/${e.fCnt}`));
    const missingOutside = missing.filter((e) => !atRisk(e));
    expect(missingOutside.map((e) => `${e.devEui}/${e.fCnt}`)).toEqual([]);
    // The run did cover the kills: after every restart, frames got through again.
    for (const d of downs) expect(heard.filter((e) => (sentAt.get(e.seq) ?? 0) > d.to + 200 && seen.has(`${e.devEui}/${e.fCnt}`)).length).toBeGreaterThan(10);
    console.log(`kill -9 run: ${heard.length} heard, ${heard.length - missing.length} stored, ${missing.length} lost while the gateway was down or in its last ${AT_RISK_MS} ms; restarts took ${downs.map((d) => d.to - d.from).join(', ')} ms`);
  }, 300_000);
});
