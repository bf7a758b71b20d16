/**
 * Where a provisioned device is written, besides ChirpStack: the gateway's registry (which
 * DevEUI is which installed device), its keys file (the edge network server's OTAA keys; 0600,
 * the simulator's `--keys` format), and a record of the provisioning itself (CSV or JSON lines:
 * DevEUI, JoinEUI, a key fingerprint — never the key —, firmware, region, time, operator).
 * Each write is idempotent: an identical entry is left alone and reported `unchanged`.
 */
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { loadRegistry, mergeDevices, type RegisteredDevice, saveRegistry, type KnownModels } from '../../gateway/registry/devices-file.ts';
import { type KeysEntry, type KeysFile, KEYS_FILE_VERSION, readKeysFile, writeKeysFile } from '../../simulator/keys-file.ts';

export type WriteOutcome = 'created' | 'updated' | 'unchanged';

/** `sha256:` and the first 16 hex digits of the key's SHA-256: tells keys apart without showing one. */
export function keyFingerprint(hexKey: string): string {
  return `sha256:${createHash('sha256').update(Buffer.from(hexKey, 'hex')).digest('hex').slice(0, 16)}`;
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

export class DestinationError extends Error {
  override readonly name = 'DestinationError';
}

/** Adds or replaces devices in the registry file in one atomic write; identical entries are left alone. */
export function writeRegistryEntries(file: string, devices: readonly RegisteredDevice[], knownModel: KnownModels): WriteOutcome[] {
  const current = loadRegistry(file, knownModel);
  const outcomes = devices.map((d): WriteOutcome => {
    const existing = current.byEui.get(d.dev_eui);
    return existing ? (same(existing, d) ? 'unchanged' : 'updated') : 'created';
  });
  if (outcomes.every((o) => o === 'unchanged')) return outcomes;
  const merged = mergeDevices(current, [...devices], { replace: true, where: (i) => devices[i]?.dev_eui ?? '?' });
  if (merged.problems.length) throw new DestinationError(`${file}: ${merged.problems.map((p) => `${p.where}: ${p.message}`).join('; ')}`);
  saveRegistry(file, merged.devices);
  return outcomes;
}

export function writeRegistryEntry(file: string, device: RegisteredDevice, knownModel: KnownModels): WriteOutcome {
  return writeRegistryEntries(file, [device], knownModel)[0] as WriteOutcome;
}

/** Adds or replaces entries of the keys file (0600) in one write; refuses a file others can read. */
export function writeKeysEntries(file: string, entries: readonly KeysEntry[]): WriteOutcome[] {
  const doc: KeysFile = existsSync(file) ? readKeysFile(file, { requirePrivateMode: true }) : { version: KEYS_FILE_VERSION, devices: [] };
  const outcomes = entries.map((entry): WriteOutcome => {
    const at = doc.devices.findIndex((d) => d.devEui === entry.devEui);
    if (at >= 0 && same(doc.devices[at], entry)) return 'unchanged';
    if (at >= 0) doc.devices[at] = entry;
    else doc.devices.push(entry);
    return at >= 0 ? 'updated' : 'created';
  });
  if (outcomes.some((o) => o !== 'unchanged')) writeKeysFile(file, doc);
  return outcomes;
}

export function writeKeysEntry(file: string, entry: KeysEntry): WriteOutcome {
  return writeKeysEntries(file, [entry])[0] as WriteOutcome;
}

/** `created 2, updated 0, unchanged 5`. */
export function countOutcomes(outcomes: readonly WriteOutcome[]): string {
  const n = (o: WriteOutcome): number => outcomes.filter((x) => x === o).length;
  return `created ${n('created')}, updated ${n('updated')}, unchanged ${n('unchanged')}`;
}

export interface ProvisionRecord {
  time: string;
  operator: string;
  dev_eui: string;
  join_eui: string;
  key_fingerprint: string;
  firmware: string;
  region: string;
  dialect: string;
  model: string;
  name: string;
}

const RECORD_COLUMNS: (keyof ProvisionRecord)[] = ['time', 'operator', 'dev_eui', 'join_eui', 'key_fingerprint', 'firmware', 'region', 'dialect', 'model', 'name'];

const csvCell = (v: string): string => (/[",;\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

/** Appends one record: JSON lines when the file ends in .json/.jsonl, else CSV with a header. */
export function appendRecord(file: string, record: ProvisionRecord): void {
  if (/\.jsonl?$/i.test(file)) {
    appendFileSync(file, `${JSON.stringify(record)}\n`);
    return;
  }
  const header = !existsSync(file) || readFileSync(file, 'utf8').trim() === '';
  appendFileSync(file, `${header ? `${RECORD_COLUMNS.join(',')}\n` : ''}${RECORD_COLUMNS.map((c) => csvCell(record[c])).join(',')}\n`);
}
