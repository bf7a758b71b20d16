// Configuration of the InfluxDB sink: the YAML keys (snake_case, as documented in README.md),
// their defaults, and validation whose errors name the key. Credentials are validated but never
// echoed back in an error.
import { redactUrl } from '../../redact-url.ts';


export interface InfluxSinkConfigInput {
  /** http(s)://host:port, optionally with a path prefix (reverse proxy). No credentials here. */
  url: string;
  /** 1 → /write (InfluxDB 1.x); 2 → /api/v2/write (2.x, 1.8+ compat, 3.x). Default 1. */
  version?: 1 | 2;
  // v1
  database?: string;
  retention_policy?: string;
  username?: string;
  password?: string;
  /** How v1 credentials travel: HTTP Basic (default) or `u`/`p` query parameters. */
  v1_auth?: 'basic' | 'query';
  // v2 / v3
  org?: string;
  bucket?: string;
  token?: string;
  /** `Token` (2.x, default) or `Bearer` (3.x). */
  auth_scheme?: 'Token' | 'Bearer';
  // batching and delivery
  batch_lines?: number;
  batch_bytes?: number;
  flush_interval_ms?: number;
  max_in_flight?: number;
  /** Lines held (queued + in flight) before write() waits for room. */
  max_buffered_lines?: number;
  /**
   * Compress request bodies of at least `gzip_min_bytes`: true, false, or 'auto' (default) =
   * true unless the URL's host is a loopback address, where compressing only costs CPU on both
   * ends (measured: about half the drain rate with InfluxDB on the same machine).
   */
  gzip?: boolean | 'auto';
  /** Bodies at least this large are gzipped when `gzip` is on. */
  gzip_min_bytes?: number;
  timeout_ms?: number;
  retry_min_backoff_ms?: number;
  retry_max_backoff_ms?: number;
  /** Upper bound applied to a server's Retry-After. */
  retry_after_max_ms?: number;
  /** While stopped (401/403/404…), retry this often; 0 = only on resume(). */
  stopped_retry_interval_ms?: number;
  /** stop() waits this long for pending lines before giving up on them (they stay unacked). */
  drain_timeout_ms?: number;
  /** JSON-lines file for lines the server rejected; unset = count and log only. */
  dead_letter_file?: string;
}

export type InfluxSinkConfig = Required<
  Omit<InfluxSinkConfigInput, 'database' | 'retention_policy' | 'username' | 'password' | 'org' | 'bucket' | 'token' | 'dead_letter_file'>
> &
  Pick<InfluxSinkConfigInput, 'database' | 'retention_policy' | 'username' | 'password' | 'org' | 'bucket' | 'token' | 'dead_letter_file'>;

export const INFLUX_SINK_DEFAULTS = {
  version: 1,
  v1_auth: 'basic',
  auth_scheme: 'Token',
  batch_lines: 5_000,
  batch_bytes: 1_048_576,
  flush_interval_ms: 1_000,
  // 4, not 2: InfluxDB works on one request while the next arrives; bench/influx-sink
  // (loopback, 2 cores) drained 6–15 % faster with 4 than with 2, at the same CPU per point.
  max_in_flight: 4,
  max_buffered_lines: 100_000,
  gzip: 'auto',
  gzip_min_bytes: 4_096,
  timeout_ms: 10_000,
  retry_min_backoff_ms: 100,
  retry_max_backoff_ms: 30_000,
  retry_after_max_ms: 600_000,
  stopped_retry_interval_ms: 60_000,
  drain_timeout_ms: 10_000,
} as const satisfies Partial<InfluxSinkConfigInput>;

export class InfluxSinkConfigError extends Error {
  readonly code = 'E_INFLUX_SINK_CONFIG';
  /** The offending key, e.g. "batch_lines". */
  readonly key: string;
  constructor(key: string, problem: string) {
    super(`influxdb sink config: ${key}: ${problem}`);
    this.name = 'InfluxSinkConfigError';
    this.key = key;
  }
}

/** Every configuration key (README.md documents each one; a test checks it). */
export const INFLUX_SINK_CONFIG_KEYS: readonly string[] = [
  'url', 'version', 'database', 'retention_policy', 'username', 'password', 'v1_auth', 'org', 'bucket', 'token',
  'auth_scheme', 'batch_lines', 'batch_bytes', 'flush_interval_ms', 'max_in_flight', 'max_buffered_lines', 'gzip',
  'gzip_min_bytes', 'timeout_ms', 'retry_min_backoff_ms', 'retry_max_backoff_ms', 'retry_after_max_ms',
  'stopped_retry_interval_ms', 'drain_timeout_ms', 'dead_letter_file',
];
const KNOWN_KEYS = new Set<string>(INFLUX_SINK_CONFIG_KEYS);
const SECRET_KEYS = new Set(['password', 'token']);

function describe(key: string, v: unknown): string {
  if (SECRET_KEYS.has(key)) return `a ${typeof v}`;
  return JSON.stringify(v) ?? String(v);
}

function int(raw: Record<string, unknown>, key: keyof InfluxSinkConfigInput, def: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const v = raw[key];
  if (v === undefined) return def;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new InfluxSinkConfigError(key, `expected an integer from ${min} to ${max}, got ${describe(key, v)}`);
  }
  return v;
}

function str(raw: Record<string, unknown>, key: keyof InfluxSinkConfigInput): string | undefined {
  const v = raw[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new InfluxSinkConfigError(key, `expected a string, got ${describe(key, v)}`);
  return v;
}

function oneOf<T extends string | number>(raw: Record<string, unknown>, key: keyof InfluxSinkConfigInput, allowed: readonly T[], def: T): T {
  const v = raw[key];
  if (v === undefined) return def;
  const hit = allowed.find((a) => a === v);
  if (hit === undefined) throw new InfluxSinkConfigError(key, `expected one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}, got ${describe(key, v)}`);
  return hit;
}

/** Validate and fill in defaults. Throws InfluxSinkConfigError naming the key. */
export function resolveInfluxSinkConfig(input: unknown): InfluxSinkConfig {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new InfluxSinkConfigError('(root)', 'expected an object');
  }
  const raw = input as Record<string, unknown>;
  for (const key of Object.keys(raw)) {
    if (!KNOWN_KEYS.has(key)) throw new InfluxSinkConfigError(key, `unknown key (expected one of: ${INFLUX_SINK_CONFIG_KEYS.join(', ')})`);
  }
  const url = str(raw, 'url');
  if (url === undefined || url === '') throw new InfluxSinkConfigError('url', 'required');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InfluxSinkConfigError('url', `not a URL: ${JSON.stringify(url)}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new InfluxSinkConfigError('url', `expected http:// or https://, got ${JSON.stringify(parsed.protocol)}`);
  }
  if (parsed.username !== '' || parsed.password !== '') {
    // Not echoing the URL: it holds a credential.
    throw new InfluxSinkConfigError('url', 'must not contain credentials; use username/password or token');
  }
  if (parsed.search !== '' || parsed.hash !== '') throw new InfluxSinkConfigError('url', 'must not contain a query or fragment');

  const version = oneOf(raw, 'version', [1, 2] as const, INFLUX_SINK_DEFAULTS.version);
  const cfg: InfluxSinkConfig = {
    url: url.replace(/\/+$/, ''),
    version,
    database: str(raw, 'database'),
    retention_policy: str(raw, 'retention_policy'),
    username: str(raw, 'username'),
    password: str(raw, 'password'),
    v1_auth: oneOf(raw, 'v1_auth', ['basic', 'query'] as const, INFLUX_SINK_DEFAULTS.v1_auth),
    org: str(raw, 'org'),
    bucket: str(raw, 'bucket'),
    token: str(raw, 'token'),
    auth_scheme: oneOf(raw, 'auth_scheme', ['Token', 'Bearer'] as const, INFLUX_SINK_DEFAULTS.auth_scheme),
    batch_lines: int(raw, 'batch_lines', INFLUX_SINK_DEFAULTS.batch_lines, 1, 1_000_000),
    batch_bytes: int(raw, 'batch_bytes', INFLUX_SINK_DEFAULTS.batch_bytes, 1_024, 1_073_741_824),
    flush_interval_ms: int(raw, 'flush_interval_ms', INFLUX_SINK_DEFAULTS.flush_interval_ms, 0, 3_600_000),
    max_in_flight: int(raw, 'max_in_flight', INFLUX_SINK_DEFAULTS.max_in_flight, 1, 64),
    max_buffered_lines: int(raw, 'max_buffered_lines', INFLUX_SINK_DEFAULTS.max_buffered_lines, 1),
    gzip: ((): boolean | 'auto' => {
      const v = raw['gzip'];
      if (v === undefined) return INFLUX_SINK_DEFAULTS.gzip;
      if (typeof v !== 'boolean' && v !== 'auto') throw new InfluxSinkConfigError('gzip', `expected true, false or "auto", got ${describe('gzip', v)}`);
      return v;
    })(),
    gzip_min_bytes: int(raw, 'gzip_min_bytes', INFLUX_SINK_DEFAULTS.gzip_min_bytes, 0),
    timeout_ms: int(raw, 'timeout_ms', INFLUX_SINK_DEFAULTS.timeout_ms, 1, 3_600_000),
    retry_min_backoff_ms: int(raw, 'retry_min_backoff_ms', INFLUX_SINK_DEFAULTS.retry_min_backoff_ms, 1, 3_600_000),
    retry_max_backoff_ms: int(raw, 'retry_max_backoff_ms', INFLUX_SINK_DEFAULTS.retry_max_backoff_ms, 1, 3_600_000),
    retry_after_max_ms: int(raw, 'retry_after_max_ms', INFLUX_SINK_DEFAULTS.retry_after_max_ms, 0, 86_400_000),
    stopped_retry_interval_ms: int(raw, 'stopped_retry_interval_ms', INFLUX_SINK_DEFAULTS.stopped_retry_interval_ms, 0, 86_400_000),
    drain_timeout_ms: int(raw, 'drain_timeout_ms', INFLUX_SINK_DEFAULTS.drain_timeout_ms, 0, 3_600_000),
    dead_letter_file: str(raw, 'dead_letter_file'),
  };
  if (cfg.retry_max_backoff_ms < cfg.retry_min_backoff_ms) {
    throw new InfluxSinkConfigError('retry_max_backoff_ms', `must be at least retry_min_backoff_ms (${cfg.retry_min_backoff_ms})`);
  }
  if (cfg.version === 1) {
    if (cfg.database === undefined || cfg.database === '') throw new InfluxSinkConfigError('database', 'required with version 1');
    if ((cfg.username === undefined) !== (cfg.password === undefined)) {
      throw new InfluxSinkConfigError(cfg.username === undefined ? 'username' : 'password', 'username and password go together');
    }
    for (const key of ['org', 'bucket', 'token'] as const) {
      if (cfg[key] !== undefined) throw new InfluxSinkConfigError(key, 'only used with version 2');
    }
  } else {
    if (cfg.bucket === undefined || cfg.bucket === '') throw new InfluxSinkConfigError('bucket', 'required with version 2');
    for (const key of ['database', 'retention_policy'] as const) {
      if (cfg[key] !== undefined) throw new InfluxSinkConfigError(key, 'only used with version 1 (use bucket)');
    }
    if ((cfg.username === undefined) !== (cfg.password === undefined)) {
      throw new InfluxSinkConfigError(cfg.username === undefined ? 'username' : 'password', 'username and password go together');
    }
    if (cfg.token !== undefined && cfg.username !== undefined) {
      throw new InfluxSinkConfigError('token', 'give either token or username/password (1.8 compatibility), not both');
    }
  }
  return cfg;
}

/** Whether a URL points at this machine (127.0.0.0/8, ::1, localhost). */
export function isLoopbackUrl(url: string): boolean {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return host === 'localhost' || host.endsWith('.localhost') || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Whether bodies (of at least gzip_min_bytes) are compressed for this configuration. */
export function gzipEnabled(cfg: Pick<InfluxSinkConfig, 'gzip' | 'url'>): boolean {
  return cfg.gzip === 'auto' ? !isLoopbackUrl(cfg.url) : cfg.gzip;
}

/** Where the sink writes, for logs and stats: no credentials. */
export function describeTarget(cfg: InfluxSinkConfig): string {
  if (cfg.version === 1) {
    return `${redactUrl(cfg.url)} (v1, db ${JSON.stringify(cfg.database)}${cfg.retention_policy ? `, rp ${JSON.stringify(cfg.retention_policy)}` : ''})`;
  }
  return `${redactUrl(cfg.url)} (v2, ${cfg.org ? `org ${JSON.stringify(cfg.org)}, ` : ''}bucket ${JSON.stringify(cfg.bucket)})`;
}
