/**
 * A third-party JavaScript codec as a `Codec`: the script runs unmodified in the QuickJS sandbox
 * (`engine.ts`), and this layer gives it the same contract as a native codec (`define.ts`):
 * inputs are checked the same way, nothing throws, and what the script returns is checked
 * before anyone sees it (data must be an object, errors and warnings lists of strings, downlink
 * bytes real bytes). See README.md for styles, limits and the isolation model.
 */
import type {
  Category,
  Codec,
  DecodeResult,
  DownlinkDecodeInput,
  DownlinkEncodeInput,
  DownlinkEncodeResult,
  JsonObject,
  NormalizeContext,
  NormalizeResult,
  Reading,
  ReadingValue,
  UplinkEncodeInput,
  UplinkEncodeResult,
  UplinkInput,
} from '../api.ts';
import { toBytes } from '../bytes.ts';
import type { NormalizedPayloadSource } from '../examples.ts';
import { MAX_RESULT_BYTES_LIMIT, sandboxEngine, type Reply, type SandboxEngine } from './engine.ts';

export type ScriptStyle = 'ttn' | 'chirpstack' | 'ttn-v2' | 'chirpstack-v3';

/** The codec operations a script can provide. */
export type ScriptOperation = 'decodeUplink' | 'encodeDownlink' | 'decodeDownlink' | 'normalizeUplink';

export interface ScriptLogEntry {
  codecId: string;
  /** Undefined for calls made through the codec itself rather than `forDevice()`. */
  deviceId?: string;
  operation: ScriptOperation;
  lines: string[];
}

export interface ScriptCodecOptions {
  id: string;
  name: string;
  category: Category;
  fPorts: readonly number[];
  /** How the script is written; `auto` (default) detects it, see README.md. */
  style?: 'auto' | ScriptStyle;
  /**
   * Time limit of one call; default 100 ms. Top-level code runs once per context, with the
   * same budget, except the first evaluation at load, which gets `loadTimeoutMs`.
   */
  timeoutMs?: number;
  /** Time limit of the first evaluation of the script at load; default 1,000 ms. */
  loadTimeoutMs?: number;
  /** Heap limit of one context (script, its globals and one call); default 16 MiB. */
  memoryLimitBytes?: number;
  /** What one call may allocate beyond the script's post-load state; default 8 MiB. */
  callMemoryLimitBytes?: number;
  /** QuickJS stack limit; default 256 KiB (about 1,300 nested calls). */
  maxStackSizeBytes?: number;
  /** Largest result, as UTF-8 JSON; default 1 MiB, at most 4 MiB. */
  maxResultBytes?: number;
  /** fPort given to legacy `Encoder(object, port)` / `Encode(fPort, object, variables)`; default 1. */
  downlinkFPort?: number;
  /** Whether an empty FRMPayload is passed to the script (default: rejected like native codecs). */
  acceptsEmpty?: boolean;
  /** Receives what the script wrote with console.* during a call (bounded per call). */
  onLog?: (entry: ScriptLogEntry) => void;
  /**
   * How every call gets the script's post-load state: `auto` (default) reuses one context and
   * runs the top-level code again per call where the script allows it, else a fresh context
   * per call; `context` always a fresh context per call (README.md, "Isolation").
   */
  freshState?: 'auto' | 'context';
}

export interface ScriptCodec extends Codec {
  readonly style: ScriptStyle;
  /** The script's own functions the sandbox found (e.g. `decodeUplink`, `Decoder`). */
  readonly functions: readonly string[];
  /**
   * The same codec, with the device named in console logs. Every call starts from the script's
   * post-load state whichever view makes it, so devices share one context per script.
   */
  forDevice(deviceId: string): Codec;
  /** Prepared contexts of this script in the sandbox: 1, or 0 after a failed preparation. */
  contextCount(): number;
  /**
   * How calls get their fresh state now: `reused-context` or `fresh-context` (with the reason);
   * `repairs` counts calls after which the global object or a built-in was put back.
   */
  statePath(): { path: 'reused-context' | 'fresh-context'; why?: string; repairs: number } | undefined;
  /** Frees the script's contexts; later calls return errors. */
  dispose(): void;
}

/** Thrown by `loadScriptCodec` when a script cannot be used at all (syntax error, no functions…). */
export class ScriptLoadError extends Error {
  override readonly name = 'ScriptLoadError';
}

const MiB = 1024 * 1024;
const KiB = 1024;

export const SCRIPT_DEFAULTS = {
  timeoutMs: 100,
  loadTimeoutMs: 1000,
  memoryLimitBytes: 16 * MiB,
  callMemoryLimitBytes: 8 * MiB,
  maxStackSizeBytes: 256 * KiB,
  maxResultBytes: 1 * MiB,
  downlinkFPort: 1,
  /** Result nesting limit, the same as `findNonJson` in define.ts. */
  maxDepth: 64,
  maxLogLines: 50,
  maxLogChars: 8 * KiB,
} as const;

/** Extra time the host waits beyond the script's own limits before it stops the sandbox thread. */
const HARD_MARGIN_MS = 500;

export function formatBytes(n: number): string {
  if (n % MiB === 0) return `${n / MiB} MiB`;
  if (n % KiB === 0) return `${n / KiB} KiB`;
  return `${n} bytes`;
}

function positiveInteger(name: string, value: number | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new TypeError(`loadScriptCodec: ${name} must be an integer ${min}..${max}, got ${String(value)}`);
  }
  return value;
}

function checkPort(fPort: unknown): string | undefined {
  if (typeof fPort !== 'number' || !Number.isInteger(fPort) || fPort < 0 || fPort > 255) {
    return `invalid fPort ${String(fPort)}: must be an integer 0..255`;
  }
  if (fPort === 0) return 'fPort 0 carries MAC commands, not application data';
  if (fPort >= 224) return `fPort ${fPort} is reserved (224..255 are for LoRaWAN test and future use)`;
  return undefined;
}

function isPlainObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/**
 * Whether a parsed JSON value nests deeper than the limit. Runs on every result, so it builds
 * no strings; `tooDeep` says where, only when this found something.
 */
function nestsTooDeep(value: unknown, depth: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (depth >= SCRIPT_DEFAULTS.maxDepth) return true;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (nestsTooDeep(value[i], depth + 1)) return true;
    return false;
  }
  const keys = Object.keys(value);
  for (let i = 0; i < keys.length; i++) {
    if (nestsTooDeep((value as Record<string, unknown>)[keys[i] as string], depth + 1)) return true;
  }
  return false;
}

/** The path where a parsed JSON value nests deeper than the limit (as `findNonJson` in define.ts). */
function tooDeep(value: unknown, path: string, depth: number): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  if (depth >= SCRIPT_DEFAULTS.maxDepth) return path;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const bad = tooDeep(value[i], `${path}[${i}]`, depth + 1);
      if (bad !== undefined) return bad;
    }
    return undefined;
  }
  for (const [k, v] of Object.entries(value)) {
    const bad = tooDeep(v, path === '' ? k : `${path}.${k}`, depth + 1);
    if (bad !== undefined) return bad;
  }
  return undefined;
}

/** `errors`/`warnings` as the script gave them, as strings. */
function stringList(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  const items: unknown[] = Array.isArray(v) ? v : [v];
  return items.map((item) => (typeof item === 'string' ? item : JSON.stringify(item)));
}

/** Which sandbox operation serves each codec function, per style. */
function operationsOf(style: ScriptStyle, functions: readonly string[]): Set<ScriptOperation> {
  const has = (n: string): boolean => functions.includes(n);
  const ops = new Set<ScriptOperation>();
  if (style === 'ttn-v2') {
    if (has('Decoder')) ops.add('decodeUplink');
    if (has('Encoder')) ops.add('encodeDownlink');
  } else if (style === 'chirpstack-v3') {
    if (has('Decode')) ops.add('decodeUplink');
    if (has('Encode')) ops.add('encodeDownlink');
  } else {
    for (const op of ['decodeUplink', 'encodeDownlink', 'decodeDownlink', 'normalizeUplink'] as const) if (has(op)) ops.add(op);
  }
  return ops;
}

/**
 * The total memory budget of every script context of this process together (config key
 * `sandbox.memory_budget_mb`); default 64 MiB, which fits the systemd unit's MemoryMax=300M
 * beside the gateway's 80 MB V8 heap. A load that would not fit fails; a call that would not
 * fit fails with an error naming the total budget.
 */
export async function setSandboxMemoryBudget(totalBytes: number): Promise<void> {
  if (!Number.isInteger(totalBytes) || totalBytes < 4 * MiB || totalBytes > 3 * 1024 * MiB) {
    throw new TypeError(`setSandboxMemoryBudget: must be an integer ${4 * MiB}..${3 * 1024 * MiB} bytes, got ${String(totalBytes)}`);
  }
  (await sandboxEngine()).setMemoryBudget(totalBytes, formatBytes(totalBytes));
}

/**
 * Loads a vendor's codec script into the sandbox. Rejects with `ScriptLoadError` when the
 * script cannot work at all; everything that goes wrong later is reported per call in `errors`.
 */
export async function loadScriptCodec(source: string, options: ScriptCodecOptions): Promise<ScriptCodec> {
  if (typeof source !== 'string') throw new TypeError('loadScriptCodec: source must be a string');
  const style = options.style ?? 'auto';
  if (!['auto', 'ttn', 'chirpstack', 'ttn-v2', 'chirpstack-v3'].includes(style)) {
    throw new TypeError(`loadScriptCodec: unknown style ${String(style)}`);
  }
  const freshState = options.freshState ?? 'auto';
  if (freshState !== 'auto' && freshState !== 'context') {
    throw new TypeError(`loadScriptCodec: freshState must be 'auto' or 'context', not ${String(freshState)}`);
  }
  const limits = {
    timeoutMs: positiveInteger('timeoutMs', options.timeoutMs, SCRIPT_DEFAULTS.timeoutMs, 1, 60_000),
    loadTimeoutMs: positiveInteger('loadTimeoutMs', options.loadTimeoutMs, SCRIPT_DEFAULTS.loadTimeoutMs, 1, 600_000),
    memoryLimitBytes: positiveInteger('memoryLimitBytes', options.memoryLimitBytes, SCRIPT_DEFAULTS.memoryLimitBytes, MiB, 1024 * MiB),
    maxStackSizeBytes: positiveInteger('maxStackSizeBytes', options.maxStackSizeBytes, SCRIPT_DEFAULTS.maxStackSizeBytes, 16 * KiB, 4 * MiB),
    maxResultBytes: positiveInteger('maxResultBytes', options.maxResultBytes, SCRIPT_DEFAULTS.maxResultBytes, KiB, MAX_RESULT_BYTES_LIMIT),
    callMemoryLimitBytes: positiveInteger(
      'callMemoryLimitBytes',
      options.callMemoryLimitBytes,
      SCRIPT_DEFAULTS.callMemoryLimitBytes,
      64 * KiB,
      1024 * MiB,
    ),
    downlinkFPort: positiveInteger('downlinkFPort', options.downlinkFPort, SCRIPT_DEFAULTS.downlinkFPort, 1, 223),
  };
  const engine = await sandboxEngine();
  const { id, reply } = engine.load(
    source,
    {
      style,
      timeoutMs: limits.timeoutMs,
      loadTimeoutMs: limits.loadTimeoutMs,
      memoryLimitBytes: limits.memoryLimitBytes,
      memoryLabel: formatBytes(limits.memoryLimitBytes),
      callMemoryLimitBytes: limits.callMemoryLimitBytes,
      callMemoryLabel: formatBytes(limits.callMemoryLimitBytes),
      maxStackSizeBytes: limits.maxStackSizeBytes,
      maxResultBytes: limits.maxResultBytes,
      maxResultLabel: formatBytes(limits.maxResultBytes),
      maxDepth: SCRIPT_DEFAULTS.maxDepth,
      maxLogLines: SCRIPT_DEFAULTS.maxLogLines,
      maxLogChars: SCRIPT_DEFAULTS.maxLogChars,
      freshState,
    },
    2 * limits.loadTimeoutMs + 2 * HARD_MARGIN_MS,
  );
  if (reply.header.s !== 'R') {
    const why = reply.header.s === 'hung' ? `script timed out after ${limits.loadTimeoutMs} ms while loading` : (reply.header.m ?? reply.header.s);
    throw new ScriptLoadError(`cannot load script codec ${options.id}: ${why}`);
  }
  const resolved = (reply.header.style ?? 'ttn') as ScriptStyle;
  const functions = Object.freeze([...(reply.header.functions ?? [])]);
  return buildCodec(engine, id, resolved, functions, options, limits);
}

interface Limits {
  timeoutMs: number;
  maxResultBytes: number;
  downlinkFPort: number;
}

type CallOutcome = { ok: true; value: Record<string, unknown> } | { ok: false; error: string };

function buildCodec(
  engine: SandboxEngine,
  id: number,
  style: ScriptStyle,
  functions: readonly string[],
  options: ScriptCodecOptions,
  limits: Limits,
): ScriptCodec {
  const ops = operationsOf(style, functions);
  const legacy = style === 'ttn-v2' || style === 'chirpstack-v3';
  const alwaysVariables = style === 'chirpstack' || style === 'chirpstack-v3';
  const hardLimitMs = 2 * limits.timeoutMs + HARD_MARGIN_MS;
  let disposed = false;

  function invoke(device: string | undefined, op: ScriptOperation, input: string): CallOutcome {
    if (disposed) return { ok: false, error: 'the script codec was disposed' };
    let reply: Reply;
    try {
      reply = engine.call(id, device ?? null, op, input, options.onLog !== undefined, hardLimitMs);
    } catch (err) {
      return { ok: false, error: `codec sandbox failure: ${err instanceof Error ? err.message : String(err)}` };
    }
    const lines = reply.header.l;
    if (lines && lines.length > 0 && options.onLog) {
      try {
        options.onLog({ codecId: options.id, ...(device !== undefined ? { deviceId: device } : {}), operation: op, lines });
      } catch {
        // A log consumer's failure is not the codec's.
      }
    }
    switch (reply.header.s) {
      case 'R': {
        if ((reply.bodyBytes ?? Buffer.byteLength(reply.body)) > limits.maxResultBytes) {
          return { ok: false, error: `result exceeds ${formatBytes(limits.maxResultBytes)}` };
        }
        const value: unknown = JSON.parse(reply.body);
        if (!isPlainObject(value)) return { ok: false, error: `result is not an object (got ${kindOf(value)})` };
        if (nestsTooDeep(value, 0)) {
          return { ok: false, error: `result is nested deeper than ${SCRIPT_DEFAULTS.maxDepth} levels at ${tooDeep(value, '', 0) ?? ''}` };
        }
        return { ok: true, value };
      }
      case 'hung':
        return {
          ok: false,
          error: `script timed out after ${limits.timeoutMs} ms (stuck in a built-in function; the sandbox thread was restarted)`,
        };
      default:
        return { ok: false, error: reply.header.m ?? `codec sandbox failure (${reply.header.s})` };
    }
  }

  function serialize(value: unknown): string | { error: string } {
    try {
      return JSON.stringify(value);
    } catch (err) {
      return { error: `input is not JSON-compatible: ${err instanceof Error ? err.message : String(err)}` };
    }
  }

  function variablesOf(v: unknown): Record<string, unknown> | undefined {
    if (isPlainObject(v)) return v;
    return alwaysVariables ? {} : undefined;
  }

  function shapeDecode(op: ScriptOperation, outcome: CallOutcome): DecodeResult {
    if (!outcome.ok) return { errors: [outcome.error] };
    const r = outcome.value;
    const warnings = stringList(r['warnings']);
    const errors = stringList(r['errors']);
    if (errors.length > 0) return warnings.length > 0 ? { errors, warnings } : { errors };
    const data = r['data'];
    if (data === undefined || data === null) return { errors: [`${op} returned no data (and no errors)`] };
    if (!isPlainObject(data)) return { errors: [`${op} returned data that is not an object (got ${kindOf(data)})`] };
    return warnings.length > 0 ? { data, warnings } : { data };
  }

  function decodeUplink(device: string | undefined, input: UplinkInput): DecodeResult {
    if (!input || typeof input !== 'object') return { errors: ['input must be an object {bytes, fPort}'] };
    const bytes = toBytes(input.bytes);
    if (typeof bytes === 'string') return { errors: [bytes] };
    const portError = checkPort(input.fPort);
    if (portError) return { errors: [portError] };
    if (bytes.length === 0 && !options.acceptsEmpty) return { errors: ['empty payload: no application data (MAC-only uplink?)'] };
    if (!ops.has('decodeUplink')) return { errors: [`script defines no ${legacy ? (style === 'ttn-v2' ? 'Decoder' : 'Decode') : 'decodeUplink'}`] };
    const recvTime = input.recvTime instanceof Date && !Number.isNaN(input.recvTime.getTime()) ? input.recvTime.toISOString() : undefined;
    const variables = variablesOf(input.variables);
    // Written out by hand: this is the hot path, and bytes and port are known-good numbers.
    let json = `{"bytes":[${bytes.join(',')}],"fPort":${input.fPort}`;
    if (recvTime !== undefined) json += `,"recvTime":"${recvTime}"`;
    if (variables !== undefined) {
      const v = serialize(variables);
      if (typeof v !== 'string') return { errors: [v.error] };
      json += `,"variables":${v}`;
    }
    json += '}';
    return shapeDecode('decodeUplink', invoke(device, 'decodeUplink', json));
  }

  function decodeDownlink(device: string | undefined, input: DownlinkDecodeInput): DecodeResult {
    if (!input || typeof input !== 'object') return { errors: ['input must be an object {bytes, fPort}'] };
    const bytes = toBytes(input.bytes);
    if (typeof bytes === 'string') return { errors: [bytes] };
    const portError = checkPort(input.fPort);
    if (portError) return { errors: [portError] };
    if (bytes.length === 0) return { errors: ['empty downlink payload'] };
    const variables = variablesOf(input.variables);
    const json = serialize({ bytes: Array.from(bytes), fPort: input.fPort, ...(variables !== undefined ? { variables } : {}) });
    if (typeof json !== 'string') return { errors: [json.error] };
    return shapeDecode('decodeDownlink', invoke(device, 'decodeDownlink', json));
  }

  function encodeDownlink(device: string | undefined, input: DownlinkEncodeInput): DownlinkEncodeResult {
    if (!input || typeof input !== 'object' || !isPlainObject(input.data)) return { errors: ['input must be an object {data: {...}}'] };
    const variables = variablesOf(input.variables);
    const json = serialize({
      data: input.data,
      ...(variables !== undefined ? { variables } : {}),
      ...(legacy ? { fPort: limits.downlinkFPort } : {}),
    });
    if (typeof json !== 'string') return { errors: [json.error] };
    const outcome = invoke(device, 'encodeDownlink', json);
    if (!outcome.ok) return { errors: [outcome.error] };
    const r = outcome.value;
    const warnings = stringList(r['warnings']);
    const errors = stringList(r['errors']);
    if (errors.length > 0) return warnings.length > 0 ? { errors, warnings } : { errors };
    const raw = r['bytes'];
    if (!Array.isArray(raw)) return { errors: [`encodeDownlink returned bytes that are not an array (got ${kindOf(raw)})`] };
    const bytes: number[] = [];
    for (let i = 0; i < raw.length; i++) {
      const b: unknown = raw[i];
      if (typeof b !== 'number' || !Number.isInteger(b) || b < 0 || b > 255) {
        return { errors: [`encodeDownlink returned bytes[${i}] = ${JSON.stringify(b)}, not a byte (0..255)`] };
      }
      bytes.push(b);
    }
    const fPort = r['fPort'];
    if (fPort !== undefined && fPort !== null && (typeof fPort !== 'number' || !Number.isInteger(fPort) || fPort < 1 || fPort > 223)) {
      return { errors: [`encodeDownlink returned fPort ${JSON.stringify(fPort)}, not an application port (1..223)`] };
    }
    const result: DownlinkEncodeResult = { bytes };
    if (typeof fPort === 'number') result.fPort = fPort;
    if (warnings.length > 0) result.warnings = warnings;
    return result;
  }

  function normalizeUplink(device: string | undefined, data: JsonObject): NormalizeResult {
    if (!isPlainObject(data)) return { readings: [], errors: ['data must be an object'] };
    if (!ops.has('normalizeUplink')) {
      return { readings: [], warnings: ['the script has no normalizeUplink: no normalized readings'] };
    }
    const json = serialize({ data });
    if (typeof json !== 'string') return { readings: [], errors: [json.error] };
    const outcome = invoke(device, 'normalizeUplink', json);
    if (!outcome.ok) return { readings: [], errors: [outcome.error] };
    return mapNormalized(outcome.value);
  }

  /** The script's normalizeUplink result as it returned it (TTN's normalized payload), for example checks. */
  function normalizedPayload(device: string | undefined, data: JsonObject): { data?: unknown; errors?: unknown; warnings?: unknown } {
    if (!ops.has('normalizeUplink')) return { errors: ['the script has no normalizeUplink'] };
    const json = serialize({ data });
    if (typeof json !== 'string') return { errors: [json.error] };
    const outcome = invoke(device, 'normalizeUplink', json);
    return outcome.ok ? outcome.value : { errors: [outcome.error] };
  }

  function view(device: string | undefined): Codec & NormalizedPayloadSource {
    const codec: Codec & NormalizedPayloadSource = {
      id: options.id,
      name: options.name,
      category: options.category,
      fPorts: options.fPorts,
      decodeUplink: (input) => decodeUplink(device, input),
      normalizeUplink: (data, _context?: NormalizeContext) => normalizeUplink(device, data),
      normalizedPayload: (data) => normalizedPayload(device, data),
      encodeUplink: (_input: UplinkEncodeInput): UplinkEncodeResult => ({ errors: ['script codecs have no device-side encoder'] }),
    };
    if (ops.has('encodeDownlink')) codec.encodeDownlink = (input) => encodeDownlink(device, input);
    if (ops.has('decodeDownlink')) codec.decodeDownlink = (input) => decodeDownlink(device, input);
    return codec;
  }

  const views = new Map<string, Codec>();
  const anonymous = view(undefined);
  const scriptCodec: ScriptCodec = {
    ...anonymous,
    style,
    functions,
    forDevice(deviceId: string): Codec {
      if (typeof deviceId !== 'string' || deviceId === '') throw new TypeError('forDevice: deviceId must be a non-empty string');
      let v = views.get(deviceId);
      if (!v) {
        v = Object.freeze(view(deviceId));
        if (views.size >= 4096) views.clear();
        views.set(deviceId, v);
      }
      return v;
    },
    contextCount: () => (disposed ? 0 : engine.contexts(id)),
    statePath: () => (disposed ? undefined : engine.statePath(id)),
    dispose(): void {
      if (disposed) return;
      disposed = true;
      views.clear();
      engine.unload(id);
    },
  };
  return Object.freeze(scriptCodec);
}

/**
 * One codec from two scripts, as a TTN codec YAML may name them: the uplink script's
 * `decodeUplink`/`normalizeUplink`, and `encodeDownlink`/`decodeDownlink` from the downlink
 * script (from the uplink script where the downlink script lacks one). Disposing it disposes
 * both.
 */
export function combineScriptCodecs(uplink: ScriptCodec, downlink: ScriptCodec): ScriptCodec {
  const combine = (up: Codec, down: Codec): Codec => {
    const codec: Codec = { ...up };
    const encode = down.encodeDownlink ?? up.encodeDownlink;
    const decode = down.decodeDownlink ?? up.decodeDownlink;
    if (encode) codec.encodeDownlink = encode;
    if (decode) codec.decodeDownlink = decode;
    return codec;
  };
  const combined: ScriptCodec = {
    ...combine(uplink, downlink),
    style: uplink.style,
    functions: Object.freeze([...new Set([...uplink.functions, ...downlink.functions])]),
    forDevice: (deviceId: string) => Object.freeze(combine(uplink.forDevice(deviceId), downlink.forDevice(deviceId))),
    contextCount: () => uplink.contextCount() + downlink.contextCount(),
    // The two scripts settle their paths alone: report the fresh one if either has it.
    statePath: () => {
      const up = uplink.statePath();
      const down = downlink.statePath();
      return up?.path === 'fresh-context' || down === undefined ? up : down;
    },
    dispose(): void {
      uplink.dispose();
      downlink.dispose();
    },
  };
  return Object.freeze(combined);
}

/**
 * The codec to use for one device: a script codec's view that names the device in its console
 * logs (every call still starts from the script's post-load state), any other codec as is.
 * The gateway calls this once per device.
 */
export function codecForDevice(codec: Codec, deviceId: string): Codec {
  const maybe = codec as Partial<ScriptCodec>;
  return typeof maybe.forDevice === 'function' ? maybe.forDevice(deviceId) : codec;
}

// ---------------------------------------------------------------------------------------------
// TTN normalized payload → lorawan-edge readings

/**
 * The fields of TTN's normalized payload schema (lib/payload.json in the device repository)
 * that have a lorawan-edge reading. Everything else is reported in `warnings` and dropped.
 */
const TTN_NORMALIZED_FIELDS: Readonly<Record<string, string>> = {
  'air.temperature': 'temperature_c',
  'air.relativeHumidity': 'humidity_pct',
  'air.pressure': 'pressure_hpa',
  'air.co2': 'co2_ppm',
  'air.lightIntensity': 'light_lux',
};

function flatten(value: unknown, path: string, out: Array<[string, unknown]>, depth = 0): void {
  if (isPlainObject(value) && depth < 8) {
    for (const [k, v] of Object.entries(value)) flatten(v, path ? `${path}.${k}` : k, out, depth + 1);
  } else {
    out.push([path, value]);
  }
}

function mapNormalized(r: Record<string, unknown>): NormalizeResult {
  const warnings = stringList(r['warnings']);
  const errors = stringList(r['errors']);
  if (errors.length > 0) return { readings: [], errors, ...(warnings.length > 0 ? { warnings } : {}) };
  const data = r['data'];
  const measurements: unknown[] = Array.isArray(data) ? data : data === undefined || data === null ? [] : [data];
  const readings: Reading[] = [];
  const dropped = new Set<string>();
  measurements.forEach((m, index) => {
    if (!isPlainObject(m)) {
      warnings.push(`normalizeUplink measurement ${index} is not an object; dropped`);
      return;
    }
    const fields: Array<[string, unknown]> = [];
    flatten(m, '', fields);
    const values: Record<string, ReadingValue> = {};
    let time: string | undefined;
    for (const [path, value] of fields) {
      if (path === 'time') {
        const t = typeof value === 'string' ? new Date(value) : undefined;
        if (t && !Number.isNaN(t.getTime())) time = t.toISOString();
        else warnings.push(`normalizeUplink measurement ${index} has an invalid time ${JSON.stringify(value)}; using the receive time`);
        continue;
      }
      const name = TTN_NORMALIZED_FIELDS[path];
      if (name === undefined || typeof value !== 'number' || !Number.isFinite(value)) {
        dropped.add(path);
        continue;
      }
      values[name] = value;
    }
    if (Object.keys(values).length > 0) readings.push(time !== undefined ? { time, values } : { values });
  });
  if (dropped.size > 0) {
    warnings.push(`normalized field(s) without a lorawan-edge reading dropped: ${[...dropped].sort().join(', ')}`);
  }
  return warnings.length > 0 ? { readings, warnings } : { readings };
}
