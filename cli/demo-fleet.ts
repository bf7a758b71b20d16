/**
 * Which fleet `lorawan-edge demo --fleet …` simulates: a named fleet shipped in
 * simulator/fleets/ (`demo`, `perpignan`, `dijon`, `city`) or a fleet file of the user's.
 * Checked before anything is started, so a typo costs one line and no servers.
 */
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { CODECS_DIR } from '../codecs/location.ts';
import { didYouMean } from '../devices/did-you-mean.ts';
import { FleetError, loadFleet, type Fleet } from '../simulator/fleet.ts';
import { UsageError } from './usage.ts';

export const FLEETS_DIR = resolve(CODECS_DIR, '..', 'simulator', 'fleets');

/** The shipped fleets the flag names, with what each is. */
export const NAMED_FLEETS: Readonly<Record<string, string>> = {
  demo: '30 devices of every category around one town centre',
  perpignan: 'drop-off points in eight communes of Perpignan Méditerranée Métropole, water meters, air probes',
  dijon: 'household-waste bins in Dijon Métropole, river level stations on the Ouche and the Suzon',
};

export interface DemoFleet {
  path: string;
  fleet: Fleet;
}

/** Resolves `--fleet` (default `demo`) to a loaded, validated fleet; a UsageError names the flag. */
export function demoFleet(value: string | undefined): DemoFleet {
  const asked = value ?? 'demo';
  const looksLikeFile = /[/\\]|\.ya?ml$/i.test(asked);
  const path = looksLikeFile ? resolve(asked) : resolve(FLEETS_DIR, `${asked}.yaml`);
  if (!looksLikeFile && !Object.hasOwn(NAMED_FLEETS, asked)) {
    throw new UsageError(`--fleet: no fleet "${asked}"${didYouMean(asked, Object.keys(NAMED_FLEETS))}; use ${Object.keys(NAMED_FLEETS).join(', ')} or a fleet file (.yaml)`);
  }
  if (!existsSync(path) || !statSync(path).isFile()) throw new UsageError(`--fleet: ${asked} is not a file`);
  try {
    return { path, fleet: loadFleet(path) };
  } catch (err) {
    if (err instanceof FleetError) throw new UsageError(`--fleet: ${err.message}`);
    throw err;
  }
}
