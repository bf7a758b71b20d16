/**
 * Time on air (Semtech AN1200.13 / SX127x datasheet formula) and duty-cycle arithmetic.
 *
 * ```text
 * Tsym     = 2^SF / BW
 * Tpre     = (Npreamble + 4.25) · Tsym
 * Npayload = 8 + max(ceil((8·PL − 4·SF + 28 + 16·CRC − 20·IH) / (4·(SF − 2·DE))) · (CR + 4), 0)
 * ToA      = Tpre + Npayload · Tsym
 * ```
 *
 * PL = PHYPayload bytes, CRC = 1 for uplinks (LoRaWAN downlinks carry no PHY CRC), IH = 1 for
 * implicit header (never in LoRaWAN), DE = low-data-rate optimisation (on when Tsym ≥ 16 ms:
 * SF11/SF12 at 125 kHz, SF12 at 250 kHz), CR = 1..4 for 4/5..4/8.
 */

export type CodingRate = '4/5' | '4/6' | '4/7' | '4/8';

export interface LoraAirtimeParams {
  spreadingFactor: number;
  bandwidthHz: number;
  /** PHYPayload bytes. */
  payloadBytes: number;
  codingRate?: CodingRate;
  preambleSymbols?: number;
  explicitHeader?: boolean;
  /** PHY CRC: true for uplinks, false for downlinks. */
  crc?: boolean;
  lowDataRateOptimize?: boolean | 'auto';
}

const CR: Record<CodingRate, number> = { '4/5': 1, '4/6': 2, '4/7': 3, '4/8': 4 };

/** LoRa symbol time in ms. */
export function loraSymbolTimeMs(spreadingFactor: number, bandwidthHz: number): number {
  return (2 ** spreadingFactor / bandwidthHz) * 1000;
}

/** Time on air of a LoRa frame in ms. Throws RangeError on parameters LoRaWAN does not use. */
export function loraTimeOnAirMs(p: LoraAirtimeParams): number {
  const sf = p.spreadingFactor;
  if (!Number.isInteger(sf) || sf < 7 || sf > 12) throw new RangeError(`spreading factor must be 7..12, got ${String(sf)}`);
  if (!(p.bandwidthHz > 0)) throw new RangeError(`bandwidth must be positive, got ${String(p.bandwidthHz)}`);
  if (!Number.isInteger(p.payloadBytes) || p.payloadBytes < 0 || p.payloadBytes > 255) {
    throw new RangeError(`payload must be 0..255 bytes, got ${String(p.payloadBytes)}`);
  }
  const cr = CR[p.codingRate ?? '4/5'];
  const tSym = loraSymbolTimeMs(sf, p.bandwidthHz);
  const ldro = p.lowDataRateOptimize === undefined || p.lowDataRateOptimize === 'auto' ? tSym >= 16 : p.lowDataRateOptimize;
  const de = ldro ? 1 : 0;
  const ih = (p.explicitHeader ?? true) ? 0 : 1;
  const crc = (p.crc ?? true) ? 1 : 0;
  const tPreamble = ((p.preambleSymbols ?? 8) + 4.25) * tSym;
  const num = 8 * p.payloadBytes - 4 * sf + 28 + 16 * crc - 20 * ih;
  const nPayload = 8 + Math.max(Math.ceil(num / (4 * (sf - 2 * de))) * (cr + 4), 0);
  return tPreamble + nPayload * tSym;
}

/**
 * Time on air of an FSK frame in ms: preamble (5 bytes) + sync word (3) + length (1) + payload
 * + CRC (2), at `bitRate`.
 */
export function fskTimeOnAirMs(bitRate: number, payloadBytes: number, crc = true): number {
  return (((5 + 3 + 1 + payloadBytes + (crc ? 2 : 0)) * 8) / bitRate) * 1000;
}

/** How long a transmitter must stay silent after `airtimeMs` to keep `dutyCycle` (e.g. 0.01). */
export function dutyCycleOffTimeMs(airtimeMs: number, dutyCycle: number): number {
  if (!(dutyCycle > 0 && dutyCycle <= 1)) throw new RangeError(`duty cycle must be in (0, 1], got ${String(dutyCycle)}`);
  return airtimeMs / dutyCycle - airtimeMs;
}

/**
 * Join-request retransmission back-off (LoRaWAN 1.0.3 §7): aggregated airtime allowed since the
 * device started joining.
 */
export const JOIN_BACKOFF: readonly { fromMs: number; untilMs: number; maxAirtimeMs: number; windowMs: number }[] = [
  { fromMs: 0, untilMs: 3_600_000, maxAirtimeMs: 36_000, windowMs: 3_600_000 },
  { fromMs: 3_600_000, untilMs: 39_600_000, maxAirtimeMs: 36_000, windowMs: 36_000_000 },
  { fromMs: 39_600_000, untilMs: Number.POSITIVE_INFINITY, maxAirtimeMs: 8_700, windowMs: 86_400_000 },
];
