/**
 * The key flags of `devices add`: `--join-eui`/`--app-key` (OTAA) or `--dev-addr`/`--nwk-s-key`/
 * `--app-s-key` (ABP), written to the keys file named by `--keys` (or LORAWAN_EDGE_KEYS).
 * Kept out of devices.ts so the registry verb stays about the registry.
 */
import { checkDeviceKeys, KeysFileError, mergeDeviceKeys, readDeviceKeysFile, writeDeviceKeysFile, type DeviceKeys } from '../gateway/registry/keys-file.ts';
import { EXIT_ERRORS, EXIT_OK, UsageError, type Io } from './usage.ts';

const FLAG_OF: Record<string, string> = { devEui: '--dev-eui', joinEui: '--join-eui', appKey: '--app-key', devAddr: '--dev-addr', nwkSKey: '--nwk-s-key', appSKey: '--app-s-key' };

type Flags = Partial<Record<'keys' | 'dev-eui' | 'join-eui' | 'app-key' | 'dev-addr' | 'nwk-s-key' | 'app-s-key', string | undefined>>;

/** The keys the flags give (undefined: none given); a UsageError for an incomplete or mixed set. */
export function deviceKeysFromFlags(v: Flags): { file: string; keys: DeviceKeys } | undefined {
  const otaa = v['join-eui'] !== undefined || v['app-key'] !== undefined;
  const abp = v['dev-addr'] !== undefined || v['nwk-s-key'] !== undefined || v['app-s-key'] !== undefined;
  if (!otaa && !abp) return undefined;
  if (otaa && abp) throw new UsageError('give either the OTAA keys (--join-eui, --app-key) or the ABP keys (--dev-addr, --nwk-s-key, --app-s-key), not both');
  const need = otaa ? (['join-eui', 'app-key'] as const) : (['dev-addr', 'nwk-s-key', 'app-s-key'] as const);
  for (const k of need) if (!v[k]) throw new UsageError(`--${k} is required with ${otaa ? 'OTAA' : 'ABP'} keys`);
  const file = v.keys ?? process.env['LORAWAN_EDGE_KEYS'];
  if (!file) throw new UsageError('--keys <keys.json> is required with device keys (or set LORAWAN_EDGE_KEYS)');
  const raw = otaa
    ? { devEui: v['dev-eui'], activation: 'OTAA', joinEui: v['join-eui'], appKey: v['app-key'] }
    : { devEui: v['dev-eui'], activation: 'ABP', devAddr: v['dev-addr'], nwkSKey: v['nwk-s-key'], appSKey: v['app-s-key'] };
  const r = checkDeviceKeys(raw, 'device');
  if (!r.keys) throw new UsageError(r.problems.map((p) => p.replace(/^device\.(\w+)/, (_m, f: string) => FLAG_OF[f] ?? f)).join('; '));
  return { file, keys: r.keys };
}

/** Merges one device's keys into the keys file (0600, atomic); prints problems, never keys. */
export function saveDeviceKeys(k: { file: string; keys: DeviceKeys }, replace: boolean, io: Io): number {
  try {
    const current = readDeviceKeysFile(k.file, { allowMissing: true });
    const merged = mergeDeviceKeys(current.devices, [k.keys], replace);
    if (merged.problems.length) {
      for (const p of merged.problems) io.stderr.write(`${k.file}: ${p}\n`);
      io.stderr.write('nothing written\n');
      return EXIT_ERRORS;
    }
    writeDeviceKeysFile(k.file, merged.devices);
    return EXIT_OK;
  } catch (err) {
    if (err instanceof KeysFileError) {
      io.stderr.write(`${err.message}\nnothing written\n`);
      return EXIT_ERRORS;
    }
    throw err;
  }
}
