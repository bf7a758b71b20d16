/**
 * The device catalogue: one YAML file per device model under `devices/<vendor>/<device>.yaml`,
 * checked against `device.schema.json`. This module only reads and schema-checks; the cross-
 * reference checks (codec exists, examples pass, readings known) live in `validate.ts`.
 *
 * YAML is parsed as YAML 1.2 (js-yaml 4's default schema, as the TTN device repository does), so
 * `00012074` stays a decimal number and `on` stays a string.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import type { Category } from '../codecs/api.ts';
import { PACKAGE_ROOT } from '../codecs/package-root.ts';
import { readYamlFile } from './safe-yaml.ts';
import type { VariableSpecs } from './variables.ts';

export const CATALOGUE_DIR = join(PACKAGE_ROOT, 'devices');

export interface ScriptCodecRef {
  script: string;
  /** A separate script with the downlink encoder/decoder (TTN's `downlinkEncoder.fileName`). */
  downlinkScript?: string;
  examples?: string;
  timeoutMs?: number;
  memoryLimitBytes?: number;
}

export interface DeviceEntry {
  id: string;
  vendor: string;
  vendorName?: string;
  model: string;
  name: string;
  category: Category;
  codec: string | ScriptCodecRef;
  fPorts: number[];
  readings: Record<string, string>;
  reportingInterval: number;
  downlink?: { supported: boolean; fPort?: number; commands?: { name: string; description: string }[] };
  variables?: VariableSpecs;
  firmware?: string;
  notes?: string;
  /** Absolute path of the YAML file the entry came from. */
  file: string;
}

/** One problem found in the catalogue, located by file and field. */
export interface CatalogueProblem {
  file: string;
  field: string;
  message: string;
}

const schema = JSON.parse(readFileSync(join(CATALOGUE_DIR, 'device.schema.json'), 'utf8')) as object;
const ajv = new Ajv({ allErrors: true, strict: false });
const validateSchema = ajv.compile(schema);

function fieldOf(err: ErrorObject): string {
  const base = err.instancePath.replace(/^\//, '').replace(/\//g, '.');
  if (err.keyword === 'required') return [base, (err.params as { missingProperty: string }).missingProperty].filter(Boolean).join('.');
  if (err.keyword === 'additionalProperties') {
    return [base, (err.params as { additionalProperty: string }).additionalProperty].filter(Boolean).join('.');
  }
  return base || '(root)';
}

function messageOf(err: ErrorObject): string {
  if (err.keyword === 'additionalProperties') return 'unknown field';
  if (err.keyword === 'required') return 'is required';
  if (err.keyword === 'enum') return `must be one of ${(err.params as { allowedValues: unknown[] }).allowedValues.join(', ')}`;
  return err.message ?? err.keyword;
}

/** Lists the YAML files of the catalogue, `<vendor>/<device>.yaml`, sorted. */
export function catalogueFiles(dir = CATALOGUE_DIR): string[] {
  const out: string[] = [];
  for (const vendor of readdirSync(dir)) {
    const vdir = join(dir, vendor);
    if (!statSync(vdir).isDirectory() || vendor === 'provisioning' || vendor === 'node_modules') continue;
    for (const f of readdirSync(vdir)) {
      if (f.endsWith('.yaml') || f.endsWith('.yml')) out.push(join(vdir, f));
    }
  }
  return out.sort();
}

/** Parses and schema-checks one file. Returns the entry, or undefined plus problems. */
export function readDeviceFile(file: string, dir = CATALOGUE_DIR): { entry?: DeviceEntry; problems: CatalogueProblem[] } {
  const shown = relative(resolve(dir, '..'), file);
  let doc: unknown;
  try {
    // A catalogue entry is a few KB; the bounds refuse an alias bomb or __proto__ before Ajv walks it.
    doc = readYamlFile(file, { maxBytes: 256 * 1024, maxNodes: 100_000 });
  } catch (err) {
    const e = err as { detail?: string; path?: string; message: string };
    return { problems: [{ file: shown, field: e.path ?? '(yaml)', message: e.detail ?? e.message.split('\n')[0] ?? 'invalid YAML' }] };
  }
  if (!validateSchema(doc)) {
    // Ajv reports both branches of a oneOf, and an if/then failure twice; drop the summaries
    // ("must match exactly one schema in oneOf", 'must match "then" schema'), keep the specific ones.
    const errs = (validateSchema.errors ?? []).filter((e) => e.keyword !== 'oneOf' && e.keyword !== 'if');
    return { problems: errs.map((e) => ({ file: shown, field: fieldOf(e), message: messageOf(e) })) };
  }
  const entry = { ...(doc as Omit<DeviceEntry, 'file'>), file };
  const problems: CatalogueProblem[] = [];
  const expectedId = relative(dir, file).replace(/\.ya?ml$/, '').split(/[\\/]/).join('/');
  if (entry.id !== expectedId) problems.push({ file: shown, field: 'id', message: `must be "${expectedId}" (the file's path)` });
  if (entry.id.split('/')[0] !== entry.vendor) problems.push({ file: shown, field: 'vendor', message: `must be the first part of id ("${entry.id.split('/')[0]}")` });
  return { entry, problems };
}

export interface Catalogue {
  devices: DeviceEntry[];
  problems: CatalogueProblem[];
  byId: Map<string, DeviceEntry>;
}

export function loadCatalogue(dir = CATALOGUE_DIR): Catalogue {
  const devices: DeviceEntry[] = [];
  const problems: CatalogueProblem[] = [];
  for (const file of catalogueFiles(dir)) {
    const r = readDeviceFile(file, dir);
    problems.push(...r.problems);
    if (r.entry) devices.push(r.entry);
  }
  const byId = new Map<string, DeviceEntry>();
  for (const d of devices) {
    if (byId.has(d.id)) problems.push({ file: relative(resolve(dir, '..'), d.file), field: 'id', message: `duplicate id ${d.id}` });
    byId.set(d.id, d);
  }
  return { devices, problems, byId };
}
