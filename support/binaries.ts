// Locating the real server binaries the integration tests start, with an error that says which
// Debian package brings a missing one (DESIGN.md, "Real parts").
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Binary name → the Debian package that installs it. */
export const DEBIAN_PACKAGE_OF: Readonly<Record<string, string>> = {
  influxd: 'influxdb',
  mosquitto: 'mosquitto',
};

/** Debian puts daemons in sbin, which a non-root PATH often lacks. */
const EXTRA_DIRS = ['/usr/sbin', '/usr/bin', '/sbin', '/usr/local/sbin', '/usr/local/bin'];

export class MissingBinaryError extends Error {
  readonly binary: string;
  readonly debianPackage: string | undefined;
  constructor(binary: string, debianPackage: string | undefined, searched: readonly string[]) {
    const install = debianPackage
      ? `install the Debian package "${debianPackage}" (apt-get install -y ${debianPackage})`
      : 'install it';
    super(`${binary} was not found (searched PATH and ${searched.join(', ')}); ${install}`);
    this.name = 'MissingBinaryError';
    this.binary = binary;
    this.debianPackage = debianPackage;
  }
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Full path of `binary`, or undefined. Looks in PATH, then the usual Debian dirs. */
export function which(binary: string): string | undefined {
  const dirs = [...(process.env['PATH'] ?? '').split(delimiter).filter((d) => d !== ''), ...EXTRA_DIRS];
  for (const dir of dirs) {
    const candidate = join(dir, binary);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/** Like `which`, but throws a MissingBinaryError naming the Debian package. */
export function requireBinary(binary: string): string {
  const found = which(binary);
  if (found === undefined) throw new MissingBinaryError(binary, DEBIAN_PACKAGE_OF[binary], EXTRA_DIRS);
  return found;
}
