import { describe, expect, it } from 'vitest';
import {
  DutyCycleLedger,
  EU868,
  REGIONS,
  dataRateFromDatr,
  datrOf,
  dutyCycleBandFor,
  dutyCycleOffTimeMs,
  loraTimeOnAirMs,
  maxPayloadSize,
  rx1DataRate,
  rx1FrequencyHz,
  timeOnAirMs,
  txPowerDbm,
  type Region,
} from './index.ts';

describe('EU868 table', () => {
  it('has the three default channels at 125 kHz, DR0-DR5', () => {
    expect(EU868.defaultChannels.map((c) => c.frequencyHz)).toEqual([868_100_000, 868_300_000, 868_500_000]);
    for (const c of EU868.defaultChannels) expect([c.minDr, c.maxDr]).toEqual([0, 5]);
  });

  it('maps data rates to SF/BW and Semtech datr both ways', () => {
    expect(datrOf(EU868, 0)).toBe('SF12BW125');
    expect(datrOf(EU868, 5)).toBe('SF7BW125');
    expect(datrOf(EU868, 6)).toBe('SF7BW250');
    expect(datrOf(EU868, 7)).toBe(50_000);
    expect(datrOf(EU868, 8)).toBeUndefined();
    for (let dr = 0; dr <= 7; dr++) expect(dataRateFromDatr(EU868, datrOf(EU868, dr) as string | number)).toBe(dr);
    expect(dataRateFromDatr(EU868, 'SF7BW500')).toBeUndefined();
  });

  it('RX1 DR = max(0, DR - offset), RX1 on the uplink frequency, RX2 869.525 MHz DR0', () => {
    expect(rx1DataRate(EU868, 5, 0)).toBe(5);
    expect(rx1DataRate(EU868, 5, 2)).toBe(3);
    expect(rx1DataRate(EU868, 1, 3)).toBe(0);
    expect(rx1DataRate(EU868, 7, 5)).toBe(2);
    expect(rx1DataRate(EU868, 5, 6)).toBeUndefined();
    expect(rx1FrequencyHz(EU868, 868_300_000)).toBe(868_300_000);
    expect(EU868.rx2).toEqual({ frequencyHz: 869_525_000, dataRate: 0 });
    expect([EU868.receiveDelay1Ms, EU868.receiveDelay2Ms, EU868.joinAcceptDelay1Ms, EU868.joinAcceptDelay2Ms]).toEqual([1000, 2000, 5000, 6000]);
  });

  it('max payload per DR, with and without repeater', () => {
    expect(maxPayloadSize(EU868, 0)).toEqual({ m: 59, n: 51 });
    expect(maxPayloadSize(EU868, 3)).toEqual({ m: 123, n: 115 });
    expect(maxPayloadSize(EU868, 5)).toEqual({ m: 230, n: 222 });
    expect(maxPayloadSize(EU868, 5, { repeaterCompatible: false })).toEqual({ m: 250, n: 242 });
    for (let dr = 0; dr <= 7; dr++) {
      for (const t of [EU868.maxPayload.repeaterCompatible, EU868.maxPayload.notRepeaterCompatible]) {
        const p = t[dr];
        expect(p && p.n).toBe(p && p.m - 8);
      }
    }
  });

  it('TX power: TXPower 0 = MaxEIRP 16 dBm, -2 dB per step, 8 steps', () => {
    expect(txPowerDbm(EU868, 0)).toBe(16);
    expect(txPowerDbm(EU868, 7)).toBe(2);
    expect(txPowerDbm(EU868, 8)).toBeUndefined();
  });

  it('duty-cycle sub-bands', () => {
    expect(dutyCycleBandFor(EU868, 868_100_000)?.name).toBe('M');
    expect(dutyCycleBandFor(EU868, 869_525_000)).toMatchObject({ name: 'P', dutyCycle: 0.1, maxErpDbm: 27 });
    expect(dutyCycleBandFor(EU868, 867_100_000)?.name).toBe('L');
    expect(dutyCycleBandFor(EU868, 868_650_000)).toBeUndefined();
  });

  it('every DR in each table exists in dataRates (a region is consistent data)', () => {
    for (const region of Object.values(REGIONS) as Region[]) {
      const drs = Object.keys(region.dataRates).map(Number);
      for (const row of Object.values(region.rx1DataRate)) for (const dr of row) expect(drs).toContain(dr);
      for (const dr of Object.keys(region.maxPayload.repeaterCompatible).map(Number)) expect(drs).toContain(dr);
      for (const c of region.defaultChannels) {
        expect(c.frequencyHz).toBeGreaterThanOrEqual(region.frequencyRangeHz[0]);
        expect(c.frequencyHz).toBeLessThanOrEqual(region.frequencyRangeHz[1]);
      }
      expect(drs).toContain(region.rx2.dataRate);
    }
  });
});

describe('time on air', () => {
  // Reference table (125 kHz, CR 4/5, 8-symbol preamble, explicit header, LDRO at SF11/12).
  const table: [number, boolean, number[]][] = [
    [13, false, [41, 82, 144, 289, 578, 1155]],
    [17, false, [46, 93, 165, 330, 660, 1155]],
    [33, false, [72, 134, 247, 453, 905, 1810]],
    [23, true, [62, 113, 206, 371, 823, 1483]],
  ];
  for (const [bytes, crc, ms] of table) {
    it(`${bytes}-byte frame, CRC ${crc ? 'on' : 'off'}: ${ms.join('/')} ms for SF7..SF12`, () => {
      const got = [7, 8, 9, 10, 11, 12].map((sf) => loraTimeOnAirMs({ spreadingFactor: sf, bandwidthHz: 125_000, payloadBytes: bytes, crc }));
      // Within 1 ms: the table rounds 659.456 ms (17 bytes, SF11) up to 660; all others round to nearest.
      got.forEach((g, i) => expect(Math.abs(g - (ms[i] as number)), `SF${i + 7}: ${g}`).toBeLessThanOrEqual(1));
    });
  }

  it('17 bytes at SF11 is 659.456 ms exactly (28 payload symbols of 16.384 ms + 12.25 preamble symbols)', () => {
    expect(loraTimeOnAirMs({ spreadingFactor: 11, bandwidthHz: 125_000, payloadBytes: 17, crc: false })).toBeCloseTo(659.456, 9);
  });

  it('via the region table: DR0 = SF12, DR5 = SF7', () => {
    expect(Math.round(timeOnAirMs(EU868, 0, 23))).toBe(1483);
    expect(Math.round(timeOnAirMs(EU868, 5, 13, { crc: false }))).toBe(41);
    expect(timeOnAirMs(EU868, 6, 13)).toBeLessThan(timeOnAirMs(EU868, 5, 13));
    expect(timeOnAirMs(EU868, 7, 13)).toBeCloseTo(((5 + 3 + 1 + 13 + 2) * 8) / 50, 6);
    expect(() => timeOnAirMs(EU868, 9, 13)).toThrow(RangeError);
  });

  it('duty cycle: 1 % after 100 ms on air means 9.9 s off', () => {
    expect(dutyCycleOffTimeMs(100, 0.01)).toBeCloseTo(9900, 6);
  });
});

describe('DutyCycleLedger', () => {
  it('allows about 31 SF12 ACKs per hour on band M, 311 on band P', () => {
    const ack = timeOnAirMs(EU868, 0, 13, { crc: false });
    for (const [freq, expected] of [
      [868_100_000, 31],
      [869_525_000, 311],
    ] as const) {
      const ledger = new DutyCycleLedger(EU868);
      let n = 0;
      while (ledger.check(freq, ack, 0).ok) {
        ledger.record(freq, ack, 0);
        n++;
      }
      expect(n).toBe(expected);
    }
  });

  it('reports the wait until the budget frees up, and refuses frequencies outside every band', () => {
    const ledger = new DutyCycleLedger(EU868);
    ledger.record(868_100_000, 20_000, 0);
    ledger.record(868_300_000, 15_000, 1000);
    const c = ledger.check(868_500_000, 2000, 2000);
    expect(c).toMatchObject({ ok: false, reason: 'over-budget', waitMs: 3_600_000 - 2000 });
    expect(ledger.check(868_500_000, 2000, 3_600_001).ok).toBe(true);
    expect(ledger.check(869_525_000, 2000, 2000).ok).toBe(true);
    expect(ledger.check(868_650_000, 10, 0)).toMatchObject({ ok: false, reason: 'no-band' });
  });
});

describe('another region is just another table', () => {
  // A made-up US915-shaped region (fixed downlink channels, channel-mask CFList, dwell time,
  // no duty cycle): the helpers need no code change for it.
  const uplink = Array.from({ length: 16 }, (_, i) => 902_300_000 + i * 200_000);
  const downlink = Array.from({ length: 8 }, (_, i) => 923_300_000 + i * 600_000);
  const TEST: Region = {
    ...EU868,
    id: 'TEST915',
    frequencyRangeHz: [902_000_000, 928_000_000],
    dataRates: {
      0: { modulation: 'LORA', spreadingFactor: 10, bandwidthHz: 125_000, bitRate: 980 },
      8: { modulation: 'LORA', spreadingFactor: 12, bandwidthHz: 500_000, bitRate: 980 },
      10: { modulation: 'LORA', spreadingFactor: 10, bandwidthHz: 500_000, bitRate: 3900 },
    },
    defaultChannels: uplink.map((frequencyHz, index) => ({ index, frequencyHz, minDr: 0, maxDr: 0 })),
    cfListType: 'channel-mask',
    rx1DataRate: { 0: [10, 8] },
    rx1Frequency: { type: 'downlink-channel-table', uplinkChannelsHz: uplink, downlinkChannelsHz: downlink },
    rx2: { frequencyHz: 923_300_000, dataRate: 8 },
    maxPayload: { repeaterCompatible: { 0: { m: 19, n: 11 } }, notRepeaterCompatible: { 0: { m: 19, n: 11 } } },
    dutyCycleBands: [],
    maxDwellTimeMs: 400,
  };

  it('RX1 frequency from the downlink channel table, DR and datr from the table', () => {
    expect(rx1FrequencyHz(TEST, 902_300_000 + 9 * 200_000)).toBe(923_300_000 + 1 * 600_000);
    expect(rx1FrequencyHz(TEST, 915_000_000)).toBeUndefined();
    expect(rx1DataRate(TEST, 0, 0)).toBe(10);
    expect(datrOf(TEST, 8)).toBe('SF12BW500');
    expect(dataRateFromDatr(TEST, 'SF10BW125')).toBe(0);
    expect(maxPayloadSize(TEST, 0)).toEqual({ m: 19, n: 11 });
    expect(timeOnAirMs(TEST, 0, 23)).toBeGreaterThan(timeOnAirMs(TEST, 10, 23));
  });

  it('a region without duty-cycle bands always has budget', () => {
    const ledger = new DutyCycleLedger(TEST);
    ledger.record(902_300_000, 1_000_000, 0);
    expect(ledger.check(902_300_000, 1_000_000, 1).ok).toBe(true);
  });
});
