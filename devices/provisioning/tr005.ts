/**
 * Device identification strings as technicians scan them from labels.
 *
 * LoRa Alliance TR005 ("LoRaWAN Device Identification QR Codes"):
 *
 *   LW:D0:<JoinEUI 16 hex>:<DevEUI 16 hex>:<ProfileID 8 hex>[:<extension>]…
 *
 * `LW` is the preface, `D0` the schema; ProfileID is the VendorID (4 hex) followed by the
 * VendorProfileID (4 hex), `00000000` when there is none. Each optional extension starts with
 * one letter: `O` OwnerToken, `S` serial number, `P` proprietary, `C` checksum (4 hex; kept, not
 * checked, since vendors disagree on what it covers).
 *
 * Vendor stickers that are not TR005 are accepted too: a bare DevEUI (any separators), or text
 * with labelled fields in any order and case (`DevEUI: …`, `AppEUI`/`JoinEUI: …`, `AppKey: …`)
 * as Dragino and RAK print them.
 */
export interface ScannedDevice {
  format: 'tr005' | 'eui' | 'sticker';
  devEui: string;
  joinEui?: string;
  profileId?: string;
  ownerToken?: string;
  serialNumber?: string;
  proprietary?: string;
  checksum?: string;
  /** Only some stickers carry the key. Handle as a secret. */
  appKey?: string;
}

export class ScanError extends Error {
  override readonly name = 'ScanError';
}

const MAX_SCAN = 2048;
const hex = (s: string): string => s.replace(/[\s:-]/g, '').toLowerCase();

/** Builds the TR005 string printed on a label. */
export function tr005String(d: { joinEui: string; devEui: string; profileId?: string; serialNumber?: string; ownerToken?: string }): string {
  const parts = ['LW', 'D0', hex(d.joinEui).toUpperCase(), hex(d.devEui).toUpperCase(), (d.profileId ?? '00000000').toUpperCase()];
  if (d.ownerToken) parts.push(`O${d.ownerToken.toUpperCase()}`);
  if (d.serialNumber) parts.push(`S${d.serialNumber.replace(/:/g, '')}`);
  return parts.join(':');
}

function parseTr005(text: string): ScannedDevice {
  const fields = text.split(':');
  const [, schema, joinEui, devEui, profileId, ...ext] = fields;
  if (schema !== 'D0') throw new ScanError(`TR005 schema "${schema ?? ''}" is not supported (only D0)`);
  if (!joinEui || !/^[0-9A-Fa-f]{16}$/.test(joinEui)) throw new ScanError('TR005: the JoinEUI (third field) must be 16 hex digits');
  if (!devEui || !/^[0-9A-Fa-f]{16}$/.test(devEui)) throw new ScanError('TR005: the DevEUI (fourth field) must be 16 hex digits');
  if (!profileId || !/^[0-9A-Fa-f]{8}$/.test(profileId)) throw new ScanError('TR005: the ProfileID (fifth field) must be 8 hex digits');
  const out: ScannedDevice = { format: 'tr005', joinEui: joinEui.toLowerCase(), devEui: devEui.toLowerCase(), profileId: profileId.toUpperCase() };
  for (const e of ext) {
    const tag = e[0];
    const value = e.slice(1);
    if (tag === 'O') out.ownerToken = value;
    else if (tag === 'S') out.serialNumber = value;
    else if (tag === 'P') out.proprietary = value;
    else if (tag === 'C') {
      if (!/^[0-9A-Fa-f]{4}$/.test(value)) throw new ScanError('TR005: the checksum extension must be 4 hex digits');
      out.checksum = value.toUpperCase();
    } else if (e !== '') throw new ScanError(`TR005: unknown extension "${tag ?? ''}"`);
  }
  return out;
}

const LABELLED: { key: keyof ScannedDevice; re: RegExp; len: number }[] = [
  { key: 'devEui', re: /dev[\s_-]*eui/i, len: 16 },
  { key: 'joinEui', re: /(?:app|join)[\s_-]*eui/i, len: 16 },
  { key: 'appKey', re: /app[\s_-]*key/i, len: 32 },
];

/** Parses a scanned label; throws ScanError with one line saying what is wrong. */
export function parseScan(input: string): ScannedDevice {
  if (input.length > MAX_SCAN) throw new ScanError(`the scanned text is ${input.length} characters; a label has at most ${MAX_SCAN}`);
  const text = input.trim();
  if (/^LW:/i.test(text)) return parseTr005(text);
  const bare = hex(text);
  if (/^[0-9a-f]{16}$/.test(bare)) return { format: 'eui', devEui: bare };
  const out: Partial<ScannedDevice> = { format: 'sticker' };
  for (const { key, re, len } of LABELLED) {
    const m = new RegExp(`${re.source}\\s*[:=]?\\s*((?:[0-9A-Fa-f]{2}[\\s:\\-]?){${len / 2}})`, 'i').exec(text);
    if (m?.[1]) (out as Record<string, string>)[key] = hex(m[1]);
  }
  if (!out.devEui) throw new ScanError('not a TR005 code (LW:D0:…), a DevEUI or a sticker with a "DevEUI:" field');
  return out as ScannedDevice;
}
