/**
 * The fleet's keys as the gateway's registry imports them:
 *
 * ```json
 * {"version": 1, "devices": [
 *   {"devEui": "70b3d5e75e…", "name": "bin-glass-1", "catalogueId": "milesight-iot/em310-udl",
 *    "activation": "OTAA", "joinEui": "70b3d57ed0000000", "appKey": "…32 hex…",
 *    "variables": {"container_depth_mm": 1400}, "tags": {"commune": "centre"}},
 *   {"devEui": "…", "name": "bin-rest-1", "catalogueId": "dragino/ldds75", "activation": "ABP",
 *    "devAddr": "26a1b2c3", "nwkSKey": "…", "appSKey": "…", "variables": {…}, "tags": {…}}
 * ]}
 * ```
 *
 * Hex is lowercase, EUIs and DevAddr in display (big-endian) order. The file holds secrets: it
 * is written to a temporary file created with mode 0600 (never wider, not even for an instant)
 * and renamed over the target, so an existing file with a wider mode is replaced, not reused.
 */
import { closeSync, fstatSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { parseJsonSafe } from '../devices/safe-json.ts';
import { YamlError } from '../devices/safe-yaml.ts';
import type { SimDevice } from './population.ts';

export const KEYS_FILE_VERSION = 1;

interface KeysEntryBase {
  devEui: string;
  name: string;
  catalogueId: string;
  variables: Record<string, unknown>;
  tags: Record<string, string>;
}

export interface OtaaKeysEntry extends KeysEntryBase {
  activation: 'OTAA';
  joinEui: string;
  appKey: string;
}

export interface AbpKeysEntry extends KeysEntryBase {
  activation: 'ABP';
  devAddr: string;
  nwkSKey: string;
  appSKey: string;
}

export type KeysEntry = OtaaKeysEntry | AbpKeysEntry;

export interface KeysFile {
  version: 1;
  devices: KeysEntry[];
}

export class KeysFileError extends Error {
  override readonly name = 'KeysFileError';
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`${file}: ${problems.slice(0, 10).join('; ')}${problems.length > 10 ? ` (and ${problems.length - 10} more)` : ''}`);
  }
}

/** The keys document of a population (key order fixed, so the file is reproducible). */
export function keysFileOf(devices: readonly SimDevice[]): KeysFile {
  return {
    version: KEYS_FILE_VERSION,
    devices: devices.map((d): KeysEntry => {
      const base = { devEui: d.devEui, name: d.name, catalogueId: d.catalogueId };
      const rest = { variables: d.variables, tags: d.tags };
      return d.keys.activation === 'OTAA'
        ? { ...base, activation: 'OTAA', joinEui: d.keys.joinEui, appKey: d.keys.appKey, ...rest }
        : { ...base, activation: 'ABP', devAddr: d.keys.devAddr, nwkSKey: d.keys.nwkSKey, appSKey: d.keys.appSKey, ...rest };
    }),
  };
}

/** Writes `doc` to `path` with mode 0600 from the file's creation on (temp file + rename). */
export function writeKeysFile(path: string, doc: KeysFile): void {
  const problems = validateKeysFile(doc);
  if (problems.length) throw new KeysFileError(path, problems);
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now().toString(36)}.tmp`);
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, `${JSON.stringify(doc, null, 2)}\n`);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
  closeSync(fd);
  try {
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

const HEX = (n: number): RegExp => new RegExp(`^[0-9a-f]{${n}}$`);
const EUI = HEX(16);
const KEY = HEX(32);
const ADDR = HEX(8);

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Problems of a keys document, each naming the field (`devices[3].appKey: …`); empty when valid. */
export function validateKeysFile(doc: unknown): string[] {
  const problems: string[] = [];
  if (!isRecord(doc)) return ['(root): must be an object {"version":1,"devices":[…]}'];
  if (doc['version'] !== KEYS_FILE_VERSION) problems.push(`version: must be ${KEYS_FILE_VERSION}, got ${JSON.stringify(doc['version'])}`);
  const devices = doc['devices'];
  if (!Array.isArray(devices)) return [...problems, 'devices: must be an array'];
  const euis = new Map<string, number>();
  const addrs = new Map<string, number>();
  devices.forEach((d: unknown, i) => {
    const at = `devices[${i}]`;
    if (!isRecord(d)) {
      problems.push(`${at}: must be an object`);
      return;
    }
    const hex = (key: string, re: RegExp, what: string): void => {
      const v = d[key];
      if (typeof v !== 'string' || !re.test(v)) problems.push(`${at}.${key}: must be ${what} in lowercase hex, got ${JSON.stringify(v)}`);
    };
    hex('devEui', EUI, '16 digits');
    if (typeof d['name'] !== 'string' || d['name'] === '') problems.push(`${at}.name: must be a non-empty string`);
    if (typeof d['catalogueId'] !== 'string' || !/^[a-z0-9-]+\/[a-z0-9-]+$/.test(d['catalogueId'])) {
      problems.push(`${at}.catalogueId: must be "<vendor>/<device>", got ${JSON.stringify(d['catalogueId'])}`);
    }
    if (d['activation'] === 'OTAA') {
      hex('joinEui', EUI, '16 digits');
      hex('appKey', KEY, '32 digits');
    } else if (d['activation'] === 'ABP') {
      hex('devAddr', ADDR, '8 digits');
      hex('nwkSKey', KEY, '32 digits');
      hex('appSKey', KEY, '32 digits');
      if (typeof d['devAddr'] === 'string') {
        const prev = addrs.get(d['devAddr']);
        if (prev !== undefined) problems.push(`${at}.devAddr: ${d['devAddr']} is also devices[${prev}].devAddr`);
        else addrs.set(d['devAddr'], i);
      }
    } else {
      problems.push(`${at}.activation: must be "OTAA" or "ABP", got ${JSON.stringify(d['activation'])}`);
    }
    if (d['variables'] !== undefined && !isRecord(d['variables'])) problems.push(`${at}.variables: must be an object`);
    if (d['tags'] !== undefined) {
      if (!isRecord(d['tags'])) problems.push(`${at}.tags: must be an object`);
      else for (const [k, v] of Object.entries(d['tags'])) if (typeof v !== 'string') problems.push(`${at}.tags.${k}: must be a string`);
    }
    if (typeof d['devEui'] === 'string') {
      const prev = euis.get(d['devEui']);
      if (prev !== undefined) problems.push(`${at}.devEui: ${d['devEui']} is also devices[${prev}].devEui`);
      else euis.set(d['devEui'], i);
    }
  });
  return problems;
}

export interface ReadKeysOptions {
  /** Refuse a file readable or writable by group or others (default false: report only). */
  requirePrivateMode?: boolean;
}

/** Reads and validates a keys file; throws KeysFileError listing every problem. */
export function readKeysFile(path: string, options: ReadKeysOptions = {}): KeysFile {
  let text: string;
  let mode: number;
  try {
    const fd = openSync(path, 'r');
    try {
      mode = fstatSync(fd).mode & 0o777;
      text = readFileSync(fd, 'utf8');
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    throw new KeysFileError(path, [`cannot read: ${(err as Error).message}`]);
  }
  if (options.requirePrivateMode && (mode & 0o077) !== 0) {
    throw new KeysFileError(path, [`file mode ${mode.toString(8).padStart(4, '0')} lets others read the keys (chmod 600 it)`]);
  }
  let doc: unknown;
  try {
    doc = parseJsonSafe(text, path);
  } catch (err) {
    if (err instanceof YamlError) throw new KeysFileError(path, [err.detail]);
    throw new KeysFileError(path, [`not JSON: ${(err as Error).message}`]);
  }
  const problems = validateKeysFile(doc);
  if (problems.length) throw new KeysFileError(path, problems);
  const file = doc as KeysFile;
  for (const d of file.devices) {
    d.variables ??= {};
    d.tags ??= {};
  }
  return file;
}
