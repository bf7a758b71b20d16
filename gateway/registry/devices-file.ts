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
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import yaml from 'js-yaml';

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
}

export class RegistryError extends Error {
  override readonly name = 'RegistryError';
  constructor(
    readonly file: string,
    readonly problems: RegistryProblem[],
  ) {
    // The message lists the first few; `problems` has them all.
    const shown = problems.slice(0, 10).map((p) => `${p.where}: ${p.message}`);
    if (problems.length > 10) shown.push(`… and ${problems.length - 10} more`);
    super(`${file}: ${shown.join('; ')}`);
  }
}

const EUI_RE = /^[0-9a-f]{16}$/;
const TAG_KEY_RE = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
/** Tag keys the gateway itself sets on every point; an installation tag may not shadow them. */
export const RESERVED_TAGS = new Set(['dev_eui', 'device', 'model']);

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
export function checkDevice(raw: unknown, where: string, knownModel: (id: string) => boolean): { device?: RegisteredDevice; problems: RegistryProblem[] } {
  const problems: RegistryProblem[] = [];
  const p = (field: string, message: string): void => {
    problems.push({ where: `${where}.${field}`, message });
  };
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return { problems: [{ where, message: 'must be a mapping' }] };
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
  else if (!knownModel(model)) p('model', `unknown catalogue id "${model}" (see "lorawan-edge devices")`);
  const tags: Record<string, string> = {};
  if (o['tags'] !== undefined) {
    if (!o['tags'] || typeof o['tags'] !== 'object' || Array.isArray(o['tags'])) p('tags', 'must be a mapping of tag: value');
    else {
      for (const [k, v] of Object.entries(o['tags'])) {
        if (!TAG_KEY_RE.test(k)) p(`tags.${k}`, 'tag key must be letters, digits, _ . - (starting with a letter or _)');
        else if (RESERVED_TAGS.has(k)) p(`tags.${k}`, 'is set by the gateway itself; choose another tag name');
        else if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') p(`tags.${k}`, 'must be a string');
        else if (String(v) === '') p(`tags.${k}`, 'must not be empty (InfluxDB drops empty tags)');
        else tags[k] = String(v);
      }
    }
  }
  let variables: Record<string, unknown> = {};
  if (o['variables'] !== undefined) {
    if (!o['variables'] || typeof o['variables'] !== 'object' || Array.isArray(o['variables'])) p('variables', 'must be a mapping of name: value');
    else variables = { ...(o['variables'] as Record<string, unknown>) };
  }
  if (problems.length) return { problems };
  return { device: { dev_eui: devEui as string, name, model, tags, variables }, problems };
}

export interface DeviceRegistry {
  devices: RegisteredDevice[];
  byEui: Map<string, RegisteredDevice>;
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

/** Parses registry YAML text; throws RegistryError listing every problem. */
export function parseRegistry(text: string, file: string, knownModel: (id: string) => boolean): DeviceRegistry {
  let doc: unknown;
  try {
    doc = yaml.load(text, { filename: file });
  } catch (err) {
    throw new RegistryError(file, [{ where: '(yaml)', message: (err as Error).message.split('\n')[0] ?? 'invalid YAML' }]);
  }
  if (doc === undefined || doc === null) return { devices: [], byEui: new Map() };
  if (typeof doc !== 'object' || Array.isArray(doc) || !Array.isArray((doc as Record<string, unknown>)['devices'])) {
    throw new RegistryError(file, [{ where: 'devices', message: 'the file must hold a "devices:" list' }]);
  }
  const problems: RegistryProblem[] = [];
  const devices: RegisteredDevice[] = [];
  ((doc as Record<string, unknown>)['devices'] as unknown[]).forEach((raw, i) => {
    const r = checkDevice(raw, `devices[${i}]`, knownModel);
    problems.push(...r.problems);
    if (r.device) devices.push(r.device);
  });
  const { registry, problems: dup } = index(devices, (i) => `devices[${i}]`);
  problems.push(...dup);
  if (problems.length) throw new RegistryError(file, problems);
  return registry;
}

export function loadRegistry(file: string, knownModel: (id: string) => boolean): DeviceRegistry {
  if (!existsSync(file)) return { devices: [], byEui: new Map() };
  return parseRegistry(readFileSync(file, 'utf8'), file, knownModel);
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
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w', 0o644);
  try {
    writeSync(fd, renderRegistry(devices));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
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
