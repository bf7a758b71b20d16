/**
 * From a fleet's catalogue ids to catalogue entries and runnable codecs, resolved once before
 * the fleet expands (codec resolution is async: script codecs load a sandbox).
 *
 * A fleet may name a device whose catalogue file does not exist yet while its native codec does
 * (same id in codecs/registry.ts): the simulator then runs it with a stand-in entry built from
 * the codec (its category and ports, hourly reports, no variable defaults) and says so in a
 * warning, rather than refusing the whole fleet.
 */
import type { Codec } from '../codecs/api.ts';
import { nativeCodec } from '../codecs/registry.ts';
import { loadCatalogue, type DeviceEntry } from '../devices/catalogue.ts';
import { resolveCodec } from '../devices/resolve.ts';
import type { Fleet } from './fleet.ts';

export interface LookedUpDevice {
  entry: DeviceEntry;
  codec: Codec;
}

export type DeviceLookup = (id: string) => LookedUpDevice | undefined;

export interface FleetLookup {
  lookup: DeviceLookup;
  warnings: string[];
}

function standInEntry(id: string, codec: Codec): DeviceEntry {
  return {
    id,
    vendor: id.split('/')[0] ?? id,
    model: id.split('/')[1] ?? id,
    name: codec.name,
    category: codec.category,
    codec: codec.id,
    fPorts: [...codec.fPorts],
    readings: {},
    reportingInterval: 3600,
    file: '(stand-in: no catalogue file)',
  };
}

/** Resolves every device id the fleet names. Unknown ids stay unknown (expandFleet names them). */
export async function lookupForFleet(fleet: Fleet, catalogueDir?: string): Promise<FleetLookup> {
  const catalogue = loadCatalogue(catalogueDir);
  const found = new Map<string, LookedUpDevice>();
  const warnings: string[] = [];
  for (const [i, group] of fleet.devices.entries()) {
    const id = group.device;
    if (found.has(id)) continue;
    const entry = catalogue.byId.get(id);
    if (entry) {
      try {
        found.set(id, { entry, codec: await resolveCodec(entry) });
      } catch (err) {
        throw new Error(`devices[${i}].device: ${id}: ${(err as Error).message}`);
      }
      continue;
    }
    const codec = nativeCodec(id);
    if (codec) {
      found.set(id, { entry: standInEntry(id, codec), codec });
      warnings.push(`${id} has no catalogue file (devices/${id}.yaml); using its native codec with hourly reports and no variable defaults`);
    }
  }
  return { lookup: (id) => found.get(id), warnings };
}
