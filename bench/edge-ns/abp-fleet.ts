/**
 * The ABP sessions the edge-ns benches and the overload test give a bench fleet: DevAddr
 * 0x27000000 + i and keys derived from the device's index, so every run (and the bench's
 * pre-built frames) agrees with the keys file the gateway reads.
 */
import type { DeviceKeys } from '../../gateway/registry/keys-file.ts';
import type { FleetDevice } from '../gateway/fleet.ts';

/** A 16-byte key from a device index and a salt (1 NwkSKey, 2 AppSKey, 3 AppKey), as hex. */
export function benchKeyHex(i: number, salt: number): string {
  return (BigInt(i) * 0x9e3779b97f4a7c15n + BigInt(salt)).toString(16).padStart(32, '0').slice(-32);
}

export type AbpDevice = FleetDevice & { devAddr: number; nwkSKey: Buffer; appSKey: Buffer };

export function abpSessions(fleet: readonly FleetDevice[]): AbpDevice[] {
  return fleet.map((d, i) => ({ ...d, devAddr: (0x27000000 + i) >>> 0, nwkSKey: Buffer.from(benchKeyHex(i, 1), 'hex'), appSKey: Buffer.from(benchKeyHex(i, 2), 'hex') }));
}

/** The keys-file entries of `abpSessions`. */
export function abpKeys(abp: readonly AbpDevice[]): DeviceKeys[] {
  return abp.map((d): DeviceKeys => ({ devEui: d.devEui, activation: 'ABP', devAddr: d.devAddr.toString(16), nwkSKey: d.nwkSKey.toString('hex'), appSKey: d.appSKey.toString('hex') }));
}
