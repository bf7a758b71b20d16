import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type LineEvent, LineSplitter } from './line-port.ts';

describe('LineSplitter', () => {
  it('splits CR LF lines across chunks and counts non-text bytes as garbage', () => {
    const events: LineEvent[] = [];
    const s = new LineSplitter((e) => events.push(e));
    s.push(Buffer.from('AT+DEVEUI=AC1F'));
    s.push(Buffer.from('09FFFE000001\r\nOK\r\n\r\n'));
    s.push(Buffer.from([0x00, 0xff, 0x41, 0x0d, 0x0a]));
    expect(events).toEqual([{ kind: 'line', text: 'AT+DEVEUI=AC1F09FFFE000001' }, { kind: 'line', text: 'OK' }, { kind: 'garbage', bytes: 2 }, { kind: 'line', text: 'A' }]);
  });

  it('bounds a line that never ends and never throws on any bytes (fuzz)', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 600 }), { maxLength: 20 }), (chunks) => {
        const s = new LineSplitter((e) => {
          if (e.kind === 'line') expect(e.text.length).toBeLessThanOrEqual(1024 + 600);
        });
        for (const c of chunks) s.push(Buffer.from(c));
      }),
      { seed: 9, numRuns: 500 },
    );
  });
});
