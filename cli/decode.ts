/**
 * `lorawan-edge decode --device <id> --fport <n> <hex|base64>`
 * `lorawan-edge decode --device <id> --jsonl < lines`
 *
 * Prints `{"data":…, "errors":[…], "warnings":[…], "readings":[…]}` per uplink. In --jsonl mode
 * every input line gives exactly one output line, in order; a bad line gives a line with
 * `errors` and decoding goes on. Exit code 1 when any decode produced errors.
 */
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import type { Codec, JsonObject, Reading } from '../codecs/api.ts';
import { fromBase64, fromHex } from '../codecs/bytes.ts';
import type { DeviceEntry } from '../devices/catalogue.ts';
import { checkVariables, declaredVariables } from '../devices/variables.ts';
import { lookupCodec } from './codec-lookup.ts';
import { EXIT_ERRORS, EXIT_OK, parseVariables, UsageError, type Io } from './usage.ts';

export const DECODE_HELP = `Usage: lorawan-edge decode --device <id> --fport <n> [options] <hex|base64>
       lorawan-edge decode --device <id> --jsonl [options] < uplinks.jsonl

Decodes an uplink payload with the device's codec and prints one JSON object
{"data":…, "errors":[…], "warnings":[…], "readings":[…]}.

Options:
  --device <id>          catalogue device id (see "lorawan-edge devices") or codec id
  --fport <n>            LoRaWAN FPort of the uplink, 0..223 (application data: 1..223;
                         0 carries MAC commands); a catalogue device accepts its own ports
  --encoding <hex|base64> how to read the payload (default: hex when it is valid hex, else base64)
  --var <key=value>      device variable, repeatable (e.g. --var container_depth_mm=1200)
  --recv-time <iso>      receive time (default: now); history records are timed from it
  --jsonl                read lines {"fPort":n,"bytesHex":"…"} or {"fPort":n,"bytesBase64":"…"}
                         (optional "variables", "recvTime") from stdin, one result line each
  --pretty               indent the JSON output

Exit codes: 0 decoded, 1 the decode produced errors, 2 usage error.`;

export interface DecodeOutput {
  data: JsonObject | null;
  errors: string[];
  warnings: string[];
  readings: Reading[];
}

function variablesFor(entry: DeviceEntry | undefined, overrides: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(entry?.variables ?? {})) if (v.default !== undefined) out[k] = v.default;
  return { ...out, ...checkedVariables(entry, overrides, (problems) => new UsageError(`--var ${problems}`)) };
}

/**
 * Variables checked against the catalogue entry's declaration (a bare codec id has none to check
 * against: only non-finite numbers are refused). `fail` turns the problems into the error thrown.
 */
function checkedVariables(entry: DeviceEntry | undefined, values: Record<string, unknown>, fail: (problems: string) => Error): Record<string, unknown> {
  const r = checkVariables(values, entry ? declaredVariables(entry) : undefined, 'write', entry?.id);
  if (r.problems.length) throw fail(r.problems.map((p) => `${p.name}: ${p.message}`).join('; '));
  return r.values;
}

export function decodeOne(codec: Codec, bytes: Uint8Array, fPort: number, variables: Record<string, unknown>, recvTime: Date): DecodeOutput {
  const r = codec.decodeUplink({ bytes, fPort, variables, recvTime });
  const errors = [...(r.errors ?? [])];
  const warnings = [...(r.warnings ?? [])];
  let readings: Reading[] = [];
  if (r.data) {
    const n = codec.normalizeUplink(r.data, { variables, recvTime });
    readings = n.readings;
    warnings.push(...(n.warnings ?? []));
    errors.push(...(n.errors ?? []));
  }
  return { data: r.data ?? null, errors, warnings, readings };
}

function parsePayload(text: string, encoding: string | undefined): Uint8Array {
  if (encoding !== undefined && encoding !== 'hex' && encoding !== 'base64') {
    throw new UsageError(`--encoding must be hex or base64, not "${encoding}"`);
  }
  if (encoding !== 'base64') {
    const hex = fromHex(text);
    if (hex) return hex;
    // All hex digits but one short: a digit was lost in copying. Guessing base64 here would
    // decode garbage without a word.
    if (/^(0x)?[0-9a-fA-F]+$/.test(text) && text.replace(/^0x/, '').length % 2 === 1) {
      throw new UsageError(`payload has an odd number of hex digits (${text.replace(/^0x/, '').length}): each byte is two digits, one is missing or extra (use --encoding base64 if it is base64)`);
    }
    if (encoding === 'hex') throw new UsageError(`payload is not valid hex: "${text}"`);
  }
  const b64 = fromBase64(text);
  if (b64) return b64;
  throw new UsageError(`payload is neither hex nor base64: "${text}"`);
}

/** The FPorts --fport accepts: 0 (MAC commands, the codec says so) and the application ports. */
export const FPORT_MIN = 0;
export const FPORT_MAX = 223;

function parsePort(text: string | undefined): number {
  if (text === undefined) throw new UsageError(`--fport is required (the uplink FPort, ${FPORT_MIN}..${FPORT_MAX})`);
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < FPORT_MIN || n > FPORT_MAX) throw new UsageError(`--fport must be an integer ${FPORT_MIN}..${FPORT_MAX}, not "${text}"`);
  return n;
}

/** A port the catalogue entry does not list is a typo more often than a new firmware. */
function unknownPortMessage(entry: DeviceEntry | undefined, fPort: number): string | undefined {
  if (!entry || entry.fPorts.length === 0 || fPort === 0 || entry.fPorts.includes(fPort)) return undefined;
  return `fPort ${fPort} is not an uplink port of ${entry.id}: it uses ${entry.fPorts.join(', ')}`;
}

function parseTime(text: string | undefined): Date {
  if (text === undefined) return new Date();
  const d = new Date(text);
  if (Number.isNaN(d.getTime())) throw new UsageError(`--recv-time is not an ISO 8601 time: "${text}"`);
  return d;
}

/** One --jsonl input line → result; problems with the line itself become errors. */
function decodeLine(codec: Codec, entry: DeviceEntry | undefined, line: string, baseVariables: Record<string, unknown>, defaultTime: Date): DecodeOutput {
  const fail = (message: string): DecodeOutput => ({ data: null, errors: [message], warnings: [], readings: [] });
  let obj: unknown;
  try {
    obj = JSON.parse(line);
  } catch (err) {
    return fail(`input line is not JSON: ${(err as Error).message}`);
  }
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) return fail('input line must be a JSON object {"fPort":n,"bytesHex":"…"}');
  const o = obj as Record<string, unknown>;
  if (typeof o['fPort'] !== 'number') return fail('input line has no numeric "fPort"');
  let bytes: Uint8Array | undefined;
  if (typeof o['bytesHex'] === 'string') {
    bytes = fromHex(o['bytesHex']);
    if (!bytes) return fail('"bytesHex" is not valid hex');
  } else if (typeof o['bytesBase64'] === 'string') {
    bytes = fromBase64(o['bytesBase64']);
    if (!bytes) return fail('"bytesBase64" is not valid base64');
  } else {
    return fail('input line needs "bytesHex" or "bytesBase64"');
  }
  const vars = o['variables'];
  if (vars !== undefined && (typeof vars !== 'object' || vars === null || Array.isArray(vars))) return fail('"variables" must be an object');
  let recvTime = defaultTime;
  if (o['recvTime'] !== undefined) {
    recvTime = new Date(String(o['recvTime']));
    if (Number.isNaN(recvTime.getTime())) return fail('"recvTime" is not an ISO 8601 time');
  }
  const portProblem = unknownPortMessage(entry, o['fPort']);
  if (portProblem) return fail(portProblem);
  let lineVars: Record<string, unknown>;
  try {
    lineVars = checkedVariables(entry, (vars as Record<string, unknown> | undefined) ?? {}, (problems) => new Error(`"variables": ${problems}`));
  } catch (err) {
    return fail((err as Error).message);
  }
  return decodeOne(codec, bytes, o['fPort'], { ...baseVariables, ...lineVars }, recvTime);
}

export async function runDecode(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      device: { type: 'string' },
      fport: { type: 'string' },
      encoding: { type: 'string' },
      var: { type: 'string', multiple: true },
      'recv-time': { type: 'string' },
      jsonl: { type: 'boolean', default: false },
      pretty: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    io.stdout.write(`${DECODE_HELP}\n`);
    return EXIT_OK;
  }
  if (!values.device) throw new UsageError('--device is required (see "lorawan-edge devices")');
  const recvTime = parseTime(values['recv-time']);
  const cliVars = parseVariables(values.var);
  const indent = values.pretty ? 2 : undefined;

  if (values.jsonl) {
    if (positionals.length > 0) throw new UsageError('--jsonl reads payloads from stdin; do not pass one as an argument');
    const { codec, entry } = await lookupCodec(values.device);
    const base = variablesFor(entry, cliVars);
    let anyErrors = false;
    const rl = createInterface({ input: io.stdin, crlfDelay: Infinity });
    for await (const line of rl) {
      const out = decodeLine(codec, entry, line, base, recvTime);
      if (out.errors.length > 0) anyErrors = true;
      io.stdout.write(`${JSON.stringify(out, null, indent)}\n`);
    }
    return anyErrors ? EXIT_ERRORS : EXIT_OK;
  }

  if (positionals.length !== 1) throw new UsageError('expected exactly one payload (hex or base64) after the options');
  const fPort = parsePort(values.fport);
  const bytes = parsePayload(positionals[0] as string, values.encoding);
  const { codec, entry } = await lookupCodec(values.device);
  const portProblem = unknownPortMessage(entry, fPort);
  if (portProblem) throw new UsageError(`${portProblem} (see "lorawan-edge devices")`);
  const out = decodeOne(codec, bytes, fPort, variablesFor(entry, cliVars), recvTime);
  io.stdout.write(`${JSON.stringify(out, null, indent)}\n`);
  return out.errors.length > 0 ? EXIT_ERRORS : EXIT_OK;
}
