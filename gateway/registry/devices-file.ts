/**
 * The gateway's device registry file (YAML): which DevEUI is which installed device — catalogue
 * model, name, installation tags (commune, site, stream…) and variables (container geometry…).
 *
 * ```yaml
 * devices:
 *   - dev_eui: a84041000181c9e2
 *     name: bin-centre-1
 *     model: dingtek/df703            # catalogue id (lorawan-edge devices)
 *     tags: {commune: centre, site: town-hall}
 *     variables: {container_depth_mm: 1200, sensor_offset_mm: 50}
 * ```
 *
 * Every change is validated as a whole and written atomically (temp file, fsync, rename), so a
 * crash or a bad import never leaves a half-written registry. Errors name the entry and field.
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import yaml from 'js-yaml';
import { didYouMean } from '../../devices/did-you-mean.ts';
import { parseYaml, YamlError } from '../../devices/safe-yaml.ts';
import { checkVariables, declaredVariables, type VariableMode, type VariableSpecs } from '../../devices/variables.ts';
import { lineOf } from './locate.ts';
import { collidingTagKeys, reservedTagReason } from './reserved-keys.ts';

export interface RegisteredDevice {
  dev_eui: string;
  name: string;
  model: string;
  tags: Record<string, string>;
  variables: Record<string, unknown>;
}

export interface RegistryProblem {
  /** e.g. `devices[3].dev_eui` or `line 5, column dev_eui` */
  where: string;
  message: string;
  /** 1-based line in the registry file, when known */
  line?: number;
}

/** `devices[3].dev_eui: …`, or `line 12, devices[3].dev_eui: …` when the line is known. */
export function problemText(p: RegistryProblem): string {
  return `${p.line !== undefined ? `line ${p.line}, ` : ''}${p.where}: ${p.message}`;
}

/**
 * Which catalogue ids exist: a predicate, or the catalogue itself — then each device's variables
 * are checked against what its model declares (names, types, ranges).
 */
export type KnownModels = ((id: string) => boolean) | { byId: ReadonlyMap<string, { variables?: VariableSpecs; codec?: unknown }> };

function modelOf(known: KnownModels, id: string): { exists: boolean; specs?: VariableSpecs } {
  if (typeof known === 'function') return { exists: known(id) };
  const entry = known.byId.get(id);
  if (!entry) return { exists: false };
  const specs = declaredVariables(entry);
  return specs ? { exists: true, specs } : { exists: true };
}

/** A registry file larger than this is refused before it is read (about 20,000 devices). */
export const REGISTRY_MAX_BYTES = 16 * 1024 * 1024;

export class RegistryError extends Error {
  override readonly name = 'RegistryError';
  constructor(
    readonly file: string,
    readonly problems: RegistryProblem[],
  ) {
    // The message lists the first few; `problems` has them all.
    const shown = problems.slice(0, 10).map(problemText);
    if (problems.length > 10) shown.push(`… and ${problems.length - 10} more`);
    super(`${file}: ${shown.join('; ')}`);
  }
}

const EUI_RE = /^[0-9a-f]{16}$/;
const TAG_KEY_RE = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/** Normalizes an EUI written with separators or upper case; undefined when it is not an EUI. */
export function normalizeEui(text: unknown): string | undefined {
  if (typeof text !== 'string') return undefined;
  const clean = text.trim().toLowerCase().replace(/[-:\s]/g, '');
  return EUI_RE.test(clean) ? clean : undefined;
}

/**
 * Checks one entry; `knownModel` says whether a catalogue id exists. Returns the normalized
 * device or the problems found (all of them).
 */
export function checkDevice(
  raw: unknown,
  where: string,
  knownModel: KnownModels,
  mode: VariableMode = 'write',
): { device?: RegisteredDevice; problems: RegistryProblem[]; warnings: RegistryProblem[] } {
  const problems: RegistryProblem[] = [];
  const warnings: RegistryProblem[] = [];
  const p = (field: string, message: string): void => {
    problems.push({ where: `${where}.${field}`, message });
  };
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return { problems: [{ where, message: 'must be a mapping' }], warnings };
  const o = raw as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!['dev_eui', 'name', 'model', 'tags', 'variables'].includes(k)) p(k, 'unknown field');
  const devEui = normalizeEui(o['dev_eui']);
  if (!devEui) {
    const hint = typeof o['dev_eui'] === 'number' ? ' (quote it: YAML reads an unquoted all-digit EUI as a number)' : '';
    p('dev_eui', `must be a 16-hex-digit EUI, got ${JSON.stringify(o['dev_eui'] ?? null)}${hint}`);
  }
  const name = typeof o['name'] === 'string' ? o['name'].trim() : '';
  if (!name) p('name', 'is required (a non-empty string)');
  const model = typeof o['model'] === 'string' ? o['model'] : '';
  if (!model) p('model', 'is required (a catalogue id, see "lorawan-edge devices")');
  const found = model ? modelOf(knownModel, model) : undefined;
  if (found && !found.exists) p('model', `unknown catalogue id "${model}"${typeof knownModel === 'function' ? '' : didYouMean(model, knownModel.byId.keys())} (see "lorawan-edge devices")`);
  const tags: Record<string, string> = {};
  if (o['tags'] !== undefined) {
    if (!o['tags'] || typeof o['tags'] !== 'object' || Array.isArray(o['tags'])) p('tags', 'must be a mapping of tag: value');
    else {
      // A reserved or colliding key would make the InfluxDB sink reject every point of the
      // device: refused here, naming the device, so the gateway does not start with it.
      const device = `device ${name ? JSON.stringify(name) : '(no name)'}${devEui ? ` (${devEui})` : ''}`;
      for (const [k, v] of Object.entries(o['tags'])) {
        const reserved = reservedTagReason(k);
        if (!TAG_KEY_RE.test(k)) p(`tags.${k}`, 'tag key must be letters, digits, _ . - (starting with a letter or _)');
        else if (reserved !== undefined) p(`tags.${k}`, `${device}: tag "${k}" ${reserved}`);
        else if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') p(`tags.${k}`, 'must be a string');
        else if (String(v) === '') p(`tags.${k}`, 'must not be empty (InfluxDB drops empty tags)');
        else tags[k] = String(v);
      }
      for (const [a, b] of collidingTagKeys(Object.keys(tags))) p(`tags.${b}`, `${device}: tags "${a}" and "${b}" are one key to InfluxDB, which would refuse every point of the device`);
    }
  }
  let variables: Record<string, unknown> = {};
  if (o['variables'] !== undefined) {
    if (!o['variables'] || typeof o['variables'] !== 'object' || Array.isArray(o['variables'])) p('variables', 'must be a mapping of name: value');
    else {
      // Without declarations (a predicate, a script codec) only what is wrong for any variable
      // is refused: NaN and infinities (`1e999`, `.inf`), which no codec can use.
      const checked = checkVariables(o['variables'] as Record<string, unknown>, found?.specs, mode, model);
      variables = checked.values;
      for (const vp of checked.problems) (vp.severity === 'error' ? problems : warnings).push({ where: `${where}.variables.${vp.name}`, message: vp.message });
    }
  }
  if (problems.length) return { problems, warnings };
  return { device: { dev_eui: devEui as string, name, model, tags, variables }, problems, warnings };
}

export interface DeviceRegistry {
  devices: RegisteredDevice[];
  byEui: Map<string, RegisteredDevice>;
  /** What was accepted but looks wrong (an unknown variable, an empty file), with where it is. */
  warnings?: RegistryProblem[];
}

function index(devices: RegisteredDevice[], where: (i: number) => string): { registry: DeviceRegistry; problems: RegistryProblem[] } {
  const byEui = new Map<string, RegisteredDevice>();
  const names = new Map<string, number>();
  const problems: RegistryProblem[] = [];
  devices.forEach((d, i) => {
    if (byEui.has(d.dev_eui)) problems.push({ where: `${where(i)}.dev_eui`, message: `duplicate DevEUI ${d.dev_eui}` });
    byEui.set(d.dev_eui, d);
    const prev = names.get(d.name);
    if (prev !== undefined) problems.push({ where: `${where(i)}.name`, message: `duplicate name "${d.name}" (also ${where(prev)})` });
    names.set(d.name, i);
  });
  return { registry: { devices, byEui }, problems };
}

/** Parses registry YAML text; throws RegistryError listing every problem (with its line). */
export function parseRegistry(text: string, file: string, knownModel: KnownModels, mode: VariableMode = 'read'): DeviceRegistry {
  let doc: unknown;
  try {
    // Bounded: an alias bomb or a __proto__ key is refused before anything walks the document.
    doc = parseYaml(text, file, { maxBytes: REGISTRY_MAX_BYTES });
  } catch (err) {
    if (!(err instanceof YamlError)) throw err;
    // js-yaml puts an error at the end of input one line past the last one: clamp it.
    const raw = err.line ?? (err.path ? lineOf(text, err.path) : undefined);
    const line = raw === undefined ? undefined : Math.min(raw, text.split('\n').length);
    throw new RegistryError(file, [{ where: err.path ?? '(yaml)', message: err.detail, ...(line !== undefined ? { line } : {}) }]);
  }
  if (doc === undefined || doc === null) return { devices: [], byEui: new Map(), warnings: [{ where: '(file)', message: 'the registry is empty: no device is decoded by the registry' }] };
  if (typeof doc !== 'object' || Array.isArray(doc) || !Array.isArray((doc as Record<string, unknown>)['devices'])) {
    throw new RegistryError(file, [{ where: 'devices', message: 'the file must hold a "devices:" list' }]);
  }
  const problems: RegistryProblem[] = [];
  const warnings: RegistryProblem[] = [];
  const devices: RegisteredDevice[] = [];
  ((doc as Record<string, unknown>)['devices'] as unknown[]).forEach((raw, i) => {
    const r = checkDevice(raw, `devices[${i}]`, knownModel, mode);
    problems.push(...r.problems);
    warnings.push(...r.warnings);
    if (r.device) devices.push(r.device);
  });
  const { registry, problems: dup } = index(devices, (i) => `devices[${i}]`);
  problems.push(...dup);
  const located = (p: RegistryProblem): RegistryProblem => {
    const line = lineOf(text, p.where);
    return line !== undefined ? { ...p, line } : p;
  };
  if (problems.length) throw new RegistryError(file, problems.map(located));
  if (devices.length === 0) warnings.push({ where: 'devices', message: 'the registry lists no devices' });
  return { ...registry, warnings: warnings.map(located) };
}

export interface LoadRegistryOptions {
  /** A missing file is an error (the gateway, `devices registered`); `devices add` creates it. */
  mustExist?: boolean;
  /** 'read' (the gateway): an unknown variable is a warning; 'write': an error. */
  mode?: VariableMode;
}

export function loadRegistry(file: string, knownModel: KnownModels, options: LoadRegistryOptions = {}): DeviceRegistry {
  if (!existsSync(file)) {
    if (options.mustExist) throw new RegistryError(file, [{ where: '(file)', message: 'the registry file does not exist (check registry.devices_file / --registry)' }]);
    return { devices: [], byEui: new Map() };
  }
  let text: string;
  try {
    const size = statSync(file).size;
    if (size > REGISTRY_MAX_BYTES) throw new RegistryError(file, [{ where: '(file)', message: `${size} bytes is more than the ${REGISTRY_MAX_BYTES} bytes a registry may have` }]);
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if (err instanceof RegistryError) throw err;
    throw new RegistryError(file, [{ where: '(file)', message: `cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` }]);
  }
  return parseRegistry(text, file, knownModel, options.mode ?? 'read');
}

export function renderRegistry(devices: readonly RegisteredDevice[]): string {
  const body = devices.map((d) => {
    const entry: Record<string, unknown> = { dev_eui: d.dev_eui, name: d.name, model: d.model };
    if (Object.keys(d.tags).length) entry['tags'] = d.tags;
    if (Object.keys(d.variables).length) entry['variables'] = d.variables;
    return entry;
  });
  return `# lorawan-edge device registry: DevEUI → catalogue model, name, tags, variables.\n${yaml.dump({ devices: body }, { lineWidth: 120, noRefs: true })}`;
}

/** Writes the registry atomically: temp file + fsync + rename + fsync of the folder. */
export function saveRegistry(file: string, devices: readonly RegisteredDevice[]): void {
  // Rendered before the temp file exists, so a render failure leaves nothing behind; a write
  // failure (disk full) removes the temp file.
  const text = renderRegistry(devices);
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w', 0o644);
  try {
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {
      // already gone
    }
    throw err;
  }
  const dfd = openSync(dirname(file), 'r');
  try {
    fsyncSync(dfd);
  } finally {
    closeSync(dfd);
  }
}

/** Adds or replaces (`replace: true`) devices, checking the merged registry as a whole. */
export function mergeDevices(
  current: DeviceRegistry,
  additions: RegisteredDevice[],
  options: { replace?: boolean; where: (i: number) => string },
): { devices: RegisteredDevice[]; problems: RegistryProblem[] } {
  const problems: RegistryProblem[] = [];
  const out = [...current.devices];
  additions.forEach((d, i) => {
    const at = out.findIndex((x) => x.dev_eui === d.dev_eui);
    if (at >= 0) {
      if (options.replace) out[at] = d;
      else problems.push({ where: `${options.where(i)}.dev_eui`, message: `DevEUI ${d.dev_eui} is already registered as "${out[at]?.name}" (use --replace to update it)` });
    } else {
      out.push(d);
    }
  });
  const { problems: dup } = index(out, (i) => (i < current.devices.length ? `existing device "${out[i]?.name}"` : options.where(i - current.devices.length)));
  problems.push(...dup.filter((p) => !p.message.startsWith('duplicate DevEUI')));
  return { devices: out, problems };
}
