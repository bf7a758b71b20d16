/// <reference lib="dom" />
/**
 * A tiny DOM builder for the pages (no framework: the pages are small and must load fast on a
 * phone over a weak link). Text always goes in as text nodes, never as HTML.
 */
export type Child = Node | string | number | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string | number | boolean | EventListener | undefined> = {}, ...children: (Child | Child[])[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.replace(/^on/, ''), v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(typeof c === 'object' ? c : String(c));
  return el;
}

export function mount(root: HTMLElement, ...children: (Child | Child[])[]): void {
  root.replaceChildren();
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) root.append(typeof c === 'object' ? c : String(c));
}
