/**
 * The line of a registry problem (`devices[3].tags.time` → line 17), so an operator can go
 * straight to it. js-yaml does not keep node positions, so this reads the text the way a person
 * does: the `devices:` list's items are the lines starting with `-` at the list's indentation,
 * and a field is the first `key:` inside that item (block or flow style). Undefined when the text
 * does not look like that (everything on one line gives that line).
 */

const ITEM_RE = /^(\s*)-(\s|$)/;

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** 1-based line of `where` (a path like `devices[2].variables.container_depth_mm`) in `text`. */
export function lineOf(text: string, where: string): number | undefined {
  const m = /^devices\[(\d+)\](?:\.(.*))?$/.exec(where);
  if (!m) return undefined;
  const lines = text.split('\n');
  const start = lines.findIndex((l) => /^devices\s*:/.test(l));
  if (start < 0) return undefined;
  // Flow style on the `devices:` line itself: that line is all we can say.
  if (/^devices\s*:\s*\[/.test(lines[start] as string)) return start + 1;
  let indent: number | undefined;
  const items: number[] = [];
  for (let i = start + 1; i < lines.length; i++) {
    const l = lines[i] as string;
    if (l.trim() === '' || l.trimStart().startsWith('#')) continue;
    const im = ITEM_RE.exec(l);
    const lead = l.length - l.trimStart().length;
    if (im && (indent === undefined || lead === indent)) {
      indent ??= lead;
      items.push(i);
    } else if (lead === 0 && !im) break; // the next top-level key ends the list
  }
  const index = Number(m[1]);
  const first = items[index];
  if (first === undefined) return undefined;
  const end = items[index + 1] ?? lines.length;
  let at = first;
  for (const key of (m[2] ?? '').split('.').filter(Boolean)) {
    const keyRe = new RegExp(`(^|[\\s{,-])['"]?${escapeRe(key)}['"]?\\s*:`);
    let found: number | undefined;
    for (let i = at; i < end; i++) {
      if (keyRe.test(lines[i] as string)) {
        found = i;
        break;
      }
    }
    if (found === undefined) break;
    at = found;
  }
  return at + 1;
}
