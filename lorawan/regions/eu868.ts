/**
 * EU863-870 (RP 1.0.3revA / RP002-1.0.x) and the ETSI EN 300 220 sub-bands it lives in.
 * Values as in ../shared/reference/lorawan-mac-and-udp.md §3.6.
 */
import type { MaxPayload, Region } from './types.ts';

const SMALL: MaxPayload = { m: 59, n: 51 };
const MEDIUM: MaxPayload = { m: 123, n: 115 };
const LARGE_REPEATER: MaxPayload = { m: 230, n: 222 };
const LARGE: MaxPayload = { m: 250, n: 242 };

/** RX1 DR = max(0, uplink DR − RX1DROffset), offsets 0..5. */
function rx1Row(dr: number): number[] {
  return [0, 1, 2, 3, 4, 5].map((offset) => Math.max(0, dr - offset));
}

export const EU868: Region = {
  id: 'EU868',
  name: 'EU863-870',
  source: 'LoRaWAN Regional Parameters RP 1.0.3revA / RP002-1.0.x; ETSI EN 300 220 sub-bands',
  frequencyRangeHz: [863_000_000, 870_000_000],
  dataRates: {
    0: { modulation: 'LORA', spreadingFactor: 12, bandwidthHz: 125_000, bitRate: 250 },
    1: { modulation: 'LORA', spreadingFactor: 11, bandwidthHz: 125_000, bitRate: 440 },
    2: { modulation: 'LORA', spreadingFactor: 10, bandwidthHz: 125_000, bitRate: 980 },
    3: { modulation: 'LORA', spreadingFactor: 9, bandwidthHz: 125_000, bitRate: 1760 },
    4: { modulation: 'LORA', spreadingFactor: 8, bandwidthHz: 125_000, bitRate: 3125 },
    5: { modulation: 'LORA', spreadingFactor: 7, bandwidthHz: 125_000, bitRate: 5470 },
    6: { modulation: 'LORA', spreadingFactor: 7, bandwidthHz: 250_000, bitRate: 11_000 },
    7: { modulation: 'FSK', bitRate: 50_000 },
  },
  defaultChannels: [
    { index: 0, frequencyHz: 868_100_000, minDr: 0, maxDr: 5 },
    { index: 1, frequencyHz: 868_300_000, minDr: 0, maxDr: 5 },
    { index: 2, frequencyHz: 868_500_000, minDr: 0, maxDr: 5 },
  ],
  cfListType: 'frequencies',
  rx1DataRate: { 0: rx1Row(0), 1: rx1Row(1), 2: rx1Row(2), 3: rx1Row(3), 4: rx1Row(4), 5: rx1Row(5), 6: rx1Row(6), 7: rx1Row(7) },
  rx1Frequency: { type: 'same-as-uplink' },
  rx2: { frequencyHz: 869_525_000, dataRate: 0 },
  receiveDelay1Ms: 1000,
  receiveDelay2Ms: 2000,
  joinAcceptDelay1Ms: 5000,
  joinAcceptDelay2Ms: 6000,
  maxFCntGap: 16384,
  adrAckLimit: 64,
  adrAckDelay: 32,
  ackTimeoutMs: { min: 1000, max: 3000 },
  maxPayload: {
    repeaterCompatible: { 0: SMALL, 1: SMALL, 2: SMALL, 3: MEDIUM, 4: LARGE_REPEATER, 5: LARGE_REPEATER, 6: LARGE_REPEATER, 7: LARGE_REPEATER },
    notRepeaterCompatible: { 0: SMALL, 1: SMALL, 2: SMALL, 3: MEDIUM, 4: LARGE, 5: LARGE, 6: LARGE, 7: LARGE },
  },
  maxEirpDbm: 16,
  txPowerOffsetsDb: [0, -2, -4, -6, -8, -10, -12, -14],
  dutyCycleBands: [
    { name: 'K', minHz: 863_000_000, maxHz: 865_000_000, dutyCycle: 0.001, maxErpDbm: 14 },
    { name: 'L', minHz: 865_000_000, maxHz: 868_000_000, dutyCycle: 0.01, maxErpDbm: 14 },
    { name: 'M', minHz: 868_000_000, maxHz: 868_600_000, dutyCycle: 0.01, maxErpDbm: 14 },
    { name: 'N', minHz: 868_700_000, maxHz: 869_200_000, dutyCycle: 0.001, maxErpDbm: 14 },
    { name: 'P', minHz: 869_400_000, maxHz: 869_650_000, dutyCycle: 0.1, maxErpDbm: 27 },
    { name: 'Q', minHz: 869_700_000, maxHz: 870_000_000, dutyCycle: 0.01, maxErpDbm: 14 },
  ],
  dutyCycleWindowMs: 3_600_000,
  maxDwellTimeMs: null,
  codingRate: '4/5',
  preambleSymbols: 8,
};
