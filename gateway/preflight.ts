/**
 * Everything `start()` loads besides the config itself, checked without starting anything:
 * the device registry (exists when configured, parses, every device valid), the catalogue
 * references (registry models, `device_profiles` targets). `gateway --check` prints this, and
 * the CLI runs it before a start too, so a bad registry exits 78 (EX_CONFIG, which systemd's
 * RestartPreventExitStatus=78 does not restart) with file, line and field instead of a stack
 * trace and a restart loop.
 */
import { loadCatalogue, type Catalogue } from '../devices/catalogue.ts';
import { didYouMean } from '../devices/did-you-mean.ts';
import type { GatewayConfig } from './config.ts';
import { loadRegistry, problemText, RegistryError, type DeviceRegistry } from './registry/devices-file.ts';

export interface Preflight {
  /** one line each, naming the file (and line) and the field */
  problems: string[];
  warnings: string[];
  devices: number;
  /**
   * what was read, for `createGateway(config, { preloaded })`: a start right after the preflight
   * need not parse the catalogue and a 10,000-device registry again (~0.6 s on a Pi-class machine)
   */
  preloaded: { catalogue: Catalogue; registry?: DeviceRegistry };
}

export function preflight(config: GatewayConfig): Preflight {
  const problems: string[] = [];
  const warnings: string[] = [];
  const catalogue = loadCatalogue();
  const ids = [...catalogue.byId.keys()];
  config.sources.forEach((s, i) => {
    for (const [profile, id] of Object.entries(s.device_profiles)) {
      if (!catalogue.byId.has(id)) problems.push(`${config.file}: sources[${i}].device_profiles.${profile}: unknown catalogue id "${id}"${didYouMean(id, ids)}`);
    }
  });
  let devices = 0;
  let registry: DeviceRegistry | undefined;
  const file = config.registry.devices_file;
  if (!file) warnings.push(`${config.file}: registry.devices_file is not set: only device_profiles decide which codec decodes an uplink`);
  else {
    try {
      registry = loadRegistry(file, catalogue, { mustExist: true, mode: 'read' });
      devices = registry.devices.length;
      for (const w of registry.warnings ?? []) warnings.push(`${file}: ${problemText(w)}`);
    } catch (err) {
      if (!(err instanceof RegistryError)) throw err;
      for (const p of err.problems) problems.push(`${file}: ${problemText(p)}`);
    }
  }
  return { problems, warnings, devices, preloaded: { catalogue, ...(registry ? { registry } : {}) } };
}
