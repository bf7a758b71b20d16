/**
 * From a catalogue entry to a runnable codec: a native codec from the registry, or a vendor's
 * JavaScript codec script run in the QuickJS sandbox. Callers treat both the same.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Codec } from '../codecs/api.ts';
import type { ExampleFile } from '../codecs/examples.ts';
import { nativeCodec } from '../codecs/registry.ts';
import { CODECS_DIR } from '../codecs/location.ts';
import type { DeviceEntry } from './catalogue.ts';

export class CodecResolveError extends Error {
  override readonly name = 'CodecResolveError';
}

export function scriptPath(entry: DeviceEntry): string | undefined {
  return typeof entry.codec === 'string' ? undefined : resolve(dirname(entry.file), entry.codec.script);
}

/** Resolves the codec of a catalogue entry; throws CodecResolveError with the reason. */
export async function resolveCodec(entry: DeviceEntry): Promise<Codec> {
  if (typeof entry.codec === 'string') {
    const codec = nativeCodec(entry.codec);
    if (!codec) throw new CodecResolveError(`unknown codec "${entry.codec}" (not in codecs/registry.ts)`);
    return codec;
  }
  const path = scriptPath(entry) as string;
  if (!existsSync(path)) throw new CodecResolveError(`codec script not found: ${path}`);
  const downPath = entry.codec.downlinkScript !== undefined ? resolve(dirname(entry.file), entry.codec.downlinkScript) : undefined;
  if (downPath !== undefined && !existsSync(downPath)) throw new CodecResolveError(`downlink codec script not found: ${downPath}`);
  // The sandbox (QuickJS/WebAssembly) is loaded only when a catalogue entry needs it.
  const { combineScriptCodecs, loadScriptCodec } = await import('../codecs/sandbox/index.ts');
  const options = {
    id: entry.id,
    name: entry.name,
    category: entry.category,
    fPorts: entry.fPorts,
    ...(entry.codec.timeoutMs !== undefined ? { timeoutMs: entry.codec.timeoutMs } : {}),
    ...(entry.codec.memoryLimitBytes !== undefined ? { memoryLimitBytes: entry.codec.memoryLimitBytes } : {}),
  };
  const uplink = await loadScriptCodec(readFileSync(path, 'utf8'), options);
  if (downPath === undefined) return uplink;
  try {
    return combineScriptCodecs(uplink, await loadScriptCodec(readFileSync(downPath, 'utf8'), options));
  } catch (err) {
    uplink.dispose();
    throw err;
  }
}

/** The executable examples of an entry's codec: the native codec's examples.json or the script's. */
export function examplesOf(entry: DeviceEntry): { path: string; file: ExampleFile } | undefined {
  let path: string | undefined;
  if (typeof entry.codec === 'string') path = resolve(CODECS_DIR, entry.codec, 'examples.json');
  else if (entry.codec.examples) path = resolve(dirname(entry.file), entry.codec.examples);
  if (!path || !existsSync(path)) return undefined;
  return { path, file: JSON.parse(readFileSync(path, 'utf8')) as ExampleFile };
}
