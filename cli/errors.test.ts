import { describe, expect, it } from 'vitest';
import { checkOutputFile, EXIT, explainError, OperatorError } from './errors.ts';
import { UsageError } from './usage.ts';

const sysErr = (props: Record<string, unknown>): Error => Object.assign(new Error(String(props['code'])), props);

describe('explainError: one line and a documented code', () => {
  it('usage and operator errors keep their message and code', () => {
    expect(explainError(new UsageError('--fport is required'), 'decode')).toEqual({ line: '--fport is required', code: EXIT.usage });
    expect(explainError(new OperatorError('held', EXIT.busy), 'gateway')).toEqual({ line: 'held', code: EXIT.busy });
  });

  it('a port in use names the address and what to change', () => {
    const r = explainError(sysErr({ code: 'EADDRINUSE', syscall: 'listen', address: '127.0.0.1', port: 9108 }), 'gateway');
    expect(r.code).toBe(EXIT.busy);
    expect(r.line).toMatch(/^127\.0\.0\.1:9108 is already in use .*http\.listen/);
  });

  it('a file in a missing folder names the folder; other file errors name the path', () => {
    const r = explainError(sysErr({ code: 'ENOENT', syscall: 'open', path: '/no/such/dir/f.json' }), 'simulate');
    expect(r).toEqual({ line: 'cannot create /no/such/dir/f.json: the folder /no/such/dir does not exist: create it (mkdir -p /no/such/dir) or choose another path', code: EXIT.cantCreate });
    expect(explainError(sysErr({ code: 'EACCES', syscall: 'open', path: '/root/x' }), 'x')).toEqual({ line: 'cannot open /root/x: permission denied', code: EXIT.cantCreate });
  });

  it('anything else is an internal error in one line, never the stack', () => {
    const err = new TypeError('boom\nsecond line');
    const r = explainError(err, 'decode');
    expect(r.code).toBe(EXIT.software);
    expect(r.line).toBe('internal error: boom (a bug: LORAWAN_EDGE_DEBUG=1 prints the stack trace to report)');
    expect(explainError('a string', 'x').line).toContain('internal error: a string');
  });

  it('checkOutputFile refuses a missing folder and a file used as a folder', () => {
    expect(() => checkOutputFile('/no/such/dir/ledger.jsonl', '--ledger')).toThrow(/^--ledger \/no\/such\/dir\/ledger\.jsonl: the folder \/no\/such\/dir does not exist/);
    expect(() => checkOutputFile(`${import.meta.filename}/x.json`, '--keys')).toThrow(/is a file, not a folder/);
    expect(() => checkOutputFile(`${import.meta.dirname}/x.json`, '--keys')).not.toThrow();
  });
});
