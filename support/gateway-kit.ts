/**
 * Small pieces that gateway end-to-end tests (and the demo) keep writing again: a log stream
 * that collects pino's lines in memory, a bounded poll, and a ChirpStack v4 `up` event.
 * The whole rig (servers + a started gateway) is test/gateway-rig.ts: support/ may not import
 * gateway/ (DESIGN.md's folder contract). cli/demo.ts still has its own copies.
 */
import type { UplinkEvent } from '../lorawan/chirpstack/events.ts';

/** A writable that keeps every chunk (one pino JSON line each) in `lines`. */
export function memoryLogStream(lines: string[]): NodeJS.WritableStream {
  return {
    write(chunk: string | Uint8Array) {
      lines.push(String(chunk));
      return true;
    },
  } as unknown as NodeJS.WritableStream;
}

/** Polls `check` every 200 ms until it holds, or throws naming `what` after `timeoutMs`. */
export async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

export interface UplinkOptions {
  devEui: string;
  name: string;
  fCnt: number;
  fPort: number;
  data: Uint8Array;
  time: number;
  tags?: Record<string, string>;
  /** Default: one gateway at -80 dBm / 7.5 dB. */
  rxInfo?: UplinkEvent['rxInfo'];
  /** Default: `dedup-<devEui>-<fCnt>`. */
  deduplicationId?: string;
}

/** A ChirpStack v4 uplink event as ChirpStack publishes it, heard by one gateway. */
export function chirpstackUplink(o: UplinkOptions): UplinkEvent {
  return {
    kind: 'up',
    deduplicationId: o.deduplicationId ?? `dedup-${o.devEui}-${o.fCnt}`,
    time: o.time,
    deviceInfo: {
      tenantId: 't',
      tenantName: 'city',
      applicationId: '795179d5-60fa-43b6-b34b-56c1ad33a55c',
      applicationName: 'waste',
      deviceProfileId: 'p',
      deviceProfileName: 'profile',
      deviceName: o.name,
      devEui: o.devEui,
      deviceClassEnabled: 'CLASS_A',
      tags: o.tags ?? {},
    },
    devAddr: '26000001',
    adr: true,
    dr: 5,
    fCnt: o.fCnt,
    fPort: o.fPort,
    confirmed: false,
    data: o.data,
    rxInfo: o.rxInfo ?? [{ gatewayId: '0016c001f1530001', uplinkId: 1, rssi: -80, snr: 7.5, channel: 1, rfChain: 0 }],
    txInfo: { frequency: 868_100_000, bandwidth: 125_000, spreadingFactor: 7, codeRate: 'CR_4_5' },
    regionConfigId: 'eu868',
  };
}
