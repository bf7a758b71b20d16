/**
 * Which uplink channels a device has (EU868), for the channel mask of a LinkADRReq: a mask that
 * names a channel the device does not have is refused as a whole.
 *
 * - Every device has the three default channels 0–2 (868.1/868.3/868.5 MHz).
 * - OTAA devices got channels 3–7 in our join-accept's CFList (`JOIN_CF_LIST_HZ`).
 * - ABP devices get no CFList: their extra channels are the ones they were programmed with,
 *   configured as `abp_channels` (frequencies of channels 3, 4, …; typically the same
 *   867.1–867.9 MHz plan). Unset: channels 0–2 only.
 */

/** EU868 extra channels 3..7 of the join-accept CFList (the usual 867.1–867.9 MHz plan). */
export const JOIN_CF_LIST_HZ = [867_100_000, 867_300_000, 867_500_000, 867_700_000, 867_900_000] as const;
/** EU868 devices have at most 16 channels; channels 0–2 are the defaults. */
export const MAX_EXTRA_CHANNELS = 13;

/** ChMask (ChMaskCntl 0) of the default channels plus `extra` channels from index 3 on. */
export function channelMask(activation: 'OTAA' | 'ABP', abpChannelsHz: readonly number[]): number {
  const extra = activation === 'OTAA' ? JOIN_CF_LIST_HZ.length : Math.min(MAX_EXTRA_CHANNELS, abpChannelsHz.length);
  return (1 << (3 + extra)) - 1;
}

/** Problem with an `abp_channels` list, or undefined. */
export function abpChannelsProblem(v: unknown): string | undefined {
  if (!Array.isArray(v)) return 'must be a list of frequencies in Hz (channels 3, 4, …)';
  if (v.length > MAX_EXTRA_CHANNELS) return `at most ${MAX_EXTRA_CHANNELS} channels (EU868: 16 in all, 0–2 are the defaults)`;
  for (const f of v) if (typeof f !== 'number' || !Number.isInteger(f) || f < 863_000_000 || f > 870_000_000) return `${JSON.stringify(f)} is not an EU868 frequency in Hz (863000000..870000000)`;
  return undefined;
}
