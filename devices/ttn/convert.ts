/**
 * TTN device-repository data → lorawan-edge catalogue data, without I/O:
 * - the codec YAML's examples → our examples file (`codecs/examples.ts`): bytes arrays become
 *   `bytesHex`, `output.data` becomes `expected`, listed `errors`/`warnings` are kept (and then
 *   compared exactly, as TTN's validator does), downlink examples are converted, and a
 *   `normalizedOutput` becomes `expectedNormalized` (compared with the script's normalizeUplink
 *   output, as TTN's validator does), and also `expectedReadings` when every field of it has a
 *   lorawan-edge reading;
 * - the device's `sensors` → a category guess;
 * - the uplink ports of the examples that decode → `fPorts`.
 * What cannot be converted is skipped with a note that says why; a malformed example is left out
 * alone and reported as a failed example (file and path of the value), so one bad example of the
 * repository never keeps a device's other examples from being imported and checked.
 */
import type { Category, JsonValue, Reading, ReadingValue } from '../../codecs/api.ts';
import { toHex } from '../../codecs/bytes.ts';
import type { DownlinkDecoderExample, DownlinkEncoderExample, ExampleFile, ExampleOutcome, UplinkExample } from '../../codecs/examples.ts';
import { isMapping, TtnSourceError, type TtnCodec, type Yaml } from './repository.ts';

/** The category of a device from TTN's `sensors` list; the first rule that matches wins. */
const CATEGORY_RULES: ReadonlyArray<{ category: Category; sensors: readonly string[] }> = [
  { category: 'bin-fill', sensors: ['distance', 'level', 'fill level', 'fill-level', 'ultrasonic'] },
  { category: 'water-meter', sensors: ['water', 'water meter', 'water usage', 'water volume', 'volume', 'flow', 'pulse', 'pulse count', 'pulse counter'] },
  {
    category: 'air-quality',
    sensors: ['co2', 'pm1', 'pm1.0', 'pm2.5', 'pm4', 'pm10', 'particulate matter', 'dust', 'tvoc', 'voc', 'hcho', 'o3', 'ozone', 'no2', 'air quality'],
  },
];

export function guessCategory(sensors: readonly string[]): Category {
  const have = new Set(sensors.map((s) => s.trim().toLowerCase()));
  for (const rule of CATEGORY_RULES) if (rule.sensors.some((s) => have.has(s))) return rule.category;
  return 'generic';
}

/**
 * TTN normalized-payload fields with a lorawan-edge reading. This must agree with the mapping
 * the sandbox applies to a script's normalizeUplink result (codecs/sandbox/script-codec.ts); the
 * imported `expectedReadings` are checked against that mapping by running them.
 */
const NORMALIZED_READINGS: Readonly<Record<string, string>> = {
  'air.temperature': 'temperature_c',
  'air.relativeHumidity': 'humidity_pct',
  'air.pressure': 'pressure_hpa',
  'air.co2': 'co2_ppm',
  'air.lightIntensity': 'light_lux',
};

/** A YAML value as JSON: dates become ISO strings (as JSON.stringify does); NaN/Infinity and other non-JSON values are errors. */
export function toJson(value: unknown, path: string): JsonValue {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`${path}: ${value} is not representable in JSON`);
    return value;
  }
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new Error(`${path}: invalid date`);
    return value.toISOString();
  }
  if (Array.isArray(value)) return value.map((v, i) => toJson(v, `${path}[${i}]`));
  if (isMapping(value)) {
    const out: Record<string, JsonValue> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toJson(v, `${path}.${k}`);
    return out;
  }
  throw new Error(`${path}: ${typeof value} is not representable in JSON`);
}

function bytesHexOf(v: unknown, path: string): string {
  if (!Array.isArray(v)) throw new Error(`${path}: must be a list of bytes`);
  v.forEach((b, i) => {
    if (typeof b !== 'number' || !Number.isInteger(b) || b < 0 || b > 255) throw new Error(`${path}[${i}]: not a byte (0..255): ${JSON.stringify(b)}`);
  });
  return toHex(v as number[]);
}

function portOf(v: unknown, path: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 223) throw new Error(`${path}: must be an application port 1..223, got ${JSON.stringify(v)}`);
  return v;
}

function stringsOf(v: unknown, path: string): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) throw new Error(`${path}: must be a list of strings`);
  return v as string[];
}

function descriptionOf(ex: Yaml, i: number): string {
  return typeof ex['description'] === 'string' && ex['description'].trim() !== '' ? ex['description'].trim() : `example ${i + 1}`;
}

function flatten(value: unknown, path: string, out: Array<[string, unknown]>): void {
  if (isMapping(value)) for (const [k, v] of Object.entries(value)) flatten(v, path ? `${path}.${k}` : k, out);
  else out.push([path, value]);
}

/**
 * `normalizedOutput` → `expectedReadings` of the fields that have a lorawan-edge reading (the
 * others listed in `unmapped`), or the reason there are none to expect. A measurement with no
 * value left (only `time` or unmapped fields) gives no reading, as in the sandbox.
 */
export function readingsOfNormalized(normalized: unknown): { readings: Reading[]; unmapped?: string[] } | { why: string } {
  if (!isMapping(normalized)) return { why: 'normalizedOutput is not a mapping' };
  const errors = normalized['errors'];
  if (Array.isArray(errors) && errors.length > 0) return { why: 'normalizedOutput expects errors' };
  const data = normalized['data'];
  const measurements: unknown[] = Array.isArray(data) ? data : data === undefined || data === null ? [] : [data];
  const readings: Reading[] = [];
  const unmapped = new Set<string>();
  for (const m of measurements) {
    if (!isMapping(m)) return { why: 'a normalizedOutput measurement is not a mapping' };
    const fields: Array<[string, unknown]> = [];
    flatten(m, '', fields);
    const values: Record<string, ReadingValue> = {};
    let time: string | undefined;
    for (const [path, value] of fields) {
      if (path === 'time') {
        const t = value instanceof Date ? value : typeof value === 'string' ? new Date(value) : undefined;
        if (!t || Number.isNaN(t.getTime())) return { why: `normalizedOutput has an invalid time ${JSON.stringify(value)}` };
        time = t.toISOString();
        continue;
      }
      const name = NORMALIZED_READINGS[path];
      if (name === undefined || typeof value !== 'number' || !Number.isFinite(value)) unmapped.add(path);
      else values[name] = value;
    }
    if (Object.keys(values).length > 0) readings.push(time !== undefined ? { time, values } : { values });
  }
  // The fields that map give their readings, as the sandbox's mapping (which drops the others
  // with a warning) gives them.
  return unmapped.size > 0 ? { readings, unmapped: [...unmapped].sort() } : { readings };
}

export interface ConvertedExamples {
  file: ExampleFile;
  /** What was skipped or changed, and why; one line each. */
  notes: string[];
  /** Malformed examples, left out of `file`: each a failed outcome naming the file and the path of the bad value. */
  malformed: ExampleOutcome[];
}

const OUTCOME_KIND = { uplinkDecoder: 'uplink', downlinkEncoder: 'downlink-encode', downlinkDecoder: 'downlink-decode' } as const;

/**
 * Converts the examples of a codec YAML. `downlinkInScript` says whether each downlink section
 * names a script the entry has (the uplink script or its one downlinkScript; examples of a
 * downlink codec in a third file are not imported). A malformed example goes to `malformed`
 * (the codec file and the example's path in its problem), the others are converted.
 */
export function convertExamples(codec: TtnCodec, shownFile: string, downlinkInScript: { encoder: boolean; decoder: boolean }): ConvertedExamples {
  const notes: string[] = [];
  const file: ExampleFile = {};
  const malformed: ExampleOutcome[] = [];
  const at = (section: string, i: number): string => `${section}.examples[${i}]`;
  const guard = <T>(section: keyof typeof OUTCOME_KIND, i: number, raw: unknown, f: () => T): T | undefined => {
    try {
      return f();
    } catch (err) {
      if (err instanceof TtnSourceError) throw err;
      const message = (err as Error).message.startsWith(at(section, i)) ? (err as Error).message : `${at(section, i)}: ${(err as Error).message}`;
      const description = isMapping(raw) ? descriptionOf(raw, i) : `example ${i + 1}`;
      malformed.push({ kind: OUTCOME_KIND[section], description, pass: false, problem: `malformed in the repository, not run: ${shownFile}: ${message}` });
      return undefined;
    }
  };

  const uplinks: UplinkExample[] = [];
  (codec.uplinkDecoder?.examples ?? []).forEach((raw, i) => {
    const converted = guard('uplinkDecoder', i, raw, () => {
      const p = at('uplinkDecoder', i);
      if (!isMapping(raw)) throw new Error(`${p}: must be a mapping {description, input, output}`);
      const input = raw['input'];
      const output = raw['output'] ?? {};
      if (!isMapping(input)) throw new Error(`${p}.input: is required ({fPort, bytes})`);
      if (!isMapping(output)) throw new Error(`${p}.output: must be a mapping {data, errors?, warnings?}`);
      const description = descriptionOf(raw, i);
      const errors = stringsOf(output['errors'], `${p}.output.errors`);
      const warnings = stringsOf(output['warnings'], `${p}.output.warnings`);
      const failing = errors !== undefined && errors.length > 0;
      let expected: JsonValue | null;
      if (failing) {
        expected = null;
        if (output['data'] !== undefined && output['data'] !== null) {
          notes.push(`uplink example "${description}": output.data is ignored next to errors (a result with errors has no data, as in The Things Stack)`);
        }
      } else {
        if (output['data'] === undefined || output['data'] === null) throw new Error(`${p}.output: has neither data nor errors`);
        expected = toJson(output['data'], `${p}.output.data`);
      }
      const ex: UplinkExample = {
        description,
        fPort: portOf(input['fPort'], `${p}.input.fPort`),
        bytesHex: bytesHexOf(input['bytes'], `${p}.input.bytes`),
        expected,
      };
      const recv = input['recvTime'];
      if (recv !== undefined) {
        const t = recv instanceof Date ? recv : new Date(String(recv));
        if (Number.isNaN(t.getTime())) throw new Error(`${p}.input.recvTime: not a time: ${JSON.stringify(recv)}`);
        ex.recvTime = t.toISOString();
      }
      if (errors !== undefined) ex.errors = errors;
      if (warnings !== undefined) ex.warnings = warnings;
      const normalizedOutput = raw['normalizedOutput'];
      if (normalizedOutput !== undefined && failing) {
        notes.push(`uplink example "${description}": normalizedOutput is ignored next to errors (nothing is decoded to normalize)`);
      } else if (normalizedOutput !== undefined) {
        // Checked as TTN's validator checks it: the script's normalizeUplink output itself.
        if (!isMapping(normalizedOutput)) throw new Error(`${p}.normalizedOutput: must be a mapping {data, errors?, warnings?}`);
        ex.expectedNormalized = toJson(normalizedOutput, `${p}.normalizedOutput`);
        // And, where every field has one, the lorawan-edge readings made from it.
        const r = readingsOfNormalized(normalizedOutput);
        if ('why' in r) {
          notes.push(`uplink example "${description}": ${r.why}; its normalized output is checked as TTN does, no readings are expected`);
        } else {
          ex.expectedReadings = r.readings;
          if (r.unmapped) notes.push(`uplink example "${description}": normalizedOutput field(s) without a lorawan-edge reading: ${r.unmapped.join(', ')}; checked as TTN does, the readings only from the fields that map`);
        }
      }
      return ex;
    });
    if (converted) uplinks.push(converted);
  });
  if (uplinks.length > 0) file.examples = uplinks;

  const encoders: DownlinkEncoderExample[] = [];
  const encSection = codec.downlinkEncoder;
  if (encSection && !downlinkInScript.encoder && encSection.examples.length > 0) {
    notes.push(`downlinkEncoder is in a third file (${encSection.fileName}), besides the uplink decoder's and the downlink script: its ${encSection.examples.length} example(s) are not imported`);
  } else if (encSection) {
    encSection.examples.forEach((raw, i) => {
      guard('downlinkEncoder', i, raw, () => {
        const p = at('downlinkEncoder', i);
        if (!isMapping(raw)) throw new Error(`${p}: must be a mapping {description, input, output}`);
        const input = raw['input'];
        const output = raw['output'];
        if (!isMapping(input) || !isMapping(input['data'])) throw new Error(`${p}.input.data: is required (a mapping)`);
        if (!isMapping(output)) throw new Error(`${p}.output: is required ({bytes, fPort})`);
        const description = descriptionOf(raw, i);
        // The Things Stack hands an encoder {data} only (its runner's input has data and fPort):
        // other keys of the example's input never reach the script, here as there.
        const dropped = Object.keys(input).filter((k) => k !== 'data' && k !== 'fPort');
        if (dropped.length > 0) notes.push(`downlink encoder example "${description}": input ${dropped.join(', ')} beside data never reaches the script (The Things Stack passes only data)`);
        const errors = stringsOf(output['errors'], `${p}.output.errors`);
        const warnings = stringsOf(output['warnings'], `${p}.output.warnings`);
        const failing = errors !== undefined && errors.length > 0;
        let expected: DownlinkEncoderExample['expected'] = null;
        if (!failing) {
          expected = { bytesHex: bytesHexOf(output['bytes'], `${p}.output.bytes`) };
          if (output['fPort'] !== undefined) expected.fPort = portOf(output['fPort'], `${p}.output.fPort`);
        }
        const ex: DownlinkEncoderExample = { description, input: { data: toJson(input['data'], `${p}.input.data`) as Record<string, JsonValue> }, expected };
        if (errors !== undefined) ex.errors = errors;
        if (warnings !== undefined) ex.warnings = warnings;
        encoders.push(ex);
      });
    });
  }
  if (encoders.length > 0) file.downlinkEncoderExamples = encoders;

  const decoders: DownlinkDecoderExample[] = [];
  const decSection = codec.downlinkDecoder;
  if (decSection && !downlinkInScript.decoder && decSection.examples.length > 0) {
    notes.push(`downlinkDecoder is in a third file (${decSection.fileName}), besides the uplink decoder's and the downlink script: its ${decSection.examples.length} example(s) are not imported`);
  } else if (decSection) {
    decSection.examples.forEach((raw, i) => {
      const converted = guard('downlinkDecoder', i, raw, () => {
        const p = at('downlinkDecoder', i);
        if (!isMapping(raw)) throw new Error(`${p}: must be a mapping {description, input, output}`);
        const input = raw['input'];
        const output = raw['output'] ?? {};
        if (!isMapping(input)) throw new Error(`${p}.input: is required ({fPort, bytes})`);
        if (!isMapping(output)) throw new Error(`${p}.output: must be a mapping {data, errors?}`);
        const description = descriptionOf(raw, i);
        const errors = stringsOf(output['errors'], `${p}.output.errors`);
        const failing = errors !== undefined && errors.length > 0;
        if (!failing && (output['data'] === undefined || output['data'] === null)) throw new Error(`${p}.output: has neither data nor errors`);
        const warnings = stringsOf(output['warnings'], `${p}.output.warnings`);
        const ex: DownlinkDecoderExample = {
          description,
          fPort: portOf(input['fPort'], `${p}.input.fPort`),
          bytesHex: bytesHexOf(input['bytes'], `${p}.input.bytes`),
          expected: failing ? null : toJson(output['data'], `${p}.output.data`),
        };
        if (errors !== undefined) ex.errors = errors;
        if (warnings !== undefined) ex.warnings = warnings;
        return ex;
      });
      if (converted) decoders.push(converted);
    });
  }
  if (decoders.length > 0) file.downlinkDecoderExamples = decoders;
  return { file, notes, malformed };
}

/** The uplink ports of the examples that decode (an "Unknown FPort" example that expects errors does not count). */
export function fPortsOf(file: ExampleFile): number[] {
  return [...new Set((file.examples ?? []).filter((e) => e.expected !== null).map((e) => e.fPort))].sort((a, b) => a - b);
}

/** The downlink port the encoder examples agree on, if they do. */
export function downlinkPortOf(file: ExampleFile): number | undefined {
  const ports = new Set((file.downlinkEncoderExamples ?? []).map((e) => e.expected?.fPort).filter((p): p is number => p !== undefined));
  return ports.size === 1 ? [...ports][0] : undefined;
}

/** A one-line catalogue `name` from TTN's name and description. */
export function oneLineName(vendorName: string, model: string, description: string | undefined, max = 120): string {
  const head = `${vendorName} ${model}`;
  if (!description) return head;
  const flat = description.replace(/\s+/g, ' ').trim();
  const sentence = (/^(.+?[.!?])(\s|$)/.exec(flat)?.[1] ?? flat).replace(/[.!?]$/, '');
  const full = `${head}: ${sentence}`;
  return full.length <= max ? full : `${full.slice(0, max - 1).trimEnd()}…`;
}
