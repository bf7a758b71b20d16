/**
 * AT-command dialects of the end devices a technician provisions over a serial console, written
 * from the vendors' AT documentation (RAK RUI3 AT command manual, Dragino end-node AT commands,
 * Seeed LoRa-E5 AT command specification v1.0; summarised in shared/reference/
 * nodered-and-provisioning.md §6).
 *
 * A dialect knows three things: how a command's answer ends (a status line, or a prefixed
 * reply), how a value is read and written, and how a join is tested. Everything else — the steps,
 * read-back, timeouts, masking — is the same for all and lives in provision-serial.ts.
 */
import { ProvisionError, normalizeHex } from './errors.ts';
import type { LineChannel } from './line-port.ts';

export type DialectId = 'rui3' | 'dragino' | 'e5';
export const DIALECT_IDS: readonly DialectId[] = ['rui3', 'dragino', 'e5'];

/** What one settings value is for a provisioning run; dialects map them to commands. */
export type SettingName = 'dev_eui' | 'join_eui' | 'app_key' | 'region' | 'class' | 'otaa' | 'version';

export interface ExchangeOptions {
  timeoutMs: number;
}

export interface Dialect {
  readonly id: DialectId;
  readonly label: string;
  readonly baudRate: number;
  /** Values this dialect can read back (E5 cannot read keys; Dragino's band is fixed in firmware). */
  readonly readable: ReadonlySet<SettingName>;
  readonly writable: ReadonlySet<SettingName>;
  /** Sends one command and returns the value lines of its answer; throws ProvisionError. */
  exchange(ch: LineChannel, command: string, opts: ExchangeOptions): Promise<string[]>;
  read(ch: LineChannel, setting: SettingName, opts: ExchangeOptions): Promise<string>;
  write(ch: LineChannel, setting: SettingName, value: string, opts: ExchangeOptions): Promise<void>;
  /** Starts a join and waits (at most `timeoutMs`) for its outcome. */
  joinTest(ch: LineChannel, timeoutMs: number, opts: ExchangeOptions): Promise<{ joined: boolean; detail: string }>;
  /** Canonical form of a value for comparing what was written with what was read back. */
  canonical(setting: SettingName, value: string): string;
}

/** Dragino's per-device password (default 123456); set before the first exchange. */
export interface DraginoAuth {
  password: string;
}

const GARBAGE_LIMIT = 64;

/** Reads lines until `done(line)` says the answer is complete; bounded by time and by garbage. */
async function collect(ch: LineChannel, command: string, timeoutMs: number, done: (line: string) => 'more' | 'ok' | { error: string }): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  const lines: string[] = [];
  let garbage = 0;
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) throw new ProvisionError('TIMEOUT', `no complete answer to ${redactCommand(command)} within ${(timeoutMs / 1000).toFixed(1)} s`);
    const e = await ch.next(left);
    if (e.kind === 'timeout') continue;
    if (e.kind === 'closed') throw new ProvisionError('PORT_CLOSED', `${ch.path} went away during ${redactCommand(command)} (device unplugged?)`);
    if (e.kind === 'garbage') {
      garbage += e.bytes;
      if (garbage > GARBAGE_LIMIT) throw new ProvisionError('GARBAGE', `unreadable bytes on ${ch.path} (wrong baud rate or dialect, or line noise)`);
      continue;
    }
    if (e.text === command) continue; // the device echoes what it was sent
    const verdict = done(e.text);
    if (verdict === 'ok') return lines;
    if (typeof verdict === 'object') throw new ProvisionError('DEVICE_ERROR', `${redactCommand(command)}: the device answered ${verdict.error}`);
    lines.push(e.text);
  }
}

/** A command as it may be shown: key arguments masked. */
export function redactCommand(command: string): string {
  return command.replace(/(KEY[^=]*=(?:APPKEY,)?"?)([0-9A-Fa-f]{8,})/i, (_m, head: string, hex: string) => `${head}${'•'.repeat(hex.length - 4)}${hex.slice(-4)}`);
}

async function sendAndCollect(ch: LineChannel, command: string, timeoutMs: number, done: Parameters<typeof collect>[3]): Promise<string[]> {
  await ch.writeLine(command);
  return collect(ch, command, timeoutMs, done);
}

const STATUS_RE = /^(OK|AT_[A-Z_]+(?:\(\d+\))?)$/;
const statusDone = (line: string): 'more' | 'ok' | { error: string } => {
  const m = STATUS_RE.exec(line);
  if (!m) return 'more';
  return m[1] === 'OK' ? 'ok' : { error: m[1] as string };
};

const eui = (v: string): string => normalizeHex(v);

// ── RAK RUI3 ──────────────────────────────────────────────────────────────────────────────
/** RUI3 AT+BAND numbers. */
export const RUI3_BANDS: Record<string, number> = { EU433: 0, CN470: 1, RU864: 2, IN865: 3, EU868: 4, US915: 5, AU915: 6, KR920: 7, AS923: 8, 'AS923-1': 8, 'AS923-2': 9, 'AS923-3': 10, 'AS923-4': 11, LA915: 12 };
const RUI3_COMMAND: Record<SettingName, string> = { dev_eui: 'DEVEUI', join_eui: 'APPEUI', app_key: 'APPKEY', region: 'BAND', class: 'CLASS', otaa: 'NJM', version: 'VER' };

const rui3: Dialect = {
  id: 'rui3',
  label: 'RAK RUI3 (RAK3172, RAK4631-R, …)',
  baudRate: 115200,
  readable: new Set(['dev_eui', 'join_eui', 'app_key', 'region', 'class', 'otaa', 'version']),
  writable: new Set(['join_eui', 'app_key', 'region', 'class', 'otaa']),
  exchange: (ch, command, opts) => sendAndCollect(ch, command, opts.timeoutMs, (l) => (l.startsWith('+EVT:') ? 'more' : statusDone(l))),
  async read(ch, setting, opts) {
    const name = RUI3_COMMAND[setting];
    const lines = await this.exchange(ch, `AT+${name}=?`, opts);
    const prefix = `AT+${name}=`;
    const hit = lines.find((l) => l.startsWith(prefix)) ?? lines.find((l) => !l.startsWith('+EVT:'));
    if (hit === undefined) throw new ProvisionError('WRONG_DIALECT', `AT+${name}=? returned no value (is this a RUI3 device?)`);
    const value = hit.startsWith(prefix) ? hit.slice(prefix.length) : hit;
    if (setting === 'region') {
      const band = Object.entries(RUI3_BANDS).find(([, n]) => String(n) === value.trim());
      return band ? band[0] : value;
    }
    return value.trim();
  },
  async write(ch, setting, value, opts) {
    const name = RUI3_COMMAND[setting];
    let arg = value;
    if (setting === 'region') {
      const band = RUI3_BANDS[value.toUpperCase()];
      if (band === undefined) throw new ProvisionError('UNSUPPORTED', `RUI3 has no band for region ${value} (known: ${Object.keys(RUI3_BANDS).join(', ')})`);
      arg = String(band);
    }
    if (setting === 'otaa') arg = value === 'OTAA' ? '1' : '0';
    await this.exchange(ch, `AT+${name}=${arg}`, opts);
  },
  async joinTest(ch, timeoutMs, opts) {
    await this.exchange(ch, 'AT+JOIN=1:0:10:8', opts);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) return { joined: false, detail: `no join event within ${Math.round(timeoutMs / 1000)} s` };
      const e = await ch.next(left);
      if (e.kind === 'closed') throw new ProvisionError('PORT_CLOSED', `${ch.path} went away during the join test (device unplugged?)`);
      if (e.kind !== 'line') continue;
      if (e.text.startsWith('+EVT:JOINED')) return { joined: true, detail: 'joined' };
      if (/^\+EVT:JOIN[ _]FAILED/.test(e.text)) return { joined: false, detail: e.text.slice(5).toLowerCase().replace(/_/g, ' ') };
    }
  },
  canonical(setting, value) {
    if (setting === 'dev_eui' || setting === 'join_eui' || setting === 'app_key') return eui(value);
    if (setting === 'otaa') return value === 'OTAA' || value === '1' ? '1' : '0';
    return value.trim().toUpperCase();
  },
};

// ── Dragino ───────────────────────────────────────────────────────────────────────────────
const DRAGINO_COMMAND: Record<SettingName, string> = { dev_eui: 'DEUI', join_eui: 'APPEUI', app_key: 'APPKEY', region: 'VER', class: 'CLASS', otaa: 'NJM', version: 'VER' };
const DRAGINO_REGIONS = ['EU868', 'US915', 'AU915', 'AS923', 'KR920', 'IN865', 'CN470', 'EU433', 'RU864', 'KZ865', 'MA869'];

function draginoDialect(auth: DraginoAuth): Dialect {
  const exchangeOnce = (ch: LineChannel, command: string, opts: ExchangeOptions): Promise<string[]> =>
    sendAndCollect(ch, command, opts.timeoutMs, (l) => {
      // During the password gate the device answers "Incorrect Password" and no status line.
      if (/Incorrect Password/i.test(l)) return { error: 'LOCKED' };
      return statusDone(l);
    });
  const unlock = async (ch: LineChannel, opts: ExchangeOptions): Promise<void> => {
    await ch.writeLine(auth.password);
    const deadline = Date.now() + opts.timeoutMs;
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) throw new ProvisionError('TIMEOUT', `no answer to the password within ${(opts.timeoutMs / 1000).toFixed(1)} s`);
      const e = await ch.next(left);
      if (e.kind === 'closed') throw new ProvisionError('PORT_CLOSED', `${ch.path} went away during the password (device unplugged?)`);
      if (e.kind !== 'line') continue;
      if (/^Correct Password/i.test(e.text)) {
        return;
      }
      if (/Incorrect Password/i.test(e.text)) throw new ProvisionError('AUTH_FAILED', 'the Dragino device refused the password (see the label, or pass --password)');
    }
  };
  const d: Dialect = {
    id: 'dragino',
    label: 'Dragino end nodes (LDDS75, LHT65N, LSN50, SN50v3, …)',
    baudRate: 9600,
    readable: new Set(['dev_eui', 'join_eui', 'app_key', 'region', 'class', 'otaa', 'version']),
    writable: new Set(['join_eui', 'app_key', 'class', 'otaa']),
    async exchange(ch, command, opts) {
      try {
        return await exchangeOnce(ch, command, opts);
      } catch (err) {
        // Locked (first contact, or the 5-minute window lapsed): unlock once and retry.
        if (err instanceof ProvisionError && err.code === 'DEVICE_ERROR' && err.message.endsWith('LOCKED')) {
          await unlock(ch, opts);
          return exchangeOnce(ch, command, opts);
        }
        throw err;
      }
    },
    async read(ch, setting, opts) {
      const lines = await d.exchange(ch, `AT+${DRAGINO_COMMAND[setting]}=?`, opts);
      const value = lines.find((l) => l.trim() !== '');
      if (value === undefined) throw new ProvisionError('WRONG_DIALECT', `AT+${DRAGINO_COMMAND[setting]}=? returned no value (is this a Dragino device?)`);
      if (setting === 'region') {
        const band = DRAGINO_REGIONS.find((r) => value.toUpperCase().includes(r));
        return band ?? value.trim();
      }
      return value.trim();
    },
    async write(ch, setting, value, opts) {
      if (setting === 'region') throw new ProvisionError('UNSUPPORTED', 'a Dragino device has its band fixed in firmware');
      const arg = setting === 'otaa' ? (value === 'OTAA' ? '1' : '0') : value;
      await d.exchange(ch, `AT+${DRAGINO_COMMAND[setting]}=${arg}`, opts);
    },
    async joinTest(ch, timeoutMs, opts) {
      await d.exchange(ch, 'AT+JOIN', opts);
      // Dragino prints no join result of its own: poll the join state until it is 1.
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const state = await d.exchange(ch, 'AT+NJS=?', opts).catch((err: unknown) => {
          if (err instanceof ProvisionError && err.code === 'DEVICE_ERROR' && /BUSY/.test(err.message)) return ['0'];
          throw err;
        });
        if (state.some((l) => l.trim() === '1')) return { joined: true, detail: 'joined' };
        await new Promise((r) => setTimeout(r, Math.min(1000, Math.max(0, deadline - Date.now()))));
      }
      return { joined: false, detail: `not joined after ${Math.round(timeoutMs / 1000)} s` };
    },
    canonical(setting, value) {
      if (setting === 'dev_eui' || setting === 'join_eui' || setting === 'app_key') return eui(value);
      if (setting === 'otaa') return value === 'OTAA' || value === '1' ? '1' : '0';
      return value.trim().toUpperCase();
    },
  };
  return d;
}

// ── Seeed LoRa-E5 / Wio-E5 ───────────────────────────────────────────────────────────────
/** `AT+ID=DevEui` → `ID`: the name an E5 reply is prefixed with. */
function e5Name(command: string): string {
  return (/^AT\+([A-Z]+)/i.exec(command)?.[1] ?? '').toUpperCase();
}

const e5: Dialect = {
  id: 'e5',
  label: 'Seeed LoRa-E5 / Wio-E5',
  baudRate: 9600,
  readable: new Set(['dev_eui', 'join_eui', 'region', 'class', 'otaa', 'version']),
  writable: new Set(['join_eui', 'app_key', 'region', 'class', 'otaa']),
  exchange(ch, command, opts) {
    const name = e5Name(command);
    const prefix = `+${name}:`;
    const lines: string[] = [];
    return sendAndCollect(ch, command, opts.timeoutMs, (l) => {
      if (!l.toUpperCase().startsWith(prefix)) return 'more';
      const body = l.slice(prefix.length).trim();
      const err = /ERROR\((-?\d+)\)/.exec(body);
      if (err) return { error: `ERROR(${err[1]})` };
      lines.push(body);
      // JOIN answers several lines and ends with "Done"; every other command answers one.
      if (name === 'JOIN' && !/^Done/i.test(body)) return 'more';
      return 'ok';
    }).then(() => lines);
  },
  async read(ch, setting, opts) {
    const command = { dev_eui: 'AT+ID=DevEui', join_eui: 'AT+ID=AppEui', region: 'AT+DR=SCHEME', class: 'AT+CLASS', otaa: 'AT+MODE', version: 'AT+VER', app_key: '' }[setting];
    if (!command) throw new ProvisionError('UNSUPPORTED', 'a LoRa-E5 cannot read its AppKey back (verify with --join-test)');
    const [body] = await this.exchange(ch, command, opts);
    if (body === undefined) throw new ProvisionError('WRONG_DIALECT', `${command} returned no value (is this a LoRa-E5?)`);
    // "+ID: DevEui, 2C:F7:…" → after the comma; "+MODE: LWOTAA", "+DR: EU868" → the body.
    if (setting === 'dev_eui' || setting === 'join_eui') return body.split(',').slice(1).join(',').trim();
    return body;
  },
  async write(ch, setting, value, opts) {
    const command = {
      join_eui: `AT+ID=AppEui,"${value}"`,
      app_key: `AT+KEY=APPKEY,"${value}"`,
      region: `AT+DR=${value.toUpperCase()}`,
      class: `AT+CLASS=${value}`,
      otaa: `AT+MODE=${value === 'OTAA' ? 'LWOTAA' : 'LWABP'}`,
      dev_eui: `AT+ID=DevEui,"${value}"`,
      version: '',
    }[setting];
    if (!command) throw new ProvisionError('UNSUPPORTED', `cannot write ${setting}`);
    try {
      await this.exchange(ch, command, opts);
    } catch (err) {
      // Firmware 4.0.11 answers some writes with nothing at all: the read-back decides.
      if (err instanceof ProvisionError && err.code === 'TIMEOUT') return;
      throw err;
    }
  },
  async joinTest(ch, timeoutMs) {
    const lines = await this.exchange(ch, 'AT+JOIN', { timeoutMs });
    if (lines.some((l) => /Network joined/i.test(l))) return { joined: true, detail: 'joined' };
    const why = lines.find((l) => /failed|busy/i.test(l));
    return { joined: false, detail: why ? why.toLowerCase() : 'not joined' };
  },
  canonical(setting, value) {
    if (setting === 'dev_eui' || setting === 'join_eui' || setting === 'app_key') return eui(value);
    if (setting === 'otaa') return /OTAA/i.test(value) ? '1' : '0';
    return value.trim().toUpperCase();
  },
};

export function dialectOf(id: DialectId, auth: DraginoAuth = { password: '123456' }): Dialect {
  if (id === 'rui3') return rui3;
  if (id === 'e5') return e5;
  return draginoDialect(auth);
}

/**
 * Which dialect answers on this channel: `AT` gets `+AT: OK` from an E5, `OK` or a password
 * prompt from a Dragino, `OK` from RUI3, whose `AT+VER=?` then echoes the command name.
 */
export async function detectDialect(ch: LineChannel, opts: ExchangeOptions, auth?: DraginoAuth): Promise<DialectId | undefined> {
  await ch.writeLine('AT');
  const deadline = Date.now() + opts.timeoutMs;
  let first: string | undefined;
  while (first === undefined && Date.now() < deadline) {
    const e = await ch.next(deadline - Date.now());
    if (e.kind === 'closed') throw new ProvisionError('PORT_CLOSED', `${ch.path} went away (device unplugged?)`);
    if (e.kind === 'line' && e.text !== 'AT') first = e.text;
  }
  if (first === undefined) return undefined;
  if (/^\+AT:\s*OK/i.test(first)) return 'e5';
  if (/password/i.test(first)) return 'dragino';
  if (first !== 'OK') return undefined;
  ch.drain();
  const lines = await rui3.exchange(ch, 'AT+VER=?', opts).catch(() => [] as string[]);
  if (lines.some((l) => l.startsWith('AT+VER='))) return 'rui3';
  void auth;
  return lines.length > 0 ? 'dragino' : undefined;
}
