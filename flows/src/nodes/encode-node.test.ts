import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { helper, lastStatus, LDDS75_EUI, nextMessage, until } from '../testing.ts';
import nodes from './index.ts';

const flow = (over: object = {}): object[] => [
  { id: 'e1', type: 'lorawan encode downlink', wires: [['ok'], ['bad']], ...over },
  { id: 'ok', type: 'helper' },
  { id: 'bad', type: 'helper' },
];

describe('lorawan encode downlink', () => {
  beforeEach(async () => {
    await helper.startServer();
  });
  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
  });

  it('makes a ChirpStack command/down message from {devEui, command, args}', async () => {
    await helper.load(nodes, flow({ model: 'dragino/ldds75', applicationId: 'app-1', applicationIdType: 'str' }));
    const got = nextMessage('ok');
    helper.getNode('e1')?.receive({ payload: { devEui: LDDS75_EUI, command: 'transmitInterval', args: 1200 } });
    const msg = await got;
    expect(msg.topic).toBe(`application/app-1/device/${LDDS75_EUI}/command/down`);
    expect(msg.payload).toEqual({ devEui: LDDS75_EUI, confirmed: false, fPort: 2, data: Buffer.from([0x01, 0x00, 0x04, 0xb0]).toString('base64') });
    expect(msg['downlink']).toMatchObject({ model: 'dragino/ldds75', fPort: 2, bytes: [1, 0, 4, 0xb0] });
  });

  it('takes {model, data}, the application id from msg, and gives the edge-gateway queue shape', async () => {
    await helper.load(nodes, flow({ target: 'edge', applicationId: 'app', applicationIdType: 'msg', confirmed: true }));
    const got = nextMessage('ok');
    helper.getNode('e1')?.receive({ app: 'x', payload: { devEui: LDDS75_EUI, model: 'dragino/ldds75', data: { reset: true } } });
    expect((await got).payload).toEqual({ devEui: LDDS75_EUI, fPort: 2, payloadHex: '04ff', confirmed: true });
  });

  it('a script (sandboxed) codec encodes its downlink too', async () => {
    await helper.load(nodes, flow({ applicationId: 'app-1' }));
    const got = nextMessage('ok');
    helper.getNode('e1')?.receive({ payload: { devEui: LDDS75_EUI, model: 'acme/bin-sensor', command: 'reporting_interval_minutes', args: 60 } });
    const msg = await got;
    expect(msg['downlink']).toMatchObject({ model: 'acme/bin-sensor', fPort: 3, bytes: [1, 0, 60] });
  });

  it('sends what it cannot encode to output 2 with the reason, and counts it in the status', async () => {
    await helper.load(nodes, flow({ applicationId: 'app-1' }));
    const cases: [unknown, RegExp][] = [
      ['text', /must be \{devEui/],
      [{ devEui: LDDS75_EUI, command: 'x' }, /no device model/],
      [{ devEui: 'nope', model: 'dragino/ldds75', command: 'reset' }, /devEui is not/],
      [{ devEui: LDDS75_EUI, model: 'no/such', command: 'reset' }, /unknown catalogue id/],
      [{ devEui: LDDS75_EUI, model: 'dragino/ldds75', command: 'transmitInterval', args: -5 }, /transmitInterval must be/],
      [{ devEui: LDDS75_EUI, model: 'dragino/ldds75', command: 'x'.repeat(5000) }, /longer than/],
    ];
    for (const [payload, reason] of cases) {
      const got = nextMessage('bad');
      helper.getNode('e1')?.receive({ payload });
      expect(((await got)['error'] as { reason: string }).reason).toMatch(reason);
    }
    await until(() => (lastStatus('e1')?.text?.startsWith('0 encoded, 6 failed') ? true : undefined), 5_000, 'status with 6 failures');
  });
});
