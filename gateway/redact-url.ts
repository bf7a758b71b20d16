/**
 * A URL as it may be shown (`/healthz`, logs): the password replaced by `***`, whatever it
 * contains. Parsed with the WHATWG URL parser, not a pattern: `mqtt://user:p@ssw0rd@host` has
 * the password `p@ssw0rd` (the last `@` ends the credentials), `mqtt://:secret@host` has an
 * empty user, and a percent-encoded password (`p%40ss`) is still a password. Query parameters
 * named like secrets are masked too. A string the parser refuses is not echoed at all: it may be
 * a URL with a secret the parser could not find.
 */
const SECRET_PARAM = /(pass(word)?|token|secret|key)$/i;

export function redactUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return '(unparseable URL)';
  }
  const secretParams = [...u.searchParams.keys()].filter((name) => SECRET_PARAM.test(name));
  // Nothing to hide: the URL as written (href would add a `/` to `http://h:8086`).
  if (u.password === '' && secretParams.length === 0) return url;
  if (u.password !== '') u.password = '***';
  for (const name of secretParams) u.searchParams.set(name, '***');
  return u.href;
}
