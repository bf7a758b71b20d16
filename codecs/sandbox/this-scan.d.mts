/** Types of this-scan.mjs (plain JavaScript, imported by the sandbox thread). */
export type Token = { t: 'w' | 'p' | 'n' | 's' | 'r'; v: string; escaped?: boolean };
export function tokenize(source: string): Token[] | undefined;
export function thisProblem(source: string): string | undefined;
export function ownPrototypesOnly(source: string, word: 'prototype' | 'constructor'): boolean;
