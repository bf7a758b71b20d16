import { describe, expect, it } from 'vitest';
import { histogramQuantile, parseExposition, parseProcNetUdp, patiently, rejectsByReason } from './measure.ts';

const PROC = `   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
14251: 0100007F:9EA6 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1143711 2 000000002abc0325 0
16304: 0100007F:06A4 00000000:0000 07 00000000:00367400 00:00000000 00000000     0        0 1143706 2 000000005cde4676 2417
`;

describe('bench/edge-ns measurements', () => {
  it('reads the receive queue and the drops of the socket on a port from /proc/net/udp', () => {
    expect(parseProcNetUdp(PROC, 1700)).toEqual({ rxQueueBytes: 0x367400, drops: 2417 });
    expect(parseProcNetUdp(PROC, 0x9ea6)).toEqual({ rxQueueBytes: 0, drops: 0 });
    expect(parseProcNetUdp(PROC, 1701)).toBeUndefined();
  });

  it('counts the rejects that grew, by reason', () => {
    const before = parseExposition('# HELP x\nlorawan_edge_ns_rejected_total{reason="bad_mic"} 3\nlorawan_edge_ns_uplinks_total 10\n');
    const after = parseExposition('lorawan_edge_ns_rejected_total{reason="bad_mic"} 5\nlorawan_edge_ns_rejected_total{reason="replay"} 1\nlorawan_edge_uplinks_rejected_total{reason="unstorable"} 0\nlorawan_edge_ns_uplinks_total 99\n');
    expect(rejectsByReason(before, after)).toEqual({ bad_mic: 2, replay: 1 });
  });

  it('reads a histogram quantile between two scrapes as its bucket bound', () => {
    const h = (a: number, b: number, c: number): string => `x_seconds_bucket{kind="data",le="0.01"} ${a}\nx_seconds_bucket{kind="data",le="0.1"} ${b}\nx_seconds_bucket{le="+Inf",kind="data"} ${c}\nx_seconds_bucket{kind="join",le="0.01"} 7\n`;
    const before = parseExposition(h(10, 10, 10));
    const after = parseExposition(h(60, 108, 110));
    expect(histogramQuantile(before, after, 'x_seconds', 0.5, 'kind="data"')).toBe(0.01);
    expect(histogramQuantile(before, after, 'x_seconds', 0.9, 'kind="data"')).toBe(0.1);
    expect(histogramQuantile(before, after, 'x_seconds', 0.99, 'kind="data"')).toBe(Infinity);
    expect(histogramQuantile(before, before, 'x_seconds', 0.5, 'kind="data"')).toBeNaN();
  });

  it('tries a read again while it times out, and gives up on any other error', async () => {
    let n = 0;
    const slow = async (): Promise<number> => {
      if (++n < 3) throw new DOMException('The operation was aborted due to timeout', 'TimeoutError');
      return n;
    };
    await expect(patiently(slow)).resolves.toBe(3);
    await expect(patiently(async () => Promise.reject(new TypeError('other side closed')))).rejects.toThrow(/other side closed/);
    await expect(patiently(async () => Promise.reject(new DOMException('t', 'TimeoutError')), -1)).rejects.toThrow('t');
  });
});
