/**
 * `npm run validate`: checks the whole catalogue and reports every problem at once, each with
 * its file and field, the way TTN's device-repository validator does:
 * - each YAML file against device.schema.json, id = path, vendor = id prefix;
 * - the codec exists (native registry or script file) and loads through `resolveCodec`, the
 *   same loader the gateway and the CLI use;
 * - category, fPorts and readings agree with the codec and the reading vocabulary (units too);
 * - every executable example of the codec passes through that loaded codec;
 * - every native codec is used by at least one catalogue entry.
 */
import { relative, resolve } from 'node:path';
import { runExampleFile } from '../codecs/examples.ts';
import { readingField } from '../codecs/readings.ts';
import { NATIVE_CODECS } from '../codecs/registry.ts';
import { CATALOGUE_DIR, loadCatalogue, type CatalogueProblem, type DeviceEntry } from './catalogue.ts';
import { examplesOf, resolveCodec } from './resolve.ts';

export interface ValidationReport {
  devices: number;
  examples: number;
  problems: CatalogueProblem[];
}

async function checkEntry(entry: DeviceEntry, shown: string): Promise<{ problems: CatalogueProblem[]; examples: number }> {
  const problems: CatalogueProblem[] = [];
  const problem = (field: string, message: string): void => {
    problems.push({ file: shown, field, message });
  };

  for (const [name, unit] of Object.entries(entry.readings)) {
    const field = readingField(name);
    if (!field) problem(`readings.${name}`, 'unknown reading name (see codecs/readings.ts)');
    else if ((field.unit ?? '') !== unit) problem(`readings.${name}`, `unit must be "${field.unit ?? ''}", not "${unit}"`);
  }

  let codec;
  try {
    codec = await resolveCodec(entry);
  } catch (err) {
    problem('codec', (err as Error).message);
    return { problems, examples: 0 };
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
    return { problems, examples: 0 };
  }
  const outcomes = runExampleFile(codec, ex.file);
  outcomes.forEach((o, i) => {
    if (!o.pass) problem(`codec examples[${i}] (${relative(resolve(CATALOGUE_DIR, '..'), ex.path)})`, `${o.kind} "${o.description}": ${o.problem ?? 'failed'}`);
  });
  return { problems, examples: outcomes.length };
}

export async function validateCatalogue(dir = CATALOGUE_DIR): Promise<ValidationReport> {
  const catalogue = loadCatalogue(dir);
  const problems = [...catalogue.problems];
  let examples = 0;
  for (const entry of catalogue.devices) {
    const r = await checkEntry(entry, relative(resolve(dir, '..'), entry.file));
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
