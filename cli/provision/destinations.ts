/**
 * Where a provisioned device is written, besides ChirpStack: the gateway's registry (which
 * DevEUI is which installed device), its keys file (the edge network server's OTAA keys; 0600,
 * the simulator's `--keys` format), and a record of the provisioning itself (CSV or JSON lines:
 * DevEUI, JoinEUI, a key fingerprint — never the key —, firmware, region, time, operator).
 * Each write is idempotent: an identical entry is left alone and reported `unchanged`.
 */
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { loadRegistry, mergeDevices, type RegisteredDevice, saveRegistry } from '../../gateway/registry/devices-file.ts';
import { type KeysEntry, type KeysFile, KEYS_FILE_VERSION, readKeysFile, writeKeysFile } from '../../simulator/keys-file.ts';

export type WriteOutcome = 'created' | 'updated' | 'unchanged';

/** `sha256:` and the first 16 hex digits of the key's SHA-256: tells keys apart without showing one. */
export function keyFingerprint(hexKey: string): string {
  return `sha256:${createHash('sha256').update(Buffer.from(hexKey, 'hex')).digest('hex').slice(0, 16)}`;
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

export function writeRegistryEntry(file: string, device: RegisteredDevice, knownModel: (id: string) => boolean): WriteOutcome {
  const current = loadRegistry(file, knownModel);
  const existing = current.byEui.get(device.dev_eui);
  if (existing && same(existing, device)) return 'unchanged';
  const merged = mergeDevices(current, [device], { replace: true, where: () => device.dev_eui });
  if (merged.problems.length) throw new Error(`${file}: ${merged.problems.map((p) => `${p.where}: ${p.message}`).join('; ')}`);
  saveRegistry(file, merged.devices);
  return existing ? 'updated' : 'created';
}

export function writeKeysEntry(file: string, entry: KeysEntry): WriteOutcome {
  const doc: KeysFile = existsSync(file) ? readKeysFile(file, { requirePrivateMode: true }) : { version: KEYS_FILE_VERSION, devices: [] };
  const at = doc.devices.findIndex((d) => d.devEui === entry.devEui);
  if (at >= 0 && same(doc.devices[at], entry)) return 'unchanged';
  if (at >= 0) doc.devices[at] = entry;
  else doc.devices.push(entry);
  writeKeysFile(file, doc);
  return at >= 0 ? 'updated' : 'created';
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
