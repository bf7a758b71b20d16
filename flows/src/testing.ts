/**
 * Test support for the flows/ unit tests: node-red-node-test-helper bound to the installed
 * Node-RED 4.1 (ESM tests get `require` from createRequire), a ChirpStack uplink event builder,
 * and a bounded wait for a message on a helper node.
 */
import { createRequire } from 'node:module';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { UplinkEvent } from '../../lorawan/chirpstack/events.ts';
import type { NodeMessage } from './red.ts';

const require = createRequire(import.meta.url);

export interface TestHelper {
  init(runtimePath: string, settings?: object): void;
  settings(s: object): object;
  load(nodes: unknown, flow: object[], credentials?: object): Promise<void>;
  unload(): Promise<void>;
  startServer(): Promise<void>;
  stopServer(): Promise<void>;
  getNode(id: string): (NodeEmitter & { receive(msg: NodeMessage): void }) | null;
}

export interface NodeEmitter {
  on(event: string, cb: (arg: unknown) => void): void;
  once(event: string, cb: (arg: unknown) => void): void;
  off(event: string, cb: (arg: unknown) => void): void;
  status: { lastCall?: { args: unknown[] } } & ((...a: unknown[]) => void);
}

export const helper = require('node-red-node-test-helper') as TestHelper;
helper.init(require.resolve('node-red'), { userDir: mkdtempSync(join(tmpdir(), 'lorawan-edge-flows-userdir-')), logging: { console: { level: 'off' } } });

/** The next `input` on a helper node, within `timeoutMs`. */
export function nextMessage(id: string, timeoutMs = 10_000): Promise<NodeMessage> {
  const n = helper.getNode(id);
  if (!n) throw new Error(`no node ${id}`);
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no message on ${id} within ${timeoutMs} ms`)), timeoutMs);
    n.once('input', (msg) => {
      clearTimeout(t);
      resolve(msg as NodeMessage);
    });
  });
}

/** Polls `probe` until it returns a value (not undefined), bounded in time. */
export async function until<T>(probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 15_000, what = 'condition'): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The status text a node showed last (the test helper spies on Node.status). */
export function lastStatus(id: string): { fill?: string; text?: string } | undefined {
  const n = helper.getNode(id);
  return n?.status.lastCall?.args[0] as { fill?: string; text?: string } | undefined;
}

export const LDDS75_EUI = 'a84041000181c061';
/** Dragino LDDS75 "Distance Detection" public vector: 2799 mm, 3.387 V. */
export const LDDS75_BYTES = Uint8Array.from(Buffer.from('0d3b0aef00000001', 'hex'));

export function uplink(over: Partial<UplinkEvent> = {}, profile = ''): UplinkEvent {
  return {
    kind: 'up',
    deduplicationId: `dedup-${over.fCnt ?? 7}`,
    time: Date.UTC(2026, 11, 6, 12, 0, 0),
    deviceInfo: {
      tenantId: 't',
      tenantName: 'city',
      applicationId: 'app-1',
      applicationName: 'waste',
      deviceProfileId: 'p',
      deviceProfileName: profile,
      deviceName: 'bin-17',
      devEui: LDDS75_EUI,
      deviceClassEnabled: 'CLASS_A',
      tags: { site: 'market-square' },
    },
    devAddr: '01020304',
    adr: true,
    dr: 5,
    fCnt: 7,
    fPort: 2,
    confirmed: false,
    data: LDDS75_BYTES,
    rxInfo: [{ gatewayId: 'aa555a0000000001', uplinkId: 1, rssi: -97, snr: 7.5, channel: 0, rfChain: 0 }],
    ...over,
  };
}
