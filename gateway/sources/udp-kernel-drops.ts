/**
 * Datagrams the kernel dropped for a UDP socket because its receive buffer was full — the loss
 * no receiver sees (the datagram never reaches the process), so until now it was in no metric:
 * a gateway behind its traffic lost uplinks silently. Linux counts them per socket in the
 * `drops` column of `/proc/net/udp` (IPv4) and `/proc/net/udp6` (IPv6); this module finds the
 * source's socket there by its bound local address and port and exports
 *
 *   lorawan_edge_udp_kernel_drops_total{source}   counter: datagrams dropped by the kernel
 *   lorawan_edge_udp_receive_queue_bytes{source}  gauge: bytes waiting in the receive buffer now
 *
 * read when `/metrics` is scraped (no timer; a read is one small file). It works wherever the
 * socket lives — the main thread or the intake worker (`udp-intake-worker.ts`): both are this
 * process, and the table is the network namespace's.
 *
 * Invariants:
 * - The socket is the row whose local address and port are the source's bound ones. Should
 *   several rows match (another socket with SO_REUSEADDR/SO_REUSEPORT, another process), only
 *   rows whose inode is one of this process's sockets (`/proc/self/fd`) count; once identified,
 *   the inode is kept and preferred, so a later same-port socket elsewhere changes nothing.
 * - The counter moves by what the kernel's count moved since the last read (from 0: the socket
 *   is this process's own, bound at start); a count that went down (a new socket) counts anew.
 * - Never throws into a scrape: no `/proc` (not Linux), no row (not bound, closed), an unreadable
 *   table — the metric simply does not move.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { isIPv4, isIPv6 } from 'node:net';
import { endianness } from 'node:os';
import { Counter, Gauge, type Registry } from 'prom-client';

export interface UdpSocketRow {
  /** local address, 4 or 16 bytes in network order */
  local: Buffer;
  port: number;
  inode: number;
  /** bytes in the receive queue */
  rxQueue: number;
  drops: number;
}

/** The rows of a `/proc/net/udp` or `/proc/net/udp6` table (its header line skipped, bad lines ignored). */
export function parseProcNetUdp(text: string, littleEndian = endianness() === 'LE'): UdpSocketRow[] {
  const rows: UdpSocketRow[] = [];
  for (const line of text.split('\n').slice(1)) {
    // sl local rem st tx:rx tr:when retrnsmt uid timeout inode ref pointer drops
    const f = line.trim().split(/\s+/);
    if (f.length < 13) continue;
    const [addrHex, portHex] = (f[1] ?? '').split(':');
    const rx = (f[4] ?? '').split(':')[1];
    const local = addrHex ? procAddress(addrHex, littleEndian) : undefined;
    const inode = Number(f[9]);
    const drops = Number(f[12]);
    if (!local || !portHex || rx === undefined || !Number.isSafeInteger(inode) || !Number.isSafeInteger(drops)) continue;
    rows.push({ local, port: parseInt(portHex, 16), inode, rxQueue: parseInt(rx, 16), drops });
  }
  return rows;
}

/** The kernel prints each 32-bit word of the address as the native integer it is in memory. */
function procAddress(hex: string, littleEndian: boolean): Buffer | undefined {
  if ((hex.length !== 8 && hex.length !== 32) || !/^[0-9A-Fa-f]+$/.test(hex)) return undefined;
  const out = Buffer.alloc(hex.length / 2);
  for (let i = 0; i < out.length; i += 4) {
    const word = parseInt(hex.slice(i * 2, i * 2 + 8), 16);
    if (littleEndian) out.writeUInt32LE(word, i);
    else out.writeUInt32BE(word, i);
  }
  return out;
}

/** An IP address as text (`127.0.0.1`, `::1`, `::ffff:10.0.0.1`, `fe80::1%eth0`) → its bytes. */
export function addressBytes(address: string): Buffer | undefined {
  const a = address.replace(/%.*$/, '');
  if (isIPv4(a)) return Buffer.from(a.split('.').map(Number));
  if (!isIPv6(a)) return undefined;
  let text = a;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const b = Buffer.from((v4[1] as string).split('.').map(Number));
    text = `${text.slice(0, v4.index)}${b.readUInt16BE(0).toString(16)}:${b.readUInt16BE(2).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

/** Inodes of this process's sockets (`/proc/self/fd/N` → `socket:[inode]`); shared by its threads. */
function ownSocketInodes(): Set<number> {
  const inodes = new Set<number>();
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
      if (m) inodes.add(Number(m[1]));
    } catch {
      // closed meanwhile
    }
  }
  return inodes;
}

/** One socket's row, found by its bound address (see the invariants); undefined when there is none. */
export class UdpSocketStats {
  private inode: number | undefined;

  constructor(
    private readonly bound: () => { address: string; port: number } | undefined,
    private readonly tables: { udp: string; udp6: string } = { udp: '/proc/net/udp', udp6: '/proc/net/udp6' },
  ) {}

  read(): UdpSocketRow | undefined {
    const b = this.bound();
    const local = b ? addressBytes(b.address) : undefined;
    if (!b || !local) return undefined;
    let rows: UdpSocketRow[];
    try {
      rows = parseProcNetUdp(readFileSync(local.length === 4 ? this.tables.udp : this.tables.udp6, 'utf8'));
    } catch {
      return undefined;
    }
    const mine = rows.filter((r) => r.port === b.port && r.local.equals(local));
    const known = this.inode !== undefined ? mine.find((r) => r.inode === this.inode) : undefined;
    if (known) return known;
    let pick = mine.length === 1 ? mine[0] : undefined;
    if (mine.length > 1) {
      try {
        const own = ownSocketInodes();
        const ours = mine.filter((r) => own.has(r.inode));
        if (ours.length === 1) pick = ours[0];
      } catch {
        // no /proc/self/fd: ambiguous, so nothing
      }
    }
    this.inode = pick?.inode;
    return pick;
  }
}

interface SourceMetrics {
  drops: Counter<'source'>;
  queue: Gauge<'source'>;
  readers: Map<string, { stats: UdpSocketStats; last: number }>;
}

/** Created once per registry (several sources share them). */
const made = new WeakMap<Registry, SourceMetrics>();

function metricsOf(registry: Registry): SourceMetrics {
  const have = made.get(registry);
  if (have) return have;
  const readers = new Map<string, { stats: UdpSocketStats; last: number }>();
  const rows = new Map<string, UdpSocketRow | undefined>();
  const m: SourceMetrics = {
    readers,
    drops: new Counter({
      name: 'lorawan_edge_udp_kernel_drops_total',
      help: 'UDP datagrams the kernel dropped for the source\'s socket because its receive buffer was full (never read: /proc/net/udp drops), read at scrape',
      labelNames: ['source'],
      registers: [registry],
      collect() {
        // One read of each socket's row per scrape; the gauge below uses the same rows.
        rows.clear();
        for (const [source, r] of readers) {
          const row = r.stats.read();
          rows.set(source, row);
          if (!row) continue;
          const moved = row.drops >= r.last ? row.drops - r.last : row.drops;
          r.last = row.drops;
          if (moved > 0) this.inc({ source }, moved);
          else this.inc({ source }, 0);
        }
      },
    }),
    queue: new Gauge({
      name: 'lorawan_edge_udp_receive_queue_bytes',
      help: 'Bytes waiting in the source\'s UDP receive buffer at scrape (/proc/net/udp rx_queue; near the buffer size, the kernel drops)',
      labelNames: ['source'],
      registers: [registry],
      collect() {
        for (const [source, r] of readers) {
          const row = rows.has(source) ? rows.get(source) : r.stats.read();
          if (row) this.set({ source }, row.rxQueue);
        }
      },
    }),
  };
  made.set(registry, m);
  return m;
}

/**
 * Exports the kernel's drop count (and receive queue) of a source's socket, found by the address
 * it is bound to (`bound()`: undefined while not bound). Returns the function that stops it.
 */
export function watchUdpKernelDrops(registry: Registry, source: string, bound: () => { address: string; port: number } | undefined): () => void {
  const m = metricsOf(registry);
  const entry = { stats: new UdpSocketStats(bound), last: 0 };
  m.readers.set(source, entry);
  return () => {
    if (m.readers.get(source) === entry) m.readers.delete(source);
  };
}
