import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eventToJson, eventToProtobuf } from '../../../lorawan/chirpstack/events.ts';
import type { DecodedPayload } from '../decode.ts';
import { helper, lastStatus, LDDS75_EUI, nextMessage, until, uplink } from '../testing.ts';
import nodes from './index.ts';

const flow = (over: object = {}): object[] => [
  { id: 'd1', type: 'lorawan decode', name: 'decode', wires: [['ok'], ['bad']], ...over },
  { id: 'ok', type: 'helper' },
  { id: 'bad', type: 'helper' },
];

describe('lorawan decode', () => {
  let dir: string;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lorawan-edge-decode-'));
    await helper.startServer();
  });
  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
    rmSync(dir, { recursive: true, force: true });
  });

  it('decodes a ChirpStack v4 JSON event (parsed object) with the node\'s codec setting', async () => {
    await helper.load(nodes, flow({ model: 'dragino/ldds75' }));
    const got = nextMessage('ok');
    helper.getNode('d1')?.receive({ topic: `application/app-1/device/${LDDS75_EUI}/event/up`, payload: JSON.parse(eventToJson(uplink())) });
    const msg = await got;
    const p = msg.payload as DecodedPayload;
    expect(p.devEui).toBe(LDDS75_EUI);
    expect(p.data).toMatchObject({ Distance: '2799 mm', Bat: 3.387 });
    expect(p.readings[0]?.values['distance_mm']).toBe(2799);
    expect(p.device).toMatchObject({ name: 'bin-17', model: 'dragino/ldds75', category: 'bin-fill', tags: { site: 'market-square' } });
    expect((msg['lorawan'] as { kind: string; id: string }).kind).toBe('up');
    expect((msg['lorawan'] as { id: string }).id).toBe('dedup-7');
  });

  it('decodes the same event as a JSON Buffer and as a protobuf Buffer', async () => {
    await helper.load(nodes, flow({ model: 'dragino/ldds75' }));
    const topic = `application/app-1/device/${LDDS75_EUI}/event/up`;
    for (const payload of [Buffer.from(eventToJson(uplink())), Buffer.from(eventToProtobuf(uplink()))]) {
      const got = nextMessage('ok');
      helper.getNode('d1')?.receive({ topic, payload });
      expect(((await got).payload as DecodedPayload).readings[0]?.values['distance_mm']).toBe(2799);
    }
  });

  it('decodes a The Things Stack v3 uplink_message and a plain {devEui, fPort, payload}', async () => {
    await helper.load(nodes, flow({ model: 'dragino/ldds75' }));
    const tts = {
      end_device_ids: { device_id: 'bin-17', dev_eui: LDDS75_EUI.toUpperCase(), application_ids: { application_id: 'waste' } },
      received_at: '2026-12-06T12:00:00.123Z',
      uplink_message: { f_port: 2, f_cnt: 9, frm_payload: Buffer.from('0d3b0aef00000001', 'hex').toString('base64'), rx_metadata: [{ gateway_ids: { gateway_id: 'gw', eui: 'AA555A0000000001' }, rssi: -90, snr: 9 }] },
    };
    let got = nextMessage('ok');
    helper.getNode('d1')?.receive({ payload: tts });
    let p = (await got).payload as DecodedPayload;
    expect(p).toMatchObject({ devEui: LDDS75_EUI, fPort: 2, fCnt: 9, time: '2026-12-06T12:00:00.123Z' });
    expect(p.readings[0]?.values['distance_mm']).toBe(2799);
    got = nextMessage('ok');
    helper.getNode('d1')?.receive({ payload: { devEui: LDDS75_EUI, fPort: 2, payload: '0d3b0aef00000001' } });
    p = (await got).payload as DecodedPayload;
    expect(p.data).toMatchObject({ Distance: '2799 mm' });
  });

  it('picks the codec from the catalogue node: registry (with variables) before device profile', async () => {
    const reg = join(dir, 'devices.yaml');
    writeFileSync(reg, `devices:\n  - dev_eui: "${LDDS75_EUI}"\n    name: bin-at-the-market\n    model: dragino/ldds75\n    tags: { district: north }\n    variables: { container_depth_mm: 3000, sensor_offset_mm: 200 }\n`);
    await helper.load(nodes, [
      { id: 'cat', type: 'lorawan-device-catalogue', registryFile: reg, deviceProfiles: '{"Other profile": "milesight-iot/em310-udl"}' },
      ...flow({ catalogue: 'cat' }),
    ]);
    const got = nextMessage('ok');
    helper.getNode('d1')?.receive({ payload: JSON.parse(eventToJson(uplink({}, 'Other profile'))) });
    const p = (await got).payload as DecodedPayload;
    expect(p.device).toMatchObject({ name: 'bin-at-the-market', model: 'dragino/ldds75', tags: { site: 'market-square', district: 'north' } });
    expect(p.readings[0]?.values['fill_pct']).toBeTypeOf('number');
  });

  it('picks the codec from the ChirpStack device-profile name when the registry does not know the device', async () => {
    await helper.load(nodes, [{ id: 'cat', type: 'lorawan-device-catalogue', deviceProfiles: '{"Bin sensors": "dragino/ldds75"}' }, ...flow({ catalogue: 'cat' })]);
    const got = nextMessage('ok');
    helper.getNode('d1')?.receive({ payload: Buffer.from(eventToJson(uplink({}, 'Bin sensors'))) });
    const p = (await got).payload as DecodedPayload;
    expect(p.device.model).toBe('dragino/ldds75');
    expect(p.readings[0]?.values['distance_mm']).toBe(2799);
  });

  it('sends what it cannot decode to output 2 with the reason, and shows counts and the last error', async () => {
    await helper.load(nodes, flow());
    const cases: [unknown, string, RegExp][] = [
      ['not json', 'bad_input', /ChirpStack or TTS JSON/],
      [{ hello: 1 }, 'bad_input', /is not a ChirpStack v4 event/],
      [{ devEui: 'xyz', fPort: 2, payload: '00' }, 'bad_input', /devEui/],
      [{ devEui: LDDS75_EUI, fPort: 300, payload: '00' }, 'bad_input', /fPort/],
      [JSON.parse(eventToJson(uplink())), 'unknown_device', /unknown device/],
      [{ devEui: LDDS75_EUI, fPort: 0, payload: '' }, 'no_payload', /no application payload/],
    ];
    for (const [payload, code, reason] of cases) {
      const got = nextMessage('bad');
      helper.getNode('d1')?.receive({ payload });
      const msg = await got;
      expect(msg['error']).toMatchObject({ code });
      expect((msg['error'] as { reason: string }).reason).toMatch(reason);
      expect(msg.payload).toEqual(payload);
    }
    const s = await until(() => (lastStatus('d1')?.text?.includes('6 failed') ? lastStatus('d1') : undefined), 5_000, 'status with 6 failures');
    expect(s.text).toMatch(/^0 decoded, 6 failed · /);
    expect(s.fill).toBe('yellow');
  });

  it('a codec error (truncated frame) is output 2 with the codec\'s reason; the raw record rides along', async () => {
    await helper.load(nodes, flow({ model: 'dragino/ldds75' }));
    const got = nextMessage('bad');
    helper.getNode('d1')?.receive({ payload: { devEui: LDDS75_EUI, fPort: 2, payload: '0d3b' } });
    const msg = await got;
    expect(msg['error']).toMatchObject({ code: 'codec_error' });
    expect((msg['lorawan'] as { payload: Uint8Array }).payload).toEqual(Uint8Array.from([0x0d, 0x3b]));
  });

  it('a catalogue node with a bad setting makes the decode node red and fail its messages, naming the setting', async () => {
    await helper.load(nodes, [{ id: 'cat', type: 'lorawan-device-catalogue', deviceProfiles: '{not json' }, ...flow({ catalogue: 'cat' })]);
    expect(lastStatus('d1')).toMatchObject({ fill: 'red' });
    expect(lastStatus('d1')?.text).toMatch(/^device profiles: not JSON/);
  });

  it('leaves no timer behind after close and redeploy', async () => {
    const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    for (let i = 0; i < 3; i++) {
      await helper.load(nodes, flow({ model: 'dragino/ldds75' }));
      const got = nextMessage('ok');
      helper.getNode('d1')?.receive({ payload: { devEui: LDDS75_EUI, fPort: 2, payload: '0d3b0aef00000001' } });
      await got;
      await helper.unload();
    }
    expect(timers()).toBeLessThanOrEqual(before);
  });
});
