/**
 * Device variables some codecs spell differently: Milesight's documentation says
 * `liters_per_pulse`, Netvox's `litres_per_pulse`. A city sets one name for all its water
 * meters, so each codec reads its own spelling and falls back to the other one.
 */
import type { Variables } from './api.ts';

/** Pairs of names that mean the same device variable. */
const SPELLINGS: readonly (readonly [string, string])[] = [['liters_per_pulse', 'litres_per_pulse']];

/** The variable `name`, or its other spelling when only that one is set. */
export function variable(variables: Variables | undefined, name: string): unknown {
  const own = variables?.[name];
  if (own !== undefined || variables === undefined) return own;
  for (const [a, b] of SPELLINGS) {
    if (name === a) return variables[b];
    if (name === b) return variables[a];
  }
  return undefined;
}
