import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseYaml, readYamlFile, YamlError } from './safe-yaml.ts';

const BOMB = ['a: &a [x,x,x,x,x,x,x,x,x]']
  .concat('bcdefgh'.split('').map((l, i) => `${l}: &${l} [${Array(9).fill(`*${'abcdefgh'[i]}`).join(',')}]`))
  .concat('i: [*h,*h,*h,*h,*h,*h,*h,*h,*h]')
  .join('\n');

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof YamlError) return err.code;
    throw err;
  }
  return undefined;
}

describe('parseYaml', () => {
  it('parses ordinary documents into plain trees without shared references', () => {
    const doc = parseYaml('a: &x {p: 1}\nb: *x\nc: [1, two, 3.5]\n', 't.yaml') as Record<string, unknown>;
    expect(doc).toEqual({ a: { p: 1 }, b: { p: 1 }, c: [1, 'two', 3.5] });
    expect(doc['a']).not.toBe(doc['b']);
    expect(Object.getPrototypeOf(doc)).toBe(Object.prototype);
  });

  it('refuses an alias bomb quickly, naming the source', () => {
    expect(BOMB.length).toBeLessThan(700);
    const started = Date.now();
    expect(() => parseYaml(BOMB, 'bomb.yaml')).toThrow(/bomb\.yaml: .*more than 1000000 nodes/);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(codeOf(() => parseYaml(BOMB, 'bomb.yaml', { maxNodes: 1000 }))).toBe('YAML_TOO_MANY_NODES');
  });

  it('refuses __proto__, constructor and prototype keys at any depth, with their path', () => {
    expect(() => parseYaml('__proto__: {data_dir: /tmp/x}\n', 'g.yaml')).toThrow(/key "__proto__" is not allowed/);
    expect(() => parseYaml('sinks:\n  - constructor: 1\n', 'g.yaml')).toThrow(/sinks\[0\]\.constructor/);
    expect(codeOf(() => parseYaml('a: {prototype: 2}', 'g.yaml'))).toBe('YAML_FORBIDDEN_KEY');
  });

  it('bounds depth and size', () => {
    const deep = `${'['.repeat(80)}${']'.repeat(80)}`;
    expect(codeOf(() => parseYaml(deep, 'deep.yaml'))).toBe('YAML_TOO_DEEP');
    expect(codeOf(() => parseYaml('a: 1\n'.repeat(100), 'big.yaml', { maxBytes: 100 }))).toBe('YAML_TOO_LARGE');
  });

  it('reports syntax errors on one line with the line number', () => {
    try {
      parseYaml('a: 1\nb: [unclosed\n', 's.yaml');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(YamlError);
      expect((err as YamlError).message).not.toContain('\n');
      expect((err as YamlError).message).toMatch(/^s\.yaml: invalid YAML at line \d+/);
    }
  });
});

describe('readYamlFile', () => {
  it('checks the size before reading and names missing files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'safe-yaml-'));
    try {
      const big = join(dir, 'big.yaml');
      writeFileSync(big, `x: [${'1, '.repeat(600)}1]\n`);
      expect(codeOf(() => readYamlFile(big, { maxBytes: 1000 }))).toBe('YAML_TOO_LARGE');
      expect((readYamlFile(big) as { x: number[] }).x).toHaveLength(601);
      expect(() => readYamlFile(join(dir, 'nope.yaml'))).toThrow(/nope\.yaml: file does not exist/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
