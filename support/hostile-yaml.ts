/**
 * Hostile YAML documents shared by the tests of every YAML reader (config, registry, catalogue,
 * fleet): one definition, so each reader is tested against the same attack.
 */

/**
 * "Billion laughs": nine levels of nine aliases each, 9^9 ≈ 387 million nodes once expanded,
 * in about 600 bytes. `prefix` lets a test put it under a key the reader expects.
 */
export function billionLaughs(prefix = ''): string {
  const levels = 'abcdefghi'.split('');
  const lines = [`${prefix}a: &a [lol,lol,lol,lol,lol,lol,lol,lol,lol]`];
  for (let i = 1; i < levels.length; i++) {
    const prev = levels[i - 1] as string;
    lines.push(`${prefix}${levels[i] as string}: &${levels[i] as string} [${Array(9).fill(`*${prev}`).join(',')}]`);
  }
  return `${lines.join('\n')}\n`;
}

export const BILLION_LAUGHS = billionLaughs();
