import { buildOnce } from '../bundling/esbuild-once.ts';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** A static asset served from memory under a content-hashed URL, so browsers may cache it forever. */
export interface Asset {
  href: string;
  body: Buffer;
  contentType: string;
}

const JAVASCRIPT = 'text/javascript; charset=utf-8';

function hashed(name: string, body: Buffer, contentType: string): Asset {
  const hash = createHash('sha256').update(body).digest('hex').slice(0, 12);
  const dot = name.lastIndexOf('.');
  return { href: `/-/assets/${name.slice(0, dot)}.${hash}${name.slice(dot)}`, body, contentType };
}

function load(file: string, contentType: string): Asset {
  return hashed(file, readFileSync(new URL(`./assets/${file}`, import.meta.url)), contentType);
}

/** The stylesheet of every page. */
export const stylesheet = load('app.css', 'text/css; charset=utf-8');

/** The site icon. */
export const favicon = load('favicon.svg', 'image/svg+xml');

/**
 * The editor's plain script: live preview of the textarea, Mod-s to save. Served as-is, and what the editor page
 * loads when the CodeMirror island could not be bundled (the form itself works without any script).
 */
export const editorPlainScript = load('editor.js', JAVASCRIPT);

/** Copy buttons (`components.tsx`'s CopyButton): pages showing a secret once load it; hidden buttons without it. */
export const copyScript = load('copy.js', JAVASCRIPT);

/** The search box's keyboard shortcut: `/` focuses the box of the page (the forms work without it). */
export const searchScript = load('search.js', JAVASCRIPT);

/** Mermaid diagrams: the page's loader, and the script of the sandboxed frame that draws them (web/diagrams.ts). */
export const diagramScript = load('diagrams.js', JAVASCRIPT);
export const diagramFrameScript = load('diagram-frame.js', JAVASCRIPT);

/** All assets by URL (the editor island joins once bundled). */
export const assetsByHref = new Map<string, Asset>([
  [stylesheet.href, stylesheet],
  [favicon.href, favicon],
  [editorPlainScript.href, editorPlainScript],
  [copyScript.href, copyScript],
  [searchScript.href, searchScript],
  [diagramScript.href, diagramScript],
  [diagramFrameScript.href, diagramFrameScript],
]);

/** Entry of the CodeMirror island; it imports editor.js, so the island does everything the plain script does. */
export const EDITOR_ISLAND_ENTRY = fileURLToPath(new URL('./assets/editor-island.js', import.meta.url));

/** The outcome of bundling the island: the asset pages load, how long it took, and why it fell back if it did. */
export interface IslandBuild {
  asset: Asset;
  bundled: boolean;
  milliseconds: number;
  error?: string;
}

/**
 * Bundle a browser entry with esbuild, in memory: one minified ES module, no source map, no file written.
 * Throws when esbuild is missing or the entry does not build.
 */
export async function bundleIsland(entry: string, name: string): Promise<Asset> {
  const result = await buildOnce({
    entryPoints: [entry],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: ['es2020', 'chrome90', 'firefox90', 'safari15'],
    minify: true,
    legalComments: 'eof',
    charset: 'utf8',
    logLevel: 'silent',
  });
  const output = result.outputFiles[0];
  if (!output) throw new Error('esbuild produced no output');
  return hashed(name, Buffer.from(output.contents), JAVASCRIPT);
}

/**
 * Bundle the island, or fall back to the plain script: a failed bundle must never cost the editor (the textarea
 * and its preview keep working). Never rejects.
 */
export async function buildEditorIsland(entry = EDITOR_ISLAND_ENTRY): Promise<IslandBuild> {
  const started = performance.now();
  try {
    const asset = await bundleIsland(entry, 'editor.js');
    return { asset, bundled: true, milliseconds: performance.now() - started };
  } catch (error) {
    return { asset: editorPlainScript, bundled: false, milliseconds: performance.now() - started, error: String(error instanceof Error ? error.message : error) };
  }
}

let island: Promise<IslandBuild> | null = null;

/**
 * The editor's script, bundled once per process on first call (the server starts it when it becomes ready, so
 * the first editor page rarely waits) and kept in memory under its content hash. Logs nothing: the caller that
 * starts it (routes/assets.ts) reports the outcome.
 */
export function editorIsland(): Promise<IslandBuild> {
  island ??= buildEditorIsland().then((build) => {
    assetsByHref.set(build.asset.href, build.asset);
    return build;
  });
  return island;
}
