/**
 * Region registry and the helpers that read region tables. No helper branches on a region id:
 * everything regional is in the `Region` data (see `types.ts`).
 */
import { fskTimeOnAirMs, loraTimeOnAirMs } from './airtime.ts';
import { EU868 } from './eu868.ts';
import type { DataRate, MaxPayload, Region } from './types.ts';

export type * from './types.ts';
export { EU868 } from './eu868.ts';
export { DutyCycleLedger, dutyCycleBandFor, type DutyCycleCheck } from './duty-cycle.ts';
export {
  JOIN_BACKOFF,
  dutyCycleOffTimeMs,
  fskTimeOnAirMs,
  loraSymbolTimeMs,
  loraTimeOnAirMs,
  type CodingRate,
  type LoraAirtimeParams,
} from './airtime.ts';

/** Every region this package ships, by id. */
export const REGIONS: Readonly<Record<string, Region>> = { EU868 };

export function getRegion(id: string): Region | undefined {
  return REGIONS[id];
}

export function dataRateOf(region: Region, dr: number): DataRate | undefined {
  return region.dataRates[dr];
}

/** The Semtech UDP `datr` for a data rate: "SF12BW125" for LoRa, the bit rate for FSK. */
export function datrOf(region: Region, dr: number): string | number | undefined {
  const d = region.dataRates[dr];
  if (!d) return undefined;
  return d.modulation === 'LORA' ? `SF${d.spreadingFactor}BW${d.bandwidthHz / 1000}` : d.bitRate;
}

/**
 * Each region's `datr` → DR table, built on first use: the network server looks a DR up for
 * every uplink and answer, and scanning the region formatting each DR's `datr` cost ~4 µs and a
 * handful of strings per call (bench/edge-ns).
 */
const drByDatr = new WeakMap<Region, ReadonlyMap<string | number, number>>();

function datrTable(region: Region): ReadonlyMap<string | number, number> {
  let t = drByDatr.get(region);
  if (!t) {
    const m = new Map<string | number, number>();
    for (const [k, d] of Object.entries(region.dataRates)) {
      const datr = datrOf(region, Number(k));
      // The lowest DR wins when two share a datr, as the scan in DR order did.
      if (datr !== undefined && d !== undefined && !m.has(datr)) m.set(datr, Number(k));
    }
    t = m;
    drByDatr.set(region, t);
  }
  return t;
}

/** The DR index for a Semtech `datr` ("SF7BW125" or an FSK bit rate), if the region has it. */
export function dataRateFromDatr(region: Region, datr: string | number): number | undefined {
  return datrTable(region).get(datr);
}

/** RX1 data rate for an uplink DR and RX1DROffset, or undefined when the pair is invalid. */
export function rx1DataRate(region: Region, uplinkDr: number, rx1DrOffset: number): number | undefined {
  return region.rx1DataRate[uplinkDr]?.[rx1DrOffset];
}

/** RX1 frequency for an uplink frequency, or undefined when the uplink is on no known channel. */
export function rx1FrequencyHz(region: Region, uplinkFrequencyHz: number): number | undefined {
  const rule = region.rx1Frequency;
  if (rule.type === 'same-as-uplink') return uplinkFrequencyHz;
  const i = rule.uplinkChannelsHz.indexOf(uplinkFrequencyHz);
  return i < 0 ? undefined : rule.downlinkChannelsHz[i % rule.downlinkChannelsHz.length];
}

/** Max MACPayload (M) and FRMPayload without FOpts (N) at a DR. Repeater-compatible by default. */
export function maxPayloadSize(region: Region, dr: number, options: { repeaterCompatible?: boolean } = {}): MaxPayload | undefined {
  const table = (options.repeaterCompatible ?? true) ? region.maxPayload.repeaterCompatible : region.maxPayload.notRepeaterCompatible;
  return table[dr];
}

/** Device EIRP in dBm for a LinkADRReq TXPower index, or undefined when the index is RFU. */
export function txPowerDbm(region: Region, txPowerIndex: number, maxEirpDbm = region.maxEirpDbm): number | undefined {
  const offset = region.txPowerOffsetsDb[txPowerIndex];
  return offset === undefined ? undefined : maxEirpDbm + offset;
}

/**
 * Time on air in ms of a PHYPayload of `payloadBytes` at a region DR. Uplinks carry a PHY CRC,
 * LoRaWAN downlinks do not (`crc: false`).
 */
export function timeOnAirMs(region: Region, dr: number, payloadBytes: number, options: { crc?: boolean } = {}): number {
  const d = region.dataRates[dr];
  if (!d) throw new RangeError(`${region.id} has no DR${dr}`);
  const crc = options.crc ?? true;
  if (d.modulation === 'FSK') return fskTimeOnAirMs(d.bitRate, payloadBytes, crc);
  return loraTimeOnAirMs({
    spreadingFactor: d.spreadingFactor,
    bandwidthHz: d.bandwidthHz,
    payloadBytes,
    codingRate: region.codingRate,
    preambleSymbols: region.preambleSymbols,
    crc,
  });
}
