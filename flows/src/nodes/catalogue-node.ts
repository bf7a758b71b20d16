/** Config node `lorawan-device-catalogue`: one DeviceCatalogue shared by the nodes that use it. */
import { DeviceCatalogue } from '../catalogue.ts';
import type { NodeAPI, NodeDef, RedNode } from '../red.ts';

export const CATALOGUE_TYPE = 'lorawan-device-catalogue';

export interface CatalogueNode extends RedNode {
  catalogue?: DeviceCatalogue;
  /** why the catalogue could not be built (config error naming the setting) */
  failure?: string;
}

/** "a, b\nc" → ["a", "b", "c"] */
function list(text: unknown): string[] {
  return typeof text === 'string' ? text.split(/[\n,]/).map((s) => s.trim()).filter(Boolean) : [];
}

/** Builds the catalogue from the node's settings; throws an Error whose message names the setting. */
export function catalogueFromSettings(def: NodeDef): DeviceCatalogue {
  let profiles: Record<string, string> = {};
  const text = typeof def['deviceProfiles'] === 'string' ? def['deviceProfiles'].trim() : '';
  if (text) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new Error(`device profiles: not JSON (${(err as Error).message})`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) || !Object.values(parsed).every((v) => typeof v === 'string')) {
      throw new Error('device profiles: must be a JSON object of profile name → catalogue id');
    }
    profiles = parsed as Record<string, string>;
  }
  const registryFile = typeof def['registryFile'] === 'string' && def['registryFile'].trim() ? def['registryFile'].trim() : undefined;
  try {
    return new DeviceCatalogue({ extraDirs: list(def['extraDirs']), ...(registryFile ? { registryFile } : {}), deviceProfiles: profiles });
  } catch (err) {
    const m = (err as Error).message.split('\n')[0] ?? 'failed';
    throw new Error(registryFile && m.includes(registryFile) ? `registry file: ${m}` : `extra catalogue folders: ${m}`);
  }
}

let builtIn: DeviceCatalogue | undefined;
/** The built-in catalogue, for nodes without a catalogue config node (loaded once). */
export function builtInCatalogue(): DeviceCatalogue {
  builtIn ??= new DeviceCatalogue();
  return builtIn;
}

export function registerCatalogue(RED: NodeAPI): void {
  RED.nodes.registerType(CATALOGUE_TYPE, function (this: CatalogueNode, def: NodeDef) {
    RED.nodes.createNode(this, def);
    try {
      this.catalogue = catalogueFromSettings(def);
      for (const p of this.catalogue.problems.slice(0, 5)) this.warn(`catalogue: ${p}`);
    } catch (err) {
      this.failure = (err as Error).message;
      this.error(`lorawan-device-catalogue: ${this.failure}`);
    }
  });
}

/** The catalogue a flow node uses: its config node's, else the built-in one. */
export function catalogueOf(RED: NodeAPI, id: unknown): { catalogue: DeviceCatalogue } | { failure: string } {
  if (typeof id !== 'string' || id === '') return { catalogue: builtInCatalogue() };
  const n = RED.nodes.getNode(id) as CatalogueNode | null;
  if (!n) return { failure: 'the catalogue config node is missing' };
  if (!n.catalogue) return { failure: n.failure ?? 'catalogue not loaded' };
  return { catalogue: n.catalogue };
}
