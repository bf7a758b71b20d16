import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromHex } from './bytes.ts';
import {
  MAC_COMMAND_SPECS,
  decodeMacCommands,
  deviceTimeFromUnixMs,
  encodeMacCommands,
  macCommandLength,
  unixMsFromDeviceTime,
  type MacCommand,
} from './mac-commands.ts';
import type { Direction } from './phy-payload.ts';

const uint = (max: number): fc.Arbitrary<number> => fc.integer({ min: 0, max });
const freq = uint(0xffffff).map((x) => x * 100);
const b = fc.boolean();

/** One arbitrary per command, covering every field's full range. */
const ARB: { [N in MacCommand['name']]: fc.Arbitrary<Extract<MacCommand, { name: N }>> } = {
  LinkCheckReq: fc.constant({ name: 'LinkCheckReq' }),
  LinkADRAns: fc.record({ name: fc.constant('LinkADRAns'), powerAck: b, dataRateAck: b, channelMaskAck: b }),
  DutyCycleAns: fc.constant({ name: 'DutyCycleAns' }),
  RXParamSetupAns: fc.record({ name: fc.constant('RXParamSetupAns'), rx1DrOffsetAck: b, rx2DataRateAck: b, channelAck: b }),
  DevStatusAns: fc.record({ name: fc.constant('DevStatusAns'), battery: uint(255), margin: fc.integer({ min: -32, max: 31 }) }),
  NewChannelAns: fc.record({ name: fc.constant('NewChannelAns'), dataRateRangeOk: b, channelFrequencyOk: b }),
  RXTimingSetupAns: fc.constant({ name: 'RXTimingSetupAns' }),
  TxParamSetupAns: fc.constant({ name: 'TxParamSetupAns' }),
  DlChannelAns: fc.record({ name: fc.constant('DlChannelAns'), uplinkFrequencyExists: b, channelFrequencyOk: b }),
  DeviceTimeReq: fc.constant({ name: 'DeviceTimeReq' }),
  PingSlotInfoReq: fc.record({ name: fc.constant('PingSlotInfoReq'), periodicity: uint(7) }),
  PingSlotChannelAns: fc.record({ name: fc.constant('PingSlotChannelAns'), dataRateOk: b, channelFrequencyOk: b }),
  BeaconTimingReq: fc.constant({ name: 'BeaconTimingReq' }),
  BeaconFreqAns: fc.record({ name: fc.constant('BeaconFreqAns'), beaconFrequencyOk: b }),
  LinkCheckAns: fc.record({ name: fc.constant('LinkCheckAns'), margin: uint(254), gwCnt: uint(255) }),
  LinkADRReq: fc.record({ name: fc.constant('LinkADRReq'), dataRate: uint(15), txPower: uint(15), chMask: uint(0xffff), chMaskCntl: uint(7), nbTrans: uint(15) }),
  DutyCycleReq: fc.record({ name: fc.constant('DutyCycleReq'), maxDutyCycle: uint(15) }),
  RXParamSetupReq: fc.record({ name: fc.constant('RXParamSetupReq'), rx1DrOffset: uint(7), rx2DataRate: uint(15), frequencyHz: freq }),
  DevStatusReq: fc.constant({ name: 'DevStatusReq' }),
  NewChannelReq: fc.record({ name: fc.constant('NewChannelReq'), chIndex: uint(255), frequencyHz: freq, minDr: uint(15), maxDr: uint(15) }),
  RXTimingSetupReq: fc.record({ name: fc.constant('RXTimingSetupReq'), delay: uint(15) }),
  TxParamSetupReq: fc.record({ name: fc.constant('TxParamSetupReq'), downlinkDwellTime: b, uplinkDwellTime: b, maxEirpIndex: uint(15) }),
  DlChannelReq: fc.record({ name: fc.constant('DlChannelReq'), chIndex: uint(255), frequencyHz: freq }),
  DeviceTimeAns: fc.record({ name: fc.constant('DeviceTimeAns'), gpsSeconds: uint(0xffffffff), fractionalSeconds: uint(255) }),
  PingSlotInfoAns: fc.constant({ name: 'PingSlotInfoAns' }),
  PingSlotChannelReq: fc.record({ name: fc.constant('PingSlotChannelReq'), frequencyHz: freq, dataRate: uint(15) }),
  BeaconTimingAns: fc.record({ name: fc.constant('BeaconTimingAns'), delay: uint(0xffff), channel: uint(255) }),
  BeaconFreqReq: fc.record({ name: fc.constant('BeaconFreqReq'), frequencyHz: freq }),
};

function commandsFor(direction: Direction): fc.Arbitrary<MacCommand[]> {
  const arbs = MAC_COMMAND_SPECS.filter((s) => s.direction === direction).map((s) => ARB[s.name] as fc.Arbitrary<MacCommand>);
  return fc.array(fc.oneof(...arbs), { maxLength: 8 });
}

describe('MAC command codec', () => {
  for (const direction of ['up', 'down'] as const) {
    it(`round-trips random ${direction}link command lists`, () => {
      fc.assert(
        fc.property(commandsFor(direction), (cmds) => {
          const bytes = encodeMacCommands(direction, cmds);
          expect(bytes.length).toBe(cmds.reduce((n, c) => n + macCommandLength(c), 0));
          const r = decodeMacCommands(direction, bytes);
          expect(r.ok).toBe(true);
          expect(r.commands.map((c) => c.command)).toEqual(cmds);
          expect(encodeMacCommands(direction, r.commands.map((c) => c.command)).equals(bytes)).toBe(true);
        }),
        { numRuns: 3000 },
      );
    });
  }

  it('the same CID decodes differently per direction', () => {
    const bytes = fromHex('03');
    expect(decodeMacCommands('up', fromHex('0305')).commands[0]?.command).toEqual({ name: 'LinkADRAns', powerAck: true, dataRateAck: false, channelMaskAck: true });
    expect(decodeMacCommands('down', fromHex('0351ff0001')).commands[0]?.command).toEqual({
      name: 'LinkADRReq',
      dataRate: 5,
      txPower: 1,
      chMask: 0x00ff,
      chMaskCntl: 0,
      nbTrans: 1,
    });
    expect(decodeMacCommands('down', bytes)).toMatchObject({ ok: false, error: { code: 'truncated' } });
  });

  it('decodes the spec fields: RXParamSetupReq frequency, DevStatusAns negative margin, DeviceTimeAns', () => {
    // 869.525 MHz = 8695250 × 100 Hz = 0x84add2, little-endian d2 ad 84
    expect(decodeMacCommands('down', fromHex('0503d2ad84')).commands[0]?.command).toEqual({
      name: 'RXParamSetupReq',
      rx1DrOffset: 0,
      rx2DataRate: 3,
      frequencyHz: 869_525_000,
    });
    expect(decodeMacCommands('up', fromHex('06ff3f')).commands[0]?.command).toEqual({ name: 'DevStatusAns', battery: 255, margin: -1 });
    expect(decodeMacCommands('up', fromHex('06fe20')).commands[0]?.command).toEqual({ name: 'DevStatusAns', battery: 254, margin: -32 });
  });

  it('stops at an unknown CID with its value and offset, keeping what came before', () => {
    const r = decodeMacCommands('up', fromHex('02030542'));
    expect(r.ok).toBe(false);
    expect(r.commands.map((c) => c.command.name)).toEqual(['LinkCheckReq', 'LinkADRAns']);
    if (!r.ok) {
      expect(r.error).toMatchObject({ code: 'unknown-cid', cid: 0x42, offset: 3 });
      expect(r.error.message).toBe('unknown uplink MAC command CID 0x42 at offset 3');
    }
    const p = decodeMacCommands('down', fromHex('80aa'));
    expect(p.ok === false && p.error.message.includes('proprietary')).toBe(true);
  });

  it('reports a truncated command with the bytes it needs', () => {
    const r = decodeMacCommands('down', fromHex('020701' + '0351ff'));
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error).toMatchObject({ code: 'truncated', cid: 3, offset: 3 });
      expect(r.error.message).toContain('LinkADRReq (CID 0x03) at offset 3 needs 4 payload byte(s), 2 left');
    }
  });

  it('never throws on arbitrary bytes in either direction', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.constantFrom<Direction>('up', 'down'), (bytes, dir) => {
        const r = decodeMacCommands(dir, bytes);
        if (!r.ok) expect(r.error.message).toMatch(/CID 0x[0-9a-f]{2}/);
      }),
      { numRuns: 10_000 },
    );
  });

  it('refuses to encode a command in the wrong direction or with fields out of range', () => {
    expect(() => encodeMacCommands('up', [{ name: 'LinkADRReq', dataRate: 5, txPower: 0, chMask: 7, chMaskCntl: 0, nbTrans: 1 }])).toThrow(
      /LinkADRReq is a downlink command/,
    );
    expect(() => encodeMacCommands('down', [{ name: 'LinkCheckAns', margin: 255, gwCnt: 1 }])).toThrow(/margin/);
    expect(() => encodeMacCommands('down', [{ name: 'DlChannelReq', chIndex: 3, frequencyHz: 868_100_050 }])).toThrow(/multiple of 100/);
    expect(() => encodeMacCommands('up', [{ name: 'DevStatusAns', battery: 10, margin: 32 }])).toThrow(/-32..31/);
  });

  it('DeviceTime: the spec example 2016-02-12 14:24:31 UTC is GPS second 1139322288 (17 leap seconds)', () => {
    const unixMs = Date.UTC(2016, 1, 12, 14, 24, 31, 500);
    const t = deviceTimeFromUnixMs(unixMs, 17);
    expect(t).toEqual({ gpsSeconds: 1_139_322_288, fractionalSeconds: 128 });
    expect(unixMsFromDeviceTime(t, 17)).toBe(unixMs);
    const bytes = encodeMacCommands('down', [{ name: 'DeviceTimeAns', ...t }]);
    expect(bytes.toString('hex')).toBe('0db0ade84380');
  });
});
