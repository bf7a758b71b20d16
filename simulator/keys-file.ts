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
 * It is the gateway's keys file with the registry's fields added: the format, the key checks and
 * the 0600 reading and writing are devices/keys-file.ts, which the gateway uses too; this module
 * adds the population's entries and the checks of name, catalogueId, variables and tags.
 */
import { checkKeysDocument, isRecord, KEYS_FILE_VERSION, KeysFileError, readKeysJson, writeKeysJson, type AbpKeys, type OtaaKeys } from '../devices/keys-file.ts';
import type { SimDevice } from './population.ts';

export { KEYS_FILE_VERSION, KeysFileError } from '../devices/keys-file.ts';

interface KeysEntryBase {
  name: string;
  catalogueId: string;
  variables: Record<string, unknown>;
  tags: Record<string, string>;
}

export type OtaaKeysEntry = KeysEntryBase & OtaaKeys;
export type AbpKeysEntry = KeysEntryBase & AbpKeys;
export type KeysEntry = OtaaKeysEntry | AbpKeysEntry;

export interface KeysFile {
  version: 1;
  devices: KeysEntry[];
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
  writeKeysJson(path, doc);
}

/** Problems of a keys document, each naming the field (`devices[3].appKey: …`); empty when valid. */
export function validateKeysFile(doc: unknown): string[] {
  return checkKeysDocument(doc, checkSimulatorFields).problems;
}

/** The fields the simulator adds to an entry: what the gateway's registry imports. */
function checkSimulatorFields(d: Record<string, unknown>, at: string): string[] {
  const problems: string[] = [];
  if (typeof d['name'] !== 'string' || d['name'] === '') problems.push(`${at}.name: must be a non-empty string`);
  if (typeof d['catalogueId'] !== 'string' || !/^[a-z0-9-]+\/[a-z0-9-]+$/.test(d['catalogueId'])) {
    problems.push(`${at}.catalogueId: must be "<vendor>/<device>", got ${JSON.stringify(d['catalogueId'])}`);
  }
  if (d['variables'] !== undefined && !isRecord(d['variables'])) problems.push(`${at}.variables: must be an object`);
  if (d['tags'] !== undefined) {
    if (!isRecord(d['tags'])) problems.push(`${at}.tags: must be an object`);
    else for (const [k, v] of Object.entries(d['tags'])) if (typeof v !== 'string') problems.push(`${at}.tags.${k}: must be a string`);
  }
  return problems;
}

export interface ReadKeysOptions {
  /** Refuse a file readable or writable by group or others (default false). */
  requirePrivateMode?: boolean;
}

/** Reads and validates a keys file; throws KeysFileError listing every problem. */
export function readKeysFile(path: string, options: ReadKeysOptions = {}): KeysFile {
  const doc = readKeysJson(path, { requirePrivateMode: options.requirePrivateMode === true });
  const { devices: keys, problems } = checkKeysDocument(doc, checkSimulatorFields);
  if (problems.length) throw new KeysFileError(path, problems);
  // Checked: an object whose entries are objects; the keys come back normalized (lowercase).
  const entries = (doc as { devices: Record<string, unknown>[] }).devices;
  return {
    version: KEYS_FILE_VERSION,
    devices: entries.map((d, i) => ({ ...d, ...keys[i], variables: d['variables'] ?? {}, tags: d['tags'] ?? {} }) as KeysEntry),
  };
}
