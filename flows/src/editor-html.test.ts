import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expandEditorHtml } from '../editor-html.mjs';

const NODES = join(import.meta.dirname, 'nodes');

describe('editor file shorthands (flows/editor-html.mjs)', () => {
  it('a field line becomes a labelled form row; a fragment is filled and expanded', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lorawan-edge-editor-html-'));
    writeFileSync(join(dir, 'rows.html'), '<!-- field: id=node-input-{{prop}} icon=book label="{{label}}" -->\n');
    const out = expandEditorHtml('<!-- field: id=node-input-dir icon=folder label="Buffer folder" placeholder="<userDir>/x" class=v1 type=password -->\n<!-- fragment: rows prop=catalogue label="Catalogue" -->', 't.html', dir);
    expect(out).toBe(
      [
        '<div class="form-row v1">',
        '    <label for="node-input-dir"><i class="fa fa-folder"></i> Buffer folder</label>',
        '    <input type="password" id="node-input-dir" placeholder="&lt;userDir>/x">',
        '  </div>',
        '<div class="form-row">',
        '    <label for="node-input-catalogue"><i class="fa fa-book"></i> Catalogue</label>',
        '    <input type="text" id="node-input-catalogue">',
        '  </div>',
      ].join('\n'),
    );
  });

  it('a typo fails the build naming the file and line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lorawan-edge-editor-html-'));
    writeFileSync(join(dir, 'rows.html'), '<b>{{label}}</b>');
    expect(() => expandEditorHtml('x\n<!-- fragment: nope -->', 'a.html', dir)).toThrow(/^a\.html:2: no fragment nope/);
    expect(() => expandEditorHtml('<!-- fragment: rows -->', 'a.html', dir)).toThrow(/a\.html:1: fragment rows needs label=/);
    expect(() => expandEditorHtml('<!-- field: id=x label="X" -->', 'a.html', dir)).toThrow(/a\.html:1: field without icon=/);
    expect(() => expandEditorHtml('<!-- field: id=x icon=y label="X" type=checkbox -->', 'a.html', dir)).toThrow(/type=checkbox/);
  });

  it('every node file expands fully, with a registration, an edit form and help for each node type', () => {
    for (const f of readdirSync(NODES).filter((n) => n.endsWith('.html'))) {
      const html = expandEditorHtml(readFileSync(join(NODES, f), 'utf8'), f, join(NODES, 'fragments'));
      expect(html, f).not.toMatch(/<!-- (field|fragment):|\{\{/);
      const type = /registerType\('([^']+)'/.exec(html)?.[1];
      expect(type, f).toBeDefined();
      expect(html, f).toContain(`data-template-name="${type}"`);
      expect(html, f).toContain(`data-help-name="${type}"`);
    }
  });
});
