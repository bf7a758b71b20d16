import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { MissingBinaryError, requireBinary, which } from './binaries.ts';
import { freePort, freePorts } from './free-port.ts';

describe('freePort', () => {
  it('returns a port that can be bound on 127.0.0.1', async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('freePorts returns distinct ports', async () => {
    const ports = await freePorts(4);
    expect(new Set(ports).size).toBe(4);
  });
});

describe('which / requireBinary', () => {
  it('finds an existing binary', () => {
    expect(which('sh')).toMatch(/\/sh$/);
  });

  it('throws a clear error for a missing binary, naming the Debian package when known', () => {
    expect(() => requireBinary('no-such-binary-lorawan-edge')).toThrow(MissingBinaryError);
    expect(() => requireBinary('no-such-binary-lorawan-edge')).toThrow(/no-such-binary-lorawan-edge was not found.*install it/);
    const err = new MissingBinaryError('influxd', 'influxdb', ['/usr/bin']);
    expect(err.message).toContain('install the Debian package "influxdb" (apt-get install -y influxdb)');
    expect(err.debianPackage).toBe('influxdb');
  });

  it('finds the real servers the integration tests need', () => {
    expect(requireBinary('influxd')).toMatch(/\/influxd$/);
    expect(requireBinary('mosquitto')).toMatch(/\/mosquitto$/);
  });
});
