/**
 * What a technician types or scans into the search box: a DevEUI (any case, with or without
 * separators), a device name (or part of it), or the TR005 QR string printed on the device's
 * label — `LW:D0:<JoinEUI>:<DevEUI>:<ProfileID>[:<extensions>]` (LoRa Alliance TR005, schema D0).
 */
import { normalizeEui } from '../registry/devices-file.ts';

export type SearchQuery = { devEui: string } | { text: string };

export const MAX_QUERY_CHARS = 200;

export function parseSearch(q: string): SearchQuery {
  const t = q.trim();
  if (/^LW:D0:/i.test(t)) {
    const eui = normalizeEui(t.split(':')[3]);
    if (eui) return { devEui: eui };
  }
  const eui = normalizeEui(t);
  if (eui) return { devEui: eui };
  return { text: t };
}
