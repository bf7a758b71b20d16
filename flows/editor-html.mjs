// The editor file's two build-time shorthands, so the node HTML files do not repeat the same
// form rows and script pieces (flows/build.mjs expands them when it concatenates src/nodes/*.html):
//
//   <!-- field: id=node-input-name icon=tag label="Name" placeholder="lorawan decode" -->
//       one form row: a label with a Font Awesome icon and an input (type=text unless `type=`
//       says password; `class=` adds to the row's class, `style=` goes to the input);
//   <!-- fragment: durable-rows -->
//       the text of src/nodes/fragments/durable-rows.html, whose {{key}} are filled from the
//       fragment line's key="value" pairs (a fragment may use field lines too).
//
// An unknown fragment, a {{key}} left unfilled or a field without id/icon/label fails the build
// with the file and the line, so a typo cannot ship as a broken editor.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const LINE = /<!-- (field|fragment): (.*?) -->/g;
const ATTR = /([A-Za-z][\w-]*)=(?:"([^"]*)"|(\S+))/g;

/** key=value / key="value with spaces" → object */
function attrs(text) {
  const out = {};
  for (const m of text.matchAll(ATTR)) out[m[1]] = m[2] ?? m[3];
  return out;
}

const esc = (s) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

function field(a, where) {
  for (const k of ['id', 'icon', 'label']) if (!a[k]) throw new Error(`${where}: field without ${k}=`);
  const type = a.type ?? 'text';
  if (!['text', 'password'].includes(type)) throw new Error(`${where}: field type=${type} (text or password)`);
  const input = [`type="${type}"`, `id="${esc(a.id)}"`, a.placeholder !== undefined ? `placeholder="${esc(a.placeholder)}"` : '', a.style ? `style="${esc(a.style)}"` : ''].filter(Boolean).join(' ');
  return [
    `<div class="form-row${a.class ? ` ${esc(a.class)}` : ''}">`,
    `    <label for="${esc(a.id)}"><i class="fa fa-${esc(a.icon)}"></i> ${a.label}</label>`,
    `    <input ${input}>`,
    '  </div>',
  ].join('\n');
}

/** Expands the shorthands in one editor file's text; `name` names the file in errors. */
export function expandEditorHtml(text, name, fragmentsDir, depth = 0) {
  if (depth > 3) throw new Error(`${name}: fragments nested deeper than 3`);
  return text.replace(LINE, (_all, kind, rest, offset) => {
    const where = `${name}:${text.slice(0, offset).split('\n').length}`;
    const a = attrs(rest);
    if (kind === 'field') return field(a, where);
    const fragment = rest.trim().split(/\s+/)[0] ?? '';
    if (!/^[\w-]+$/.test(fragment)) throw new Error(`${where}: fragment name "${fragment}"`);
    let body;
    try {
      body = readFileSync(join(fragmentsDir, `${fragment}.html`), 'utf8').trim();
    } catch {
      throw new Error(`${where}: no fragment ${fragment} (src/nodes/fragments/${fragment}.html)`);
    }
    const filled = body.replace(/\{\{(\w+)\}\}/g, (m, k) => {
      if (a[k] === undefined) throw new Error(`${where}: fragment ${fragment} needs ${k}="…"`);
      return a[k];
    });
    return expandEditorHtml(filled, `${name} → ${fragment}`, fragmentsDir, depth + 1);
  });
}
