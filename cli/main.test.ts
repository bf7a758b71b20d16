// Every verb and sub-verb the command registers answers --help (exit 0, its usage on stdout)
// and the top-level help lists it: verbs added by other branches are held to the same rule by
// this loop over VERBS, not by a list kept here.
import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { helpText, main, VERBS } from './main.ts';
import type { Io } from './usage.ts';

async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  const io: Io = { stdout, stderr, stdin: Readable.from([]) };
  const code = await main(argv, io);
  return { code, stdout: out, stderr: err };
}

const commands = Object.entries(VERBS).flatMap(([verb, entry]) => [[verb], ...Object.keys(entry.subcommands ?? {}).map((sub) => [verb, sub])]);

describe('lorawan-edge --help', () => {
  it.each(commands.map((c) => [c.join(' '), c]))('"%s --help" prints its usage and exits 0', async (_name, command) => {
    for (const flag of ['--help', '-h']) {
      const r = await run([...command, flag]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/Usage: lorawan-edge /);
      expect(r.stdout).toContain(command.join(' '));
    }
  });

  it('the top-level help lists every verb and sub-verb', () => {
    const text = helpText();
    for (const c of commands) expect(text).toMatch(new RegExp(`^  ${c.join(' ')} `, 'm'));
  });

  it('an unknown option is one line naming it and the sub-verb\'s --help', async () => {
    const r = await run(['devices', 'registered', '--frob']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('lorawan-edge devices registered: unknown option --frob (run "lorawan-edge devices registered --help" for the options)\n');
  });
});
