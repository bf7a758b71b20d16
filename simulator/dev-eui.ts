/**
 * Simulated DevEUIs: the fleet's (or group's) prefix, then a bijective scramble of
 * (seed, device index). Different seeds of one fleet therefore never share a DevEUI by accident
 * (a random draw per device did: `70b3d5fb7f8a1b12` was an Axioma meter with seed 11 and an Elsys
 * bin sensor with seed 12 of the city fleet), and one fleet never repeats one. That holds while
 * the bits after the prefix can hold both numbers: with the default 3-byte prefix, seeds
 * 0..65535 and 16,777,216 devices. Outside that, `devEuiCollisionRisk` says so.
 */
const SEED_BITS = 16;

export interface EuiPlan {
  prefix: string;
  /** Bits after the prefix. */
  bits: number;
}

/** Bits for the device index under a prefix (what the seed leaves). */
function indexBits(bits: number): number {
  return Math.max(0, bits - SEED_BITS);
}

/**
 * A bijection on `bits`-bit integers (odd multiplier and xor-shifts mod 2^bits), so nearby
 * (seed, index) pairs give unrelated-looking EUIs while distinct inputs stay distinct.
 */
function scramble(x: bigint, bits: number): bigint {
  if (bits === 0) return 0n;
  const mask = (1n << BigInt(bits)) - 1n;
  const half = BigInt(Math.max(1, Math.floor(bits / 2)));
  let v = x & mask;
  v = (v * 0x9e3779b97f4a7c15n) & mask;
  v ^= v >> half;
  v = (v * 0xbf58476d1ce4e5b9n) & mask;
  v ^= v >> half;
  return v;
}

/** The DevEUI of device `index` (fleet-wide, 0-based) for `seed` under `prefix` (hex, 1..6 bytes). */
export function simulatedDevEui(prefix: string, seed: number, index: number): string {
  const bits = 64 - prefix.length * 4;
  const ib = indexBits(bits);
  const seedPart = BigInt(seed) & ((1n << BigInt(SEED_BITS)) - 1n);
  const x = ib >= bits ? BigInt(index) : (seedPart << BigInt(ib)) | (BigInt(index) & ((1n << BigInt(ib)) - 1n));
  return prefix.toLowerCase() + scramble(x, bits).toString(16).padStart(bits / 4, '0');
}

/**
 * Why EUIs of this fleet could collide with another simulation's of the same fleet (another
 * seed) or repeat within it, or undefined when they cannot.
 */
export function devEuiCollisionRisk(prefix: string, seed: number, deviceCount: number): string | undefined {
  const bits = 64 - prefix.length * 4;
  const ib = indexBits(bits);
  if (seed >= 2 ** SEED_BITS) {
    return `seed ${seed} is above ${2 ** SEED_BITS - 1}: its DevEUIs (prefix ${prefix}) equal those of seed ${seed % 2 ** SEED_BITS}`;
  }
  if (deviceCount > 2 ** ib) {
    return `DevEUI prefix ${prefix} leaves ${ib} bit(s) for ${deviceCount} devices: DevEUIs can repeat, and other seeds of this fleet can share them`;
  }
  return undefined;
}
