/**
 * Emulated end devices for the provisioning tests, one per AT dialect, written from the vendors'
 * AT documentation (RAK RUI3 AT command manual; Dragino end-node AT commands and the SN50v3
 * firmware's password gate; Seeed LoRa-E5 AT specification v1.0 — see shared/reference/
 * nodered-and-provisioning.md §6). They run on the device end of a socat pty pair, so the CLI
 * talks to them through a real serial port.
 *
 * Faults a test can ask for: slow answers, echo of every line, an error status for chosen
 * commands, a join that fails, garbage instead of answers, writes that answer nothing (E5
 * firmware 4.0.11), and a device that stops answering (unplugged: kill the pty pair).
 */
import { SerialPort } from 'serialport';
import type { DialectId } from '../dialects.ts';
import { LineSplitter } from '../line-port.ts';

export interface EmulatedState {
  devEui: string; // upper-case hex
  joinEui: string;
  appKey: string;
  band: string; // EU868…
  deviceClass: string;
  otaa: boolean;
  version: string;
  joined: boolean;
}

export interface EmulatorOptions {
  dialect: DialectId;
  state?: Partial<EmulatedState>;
  /** Delay before each answer, ms. */
  delayMs?: number;
  echo?: boolean;
  /** Command prefix (e.g. `AT+APPKEY=`) → the error the device answers instead. */
  errors?: Record<string, string>;
  joinSucceeds?: boolean;
  /** Answers every command with line noise. */
  garbage?: boolean;
  /** Writes answer nothing (LoRa-E5 4.0.11). */
  silentWrites?: boolean;
  /** Dragino password (default 123456); the device starts locked. */
  password?: string;
  /** A write is stored with this value instead (a device that silently mangles a setting). */
  corruptWrites?: Record<string, string>;
}

export interface DeviceEmulator {
  readonly state: EmulatedState;
  /** Every line the device received, in order (for asserting what the CLI sent). */
  readonly received: string[];
  close(): Promise<void>;
}

const RUI3_BANDS = ['EU433', 'CN470', 'RU864', 'IN865', 'EU868', 'US915', 'AU915', 'KR920', 'AS923-1', 'AS923-2', 'AS923-3', 'AS923-4', 'LA915'];

const spaced = (hex: string): string => (hex.match(/../g) ?? []).join(' ');
const colons = (hex: string): string => (hex.match(/../g) ?? []).join(':');
const clean = (v: string): string => v.replace(/[\s:"]/g, '').toUpperCase();

type Reply = string[];

/** `AT+NJM=<0|1>` and `AT+CLASS=<A|B|C>`, which RUI3 and Dragino write alike. */
function writeJoinModeOrClass(state: EmulatedState, name: string, arg: string): Reply | undefined {
  if (name === 'NJM') {
    if (arg !== '0' && arg !== '1') return ['AT_PARAM_ERROR'];
    state.otaa = arg === '1';
    return ['OK'];
  }
  if (name === 'CLASS') {
    if (!/^[ABC]$/.test(arg)) return ['AT_PARAM_ERROR'];
    state.deviceClass = arg;
    return ['OK'];
  }
  return undefined;
}

function rui3(state: EmulatedState, line: string, opts: EmulatorOptions, later: (lines: string[], ms: number) => void): Reply {
  const m = /^AT\+([A-Z]+)(=\?|=(.*))?$/.exec(line);
  if (line === 'AT') return ['OK'];
  if (!m) return ['AT_ERROR'];
  const [, name, , arg] = m;
  const field: Record<string, keyof EmulatedState> = { DEVEUI: 'devEui', APPEUI: 'joinEui', APPKEY: 'appKey', CLASS: 'deviceClass', VER: 'version' };
  if (m[2] === '=?') {
    if (name === 'BAND') return [`AT+BAND=${RUI3_BANDS.indexOf(state.band)}`, 'OK'];
    if (name === 'NJM') return [`AT+NJM=${state.otaa ? 1 : 0}`, 'OK'];
    if (name === 'NJS') return [`AT+NJS=${state.joined ? 1 : 0}`, 'OK'];
    const f = field[name as string];
    return f ? [`AT+${name}=${String(state[f])}`, 'OK'] : ['AT_ERROR'];
  }
  if (name === 'JOIN') {
    later([opts.joinSucceeds === false ? '+EVT:JOIN_FAILED_RX_TIMEOUT' : '+EVT:JOINED'], 50);
    if (opts.joinSucceeds !== false) state.joined = true;
    return ['OK'];
  }
  if (arg === undefined) return ['AT_ERROR'];
  if (name === 'BAND') {
    const b = RUI3_BANDS[Number(arg)];
    if (!b) return ['AT_PARAM_ERROR'];
    state.band = b;
    return ['OK'];
  }
  const common = writeJoinModeOrClass(state, name as string, arg);
  if (common) return common;
  const f = field[name as string];
  if (!f || f === 'version') return ['AT_ERROR'];
  const want = f === 'appKey' ? 32 : 16;
  if (!new RegExp(`^[0-9A-Fa-f]{${want}}$`).test(arg)) return ['AT_PARAM_ERROR'];
  (state as unknown as Record<string, string>)[f] = arg.toUpperCase();
  return ['OK'];
}

function dragino(state: EmulatedState, line: string, opts: EmulatorOptions): Reply {
  if (line === 'AT') return ['OK'];
  const m = /^AT\+([A-Z]+)(=\?|=(.*))?$/.exec(line);
  if (!m) return ['AT_ERROR'];
  const [, name, , arg] = m;
  const field: Record<string, keyof EmulatedState> = { DEUI: 'devEui', APPEUI: 'joinEui', APPKEY: 'appKey', CLASS: 'deviceClass' };
  if (m[2] === '=?') {
    if (name === 'VER') return [`${state.version} ${state.band}`, 'OK'];
    if (name === 'NJM') return [state.otaa ? '1' : '0', 'OK'];
    if (name === 'NJS') return [state.joined ? '1' : '0', 'OK'];
    const f = field[name as string];
    if (!f) return ['AT_ERROR'];
    const v = String(state[f]);
    return [f === 'deviceClass' ? v : spaced(v), 'OK'];
  }
  if (name === 'JOIN') {
    if (opts.joinSucceeds !== false) state.joined = true;
    return ['OK'];
  }
  if (arg === undefined) return ['AT_ERROR'];
  const common = writeJoinModeOrClass(state, name as string, arg);
  if (common) return common;
  const f = field[name as string];
  if (!f) return ['AT_ERROR'];
  const v = clean(arg);
  if (!new RegExp(`^[0-9A-F]{${f === 'appKey' ? 32 : 16}}$`).test(v)) return ['AT_PARAM_ERROR'];
  (state as unknown as Record<string, string>)[f] = v;
  return ['OK'];
}

function e5(state: EmulatedState, line: string, opts: EmulatorOptions): Reply {
  if (line === 'AT') return ['+AT: OK'];
  const m = /^AT\+([A-Z]+)(?:=(.*))?$/i.exec(line);
  if (!m) return ['+AT: ERROR(-10)'];
  const name = (m[1] as string).toUpperCase();
  const arg = m[2];
  const silent = (r: string[]): Reply => (opts.silentWrites ? [] : r);
  switch (name) {
    case 'VER':
      return [`+VER: ${state.version}`];
    case 'ID': {
      const [which, value] = (arg ?? '').split(',');
      const key = /^deveui$/i.test(which ?? '') ? 'devEui' : /^appeui$/i.test(which ?? '') ? 'joinEui' : undefined;
      if (!key) return ['+ID: ERROR(-1)'];
      const label = key === 'devEui' ? 'DevEui' : 'AppEui';
      if (value === undefined) return [`+ID: ${label}, ${colons(state[key])}`];
      const v = clean(value);
      if (!/^[0-9A-F]{16}$/.test(v)) return ['+ID: ERROR(-1)'];
      state[key] = v;
      return silent([`+ID: ${label}, ${colons(v)}`]);
    }
    case 'KEY': {
      const [which, value] = (arg ?? '').split(',');
      if (!/^appkey$/i.test(which ?? '') || value === undefined) return ['+KEY: ERROR(-1)'];
      const v = clean(value);
      if (!/^[0-9A-F]{32}$/.test(v)) return ['+KEY: ERROR(-1)'];
      state.appKey = v;
      return silent([`+KEY: APPKEY ${v}`]);
    }
    case 'DR':
      if (arg === undefined) return ['+DR: DR0'];
      if (/^scheme$/i.test(arg)) return [`+DR: ${state.band}`];
      if (!/^(EU868|US915|AU915|AS923|KR920|IN865|CN470)$/i.test(arg)) return ['+DR: ERROR(-1)'];
      state.band = arg.toUpperCase();
      return silent([`+DR: ${state.band}`]);
    case 'CLASS':
      if (arg === undefined) return [`+CLASS: ${state.deviceClass}`];
      if (!/^[ABC]$/i.test(arg)) return ['+CLASS: ERROR(-1)'];
      state.deviceClass = arg.toUpperCase();
      return silent([`+CLASS: ${state.deviceClass}`]);
    case 'MODE':
      if (arg === undefined) return [`+MODE: ${state.otaa ? 'LWOTAA' : 'LWABP'}`];
      if (!/^(LWOTAA|LWABP|TEST)$/i.test(arg)) return ['+MODE: ERROR(-1)'];
      state.otaa = /^LWOTAA$/i.test(arg);
      return silent([`+MODE: ${arg.toUpperCase()}`]);
    case 'JOIN':
      if (opts.joinSucceeds === false) return ['+JOIN: Start', '+JOIN: NORMAL', '+JOIN: Join failed', '+JOIN: Done'];
      state.joined = true;
      return ['+JOIN: Start', '+JOIN: NORMAL', '+JOIN: Network joined', '+JOIN: NetID 000013 DevAddr 26:01:1B:DA', '+JOIN: Done'];
    default:
      return [`+${name}: ERROR(-10)`];
  }
}

export async function startEmulator(path: string, opts: EmulatorOptions): Promise<DeviceEmulator> {
  const state: EmulatedState = {
    devEui: 'AC1F09FFFE000001',
    joinEui: '0000000000000000',
    appKey: '00000000000000000000000000000000',
    band: 'EU868',
    deviceClass: 'A',
    otaa: false,
    version: opts.dialect === 'rui3' ? 'RUI_4.0.6_RAK3172-E' : opts.dialect === 'dragino' ? 'v1.3.2' : '4.0.11',
    joined: false,
    ...(opts.state ?? {}),
  };
  const received: string[] = [];
  const port = new SerialPort({ path, baudRate: opts.dialect === 'rui3' ? 115200 : 9600, autoOpen: false, lock: false });
  await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
  let locked = opts.dialect === 'dragino';
  const password = opts.password ?? '123456';
  const send = (lines: string[], ms: number): void => {
    setTimeout(() => {
      if (!port.isOpen) return;
      if (opts.garbage) port.write(Buffer.from([0x00, 0xff, 0xfe, 0x81, 0x92, 0x07, 0xa5, 0xb6, 0xc7, 0xd8, 0xe9, 0xfa, 0x0b, 0x9c, 0xad, 0xbe, 0xcf, 0xe0, 0xf1, 0x82, 0x93, 0xa4, 0xb5, 0xc6, 0xd7, 0xe8, 0xf9, 0x8a, 0x9b, 0xac, 0xbd, 0xce, 0xdf, 0xe0, 0xf1, 0x82, 0x93, 0xa4, 0xb5, 0xc6, 0xd7, 0xe8, 0xf9, 0x8a, 0x9b, 0xac, 0xbd, 0xce, 0xdf, 0xe0, 0xf1, 0x82, 0x93, 0xa4, 0xb5, 0xc6, 0xd7, 0xe8, 0xf9, 0x8a, 0x9b, 0xac, 0xbd, 0xce, 0xdf, 0x90]));
      else if (lines.length) port.write(lines.map((l) => `${l}\r\n`).join(''));
    }, ms);
  };
  const splitter = new LineSplitter((e) => {
    if (e.kind !== 'line') return;
    const line = e.text;
    received.push(line);
    const delay = opts.delayMs ?? 0;
    if (opts.echo) send([line], 0);
    if (locked) {
      if (line === password) {
        locked = false;
        send(['Correct Password'], delay);
      } else send(['Incorrect Password'], delay);
      return;
    }
    const forced = Object.entries(opts.errors ?? {}).find(([prefix]) => line.startsWith(prefix));
    if (forced) {
      send([forced[1]], delay);
      return;
    }
    const before = { ...state };
    const reply = opts.dialect === 'rui3' ? rui3(state, line, opts, send) : opts.dialect === 'dragino' ? dragino(state, line, opts) : e5(state, line, opts);
    for (const [prefix, value] of Object.entries(opts.corruptWrites ?? {})) {
      if (!line.startsWith(prefix)) continue;
      for (const k of Object.keys(state) as (keyof EmulatedState)[]) if (state[k] !== before[k] && typeof state[k] === 'string') (state as unknown as Record<string, string>)[k] = value;
    }
    send(reply, delay);
  });
  port.on('data', (chunk: Buffer) => splitter.push(chunk));
  port.on('error', () => undefined);
  return {
    state,
    received,
    async close() {
      if (port.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
    },
  };
}
