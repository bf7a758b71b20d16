/**
 * Executable examples: the one runner used by `lorawan-edge codec test`, `npm run validate`, the
 * unit tests and the vendor-vector conformance tests, so what the catalogue promises is what
 * production code does.
 *
 * The file shape follows the public vector files (`../shared/vendor-vectors`, see
 * devices-and-payload-formats.md §2) plus `expectedReadings` for `normalizeUplink`, and
 * `expectedNormalized`, a TTN example's `normalizedOutput` as written, for a script codec:
 *
 *   { "examples": [{description, fPort, bytesHex, variables?, recvTime?, expected: {…}|null,
 *                   errors?, warnings?, expectedReadings?: Reading[],
 *                   expectedNormalized?: {data, errors?, warnings?}}],
 *     "downlinkEncoderExamples": [{description, input: {data}, expected: {fPort, bytesHex}|null,
 *                                  errors?, warnings?}],
 *     "downlinkDecoderExamples": [{description, fPort, bytesHex, expected, errors?, warnings?}] }
 *
 * Comparison mirrors The Things Network's validator: the decoder result goes through JSON, then
 * deep equality with `expected` (key order irrelevant); `errors`/`warnings` are compared only when
 * the example lists them, and then exactly; `expected: null` means no data (an encoder example
 * with `expected: null` must fail: the TTN repository has encoder examples that expect `errors`,
 * and The Things Stack's validator runs them like the others). `floatTolerance`
 * (Cayenne LPP) relaxes number comparison.
 */
import type { Codec, JsonObject, JsonValue, Reading } from './api.ts';
import { fromHex, toHex } from './bytes.ts';

export interface UplinkExample {
  description: string;
  fPort: number;
  bytesHex: string;
  variables?: Record<string, unknown>;
  recvTime?: string;
  expected: JsonValue | null;
  errors?: string[];
  warnings?: string[];
  expectedReadings?: Reading[];
  /**
   * What the script's own `normalizeUplink` must return for the decoded data (TTN's
   * `normalizedOutput`): `data` compared as `expected` is, `errors`/`warnings` when listed.
   */
  expectedNormalized?: JsonValue;
}

/**
 * A codec that can give its script's normalizeUplink result as the script returned it (TTN's
 * normalized payload), before lorawan-edge maps it to readings: the script codecs.
 */
export interface NormalizedPayloadSource {
  normalizedPayload(data: JsonObject): { data?: unknown; errors?: unknown; warnings?: unknown };
}

function hasNormalizedPayload(codec: Codec): codec is Codec & NormalizedPayloadSource {
  return typeof (codec as Partial<NormalizedPayloadSource>).normalizedPayload === 'function';
}

export interface DownlinkEncoderExample {
  description: string;
  input: { data: Record<string, JsonValue> };
  /** null = encoding must fail (then `errors`, when listed, must match). */
  expected: { fPort?: number; bytesHex: string } | null;
  errors?: string[];
  warnings?: string[];
}

export interface DownlinkDecoderExample {
  description: string;
  fPort: number;
  bytesHex: string;
  /** null = decoding must fail (then `errors`, when listed, must match). */
  expected: JsonValue | null;
  errors?: string[];
  warnings?: string[];
}

export interface ExampleFile {
  floatTolerance?: number;
  examples?: UplinkExample[];
  downlinkEncoderExamples?: DownlinkEncoderExample[];
  downlinkDecoderExamples?: DownlinkDecoderExample[];
  vendorDocExamples?: UplinkExample[];
}

export interface ExampleOutcome {
  kind: 'uplink' | 'normalize' | 'normalized-output' | 'downlink-encode' | 'downlink-decode';
  description: string;
  pass: boolean;
  /** What differed, for humans. */
  problem?: string;
}

/** Deep equality of JSON values; numbers within `tol` when given. Key order is irrelevant. */
export function jsonEqual(a: unknown, b: unknown, tol = 0): boolean {
  if (typeof a === 'number' && typeof b === 'number') {
    return tol > 0 ? Math.abs(a - b) <= tol : a === b;
  }
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return a === b;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((v, i) => jsonEqual(v, b[i], tol));
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && jsonEqual((a as never)[k], (b as never)[k], tol));
}

/** The first differing path between actual and expected, for a readable failure. */
export function firstDifference(actual: unknown, expected: unknown, tol = 0, path = ''): string | undefined {
  if (jsonEqual(actual, expected, tol)) return undefined;
  if (actual && expected && typeof actual === 'object' && typeof expected === 'object' && Array.isArray(actual) === Array.isArray(expected)) {
    const keys = new Set([...Object.keys(actual), ...Object.keys(expected)]);
    for (const k of keys) {
      const d = firstDifference((actual as never)[k], (expected as never)[k], tol, `${path}${Array.isArray(actual) ? `[${k}]` : `.${k}`}`);
      if (d) return d;
    }
  }
  return `${path || '(root)'}: got ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`;
}

/** Differences in the `errors`/`warnings` an example lists (compared exactly; unlisted ones are not checked). */
function listedMessages(result: { errors?: unknown; warnings?: unknown }, ex: { errors?: string[]; warnings?: string[] }): string[] {
  const out: string[] = [];
  for (const key of ['errors', 'warnings'] as const) {
    const listed = ex[key];
    if (listed === undefined) continue;
    const d = firstDifference(result[key] ?? [], listed, 0, key);
    if (d) out.push(d);
  }
  return out;
}

function roundTrip(v: unknown): unknown {
  return v === undefined ? undefined : JSON.parse(JSON.stringify(v));
}

function runUplink(codec: Codec, ex: UplinkExample, tol: number): ExampleOutcome[] {
  const out: ExampleOutcome[] = [];
  const bytes = fromHex(ex.bytesHex);
  if (!bytes) return [{ kind: 'uplink', description: ex.description, pass: false, problem: `bytesHex is not hex: ${ex.bytesHex}` }];
  const recvTime = ex.recvTime ? new Date(ex.recvTime) : undefined;
  const result = roundTrip(
    codec.decodeUplink({ bytes, fPort: ex.fPort, ...(ex.variables ? { variables: ex.variables } : {}), ...(recvTime ? { recvTime } : {}) }),
  ) as { data?: unknown; errors?: unknown; warnings?: unknown };
  const problems: string[] = [];
  if (ex.expected === null) {
    if (result.data !== undefined && result.data !== null) problems.push(`expected no data, got ${JSON.stringify(result.data)}`);
  } else {
    const d = firstDifference(result.data, ex.expected, tol, 'data');
    if (d) problems.push(d);
  }
  if (ex.errors !== undefined) {
    const d = firstDifference(result.errors ?? [], ex.errors, 0, 'errors');
    if (d) problems.push(d);
  }
  if (ex.warnings !== undefined) {
    const d = firstDifference(result.warnings ?? [], ex.warnings, 0, 'warnings');
    if (d) problems.push(d);
  }
  out.push({ kind: 'uplink', description: ex.description, pass: problems.length === 0, ...(problems.length ? { problem: problems.join('; ') } : {}) });

  if (ex.expectedReadings !== undefined) {
    const data = result.data;
    const normalized =
      data && typeof data === 'object'
        ? codec.normalizeUplink(data as never, { ...(ex.variables ? { variables: ex.variables } : {}), ...(recvTime ? { recvTime } : {}) })
        : { readings: [] };
    const d = firstDifference(roundTrip(normalized.readings), ex.expectedReadings, tol, 'readings');
    out.push({ kind: 'normalize', description: ex.description, pass: !d, ...(d ? { problem: d } : {}) });
  }
  if (ex.expectedNormalized !== undefined) out.push(checkNormalized(codec, ex, result.data, tol));
  return out;
}

/** The script's normalizeUplink result against TTN's `normalizedOutput`, as TTN's validator compares them. */
function checkNormalized(codec: Codec, ex: UplinkExample, data: unknown, tol: number): ExampleOutcome {
  const at = { kind: 'normalized-output' as const, description: ex.description };
  const expected = ex.expectedNormalized;
  if (!hasNormalizedPayload(codec)) return { ...at, pass: false, problem: 'the codec has no script normalizeUplink to compare normalizedOutput with' };
  if (expected === null || typeof expected !== 'object' || Array.isArray(expected)) return { ...at, pass: false, problem: 'expectedNormalized is not an object {data, errors?, warnings?}' };
  if (data === null || typeof data !== 'object' || Array.isArray(data)) return { ...at, pass: false, problem: 'the uplink decoded to no data to normalize' };
  const got = roundTrip(codec.normalizedPayload(data as JsonObject)) as { data?: unknown; errors?: unknown; warnings?: unknown };
  const problems: string[] = [];
  // The Things Stack keeps a normalized payload as a list of measurements: one measurement
  // object is the list of it (the repository's examples write lists; scripts return either).
  const measurements = (v: unknown): unknown => (v !== null && typeof v === 'object' && !Array.isArray(v) ? [v] : v);
  const d = firstDifference(measurements(got.data), measurements(expected['data']), tol, 'normalized data');
  if (d) problems.push(d);
  problems.push(...listedMessages(got, expected as { errors?: string[]; warnings?: string[] }));
  return { ...at, pass: problems.length === 0, ...(problems.length ? { problem: problems.join('; ') } : {}) };
}

export function runExampleFile(codec: Codec, file: ExampleFile, options: { includeVendorDoc?: boolean } = {}): ExampleOutcome[] {
  const tol = file.floatTolerance ?? 0;
  const outcomes: ExampleOutcome[] = [];
  const uplinks = [...(file.examples ?? []), ...(options.includeVendorDoc ? (file.vendorDocExamples ?? []) : [])];
  for (const ex of uplinks) outcomes.push(...runUplink(codec, ex, tol));

  for (const ex of file.downlinkEncoderExamples ?? []) {
    if (!codec.encodeDownlink) {
      outcomes.push({ kind: 'downlink-encode', description: ex.description, pass: false, problem: 'codec has no encodeDownlink' });
      continue;
    }
    const r = codec.encodeDownlink({ data: ex.input.data });
    const problems: string[] = [];
    const hex = r.bytes ? toHex(r.bytes) : undefined;
    if (ex.expected === null) {
      if (!r.errors?.length) problems.push(`expected errors, got bytes ${hex}`);
    } else {
      if (r.errors?.length) problems.push(`errors: ${r.errors.join('; ')}`);
      if (hex !== ex.expected.bytesHex.toLowerCase()) problems.push(`bytes: got ${hex}, expected ${ex.expected.bytesHex.toLowerCase()}`);
      if (ex.expected.fPort !== undefined && r.fPort !== ex.expected.fPort) problems.push(`fPort: got ${r.fPort}, expected ${ex.expected.fPort}`);
    }
    problems.push(...listedMessages(r, ex));
    outcomes.push({ kind: 'downlink-encode', description: ex.description, pass: problems.length === 0, ...(problems.length ? { problem: problems.join('; ') } : {}) });
  }

  for (const ex of file.downlinkDecoderExamples ?? []) {
    if (!codec.decodeDownlink) {
      outcomes.push({ kind: 'downlink-decode', description: ex.description, pass: false, problem: 'codec has no decodeDownlink' });
      continue;
    }
    const bytes = fromHex(ex.bytesHex);
    if (!bytes) {
      outcomes.push({ kind: 'downlink-decode', description: ex.description, pass: false, problem: 'bytesHex is not hex' });
      continue;
    }
    const r = roundTrip(codec.decodeDownlink({ bytes, fPort: ex.fPort })) as { data?: unknown; errors?: unknown; warnings?: unknown };
    const problems: string[] = [];
    if (ex.expected === null) {
      if (r.data !== undefined && r.data !== null) problems.push(`expected no data, got ${JSON.stringify(r.data)}`);
    } else {
      const d = firstDifference(r.data, ex.expected, tol, 'data');
      if (d) problems.push(d);
    }
    problems.push(...listedMessages(r, ex));
    outcomes.push({ kind: 'downlink-decode', description: ex.description, pass: problems.length === 0, ...(problems.length ? { problem: problems.join('; ') } : {}) });
  }
  return outcomes;
}
