/**
 * Why a provisioning step failed. Each code maps to one line a technician can act on; the CLI
 * prints `message` and exits with EXIT_PROVISION (see cli/provision.ts), never a stack trace.
 */
export type ProvisionErrorCode =
  | 'PORT_MISSING' // no device at that path (unplugged, wrong name)
  | 'PORT_BUSY' // another program holds the port
  | 'PORT_DENIED' // no permission (dialout group)
  | 'PORT_CLOSED' // the device went away during the run
  | 'TIMEOUT' // no complete answer within the command's time
  | 'DEVICE_ERROR' // the device answered with an error status (AT_ERROR, AT_PARAM_ERROR, ERROR(-1)…)
  | 'GARBAGE' // unreadable bytes: wrong baud rate, wrong dialect or line noise
  | 'WRONG_DIALECT' // the device does not speak the chosen dialect
  | 'AUTH_FAILED' // Dragino password refused
  | 'READBACK_MISMATCH' // a value read back differs from what was written
  | 'JOIN_FAILED' // the join test ended without a join
  | 'UNSUPPORTED'; // the dialect cannot do what was asked (e.g. set the region on a fixed-band Dragino)

export class ProvisionError extends Error {
  override readonly name = 'ProvisionError';
  constructor(
    readonly code: ProvisionErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** `0123…cdef` → `••••••••••••••••••••••••••••cdef`: what may be shown of a key. */
export function maskKey(hex: string): string {
  const clean = hex.replace(/[^0-9a-fA-F]/g, '');
  if (clean.length <= 4) return '•'.repeat(clean.length);
  return `${'•'.repeat(clean.length - 4)}${clean.slice(-4).toLowerCase()}`;
}

/** Upper-case hex with separators (spaces, colons, dashes, quotes) removed, as read-backs compare. */
export function normalizeHex(text: string): string {
  return text.replace(/[\s:\-"]/g, '').toUpperCase();
}
