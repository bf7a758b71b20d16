// The kernel's drop count of a real UDP socket, flooded by a worker thread while the socket's
// thread is blocked (its reader paused): every datagram sent is either read or counted as a
// kernel drop, over IPv4 and IPv6 loopback, and the metric moves by exactly the drops.
import { createSocket, type Socket } from 'node:dgram';
import { Worker } from 'node:worker_threads';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { addressBytes, parseProcNetUdp, UdpSocketStats, watchUdpKernelDrops } from './udp-kernel-drops.ts';

const SENT = 3000;

/** Sends `n` 200-byte datagrams to host:port from another thread; `done[0]` becomes 1 after the last. */
function flood(host: string, port: number, n: number, done: Int32Array): Worker {
  const code = `
    const { workerData } = require('node:worker_threads');
    const dgram = require('node:dgram');
    const { host, port, n, done } = workerData;
    const s = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
    const msg = Buffer.alloc(200, 7);
    let left = n;
    for (let i = 0; i < n; i++) s.send(msg, port, host, () => { if (--left === 0) { s.close(); Atomics.store(done, 0, 1); Atomics.notify(done, 0); } });
  `;
  return new Worker(code, { eval: true, workerData: { host, port, n, done } });
}

async function bound(type: 'udp4' | 'udp6', host: string): Promise<Socket> {
  const s = createSocket(type);
  await new Promise<void>((r) => s.bind(0, host, () => r()));
  s.setRecvBufferSize(16 * 1024); // small: a few dozen datagrams fill it
  return s;
}

describe('udp-kernel-drops', () => {
  for (const [type, host] of [['udp4', '127.0.0.1'], ['udp6', '::1']] as const) {
    it(`${type}: a socket flooded while its reader is paused — read + kernel drops = sent, and the metric says so`, async () => {
      const sock = await bound(type, host);
      let read = 0;
      sock.on('message', () => read++);
      const registry = new Registry();
      const stop = watchUdpKernelDrops(registry, 'udp', () => sock.address());
      const stats = new UdpSocketStats(() => sock.address());
      expect(stats.read()).toMatchObject({ port: sock.address().port, drops: 0 });
      const done = new Int32Array(new SharedArrayBuffer(4));
      const w = flood(host, sock.address().port, SENT, done);
      // This thread (the socket's reader) blocks until the flood is sent, at most 20 s.
      expect(Atomics.wait(done, 0, 0, 20_000)).not.toBe('timed-out');
      const drops = stats.read()?.drops ?? 0;
      expect(drops).toBeGreaterThan(0);
      expect(drops).toBeLessThan(SENT);
      // Now the reader reads what the buffer held.
      const end = Date.now() + 10_000;
      while (read + drops < SENT && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
      expect(read + drops).toBe(SENT);
      const text = await registry.metrics();
      expect(text).toContain(`lorawan_edge_udp_kernel_drops_total{source="udp"} ${drops}`);
      expect(text).toMatch(/lorawan_edge_udp_receive_queue_bytes\{source="udp"\} 0$/m);
      // A second scrape does not count them again.
      expect(await registry.metrics()).toContain(`lorawan_edge_udp_kernel_drops_total{source="udp"} ${drops}`);
      stop();
      await w.terminate();
      sock.close();
    }, 60_000);
  }

  it('parses the kernel\'s table and addresses; a closed socket has no row', async () => {
    const text = [
      '   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops',
      ' 1577: 0100007F:06A4 00000000:0000 07 00000000:00001F00 00:00000000 00000000     0        0 21329 2 0000000090b2174b 17',
      'garbage',
    ].join('\n');
    expect(parseProcNetUdp(text, true)).toEqual([{ local: Buffer.from([127, 0, 0, 1]), port: 1700, inode: 21329, rxQueue: 0x1f00, drops: 17 }]);
    const v6 = '  sl  local_address remote_address st tx_queue rx_queue tr tm->when retrnsmt uid timeout inode ref pointer drops\n' +
      '  5: 00000000000000000000000001000000:06A4 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000 0 0 99 2 0 3';
    expect(parseProcNetUdp(v6, true)[0]).toMatchObject({ local: addressBytes('::1'), port: 1700, inode: 99, drops: 3 });
    expect(addressBytes('::ffff:10.0.0.1')?.toString('hex')).toBe('00000000000000000000ffff0a000001');
    expect(addressBytes('fe80::1%eth0')?.toString('hex')).toBe('fe800000000000000000000000000001');
    expect(addressBytes('::')?.toString('hex')).toBe('0'.repeat(32));
    expect(addressBytes('nope')).toBeUndefined();
    const s = await bound('udp4', '127.0.0.1');
    const addr = s.address();
    const stats = new UdpSocketStats(() => addr);
    expect(stats.read()?.port).toBe(addr.port);
    await new Promise<void>((r) => s.close(() => r()));
    expect(stats.read()).toBeUndefined();
  });
});
