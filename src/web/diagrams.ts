/**
 * Mermaid diagrams (issue #15). Documents keep a ```mermaid block as plain code; the page's script
 * (assets/diagrams.js) draws it in a sandboxed frame, the page served here at `/-/diagram`, which loads Mermaid
 * from our own origin (`/-/vendor/mermaid.js`, the `mermaid` package's browser bundle) and draws what the page
 * posts to it.
 *
 * Why a frame: Mermaid writes a `<style>` element into each SVG and style attributes onto its shapes, which a
 * policy without `style-src 'unsafe-inline'` refuses. Rather than loosen the policy of every document page, only
 * this frame allows inline styles; it is sandboxed (`sandbox allow-scripts`: an opaque origin that reads no
 * cookie, no page and no storage of ours), runs scripts from our origin only (no inline script, no eval), and may
 * be framed by our pages only. Document pages allow frames from our origin (`frame-src 'self'`) for it.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { diagramFrameScript } from './assets.ts';

/** The frame page's policy: Mermaid's inline styles, scripts from our origin, a sandbox, framed by us only. */
export const DIAGRAM_FRAME_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self'",
  "frame-ancestors 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  'sandbox allow-scripts',
].join('; ');

/** Where the browser bundle of Mermaid is served from. */
export const MERMAID_URL = '/-/vendor/mermaid.js';

/** The frame page: no content of any document, only the two scripts and the element the diagram goes in. */
export const DIAGRAM_FRAME_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Diagram</title>
<script src="${MERMAID_URL}"></script>
<script src="${diagramFrameScript.href}"></script>
</head><body><div id="diagram-holder"></div></body></html>
`;

/** The file of Mermaid's browser bundle (`mermaid/dist/mermaid.min.js`), or null when the package is not installed. */
export function mermaidBundlePath(): string | null {
  try {
    const require = createRequire(import.meta.url);
    return require.resolve('mermaid/dist/mermaid.min.js');
  } catch {
    return null;
  }
}

let bundle: Promise<Buffer | null> | null = null;

/** Mermaid's bundle, read once (null when not installed); `path` replaces the installed one (tests). */
export function mermaidBundle(path: string | null = mermaidBundlePath()): Promise<Buffer | null> {
  if (path !== mermaidBundlePath()) return path === null ? Promise.resolve(null) : readFile(path).catch(() => null);
  bundle ??= path === null ? Promise.resolve(null) : readFile(path).catch(() => null);
  return bundle;
}
