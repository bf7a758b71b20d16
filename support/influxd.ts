// A real InfluxDB 1.x server (Debian's `influxdb` package, 1.6.7) for tests: free ports, a temp
// folder holding meta/data/wal, a minimal config, readiness via GET /ping (204), and the database
// created. It can be stopped and started again on the same port and data folder (outage tests),
// or SIGKILLed (crash tests). `dispose()` stops it and removes the folder.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireBinary } from './binaries.ts';
import { Daemon, lostPortRace, serverLifecycle, type ServerLifecycle } from './daemon.ts';
import { freePorts } from './free-port.ts';

export interface StartInfluxdOptions {
  /** Database created once the server is up; `null` creates none. Default "test". */
  database?: string | null;
  /** Enables `auth-enabled` and creates this admin user (WITH ALL PRIVILEGES). */
  auth?: { username: string; password: string };
  /** `[http] max-body-size` in bytes (influxd's default 25,000,000). */
  maxBodySize?: number;
  /** How long to wait for /ping to answer 204. Default 30 s. */
  startTimeoutMs?: number;
}

export interface InfluxSeries {
  name: string;
  tags?: Record<string, string>;
  columns: string[];
  values: unknown[][];
}

/** stop() waits for exit (SIGKILL after 10 s); start() waits for /ping. */
export interface InfluxdServer extends ServerLifecycle {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  readonly port: number;
  /** The RPC (backup/restore) port, top-level `bind-address`. */
  readonly rpcPort: number;
  /** Temp folder holding influxdb.conf, meta/, data/ and wal/. */
  readonly dataDir: string;
  readonly configPath: string;
  readonly database: string | null;
  readonly auth: { username: string; password: string } | undefined;
  /** GET /query?db=…&q=…&epoch=ms (POST for statements that change things). Throws on errors. */
  query(q: string, opts?: { db?: string | null; method?: 'GET' | 'POST' }): Promise<InfluxSeries[]>;
  /** SELECT results as objects (column → value), over all series. */
  rows(q: string, db?: string): Promise<Array<Record<string, unknown>>>;
  /** Number of points in a measurement (count of rows from SELECT *). */
  countPoints(measurement: string, db?: string): Promise<number>;
  ping(): Promise<boolean>;
}

/** InfluxQL identifier quoting: "…" with backslash and double quote escaped. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** InfluxQL string literal quoting: '…'. */
export function quoteString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function configText(dir: string, httpPort: number, rpcPort: number, opts: StartInfluxdOptions): string {
  const q = (p: string): string => JSON.stringify(p);
  return [
    'reporting-enabled = false',
    `bind-address = ${q(`127.0.0.1:${rpcPort}`)}`,
    '',
    '[meta]',
    `  dir = ${q(join(dir, 'meta'))}`,
    '  logging-enabled = false',
    '',
    '[data]',
    `  dir = ${q(join(dir, 'data'))}`,
    `  wal-dir = ${q(join(dir, 'wal'))}`,
    '  index-version = "inmem"',
    '  query-log-enabled = false',
    '',
    '[monitor]',
    '  store-enabled = false',
    '',
    '[retention]',
    '  enabled = false',
    '',
    '[shard-precreation]',
    '  enabled = false',
    '',
    '[subscriber]',
    '  enabled = false',
    '',
    '[continuous_queries]',
    '  enabled = false',
    '',
    '[http]',
    '  enabled = true',
    `  bind-address = ${q(`127.0.0.1:${httpPort}`)}`,
    `  auth-enabled = ${opts.auth ? 'true' : 'false'}`,
    '  log-enabled = false',
    '  pprof-enabled = false',
    `  max-body-size = ${opts.maxBodySize ?? 25_000_000}`,
    '',
    '[logging]',
    '  level = "warn"',
    '  suppress-logo = true',
    '',
  ].join('\n');
}

interface QueryResponse {
  results?: Array<{ statement_id?: number; series?: InfluxSeries[]; error?: string }>;
  error?: string;
}

export async function startInfluxd(opts: StartInfluxdOptions = {}): Promise<InfluxdServer> {
  const binary = requireBinary('influxd');
  const dir = await mkdtemp(join(tmpdir(), 'lorawan-edge-influxd-'));
  const configPath = join(dir, 'influxdb.conf');
  const startTimeoutMs = opts.startTimeoutMs ?? 30_000;
  const database = opts.database === undefined ? 'test' : opts.database;
  const auth = opts.auth;
  const daemon = new Daemon({ name: 'influxd', command: binary, args: ['run', '-config', configPath], cwd: dir });

  let httpPort = 0;
  let rpcPort = 0;
  const url = (): string => `http://127.0.0.1:${httpPort}`;
  const authHeader = (): Record<string, string> =>
    auth ? { authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}` } : {};

  const ping = async (): Promise<boolean> => {
    try {
      const res = await fetch(`${url()}/ping`, { signal: AbortSignal.timeout(2_000) });
      await res.arrayBuffer();
      return res.status === 204;
    } catch {
      return false;
    }
  };

  const rawQuery = async (
    q: string,
    db: string | null,
    method: 'GET' | 'POST',
    withAuth: boolean,
  ): Promise<InfluxSeries[]> => {
    const params = new URLSearchParams({ q, epoch: 'ms' });
    if (db !== null) params.set('db', db);
    const res = await fetch(`${url()}/query?${params.toString()}`, {
      method,
      headers: withAuth ? authHeader() : {},
      signal: AbortSignal.timeout(15_000),
    });
    const text = await res.text();
    let body: QueryResponse;
    try {
      body = JSON.parse(text) as QueryResponse;
    } catch {
      throw new Error(`influxd /query answered ${res.status} with non-JSON: ${text.slice(0, 500)}`);
    }
    if (body.error !== undefined) throw new Error(`influxd /query (${res.status}): ${body.error}`);
    const series: InfluxSeries[] = [];
    for (const r of body.results ?? []) {
      if (r.error !== undefined) throw new Error(`influxd /query: ${r.error} (query: ${q})`);
      series.push(...(r.series ?? []));
    }
    return series;
  };

  const launch = async (): Promise<void> => {
    daemon.start();
    await daemon.waitUntil(ping, startTimeoutMs, 'GET /ping answering 204');
  };

  // First start: pick ports; retry with new ones if another process took them meanwhile.
  for (let attempt = 1; ; attempt++) {
    [httpPort, rpcPort] = (await freePorts(2)) as [number, number];
    await writeFile(configPath, configText(dir, httpPort, rpcPort, opts));
    try {
      await launch();
      break;
    } catch (err) {
      await daemon.kill();
      if (attempt < 3 && lostPortRace(daemon.outputTail)) continue;
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
  }

  if (auth) {
    // With auth enabled and no user yet, 1.x accepts exactly this statement unauthenticated.
    await rawQuery(
      `CREATE USER ${quoteIdent(auth.username)} WITH PASSWORD ${quoteString(auth.password)} WITH ALL PRIVILEGES`,
      null,
      'POST',
      false,
    );
  }
  if (database !== null) await rawQuery(`CREATE DATABASE ${quoteIdent(database)}`, null, 'POST', true);

  const own: Omit<InfluxdServer, keyof ServerLifecycle> = {
    url: url(),
    port: httpPort,
    rpcPort,
    dataDir: dir,
    configPath,
    database,
    auth,
    query: (q, o = {}) => {
      const db = o.db === undefined ? database : o.db;
      const method = o.method ?? (/^\s*select\b|^\s*show\b/i.test(q) ? 'GET' : 'POST');
      return rawQuery(q, db, method, true);
    },
    rows: async (q, db) => {
      const series = await server.query(q, db === undefined ? {} : { db });
      const out: Array<Record<string, unknown>> = [];
      for (const s of series) {
        for (const v of s.values) {
          const row: Record<string, unknown> = { ...(s.tags ?? {}) };
          s.columns.forEach((c, i) => {
            row[c] = v[i];
          });
          out.push(row);
        }
      }
      return out;
    },
    countPoints: async (measurement, db) => {
      // count(*) counts per field; SELECT * counts rows (points), which is what tests mean.
      const rows = await server.rows(`SELECT * FROM ${quoteIdent(measurement)}`, db);
      return rows.length;
    },
    ping,
  };
  const server: InfluxdServer = Object.assign(serverLifecycle(daemon, launch, dir, (d) => rm(d, { recursive: true, force: true })), own);
  return server;
}
