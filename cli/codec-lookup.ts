/**
 * `--device <id>` on the command line: a catalogue device id (`<vendor>/<device>`), or a native
 * codec id for codecs shared by several devices (e.g. `elsys/elsys`).
 */
import type { Codec } from '../codecs/api.ts';
import { nativeCodec } from '../codecs/registry.ts';
import { loadCatalogue, type DeviceEntry } from '../devices/catalogue.ts';
import { didYouMean } from '../devices/did-you-mean.ts';
import { resolveCodec } from '../devices/resolve.ts';
import { UsageError } from './usage.ts';

export interface LookedUp {
  codec: Codec;
  entry?: DeviceEntry;
}

export async function lookupCodec(id: string): Promise<LookedUp> {
  const catalogue = loadCatalogue();
  const entry = catalogue.byId.get(id);
  if (entry) return { codec: await resolveCodec(entry), entry };
  const codec = nativeCodec(id);
  if (codec) return { codec };
  const known = catalogue.devices.map((d) => d.id).join(', ');
  throw new UsageError(`unknown device "${id}"${didYouMean(id, catalogue.byId.keys())} (known: ${known}; run "lorawan-edge devices")`);
}
