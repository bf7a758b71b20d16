/**
 * Serial provisioning against emulated devices behind real pty pairs (socat): every dialect's
 * happy path with read-back, and each way a device on a bench goes wrong.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { DialectId } from './dialects.ts';
import { ProvisionError } from './errors.ts';
import { openLinePort } from './line-port.ts';
import { provisionSerial, type SerialProvisionOptions } from './provision-serial.ts';
import { type DeviceEmulator, type EmulatorOptions, startEmulator } from './testing/emulator.ts';
import { type PtyPair, startPtyPair } from './testing/pty.ts';

const APP_KEY = '2B7E151628AED2A6ABF7158809CF4F3C';
const JOIN_EUI = '70B3D57ED0000001';

let pty: PtyPair | undefined;
let device: DeviceEmulator | undefined;
afterEach(async () => {
  await device?.close();
  await pty?.dispose();
  device = undefined;
  pty = undefined;
});

async function bench(emu: EmulatorOptions): Promise<{ pty: PtyPair; device: DeviceEmulator }> {
  pty = await startPtyPair();
  device = await startEmulator(pty.device, emu);
  return { pty, device };
}

function options(port: string, extra: Partial<SerialProvisionOptions> = {}): SerialProvisionOptions & { steps: string[] } {
  const steps: string[] = [];
  return { port, appKey: APP_KEY, joinEui: JOIN_EUI, region: 'EU868', deviceClass: 'A', commandTimeoutMs: 2000, onStep: (l) => steps.push(l), steps, ...extra };
}

async function failure(p: Promise<unknown>): Promise<ProvisionError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ProvisionError) return err;
    throw err;
  }
  throw new Error('expected a ProvisionError');
}

describe.each<DialectId>(['rui3', 'dragino', 'e5'])('dialect %s', (dialect) => {
  it('provisions, reads every value back and joins', async () => {
    const { pty, device } = await bench({ dialect, state: { devEui: 'A840410000000101', band: 'EU868' } });
    const o = options(pty.host, { dialect, joinTest: true, joinTimeoutMs: 10_000 });
    const r = await provisionSerial(o);
    expect(r.devEui).toBe('a840410000000101');
    expect(r.joined).toBe(true);
    expect(device.state.joinEui).toBe(JOIN_EUI);
    expect(device.state.appKey).toBe(APP_KEY);
    expect(device.state.otaa).toBe(true);
    expect(r.verified).toContain('join_eui');
    if (dialect === 'e5') expect(r.unverifiable).toEqual(['app_key']);
    else expect(r.verified).toContain('app_key');
    // The key never appears in a step line, only its last four digits.
    expect(o.steps.join('\n')).not.toContain(APP_KEY);
    expect(o.steps.join('\n').toLowerCase()).not.toContain(APP_KEY.toLowerCase());
    expect(o.steps.some((s) => s.includes('4f3c'))).toBe(true);
  });

  it('detects the dialect by probing', async () => {
    const { pty } = await bench({ dialect });
    const o = options(pty.host);
    const r = await provisionSerial(o);
    expect(r.dialect).toBe(dialect);
    expect(o.steps[0]).toMatch(new RegExp(`detected ${dialect}`));
  });

  it('reports a join that fails, with a non-success code', async () => {
    const { pty } = await bench({ dialect, joinSucceeds: false });
    const err = await failure(provisionSerial(options(pty.host, { dialect, joinTest: true, joinTimeoutMs: 3000 })));
    expect(err.code).toBe('JOIN_FAILED');
    expect(err.message).toMatch(/^join test: /);
  });

  it('works with a slow device that echoes every line', async () => {
    const { pty } = await bench({ dialect, delayMs: 150, echo: true });
    const r = await provisionSerial(options(pty.host, { dialect }));
    expect(r.joinEui).toBe(JOIN_EUI.toLowerCase());
  });
});

describe('faults', () => {
  it('a device error status (AT_PARAM_ERROR, ERROR(-1)) ends with the command and the status', async () => {
    const { pty } = await bench({ dialect: 'rui3', errors: { 'AT+APPKEY=': 'AT_PARAM_ERROR' } });
    const err = await failure(provisionSerial(options(pty.host, { dialect: 'rui3' })));
    expect(err.code).toBe('DEVICE_ERROR');
    expect(err.message).toContain('AT_PARAM_ERROR');
    expect(err.message).not.toContain(APP_KEY);
    await device?.close();
    await pty.dispose();
    const b = await bench({ dialect: 'e5', errors: { 'AT+ID=AppEui': '+ID: ERROR(-1)' } });
    const err2 = await failure(provisionSerial(options(b.pty.host, { dialect: 'e5' })));
    expect(err2.message).toContain('ERROR(-1)');
  });

  it('a value that reads back differently is a mismatch, not success', async () => {
    const { pty } = await bench({ dialect: 'rui3', corruptWrites: { 'AT+APPEUI=': '0000000000000BAD' } });
    const err = await failure(provisionSerial(options(pty.host, { dialect: 'rui3' })));
    expect(err.code).toBe('READBACK_MISMATCH');
    expect(err.message).toContain('0000000000000BAD');
  });

  it('garbage on the line ends quickly with a clear message', async () => {
    const { pty } = await bench({ dialect: 'rui3', garbage: true });
    const err = await failure(provisionSerial(options(pty.host, { dialect: 'rui3' })));
    expect(err.code).toBe('GARBAGE');
  });

  it('the wrong dialect says so', async () => {
    const { pty } = await bench({ dialect: 'e5' });
    const err = await failure(provisionSerial(options(pty.host, { dialect: 'rui3', commandTimeoutMs: 800 })));
    expect(err.code).toBe('WRONG_DIALECT');
    expect(err.message).toMatch(/does not answer like rui3/);
  });

  it('a device that never answers times out on every probe and names the dialects', async () => {
    pty = await startPtyPair();
    const err = await failure(provisionSerial(options(pty.host, { commandTimeoutMs: 500 })));
    expect(err.code).toBe('WRONG_DIALECT');
    expect(err.message).toMatch(/--dialect rui3\|dragino\|e5/);
  });

  it('a device unplugged mid-run ends with PORT_CLOSED, not a hang', async () => {
    const { pty } = await bench({ dialect: 'rui3', delayMs: 100 });
    const o = options(pty.host, { dialect: 'rui3' });
    o.onStep = (line) => {
      if (line.startsWith('firmware')) void pty.kill();
    };
    const err = await failure(provisionSerial(o));
    expect(['PORT_CLOSED', 'TIMEOUT']).toContain(err.code);
  });

  it('a missing port and a busy port have their own messages', async () => {
    const missing = await failure(openLinePort('/dev/ttyNOPE-lorawan-edge', 9600));
    expect(missing.code).toBe('PORT_MISSING');
    expect(missing.message).toMatch(/is it plugged in/);
    pty = await startPtyPair();
    const first = await openLinePort(pty.host, 9600);
    try {
      const busy = await failure(openLinePort(pty.host, 9600));
      expect(busy.code).toBe('PORT_BUSY');
    } finally {
      await first.close();
    }
  });

  it('a Dragino with a wrong password is refused with AUTH_FAILED', async () => {
    const { pty } = await bench({ dialect: 'dragino', password: 'S3CRET' });
    const err = await failure(provisionSerial(options(pty.host, { dialect: 'dragino', password: 'wrong' })));
    expect(err.code).toBe('AUTH_FAILED');
    await device?.close();
    await pty.dispose();
    const b = await bench({ dialect: 'dragino', password: 'S3CRET' });
    const r = await provisionSerial(options(b.pty.host, { dialect: 'dragino', password: 'S3CRET' }));
    expect(r.dialect).toBe('dragino');
  });

  it('a Dragino built for another band refuses the region', async () => {
    const { pty } = await bench({ dialect: 'dragino', state: { band: 'US915' } });
    const err = await failure(provisionSerial(options(pty.host, { dialect: 'dragino' })));
    expect(err.code).toBe('UNSUPPORTED');
    expect(err.message).toMatch(/firmware is for US915/);
  });

  it('an E5 whose writes answer nothing is still verified by reading back', async () => {
    const { pty, device } = await bench({ dialect: 'e5', silentWrites: true });
    const r = await provisionSerial(options(pty.host, { dialect: 'e5', commandTimeoutMs: 600 }));
    expect(r.verified).toEqual(expect.arrayContaining(['join_eui', 'region', 'class', 'otaa']));
    expect(device.state.appKey).toBe(APP_KEY);
  });
});
