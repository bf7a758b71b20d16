/**
 * One device provisioned over its serial console: read who it is, write the join settings, read
 * every value back and compare, optionally test a join. Each step reports one line (keys masked);
 * any failure is a ProvisionError with a code and a one-line message, and every wait is bounded.
 */
import { randomBytes } from 'node:crypto';
import { type Dialect, type DialectId, DIALECT_IDS, detectDialect, dialectOf, type SettingName } from './dialects.ts';
import { maskKey, normalizeHex, ProvisionError } from './errors.ts';
import { type LineChannel, openLinePort } from './line-port.ts';

export interface SerialProvisionOptions {
  port: string;
  /** Omitted: detected by probing (9600 baud first, then 115200). */
  dialect?: DialectId;
  /** 32 hex digits, or 'generate' for a fresh random key. */
  appKey: string;
  joinEui: string;
  region: string;
  deviceClass: 'A' | 'B' | 'C';
  joinTest?: boolean;
  joinTimeoutMs?: number;
  /** Per-command deadline (default 3 s). */
  commandTimeoutMs?: number;
  /** Dragino password (default 123456). */
  password?: string;
  onStep?: (line: string) => void;
  /** For tests: an already open channel instead of opening `port`. */
  open?: (path: string, baudRate: number) => Promise<LineChannel>;
}

export interface SerialProvisionResult {
  dialect: DialectId;
  devEui: string;
  joinEui: string;
  /** The key itself: for the keys file only, never printed. */
  appKey: string;
  firmware: string;
  region: string;
  deviceClass: string;
  verified: SettingName[];
  /** Settings the dialect cannot read back (E5 keys): checked only by a join. */
  unverifiable: SettingName[];
  joined?: boolean;
}

const HEX32 = /^[0-9A-F]{32}$/;
const HEX16 = /^[0-9A-F]{16}$/;

/** Validates and normalizes the key options; throws ProvisionError before the port is touched. */
export function resolveKeys(appKey: string, joinEui: string): { appKey: string; joinEui: string } {
  const key = appKey === 'generate' ? randomBytes(16).toString('hex').toUpperCase() : normalizeHex(appKey);
  if (!HEX32.test(key)) throw new ProvisionError('UNSUPPORTED', '--app-key must be 32 hex digits or "generate"');
  const join = normalizeHex(joinEui);
  if (!HEX16.test(join)) throw new ProvisionError('UNSUPPORTED', '--join-eui must be 16 hex digits');
  return { appKey: key, joinEui: join };
}

async function openDetected(opts: SerialProvisionOptions, step: (l: string) => void, timeoutMs: number): Promise<{ ch: LineChannel; dialect: Dialect }> {
  const open = opts.open ?? openLinePort;
  const auth = { password: opts.password ?? '123456' };
  if (opts.dialect) {
    const dialect = dialectOf(opts.dialect, auth);
    const ch = await open(opts.port, dialect.baudRate);
    step(`port ${opts.port}: open at ${dialect.baudRate} baud, dialect ${dialect.id} (${dialect.label})`);
    return { ch, dialect };
  }
  for (const baud of [9600, 115200]) {
    const ch = await open(opts.port, baud);
    const id = await detectDialect(ch, { timeoutMs }, auth);
    if (id) {
      const dialect = dialectOf(id, auth);
      step(`port ${opts.port}: detected ${dialect.id} (${dialect.label}) at ${baud} baud`);
      return { ch, dialect };
    }
    await ch.close();
  }
  throw new ProvisionError('WRONG_DIALECT', `no known AT dialect answered on ${opts.port} at 9600 or 115200 baud (choose one with --dialect ${DIALECT_IDS.join('|')})`);
}

export async function provisionSerial(opts: SerialProvisionOptions): Promise<SerialProvisionResult> {
  const step = opts.onStep ?? (() => undefined);
  const timeoutMs = opts.commandTimeoutMs ?? 3000;
  const keys = resolveKeys(opts.appKey, opts.joinEui);
  const region = opts.region.toUpperCase();
  const { ch, dialect } = await openDetected(opts, step, timeoutMs);
  const x = { timeoutMs };
  try {
    let devEui: string;
    try {
      devEui = normalizeHex(await dialect.read(ch, 'dev_eui', x));
    } catch (err) {
      // A device that answers in another grammar times out or returns nothing usable here.
      if (err instanceof ProvisionError && (err.code === 'TIMEOUT' || err.code === 'WRONG_DIALECT') && opts.dialect) {
        throw new ProvisionError('WRONG_DIALECT', `the device on ${opts.port} does not answer like ${dialect.id} (${err.message}); try without --dialect to detect it`);
      }
      throw err;
    }
    if (!HEX16.test(devEui)) throw new ProvisionError('WRONG_DIALECT', `the DevEUI read from the device is not an EUI ("${devEui}"): wrong dialect?`);
    step(`DevEUI ${devEui.toLowerCase()}`);
    const firmware = await dialect.read(ch, 'version', x);
    step(`firmware ${firmware}`);

    const wanted: [SettingName, string, string][] = [
      ['join_eui', keys.joinEui, keys.joinEui.toLowerCase()],
      ['app_key', keys.appKey, maskKey(keys.appKey)],
      ['region', region, region],
      ['class', opts.deviceClass, opts.deviceClass],
      ['otaa', 'OTAA', 'OTAA'],
    ];
    for (const [setting, value, shown] of wanted) {
      if (!dialect.writable.has(setting)) {
        if (setting === 'region') {
          const actual = await dialect.read(ch, 'region', x);
          if (dialect.canonical('region', actual) !== region) throw new ProvisionError('UNSUPPORTED', `the device's firmware is for ${actual}, not ${region}: flash the ${region} firmware`);
          step(`region ${actual} (fixed in firmware): ok`);
        }
        continue;
      }
      await dialect.write(ch, setting, value, x);
      step(`write ${setting.replace('_', ' ')} ${shown}: ok`);
    }
    const verified: SettingName[] = [];
    const unverifiable: SettingName[] = [];
    for (const [setting, value, shown] of wanted) {
      if (!dialect.writable.has(setting)) continue;
      if (!dialect.readable.has(setting)) {
        unverifiable.push(setting);
        step(`read back ${setting.replace('_', ' ')}: the device cannot read it back${opts.joinTest ? ' (the join test checks it)' : ' (use --join-test to check it)'}`);
        continue;
      }
      const actual = await dialect.read(ch, setting, x);
      if (dialect.canonical(setting, actual) !== dialect.canonical(setting, value)) {
        const got = setting === 'app_key' ? maskKey(actual) : actual;
        throw new ProvisionError('READBACK_MISMATCH', `read back ${setting.replace('_', ' ')}: the device has ${got}, ${shown} was written`);
      }
      verified.push(setting);
      step(`read back ${setting.replace('_', ' ')} ${shown}: matches`);
    }
    const result: SerialProvisionResult = {
      dialect: dialect.id,
      devEui: devEui.toLowerCase(),
      joinEui: keys.joinEui.toLowerCase(),
      appKey: keys.appKey.toLowerCase(),
      firmware,
      region,
      deviceClass: opts.deviceClass,
      verified,
      unverifiable,
    };
    if (opts.joinTest) {
      const joinTimeoutMs = opts.joinTimeoutMs ?? 60_000;
      step(`join test: waiting up to ${Math.round(joinTimeoutMs / 1000)} s`);
      const outcome = await dialect.joinTest(ch, joinTimeoutMs, x);
      result.joined = outcome.joined;
      if (!outcome.joined) throw new ProvisionError('JOIN_FAILED', `join test: ${outcome.detail} (is the device registered on the network server with this AppKey, and a gateway in range?)`);
      step('join test: joined');
    }
    return result;
  } finally {
    await ch.close();
  }
}
