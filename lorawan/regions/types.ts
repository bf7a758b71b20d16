/**
 * A LoRaWAN region as **data** (RP002 / RP 1.0.3revA). Everything a network server or a
 * simulator needs per region is a table here; the helpers in `index.ts` read the tables and
 * contain no region-specific branches, so adding a region is adding one more `Region` object.
 *
 * Units: frequencies in Hz, times in ms, powers in dBm, duty cycles as fractions (0.01 = 1 %).
 * Data-rate indexes (DR0…DR15) key the sparse tables (`dataRates`, `maxPayload`, `rx1DataRate`).
 */

export type LoraDataRate = {
  modulation: 'LORA';
  spreadingFactor: number;
  bandwidthHz: number;
  /** Nominal bit rate (bit/s) as listed in the regional parameters. */
  bitRate: number;
};

export type FskDataRate = {
  modulation: 'FSK';
  bitRate: number;
};

export type DataRate = LoraDataRate | FskDataRate;

export interface Channel {
  index: number;
  frequencyHz: number;
  minDr: number;
  maxDr: number;
}

/** Largest MACPayload (M) and FRMPayload without FOpts (N = M − 8) for one data rate. */
export interface MaxPayload {
  m: number;
  n: number;
}

/** How the RX1 downlink frequency follows from the uplink. */
export type Rx1FrequencyRule =
  /** EU868-like: RX1 uses the uplink frequency. */
  | { type: 'same-as-uplink' }
  /**
   * US915-like: uplink channel i (found in `uplinkChannelsHz`) answers on downlink channel
   * `i mod downlinkChannelsHz.length`.
   */
  | { type: 'downlink-channel-table'; uplinkChannelsHz: readonly number[]; downlinkChannelsHz: readonly number[] };

/** A sub-band with its regulatory duty-cycle limit (applies to gateway downlinks too). */
export interface DutyCycleBand {
  name: string;
  /** Inclusive lower edge. */
  minHz: number;
  /** Exclusive upper edge. */
  maxHz: number;
  /** Fraction of time a transmitter may occupy the band, over `windowMs`. */
  dutyCycle: number;
  /** Regulatory ERP limit in the band. */
  maxErpDbm: number;
}

export interface Region {
  id: string;
  /** Human-readable name and the document the numbers come from. */
  name: string;
  source: string;
  frequencyRangeHz: readonly [number, number];
  /** DR index → modulation; missing indexes are RFU in that region. */
  dataRates: Readonly<Record<number, DataRate>>;
  /** Channels every device has after join/reset (EU868: the three join channels). */
  defaultChannels: readonly Channel[];
  /** How the join-accept CFList is laid out in this region. */
  cfListType: 'frequencies' | 'channel-mask';
  /** RX1 data rate: `rx1DataRate[uplinkDr][rx1DrOffset]`. */
  rx1DataRate: Readonly<Record<number, readonly number[]>>;
  rx1Frequency: Rx1FrequencyRule;
  rx2: { frequencyHz: number; dataRate: number };
  receiveDelay1Ms: number;
  receiveDelay2Ms: number;
  joinAcceptDelay1Ms: number;
  joinAcceptDelay2Ms: number;
  maxFCntGap: number;
  adrAckLimit: number;
  adrAckDelay: number;
  /** ACK_TIMEOUT (RETRANSMIT_TIMEOUT in 1.0.4): a random delay in this range. */
  ackTimeoutMs: { min: number; max: number };
  /** Max MACPayload / FRMPayload per DR, for devices that may sit behind a repeater and not. */
  maxPayload: {
    repeaterCompatible: Readonly<Record<number, MaxPayload>>;
    notRepeaterCompatible: Readonly<Record<number, MaxPayload>>;
  };
  /** Default max EIRP of a device. */
  maxEirpDbm: number;
  /** TXPower index → dB relative to MaxEIRP (0, −2, …). */
  txPowerOffsetsDb: readonly number[];
  /** Duty-cycle sub-bands; empty when the region limits dwell time instead. */
  dutyCycleBands: readonly DutyCycleBand[];
  /** Window the duty cycle is measured over. */
  dutyCycleWindowMs: number;
  /** Max time on air per transmission where a dwell-time rule applies, else null. */
  maxDwellTimeMs: number | null;
  /** LoRaWAN uses coding rate 4/5 everywhere. */
  codingRate: '4/5';
  /** Preamble length in symbols. */
  preambleSymbols: number;
}
