/**
 * Process plumbing for the gateway benchmark: the gateway daemon and the publisher as child
 * processes, RSS sampling from /proc, Prometheus scraping, InfluxDB counting. Every wait is
 * bounded in time.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../../codecs/testing/paths.ts';
import { freePort } from '../../support/free-port.ts';
import { quoteIdent, type InfluxdServer } from '../../support/influxd.ts';
import { COUNT_FIELDS, registryYaml, type FleetDevice } from './fleet.ts';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `check` every `everyMs` until it returns a value or `timeoutMs` passes (then throws). */
export async function waitFor<T>(what: string, timeoutMs: number, everyMs: number, check: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

// ---------------------------------------------------------------------------------------------
// RSS

export interface RssSample {
  t: number;
  rssKb: number;
  /** user + system CPU seconds of the process so far */
  cpuS: number;
}

/** Linux USER_HZ: /proc/<pid>/stat counts CPU time in these ticks (100 on every common kernel). */
const CLK_TCK = 100;

/** Reads VmRSS of a process every `everyMs`; `hwmKb()` is the kernel's peak (VmHWM). */
export class RssSampler {
  readonly samples: RssSample[] = [];
  private timer: NodeJS.Timeout;
  private lastHwm = 0;
  constructor(
    private readonly pid: number,
    everyMs = 250,
  ) {
    this.timer = setInterval(() => this.sample(), everyMs);
    this.sample();
  }
  private sample(): void {
    try {
      const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
      const stat = readFileSync(`/proc/${this.pid}/stat`, 'utf8');
      // Fields after the ")" that closes the command name: state is field 3, utime 14, stime 15.
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const cpuS = (Number(f[11]) + Number(f[12])) / CLK_TCK;
      const rss = /VmRSS:\s+(\d+) kB/.exec(status);
      const hwm = /VmHWM:\s+(\d+) kB/.exec(status);
      if (rss) this.samples.push({ t: Date.now(), rssKb: Number(rss[1]), cpuS });
      if (hwm) this.lastHwm = Number(hwm[1]);
    } catch {
      // process gone
    }
  }
  hwmKb(): number {
    return this.lastHwm;
  }
  stop(): void {
    this.sample();
    clearInterval(this.timer);
  }
  /** Peak of the samples and the kernel's high-water mark, MB. */
  peakMb(): number {
    return Math.max(this.lastHwm, ...this.samples.map((s) => s.rssKb)) / 1024;
  }
  /** Median RSS between two times, MB. */
  medianMb(from: number, to: number): number {
    const xs = this.samples
      .filter((s) => s.t >= from && s.t <= to)
      .map((s) => s.rssKb)
      .sort((a, b) => a - b);
    return xs.length ? (xs[Math.floor(xs.length / 2)] as number) / 1024 : NaN;
  }
  /** CPU seconds the process used between two times (nearest samples). */
  cpuBetween(from: number, to: number): number {
    const a = this.samples.find((s) => s.t >= from) ?? this.samples[0];
    const b = [...this.samples].reverse().find((s) => s.t <= to) ?? this.samples[this.samples.length - 1];
    return a && b ? b.cpuS - a.cpuS : NaN;
  }
  maxMb(from: number, to: number): number {
    const xs = this.samples.filter((s) => s.t >= from && s.t <= to).map((s) => s.rssKb);
    return xs.length ? Math.max(...xs) / 1024 : NaN;
  }
}

// ---------------------------------------------------------------------------------------------
// Prometheus

/** name → sum over all label sets */
export type MetricSums = Record<string, number>;

/**
 * GET /metrics, tried a second time when the first attempt fails on the connection: the bench
 * builds its frames synchronously for several seconds on a loaded machine, longer than the
 * server's keep-alive timeout (5 s), and fetch then reuses a socket the server has just closed
 * ("other side closed"), which ended two bench/edge-ns runs.
 */
export async function metricsText(port: number): Promise<string> {
  const get = async (): Promise<string> => (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
  try {
    return await get();
  } catch (err) {
    if (!(err instanceof TypeError)) throw err;
    return get();
  }
}

export async function scrape(port: number): Promise<MetricSums> {
  const text = await metricsText(port);
  const out: MetricSums = {};
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const v = Number(m[3]);
    if (!Number.isFinite(v)) continue;
    out[m[1] as string] = (out[m[1] as string] ?? 0) + v;
    // Sink `local` (the web store) apart too: the sums mix its lag and records into InfluxDB's.
    if (m[2]?.includes('sink="local"')) out[`${m[1] as string}{local}`] = (out[`${m[1] as string}{local}`] ?? 0) + v;
  }
  return out;
}

export interface MetricSample {
  t: number;
  received: number;
  written: number;
  lag: number;
  /** sink `local` (the web store) alone: its lag, and the records it applied (both in `lag`/`written` too) */
  localLag: number;
  localApplied: number;
  sinkErrors: number;
  bufferBytes: number;
  /** V8 heap in use and ArrayBuffer/Buffer memory outside it, bytes (prom-client's process metrics) */
  heapUsed: number;
  external: number;
}

/** Scrapes the gateway's /metrics every `everyMs`. */
export class MetricsPoller {
  readonly samples: MetricSample[] = [];
  private timer: NodeJS.Timeout;
  private busy = false;
  constructor(
    private readonly port: number,
    everyMs = 250,
  ) {
    this.timer = setInterval(() => void this.poll(), everyMs);
  }
  async poll(): Promise<MetricSample | undefined> {
    if (this.busy) return undefined;
    this.busy = true;
    try {
      const m = await scrape(this.port);
      const s: MetricSample = {
        t: Date.now(),
        received: m['lorawan_edge_uplinks_received_total'] ?? 0,
        written: m['lorawan_edge_sink_points_written_total'] ?? 0,
        lag: m['lorawan_edge_sink_lag_records'] ?? 0,
        localLag: m['lorawan_edge_sink_lag_records{local}'] ?? 0,
        localApplied: m['lorawan_edge_sink_points_written_total{local}'] ?? 0,
        sinkErrors: m['lorawan_edge_sink_errors_total'] ?? 0,
        bufferBytes: m['lorawan_edge_buffer_bytes'] ?? 0,
        heapUsed: m['lorawan_edge_nodejs_heap_size_used_bytes'] ?? 0,
        external: m['lorawan_edge_nodejs_external_memory_bytes'] ?? 0,
      };
      this.samples.push(s);
      return s;
    } catch {
      return undefined;
    } finally {
      this.busy = false;
    }
  }
  last(): MetricSample | undefined {
    return this.samples[this.samples.length - 1];
  }
  stop(): void {
    clearInterval(this.timer);
  }
}

/**
 * Rate of a counter between the samples where it first reached `fromFrac` and `toFrac` of
 * `total`: the steady state, leaving out ramp-up and tail.
 */
export function steadyRate<T extends { t: number }>(samples: readonly T[], value: (s: T) => number, total: number, fromFrac = 0.1, toFrac = 0.9): number {
  const a = samples.find((s) => value(s) >= total * fromFrac);
  const b = samples.find((s) => value(s) >= total * toFrac);
  if (!a || !b || b.t <= a.t) return NaN;
  return (value(b) - value(a)) / ((b.t - a.t) / 1000);
}

// ---------------------------------------------------------------------------------------------
// InfluxDB

/** Sum of count(<field present in every point>) over the reading measurements: uplinks stored. */
export async function countReadings(influx: InfluxdServer, db: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const [m, f] of Object.entries(COUNT_FIELDS)) {
    const series = await influx.query(`SELECT count(${quoteIdent(f)}) FROM ${quoteIdent(m)}`, { db });
    const v = series[0]?.values[0]?.[1];
    out[m] = typeof v === 'number' ? v : 0;
  }
  return out;
}

export async function countUplinkPoints(influx: InfluxdServer, db: string): Promise<number> {
  const series = await influx.query('SELECT count("fcnt") FROM "lorawan_uplink"', { db });
  const v = series[0]?.values[0]?.[1];
  return typeof v === 'number' ? v : 0;
}

export const sum = (o: Record<string, number>): number => Object.values(o).reduce((a, b) => a + b, 0);

// ---------------------------------------------------------------------------------------------
// Publisher child

export interface PublishResult {
  start: number;
  done: number;
  acked: number;
  progress: { t: number; sent: number; acked: number }[];
}

export interface PublishOptions {
  url: string;
  appId: string;
  t0: number;
  /** first uplink index (deduplicationId `<appId>-<i>`, time t0 + i): runs on one app must not overlap */
  from?: number;
  count: number;
  rate: number;
  window?: number;
  maxSeconds: number;
  /** stay at most paceWindow uplinks ahead of this gateway's received counter (its /metrics URL) */
  paceMetricsUrl?: string;
  paceWindow?: number;
}

export class Publisher {
  readonly proc: ChildProcess;
  readonly result: Promise<PublishResult>;
  private startT: number | undefined;
  constructor(o: PublishOptions) {
    const args = JSON.stringify({ url: o.url, appId: o.appId, t0: o.t0, from: o.from ?? 0, count: o.count, rate: o.rate, window: o.window ?? 2_000, maxSeconds: o.maxSeconds, paceMetricsUrl: o.paceMetricsUrl, paceWindow: o.paceWindow });
    this.proc = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'bench/gateway/publisher.ts'), args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } });
    const killOnExit = (): void => {
      this.proc.kill('SIGKILL');
    };
    process.on('exit', killOnExit);
    let buf = '';
    let err = '';
    const progress: PublishResult['progress'] = [];
    let done: PublishResult | undefined;
    this.proc.stderr?.on('data', (b: Buffer) => (err = (err + b.toString()).slice(-4_000)));
    this.proc.stdout?.on('data', (b: Buffer) => {
      buf += b.toString();
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      for (const l of lines) {
        const m = JSON.parse(l) as { type: string; t: number; sent: number; acked: number };
        if (m.type === 'start') this.startT = m.t;
        if (m.type === 'progress') progress.push({ t: m.t, sent: m.sent, acked: m.acked });
        if (m.type === 'done') done = { start: this.startT ?? m.t, done: m.t, acked: m.acked, progress };
      }
    });
    this.result = new Promise((resolve, reject) => {
      this.proc.once('exit', (code) => {
        process.off('exit', killOnExit);
        if (done && code === 0) resolve(done);
        else reject(new Error(`publisher exited ${code}: ${err}`));
      });
    });
  }
  /** Date.now() of the first publish, once it happened. */
  started(): number | undefined {
    return this.startT;
  }
}

// ---------------------------------------------------------------------------------------------
// Gateway child

export interface GatewayChild {
  pid: number;
  proc: ChildProcess;
  dir: string;
  httpPort: number;
  output(): string;
  /** warn/error log lines by message (+ err), most frequent first */
  logKinds(): [string, number][];
  /** SIGTERM, wait (bounded) for exit; returns the exit code. */
  stop(timeoutMs?: number): Promise<number | null>;
  dispose(): void;
}

export interface GatewayChildOptions {
  name: string;
  brokerUrl: string;
  appId: string;
  influxUrl: string;
  database: string;
  devices: readonly FleetDevice[];
  /** extra keys merged into the influxdb sink config */
  sink?: Record<string, unknown>;
  /** extra keys merged into buffer */
  buffer?: Record<string, unknown>;
  /** the `web` section (e.g. `{ store: { enabled: false } }` to measure without the local store) */
  web?: Record<string, unknown>;
  /** node flags for the child (e.g. --cpu-prof, which NODE_OPTIONS does not allow) */
  execArgv?: string[];
  /** start again in the folder of an earlier gateway (same config, durable log and cursor) */
  dir?: string;
  env?: Record<string, string>;
}

/**
 * The gateway is measured the way it is deployed: the compiled bundle (`npm run build`) with
 * the node flags of the systemd unit's ExecStart (gateway/deploy/lorawan-edge.service).
 */
export function deployedGateway(): { script: string; nodeFlags: string[]; env: Record<string, string> } {
  const unit = readFileSync(join(REPO_ROOT, 'gateway', 'deploy', 'lorawan-edge.service'), 'utf8');
  const m = /^ExecStart=\S*node((?:\s+--\S+)*)\s+\S*dist\/lorawan-edge\.mjs\s+gateway/m.exec(unit);
  if (!m) throw new Error('gateway/deploy/lorawan-edge.service: ExecStart does not run node … dist/lorawan-edge.mjs gateway');
  // The unit's `Environment=NAME=value` lines (MALLOC_ARENA_MAX: glibc's arenas decide RSS too).
  const env: Record<string, string> = {};
  for (const e of unit.matchAll(/^Environment=([A-Z_][A-Z0-9_]*)=(\S*)$/gm)) env[e[1] as string] = e[2] as string;
  return { script: join(REPO_ROOT, 'dist', 'lorawan-edge.mjs'), nodeFlags: (m[1] ?? '').trim().split(/\s+/).filter(Boolean), env };
}

/** Builds the bundle from the working tree (so the bench never runs a stale one). */
export function buildBundle(): void {
  const r = spawnSync(process.execPath, [join(REPO_ROOT, 'scripts', 'build.mjs')], { cwd: REPO_ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`npm run build failed: ${r.stderr || r.stdout}`);
}

export async function startGateway(o: GatewayChildOptions): Promise<GatewayChild> {
  const dir = o.dir ?? mkdtempSync(join(tmpdir(), `lorawan-edge-bench-gw-${o.name}-`));
  const httpPort = await freePort();
  writeFileSync(join(dir, 'devices.yaml'), registryYaml(o.devices));
  const config = {
    name: o.name,
    data_dir: './data',
    http: { listen: `127.0.0.1:${httpPort}` },
    log: { level: 'warn' },
    registry: { devices_file: 'devices.yaml' },
    buffer: { ...(o.buffer ?? {}) },
    ...(o.web ? { web: o.web } : {}),
    sources: [{ type: 'chirpstack_mqtt', name: 'chirpstack', url: o.brokerUrl, client_id: `bench-gw-${o.name}-${process.pid}`, topics: [`application/${o.appId}/device/+/event/+`] }],
    sinks: [{ type: 'influxdb', name: 'influx', url: o.influxUrl, version: 1, database: o.database, ...(o.sink ?? {}) }],
  };
  writeFileSync(join(dir, 'gateway.yaml'), JSON.stringify(config, null, 2));
  const deployed = deployedGateway();
  // A CPU profile is only readable per source file: profiled runs use the sources (tsx).
  const profiled = (o.execArgv ?? []).some((f) => f.startsWith('--cpu-prof'));
  const script = profiled ? join(REPO_ROOT, 'bin', 'lorawan-edge') : deployed.script;
  const proc = spawn(process.execPath, [...deployed.nodeFlags, ...(o.execArgv ?? []), script, 'gateway', '--config', join(dir, 'gateway.yaml')], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '', ...deployed.env, ...(profiled ? { LORAWAN_EDGE_FROM_SOURCE: '1' } : {}), ...(o.env ?? {}) },
  });
  const killOnExit = (): void => {
    proc.kill('SIGKILL');
  };
  process.on('exit', killOnExit);
  let out = '';
  let partial = '';
  const kinds = new Map<string, number>();
  const keep = (b: Buffer): void => {
    const text = b.toString();
    out = (out + text).slice(-8_000);
    const lines = (partial + text).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      try {
        const o = JSON.parse(line) as { level?: number; msg?: string; err?: string };
        if ((o.level ?? 0) < 40) continue;
        const key = `${o.level === 40 ? 'warn' : 'error'}: ${o.msg ?? ''}${o.err ? ` (${o.err.replace(/\d+/g, 'N').slice(0, 120)})` : ''}`;
        kinds.set(key, (kinds.get(key) ?? 0) + 1);
      } catch {
        // not a log line
      }
    }
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  await waitFor('the gateway to come up', 60_000, 100, async () => {
    if (proc.exitCode !== null) throw new Error(`gateway exited ${proc.exitCode}: ${out}`);
    try {
      const r = await fetch(`http://127.0.0.1:${httpPort}/healthz`, { signal: AbortSignal.timeout(2_000) });
      const body = (await r.json()) as { components: Record<string, { state: string }> };
      return body.components['source:chirpstack']?.state === 'running' ? true : undefined;
    } catch {
      return undefined;
    }
  });
  return {
    pid: proc.pid as number,
    proc,
    dir,
    httpPort,
    output: () => out,
    logKinds: () => [...kinds].sort((a, b) => b[1] - a[1]),
    async stop(timeoutMs = 60_000) {
      if (proc.exitCode !== null) return proc.exitCode;
      const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
      const code = await exited;
      clearTimeout(t);
      process.off('exit', killOnExit);
      return code;
    },
    dispose() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The newest .cpuprofile of the main thread in a folder (the largest file). */
export function mainProfile(dir: string): string | undefined {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => ({ f, size: readFileSync(join(dir, f)).length }))
    .sort((a, b) => b.size - a.size);
  return files[0] ? join(dir, files[0].f) : undefined;
}
