/**
 * `npm run validate`: checks the whole catalogue and reports every problem at once, each with
 * its file and field, the way TTN's device-repository validator does:
 * - each YAML file against device.schema.json, id = path, vendor = id prefix;
 * - the codec exists (native registry or script file) and loads through `resolveCodec`, the
 *   same loader the gateway and the CLI use;
 * - category, fPorts and readings agree with the codec and the reading vocabulary (units too);
 * - every executable example of the codec passes through that loaded codec;
 * - a script codec lists every reading its normalizeUplink gives for its examples (a script
 *   without normalizeUplink may list none: `readings: {}`);
 * - every native codec is used by at least one catalogue entry.
 */
import { checkValue } from './variables.ts';
import { relative, resolve } from 'node:path';
import type { Codec } from '../codecs/api.ts';
import { fromHex } from '../codecs/bytes.ts';
import { runExampleFile, type ExampleFile, type ExampleOutcome } from '../codecs/examples.ts';
import { readingField } from '../codecs/readings.ts';
import { NATIVE_CODECS } from '../codecs/registry.ts';
import { CATALOGUE_DIR, loadCatalogue, type CatalogueProblem, type DeviceEntry } from './catalogue.ts';
import { examplesOf, resolveCodec } from './resolve.ts';

export interface ValidationReport {
  devices: number;
  examples: number;
  problems: CatalogueProblem[];
}

export interface EntryCheck {
  problems: CatalogueProblem[];
  /** Number of example outcomes (uplink, normalize, downlink) run. */
  examples: number;
  /** Every example outcome, pass or fail (`lorawan-edge codec import-ttn` prints them). */
  outcomes: ExampleOutcome[];
}

/** Reading names a codec's normalizeUplink gives for the decodable uplink examples, with the first example giving each. */
export function readingsOfExamples(codec: Codec, file: ExampleFile): Map<string, string> {
  const found = new Map<string, string>();
  for (const ex of file.examples ?? []) {
    const bytes = ex.expected === null ? undefined : fromHex(ex.bytesHex);
    if (!bytes) continue;
    const recvTime = ex.recvTime ? new Date(ex.recvTime) : undefined;
    const ctx = { ...(ex.variables ? { variables: ex.variables } : {}), ...(recvTime ? { recvTime } : {}) };
    const r = codec.decodeUplink({ bytes, fPort: ex.fPort, ...ctx });
    if (!r.data) continue;
    for (const reading of codec.normalizeUplink(r.data, ctx).readings) {
      for (const name of Object.keys(reading.values)) if (!found.has(name)) found.set(name, ex.description);
    }
  }
  return found;
}

/** Checks one entry: readings, codec (loaded as production loads it), ports, every example. */
export async function checkEntry(entry: DeviceEntry, shown: string, dir = CATALOGUE_DIR): Promise<EntryCheck> {
  const problems: CatalogueProblem[] = [];
  const problem = (field: string, message: string): void => {
    problems.push({ file: shown, field, message });
  };

  for (const [name, unit] of Object.entries(entry.readings)) {
    const field = readingField(name);
    if (!field) problem(`readings.${name}`, 'unknown reading name (see codecs/readings.ts)');
    else if ((field.unit ?? '') !== unit) problem(`readings.${name}`, `unit must be "${field.unit ?? ''}", not "${unit}"`);
  }

  // Declared variables must make sense themselves: the default passes the declaration, `below`
  // names another declared variable (variables.ts checks every value set against them).
  for (const [name, spec] of Object.entries(entry.variables ?? {})) {
    if (spec.default !== undefined) {
      const r = checkValue(spec, spec.default);
      if ('error' in r) problem(`variables.${name}.default`, r.error);
    }
    if (spec.below !== undefined && !(entry.variables && Object.hasOwn(entry.variables, spec.below))) problem(`variables.${name}.below`, `"${spec.below}" is not a declared variable`);
  }

  let codec;
  try {
    codec = await resolveCodec(entry);
  } catch (err) {
    problem('codec', (err as Error).message);
    return { problems, examples: 0, outcomes: [] };
  }
  if (codec.category !== 'generic' && codec.category !== entry.category) {
    problem('category', `"${entry.category}" does not match codec ${codec.id} (category ${codec.category})`);
  }
  if (codec.fPorts.length > 0) {
    for (const p of entry.fPorts) if (!codec.fPorts.includes(p)) problem('fPorts', `port ${p} is not handled by codec ${codec.id} (ports ${codec.fPorts.join(', ')})`);
  }
  if (entry.downlink?.supported && !codec.encodeDownlink) problem('downlink.supported', `codec ${codec.id} has no encodeDownlink`);

  const ex = examplesOf(entry);
  if (!ex) {
    problem('codec', 'no executable examples (examples.json beside the codec, or codec.examples for scripts)');
    return { problems, examples: 0, outcomes: [] };
  }
  const outcomes = runExampleFile(codec, ex.file);
  outcomes.forEach((o, i) => {
    if (!o.pass) problem(`codec examples[${i}] (${relative(resolve(dir, '..'), ex.path)})`, `${o.kind} "${o.description}": ${o.problem ?? 'failed'}`);
  });
  // A native codec's readings are reviewed with the codec; a script's are checked here.
  if (typeof entry.codec !== 'string') {
    for (const [name, description] of readingsOfExamples(codec, ex.file)) {
      if (!(name in entry.readings)) problem(`readings.${name}`, `given by the script's normalizeUplink (example "${description}") but not listed`);
    }
  }
  return { problems, examples: outcomes.length, outcomes };
}

export async function validateCatalogue(dir = CATALOGUE_DIR): Promise<ValidationReport> {
  const catalogue = loadCatalogue(dir);
  const problems = [...catalogue.problems];
  let examples = 0;
  for (const entry of catalogue.devices) {
    const r = await checkEntry(entry, relative(resolve(dir, '..'), entry.file), dir);
    problems.push(...r.problems);
    examples += r.examples;
  }
  // Only the real catalogue must cover every native codec; a test catalogue need not.
  if (dir !== CATALOGUE_DIR) return { devices: catalogue.devices.length, examples, problems };
  const used = new Set(catalogue.devices.map((d) => (typeof d.codec === 'string' ? d.codec : '')));
  for (const c of NATIVE_CODECS) {
    if (!used.has(c.id)) problems.push({ file: `codecs/${c.id}`, field: '(codec)', message: 'native codec is not used by any catalogue entry' });
  }
  return { devices: catalogue.devices.length, examples, problems };
}

export function formatProblems(problems: CatalogueProblem[]): string {
  return problems.map((p) => `${p.file}: ${p.field}: ${p.message}`).join('\n');
}
