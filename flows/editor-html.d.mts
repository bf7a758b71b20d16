/** Expands the `<!-- field: … -->` and `<!-- fragment: … -->` shorthands of an editor file (see editor-html.mjs). */
export function expandEditorHtml(text: string, name: string, fragmentsDir: string, depth?: number): string;
