/**
 * The `kill -9` rig shared by test/edge-ns-crash.test.ts and bench/edge-ns/city-crash.ts: a
 * gateway child process (the `gateway` verb of bin/lorawan-edge) with a `semtech_udp` source,
 * an InfluxDB sink and a `hold` sink that can never deliver, so the durable log keeps every
 * record for an audit after the crashes (InfluxDB would hide a duplicate by overwriting it).
 * It lives in test/ because support/ may not import gateway/ (DESIGN.md).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../codecs/testing/paths.ts';
import { DurableLog } from '../gateway/buffer/index.ts';
import type { PipelineRecord } from '../gateway/pipeline/record.ts';
import { RECORD_WIRE } from '../gateway/pipeline/record-wire.ts';
import { renderRegistry } from '../gateway/registry/devices-file.ts';
import { writeDeviceKeysFile, type DeviceKeys } from '../gateway/registry/keys-file.ts';
import type { Simulation } from '../simulator/index.ts';

const BIN = join(REPO_ROOT, 'bin', 'lorawan-edge');

export interface CrashGatewayPorts {
  udpPort: number;
  httpPort: number;
  /** A port nothing listens on: the `hold` sink's InfluxDB. */
  deadPort: number;
}

/**
 * Keys file, registry and gateway.yaml in `dir` for the simulation's devices; returns the
 * config's path. The InfluxDB database must exist.
 */
export function writeCrashGatewayFiles(dir: string, probe: Simulation, ports: CrashGatewayPorts, influx: { url: string; database: string }, source: Record<string, unknown> = {}): string {
  const keys = probe.keys().devices.map((d): DeviceKeys => (d.activation === 'OTAA' ? { devEui: d.devEui, activation: 'OTAA', joinEui: d.joinEui, appKey: d.appKey } : { devEui: d.devEui, activation: 'ABP', devAddr: d.devAddr, nwkSKey: d.nwkSKey, appSKey: d.appSKey }));
  writeDeviceKeysFile(join(dir, 'keys.json'), keys);
  writeFileSync(join(dir, 'devices.yaml'), renderRegistry(probe.devices.map((d) => ({ dev_eui: d.devEui, name: d.name, model: d.catalogueId, tags: d.tags, variables: d.variables }))));
  const config = join(dir, 'gateway.yaml');
  writeFileSync(
    config,
    JSON.stringify({
      name: 'crash',
      data_dir: './data',
      http: { listen: `127.0.0.1:${ports.httpPort}` },
      log: { level: 'warn' },
      registry: { devices_file: 'devices.yaml' },
      buffer: { fsync_interval_ms: 20 },
      sources: [{ type: 'semtech_udp', name: 'udp', listen: `127.0.0.1:${ports.udpPort}`, keys_file: 'keys.json', ...source }],
      sinks: [
        { type: 'influxdb', name: 'influx', url: influx.url, database: influx.database, flush_interval_ms: 100 },
        // Never reachable: keeps every record in the log for the audit (readHeldRecords).
        { type: 'influxdb', name: 'hold', url: `http://127.0.0.1:${ports.deadPort}`, database: 'x', retry_max_backoff_ms: 1000 },
      ],
    }),
  );
  return config;
}

/** Starts the gateway child and resolves once /healthz says its UDP source is running (60 s bound). */
export async function startCrashGateway(config: string, httpPort: number, procs: ChildProcess[]): Promise<ChildProcess> {
  const proc = spawn(process.execPath, [BIN, 'gateway', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  procs.push(proc);
  const out: string[] = [];
  proc.stdout?.on('data', (b: Buffer) => out.push(b.toString()));
  proc.stderr?.on('data', (b: Buffer) => out.push(b.toString()));
  // CRASH_DEBUG_LOG=<file>: each gateway life's output is appended there when it exits.
  const debugLog = process.env['CRASH_DEBUG_LOG'];
  if (debugLog) proc.on('exit', () => appendFileSync(debugLog, `--- life ${procs.length}\n${out.join('')}`));
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
}

/** Resolves when the process has exited (at once if it already has). */
export function exited(proc: ChildProcess): Promise<void> {
  return new Promise<void>((r) => (proc.exitCode !== null || proc.signalCode !== null ? r() : proc.once('exit', () => r())));
}

/** Every record in the gateway's durable log, as the never-drained `hold` sink sees it. The gateway must be stopped. */
export async function readHeldRecords(dir: string): Promise<PipelineRecord[]> {
  const log = new DurableLog<PipelineRecord>({ dir: join(dir, 'data', 'buffer'), sinks: ['influx', 'hold'] }, { wire: RECORD_WIRE });
  await log.open();
  const reader = log.reader('hold');
  const records: PipelineRecord[] = [];
  for (let b = await reader.read(5000); b.length > 0; b = await reader.read(5000)) records.push(...b.map((x) => x.value));
  await reader.close();
  await log.close();
  return records;
}

/** How many times each `devEui/fCnt` of the stored data uplinks occurs. */
export function uplinkCounts(records: PipelineRecord[]): Map<string, number> {
  const seen = new Map<string, number>();
  for (const r of records) if (r.kind === 'up') seen.set(`${r.devEui}/${r.fCnt}`, (seen.get(`${r.devEui}/${r.fCnt}`) ?? 0) + 1);
  return seen;
}

/** One outage: the kill at `from`, the restarted gateway's UDP source running at `to` (ms). */
export interface Outage {
  from: number;
  to: number;
  /** The ledger length that triggered the kill. */
  at: number;
}

/**
 * Kills the gateway with SIGKILL when the ledger reaches each of `killAt` (ascending uplink
 * counts) and restarts it; one kill at a time: the next waits until the previous restart is done.
 */
export class KillSchedule {
  readonly downs: Outage[] = [];
  /** The current restart (resolved when none is running). */
  restarting: Promise<void> = Promise.resolve();
  private down = false;

  constructor(
    private gw: ChildProcess,
    private readonly killAt: readonly number[],
    private readonly restart: () => Promise<ChildProcess>,
    private readonly onRestarted: () => void = () => {},
  ) {}

  /** The running gateway (the latest restart). */
  get gateway(): ChildProcess {
    return this.gw;
  }

  /** Call from the simulator's onUplink with the ledger's length. */
  uplinkSent(ledgerLength: number): void {
    if (this.down || this.downs.length >= this.killAt.length || ledgerLength < (this.killAt[this.downs.length] as number)) return;
    this.down = true;
    const from = Date.now();
    this.gw.kill('SIGKILL');
    this.restarting = (async () => {
      await exited(this.gw);
      this.gw = await this.restart();
      this.onRestarted();
      this.downs.push({ from, to: Date.now(), at: ledgerLength });
      this.down = false;
    })();
  }
}
