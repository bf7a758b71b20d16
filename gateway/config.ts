/**
 * The gateway's one YAML config file, validated as a whole at start. Every problem names the
 * key (`sources[0].url: required`) and carries a stable code; secrets may come from the
 * environment as `${NAME}` (or `${NAME:-default}`) anywhere a string is expected, and are never
 * echoed in an error. See gateway/gateway.sample.yaml for every key with its default.
 */
import { dirname, isAbsolute, resolve } from 'node:path';
import { readYamlFile, YamlError } from '../devices/safe-yaml.ts';
import { DEFAULTS as BUFFER_DEFAULTS, resolveConfig as resolveBufferConfig, type DurableLogConfig } from './buffer/config.ts';

/** `buffer.cursor_interval_ms` of the gateway's log (the log's own default, 0, is per commit). */
const GATEWAY_CURSOR_INTERVAL_MS = 1000;
import { resolveInfluxSinkConfig, type InfluxSinkConfig } from './sinks/influxdb/config.ts';
import type { ChirpstackMqttConfig } from './sources/chirpstack-mqtt.ts';
import { checkWebConfig, type WebConfig } from './web/config.ts';
import type { SemtechUdpConfig } from './sources/semtech-udp.ts';
import { checkSemtechUdp } from './sources/semtech-udp-config.ts';
import { checkMqttSink } from './sinks/mqtt/config.ts';
import type { MqttSinkConfig } from './sinks/mqtt/mqtt-sink.ts';

export type ConfigErrorCode = 'E_CONFIG_YAML' | 'E_CONFIG_UNKNOWN_KEY' | 'E_CONFIG_REQUIRED' | 'E_CONFIG_TYPE' | 'E_CONFIG_VALUE' | 'E_CONFIG_ENV' | 'E_CONFIG_READ';

export interface ConfigProblem {
  key: string;
  code: ConfigErrorCode;
  message: string;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly file: string,
    readonly problems: ConfigProblem[],
  ) {
    // One problem (a refused YAML file, typically) is one line: file, key, cause.
    const only = problems.length === 1 ? problems[0] : undefined;
    super(
      only
        ? `${file}: ${only.key}: ${only.message} [${only.code}]`
        : `${file}: invalid configuration:\n${problems.map((p) => `  ${p.key}: ${p.message} [${p.code}]`).join('\n')}`,
    );
  }
}

export interface FileSinkConfig {
  type: 'file';
  name: string;
  schema: 'native' | 'chirpstack';
  /** folder of rotated line-protocol files */
  dir: string;
  rotate_bytes: number;
  keep_files: number;
}

export type SinkConfig = (InfluxSinkConfig & { type: 'influxdb'; name: string; schema: 'native' | 'chirpstack' }) | FileSinkConfig;
export type SourceConfig = ChirpstackMqttConfig & { type: 'chirpstack_mqtt' };

export interface GatewayConfig {
  /** where the file came from (relative paths resolve against its folder) */
  file: string;
  name: string;
  data_dir: string;
  http: { listen: string | false };
  log: { level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent' };
  registry: { devices_file?: string };
  buffer: DurableLogConfig;
  rejects: { file: string; max_bytes: number; max_entry_bytes: number };
  /** The QuickJS sandbox of script codecs: its total memory budget (codecs/sandbox/README.md). */
  sandbox: { memory_budget_mb: number };
  sources: SourceConfig[];
  /** `type: semtech_udp` entries of `sources:` (the edge network server) */
  udp_sources: SemtechUdpConfig[];
  sinks: SinkConfig[];
  /** the local store (sink `local`), pages and read API: gateway/web/README.md */
  web: WebConfig;
  /** `type: mqtt` entries of `sinks:` (ChirpStack v4 events to a broker, own cursor) */
  mqtt_sinks: MqttSinkConfig[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const SECRET = /(password|token|secret)$/;

export class Checker {
  readonly problems: ConfigProblem[] = [];
  constructor(private readonly env: NodeJS.ProcessEnv) {}

  add(key: string, code: ConfigErrorCode, message: string): undefined {
    // One problem per key: an unset ${ENV} already explains the empty string that follows.
    if (!this.problems.some((p) => p.key === key)) this.problems.push({ key, code, message });
    return undefined;
  }

  known(o: Obj, path: string, keys: readonly string[]): void {
    for (const k of Object.keys(o)) if (!keys.includes(k)) this.add(`${path}${k}`, 'E_CONFIG_UNKNOWN_KEY', `unknown key (expected one of: ${keys.join(', ')})`);
  }

  /** Replaces ${NAME} / ${NAME:-default} with the environment's value. */
  expand(v: unknown, key: string): unknown {
    if (typeof v === 'string') {
      let missing: string | undefined;
      const out = v.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (_m, name: string, def: string | undefined) => {
        const val = this.env[name];
        if (val !== undefined && val !== '') return val;
        if (def !== undefined) return def;
        missing ??= name;
        return '';
      });
      if (missing) this.add(key, 'E_CONFIG_ENV', `environment variable ${missing} is not set`);
      return out;
    }
    if (Array.isArray(v)) return v.map((x, i) => this.expand(x, `${key}[${i}]`));
    if (isObj(v)) {
      const o: Obj = {};
      for (const [k, x] of Object.entries(v)) {
        const at = key ? `${key}.${k}` : k;
        // Also for documents that did not come through the YAML reader (JSON, a caller's object).
        if (k === '__proto__' || k === 'constructor' || k === 'prototype') {
          this.add(at, 'E_CONFIG_UNKNOWN_KEY', 'is not allowed (__proto__, constructor and prototype are reserved)');
          continue;
        }
        o[k] = this.expand(x, at);
      }
      return o;
    }
    return v;
  }

  str(o: Obj, key: string, path: string, def?: string): string | undefined {
    const v = o[key];
    if (v === undefined || v === null) return def;
    if (typeof v !== 'string' || v === '') return this.add(`${path}${key}`, 'E_CONFIG_TYPE', `must be a non-empty string${SECRET.test(key) ? '' : `, got ${JSON.stringify(v)}`}`);
    return v;
  }

  int(o: Obj, key: string, path: string, def: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
    const v = o[key];
    if (v === undefined) return def;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      this.add(`${path}${key}`, 'E_CONFIG_VALUE', `must be an integer ${min}..${max}, got ${JSON.stringify(v)}`);
      return def;
    }
    return v;
  }

  oneOf<T extends string | number | boolean>(o: Obj, key: string, path: string, allowed: readonly T[], def: T): T {
    const v = o[key];
    if (v === undefined) return def;
    const hit = allowed.find((a) => a === v);
    if (hit === undefined) {
      this.add(`${path}${key}`, 'E_CONFIG_VALUE', `must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}, got ${JSON.stringify(v)}`);
      return def;
    }
    return hit;
  }
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

function checkSource(c: Checker, raw: unknown, i: number, gatewayName: string): SourceConfig | undefined {
  const p = `sources[${i}].`;
  if (!isObj(raw)) return c.add(`sources[${i}]`, 'E_CONFIG_TYPE', 'must be a mapping');
  const type = raw['type'];
  if (type !== 'chirpstack_mqtt') return c.add(`${p}type`, type === undefined ? 'E_CONFIG_REQUIRED' : 'E_CONFIG_VALUE', `must be "chirpstack_mqtt" or "semtech_udp"${type === undefined ? '' : `, got ${JSON.stringify(type)}`}`);
  c.known(raw, p, [
    'type',
    'name',
    'url',
    'username',
    'password',
    'client_id',
    'topics',
    'format',
    'events',
    'protocol_version',
    'session_expiry_s',
    'keepalive_s',
    'reconnect_ms',
    'max_payload_bytes',
    'device_profiles',
  ]);
  const name = c.str(raw, 'name', p, 'chirpstack') ?? 'chirpstack';
  if (!NAME_RE.test(name)) c.add(`${p}name`, 'E_CONFIG_VALUE', 'must be 1-64 characters of A-Z a-z 0-9 _ . -');
  const url = c.str(raw, 'url', p);
  if (url === undefined) c.add(`${p}url`, 'E_CONFIG_REQUIRED', 'required (e.g. mqtt://127.0.0.1:1883)');
  else if (!/^(mqtts?|wss?|tcp|ssl):\/\//.test(url)) c.add(`${p}url`, 'E_CONFIG_VALUE', 'must start with mqtt://, mqtts://, ws:// or wss://');
  const topics = raw['topics'] ?? ['application/+/device/+/event/+'];
  if (!Array.isArray(topics) || topics.length === 0 || topics.some((t) => typeof t !== 'string' || t === '')) c.add(`${p}topics`, 'E_CONFIG_TYPE', 'must be a non-empty list of topic filters');
  const events = raw['events'] ?? ['up', 'join', 'status'];
  if (!Array.isArray(events) || events.some((e) => e !== 'up' && e !== 'join' && e !== 'status')) c.add(`${p}events`, 'E_CONFIG_VALUE', 'must be a list of up, join, status');
  const profiles = raw['device_profiles'] ?? {};
  if (!isObj(profiles) || Object.values(profiles).some((v) => typeof v !== 'string')) c.add(`${p}device_profiles`, 'E_CONFIG_TYPE', 'must map ChirpStack device-profile names to catalogue ids');
  const username = c.str(raw, 'username', p);
  const password = c.str(raw, 'password', p);
  return {
    type: 'chirpstack_mqtt',
    name,
    url: url ?? '',
    ...(username !== undefined ? { username } : {}),
    ...(password !== undefined ? { password } : {}),
    // A fixed client id is what makes the broker keep the session across restarts.
    client_id: c.str(raw, 'client_id', p, `lorawan-edge-${gatewayName}-${name}`) ?? `lorawan-edge-${gatewayName}-${name}`,
    topics: topics as string[],
    format: c.oneOf(raw, 'format', p, ['auto', 'json', 'protobuf'] as const, 'auto'),
    events: events as ('up' | 'join' | 'status')[],
    protocol_version: c.oneOf(raw, 'protocol_version', p, [4, 5] as const, 4),
    session_expiry_s: c.int(raw, 'session_expiry_s', p, 7 * 24 * 3600, 0, 0xffffffff),
    keepalive_s: c.int(raw, 'keepalive_s', p, 30, 0, 65535),
    reconnect_ms: c.int(raw, 'reconnect_ms', p, 2000, 100, 600_000),
    max_payload_bytes: c.int(raw, 'max_payload_bytes', p, 65_536, 256, 16 * 1024 * 1024),
    device_profiles: profiles as Record<string, string>,
  };
}

function checkSink(c: Checker, raw: unknown, i: number, dataDir: string, base: string): SinkConfig | undefined {
  const p = `sinks[${i}].`;
  if (!isObj(raw)) return c.add(`sinks[${i}]`, 'E_CONFIG_TYPE', 'must be a mapping');
  const { type, name: rawName, schema: rawSchema, ...rest } = raw;
  const name = typeof rawName === 'string' ? rawName : String(type ?? 'sink');
  if (!NAME_RE.test(name)) c.add(`${p}name`, 'E_CONFIG_VALUE', 'must be 1-64 characters of A-Z a-z 0-9 _ . -');
  const schema = c.oneOf({ schema: rawSchema }, 'schema', p, ['native', 'chirpstack'] as const, 'native');
  if (type === 'influxdb') {
    try {
      const resolved = resolveInfluxSinkConfig({ dead_letter_file: resolve(dataDir, `${name}.dead-letter.jsonl`), ...rest });
      if (resolved.dead_letter_file) resolved.dead_letter_file = resolve(base, resolved.dead_letter_file);
      return { ...resolved, type: 'influxdb', name, schema };
    } catch (err) {
      const key = (err as { key?: string }).key ?? '(sink)';
      const msg = (err as Error).message.replace(/^influxdb sink config: [^:]+: /, '');
      return c.add(`${p}${key}`, /unknown key/.test(msg) ? 'E_CONFIG_UNKNOWN_KEY' : /required/.test(msg) ? 'E_CONFIG_REQUIRED' : 'E_CONFIG_VALUE', msg);
    }
  }
  if (type === 'file') {
    c.known(raw, p, ['type', 'name', 'schema', 'dir', 'rotate_bytes', 'keep_files']);
    const dir = c.str(raw, 'dir', p, resolve(dataDir, 'points')) ?? resolve(dataDir, 'points');
    return {
      type: 'file',
      name,
      schema,
      dir: resolve(base, dir),
      rotate_bytes: c.int(raw, 'rotate_bytes', p, 64 * 1024 * 1024, 4096),
      keep_files: c.int(raw, 'keep_files', p, 20, 1, 100_000),
    };
  }
  return c.add(`${p}type`, type === undefined ? 'E_CONFIG_REQUIRED' : 'E_CONFIG_VALUE', `must be "influxdb", "file" or "mqtt"${type === undefined ? '' : `, got ${JSON.stringify(type)}`}`);
}

/** Validates a parsed config document. `file` names it in errors and anchors relative paths. */
export function checkConfig(doc: unknown, file: string, env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const c = new Checker(env);
  if (!isObj(doc)) throw new ConfigError(file, [{ key: '(root)', code: 'E_CONFIG_TYPE', message: 'the file must hold a YAML mapping' }]);
  const raw = c.expand(doc, '') as Obj;
  c.known(raw, '', ['name', 'data_dir', 'http', 'log', 'registry', 'buffer', 'rejects', 'sandbox', 'sources', 'sinks', 'web']);
  const base = dirname(resolve(file));
  const at = (p: string): string => (isAbsolute(p) ? p : resolve(base, p));
  const name = c.str(raw, 'name', '', 'gateway') ?? 'gateway';
  if (!NAME_RE.test(name)) c.add('name', 'E_CONFIG_VALUE', 'must be 1-64 characters of A-Z a-z 0-9 _ . -');
  const dataDir = at(c.str(raw, 'data_dir', '', './data') ?? './data');

  const httpRaw = raw['http'] ?? {};
  let listen: string | false = '127.0.0.1:9108';
  if (!isObj(httpRaw)) c.add('http', 'E_CONFIG_TYPE', 'must be a mapping');
  else {
    c.known(httpRaw, 'http.', ['listen']);
    const l = httpRaw['listen'];
    if (l === false) listen = false;
    else if (l !== undefined) {
      if (typeof l !== 'string' || !/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(l) || Number(l.slice(l.lastIndexOf(':') + 1)) > 65535) {
        c.add('http.listen', 'E_CONFIG_VALUE', `must be host:port (e.g. 127.0.0.1:9108) or false, got ${JSON.stringify(l)}`);
      } else listen = l;
    }
  }
  const logRaw = isObj(raw['log']) ? raw['log'] : {};
  c.known(logRaw, 'log.', ['level']);
  const level = c.oneOf(logRaw, 'level', 'log.', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, 'info');

  const regRaw = isObj(raw['registry']) ? raw['registry'] : {};
  c.known(regRaw, 'registry.', ['devices_file']);
  const devicesFile = c.str(regRaw, 'devices_file', 'registry.');

  const rejRaw = isObj(raw['rejects']) ? raw['rejects'] : {};
  c.known(rejRaw, 'rejects.', ['file', 'max_bytes', 'max_entry_bytes']);
  const rejects = {
    file: at(c.str(rejRaw, 'file', 'rejects.', resolve(dataDir, 'rejects.jsonl')) ?? resolve(dataDir, 'rejects.jsonl')),
    max_bytes: c.int(rejRaw, 'max_bytes', 'rejects.', 64 * 1024 * 1024, 0),
    // One entry (its payload kept as a prefix plus the full size): a huge message must not take the file's budget.
    max_entry_bytes: c.int(rejRaw, 'max_entry_bytes', 'rejects.', 64 * 1024, 4096, 16 * 1024 * 1024),
  };
  const sandboxRaw = isObj(raw['sandbox']) ? raw['sandbox'] : {};
  c.known(sandboxRaw, 'sandbox.', ['memory_budget_mb']);
  // 64 MiB fits the systemd unit's MemoryMax=300M beside the 80 MB V8 heap and Node's own ~100 MB.
  const sandbox = { memory_budget_mb: c.int(sandboxRaw, 'memory_budget_mb', 'sandbox.', 64, 4, 3072) };

  const sources: SourceConfig[] = [];
  const udpSources: SemtechUdpConfig[] = [];
  const sourcesRaw = raw['sources'];
  if (!Array.isArray(sourcesRaw) || sourcesRaw.length === 0) c.add('sources', 'E_CONFIG_REQUIRED', 'at least one source is required (type: chirpstack_mqtt or semtech_udp)');
  else sourcesRaw.forEach((s, i) => {
    if (isObj(s) && s['type'] === 'semtech_udp') return void udpSources.push(checkSemtechUdp(c, s, i, dataDir, at));
    const r = checkSource(c, s, i, name);
    if (r) sources.push(r);
  });

  const sinks: SinkConfig[] = [];
  const mqttSinks: MqttSinkConfig[] = [];
  const names = new Set<string>();
  const sinksRaw = raw['sinks'] ?? [{ type: 'file', name: 'file' }];
  if (!Array.isArray(sinksRaw) || sinksRaw.length === 0) c.add('sinks', 'E_CONFIG_TYPE', 'must be a non-empty list (the default is one file sink)');
  else sinksRaw.forEach((s, i) => {
    const name = isObj(s) ? String(s['name'] ?? s['type'] ?? 'sink') : 'sink';
    if (names.has(name)) c.add(`sinks[${i}].name`, 'E_CONFIG_VALUE', `duplicate sink name "${name}" (each sink has its own cursor)`);
    names.add(name);
    if (isObj(s) && s['type'] === 'mqtt') return void mqttSinks.push(checkMqttSink(c, s, i, name, raw['name'] === undefined ? 'gateway' : String(raw['name'])));
    const r = checkSink(c, s, i, dataDir, base);
    if (r) sinks.push(r);
  });
  const srcNames = new Set<string>();
  [...sources, ...udpSources].forEach((s, i) => {
    if (srcNames.has(s.name)) c.add(`sources[${i}].name`, 'E_CONFIG_VALUE', `duplicate source name "${s.name}"`);
    srcNames.add(s.name);
  });

  const bufRaw = raw['buffer'] ?? {};
  // The sinks' cursor files at most once a second (buffer/README.md, cursor_interval_ms): one
  // atomic file write per sink batch cost ~2 % of the main thread at 10,000 uplinks/s.
  let buffer: DurableLogConfig = { dir: resolve(dataDir, 'buffer'), sinks: [...names], cursor_interval_ms: GATEWAY_CURSOR_INTERVAL_MS };
  if (!isObj(bufRaw)) c.add('buffer', 'E_CONFIG_TYPE', 'must be a mapping');
  else {
    // `sinks` is derived from the configured sinks, never written by hand.
    c.known(bufRaw, 'buffer.', ['dir', ...Object.keys(BUFFER_DEFAULTS)]);
    buffer = { cursor_interval_ms: GATEWAY_CURSOR_INTERVAL_MS, ...(bufRaw as Partial<DurableLogConfig>), dir: at(c.str(bufRaw, 'dir', 'buffer.', resolve(dataDir, 'buffer')) ?? resolve(dataDir, 'buffer')), sinks: [...names] };
    try {
      resolveBufferConfig(buffer);
    } catch (err) {
      const m = /^buffer\.([a-z_]+): (.*)$/s.exec((err as Error).message);
      c.add(m ? `buffer.${m[1]}` : 'buffer', 'E_CONFIG_VALUE', m ? (m[2] as string) : (err as Error).message);
    }
  }

  const web = checkWebConfig(raw['web'], { dataDir, base, listen, sinkNames: names });
  for (const p of web.problems) c.add(p.key, p.code, p.message);

  if (c.problems.length) throw new ConfigError(file, c.problems);
  return {
    file,
    name,
    data_dir: dataDir,
    http: { listen },
    log: { level },
    registry: devicesFile ? { devices_file: at(devicesFile) } : {},
    buffer,
    rejects,
    sandbox,
    sources,
    udp_sources: udpSources,
    sinks,
    web: web.web,
    mqtt_sinks: mqttSinks,
  };
}

export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  let doc: unknown;
  try {
    // Bounded: an alias bomb or a __proto__ key is refused here, before validation walks it.
    doc = readYamlFile(file, { maxBytes: 1024 * 1024 });
  } catch (err) {
    if (!(err instanceof YamlError)) throw err;
    const code: ConfigErrorCode = err.code === 'YAML_UNREADABLE' ? 'E_CONFIG_READ' : 'E_CONFIG_YAML';
    const key = err.path ?? (err.code === 'YAML_UNREADABLE' ? '(file)' : '(yaml)');
    throw new ConfigError(file, [{ key, code, message: err.detail }]);
  }
  return checkConfig(doc, file, env);
}
