import { Counter, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { LabelChildren } from './metric-children.ts';

describe('LabelChildren', () => {
  it('counts into the same series as inc({label}) and makes each child once', async () => {
    const registry = new Registry();
    const c = new Counter({ name: 't_total', help: 'h', labelNames: ['reason'], registers: [registry] });
    let made = 0;
    const children = new LabelChildren((reason) => {
      made++;
      return c.labels({ reason });
    });
    children.get('bad_mic').inc();
    children.get('bad_mic').inc(2);
    c.inc({ reason: 'bad_mic' });
    children.get('replay').inc();
    expect(made).toBe(2);
    const values = (await c.get()).values.map((v) => [v.labels.reason, v.value]);
    expect(values).toEqual([
      ['bad_mic', 4],
      ['replay', 1],
    ]);
  });

  it('is bounded: past max values it starts again and still counts right', async () => {
    const registry = new Registry();
    const c = new Counter({ name: 'g_total', help: 'h', labelNames: ['gateway'], registers: [registry] });
    let made = 0;
    const children = new LabelChildren((gateway) => {
      made++;
      return c.labels({ gateway });
    }, 2);
    for (const g of ['a', 'b', 'c', 'a']) children.get(g).inc();
    expect(made).toBe(4);
    expect((await c.get()).values.find((v) => v.labels.gateway === 'a')?.value).toBe(2);
  });
});
