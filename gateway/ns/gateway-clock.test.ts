import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GatewayClocks } from './gateway-clock.ts';
import { planWindow } from './receive-windows.ts';

const U32 = 0x1_0000_0000;
/** tmst of a concentrator that booted `bootUs` before monotonic 0, at monotonic `ms` */
const tmstAt = (bootUs: number, ms: number): number => Math.floor(bootUs + ms * 1000) % U32;

describe('GatewayClocks', () => {
  it('a datagram delayed in the receive buffer is as old as its delay, the fresh ones age 0', () => {
    const c = new GatewayClocks();
    const boot = 123_456_789;
    // network latency 3 ms for the prompt datagrams
    expect(c.observe('gw', tmstAt(boot, 1000), 1003).ageMs).toBe(0);
    expect(c.observe('gw', tmstAt(boot, 1500), 1503).ageMs).toBeCloseTo(0, 6);
    const late = c.observe('gw', tmstAt(boot, 2000), 3500); // read 1.5 s after the uplink
    expect(late.ageMs).toBeCloseTo(1497, 3);
    expect(late.heardAt).toBeCloseTo(2003, 3);
    expect(c.observe('gw', tmstAt(boot, 3600), 3603).ageMs).toBeCloseTo(0, 6);
  });

  it('unwraps the 32-bit µs counter: a wrap between two datagrams is a small step forward', () => {
    const c = new GatewayClocks();
    const boot = U32 - 700_000; // wraps 0.7 s after monotonic 0
    c.observe('gw', tmstAt(boot, 0), 5);
    c.observe('gw', tmstAt(boot, 500), 505);
    const after = c.observe('gw', tmstAt(boot, 900), 905); // tmst 200,000 now
    expect(tmstAt(boot, 900)).toBe(200_000);
    expect(after.ageMs).toBeCloseTo(0, 6);
    const delayed = c.observe('gw', tmstAt(boot, 1000), 2505);
    expect(delayed.ageMs).toBeCloseTo(1500, 3);
    // across many wraps (an hour and a half of uplinks every 10 min)
    for (let m = 1; m <= 9; m++) expect(c.observe('gw', tmstAt(boot, m * 600_000), m * 600_000 + 5).ageMs).toBeCloseTo(0, 3);
  });

  it('reordered datagrams (a step back) are not a wrap', () => {
    const c = new GatewayClocks();
    c.observe('gw', 10_000_000, 10_000);
    c.observe('gw', 10_500_000, 10_700); // delayed 200 ms
    const earlier = c.observe('gw', 10_400_000, 10_701); // heard before the previous one, read after it
    expect(earlier.ageMs).toBeCloseTo(301, 3);
  });

  it('a forwarder restart (tmst from 0 again) starts the estimate again instead of calling every uplink late', () => {
    const c = new GatewayClocks();
    c.observe('gw', 3_000_000_000, 1000);
    c.observe('gw', 3_001_000_000, 2000);
    // from 3,001 s to 0.001 s: unwrapped, a step forward — the new minimum, age 0
    expect(c.observe('gw', 1_000, 2_500).ageMs).toBe(0);
    expect(c.observe('gw', 501_000, 3_000).ageMs).toBeCloseTo(0, 6);
    expect(c.resets).toBe(0);
    // a counter that starts again at a value 100 s behind: a restart, not a 100 s delay
    expect(c.observe('gw', (501_000 - 100_000_000 + U32) % U32, 3_500).ageMs).toBe(0);
    expect(c.resets).toBe(1);
    expect(c.observe('gw', (1_001_000 - 100_000_000 + U32) % U32, 4_000).ageMs).toBeCloseTo(0, 6);
  });

  it('gateways have their own clocks', () => {
    const c = new GatewayClocks();
    c.observe('a', 1_000_000, 100);
    c.observe('b', 4_000_000_000, 100);
    expect(c.observe('a', 2_000_000, 1_100).ageMs).toBeCloseTo(0, 6);
    expect(c.observe('b', 4_000_000_000 + 1_000_000, 2_600).ageMs).toBeCloseTo(1_500, 3);
  });

  it('forgets a stale minimum (clock drift): only the last buckets count', () => {
    const c = new GatewayClocks({ bucketMs: 1000, buckets: 2 });
    c.observe('gw', 0, 0); // offset 0
    // from then on every datagram is 5 ms later than the first (host clock ran ahead)
    expect(c.observe('gw', 1_000_000, 1_005).ageMs).toBeCloseTo(5, 6);
    expect(c.observe('gw', 2_500_000, 2_505).ageMs).toBeCloseTo(0, 6); // bucket 0 gone
  });

  it('is bounded in gateways', () => {
    const c = new GatewayClocks({ maxGateways: 3 });
    for (let i = 0; i < 10; i++) c.observe(`gw${i}`, i, i);
    expect(c.size).toBe(3);
  });

  it('evicts the gateway heard least recently (to within a second), keeping a busy one and its estimate', () => {
    const c = new GatewayClocks({ maxGateways: 2 });
    c.observe('busy', 0, 0);
    c.observe('quiet', 0, 10);
    c.observe('busy', 1_000_000, 1_000 + 7); // moved to the end: 'quiet' is now the oldest
    c.observe('new', 0, 1_100);
    expect(c.size).toBe(2);
    // 'busy' kept its minimum (arrival − tmst = 0 ms): a prompt datagram has age 0, a late one its delay
    expect(c.observe('busy', 2_000_000, 2_000 + 40).ageMs).toBeCloseTo(40, 6);
    // 'quiet' was evicted: it starts again (its first datagram has age 0 whatever its delay)
    expect(c.observe('quiet', 5_000_000, 5_000 + 90).ageMs).toBe(0);
  });

  it('property: with any boot offset and random delays (wraps included), the age is the delay beyond the smallest one', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: U32 - 1 }), fc.array(fc.tuple(fc.integer({ min: 1, max: 2_000 }), fc.integer({ min: 0, max: 3_000 })), { minLength: 1, maxLength: 200 }), (boot, steps) => {
        const c = new GatewayClocks();
        let t = 0;
        // the first datagram is prompt (3 ms), so the minimum is known from the start; one in
        // five is prompt afterwards, so the sliding minimum (60 s) always holds a prompt one
        c.observe('gw', tmstAt(boot, t), t + 3);
        for (const [i, [gap, d]] of steps.entries()) {
          t += gap;
          const delay = i % 5 === 4 ? 0 : d;
          const e = c.observe('gw', tmstAt(boot, t), t + 3 + delay);
          if (Math.abs(e.ageMs - delay) > 0.01) return false;
        }
        return true;
      }),
      { seed: 10_2026, numRuns: 200 },
    );
  });
});

describe('planWindow', () => {
  const plan = (ageMs: number, rx1DelayMs = 1000) => planWindow({ heardAt: 10_000, rx1DelayMs, now: 10_000 + ageMs, leadMs: 100 });
  it('RX1 while the PULL_RESP can reach the gateway lead ms before RX1', () => {
    expect(plan(0).window).toBe('rx1');
    expect(plan(899).window).toBe('rx1');
    expect(plan(0).leftMs).toBe(900);
  });
  it('RX2 once RX1 is out of reach, nothing once RX2 is', () => {
    expect(plan(900).window).toBe('rx2');
    expect(plan(1500).window).toBe('rx2'); // heard 1.5 s ago: no RX1 answer
    expect(plan(1900).window).toBe('too_late');
    expect(plan(1900).leftMs).toBe(0);
  });
  it('a join-accept (5 s) heard 1.5 s ago still makes RX1', () => {
    expect(plan(1500, 5000).window).toBe('rx1');
    expect(plan(5500, 5000).window).toBe('rx2');
    expect(plan(6000, 5000).window).toBe('too_late');
  });
});
