import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** A static asset served from memory under a content-hashed URL, so browsers may cache it forever. */
export interface Asset {
  href: string;
  body: Buffer;
  contentType: string;
}

function load(file: string, contentType: string): Asset {
  const body = readFileSync(new URL(`./assets/${file}`, import.meta.url));
  const hash = createHash('sha256').update(body).digest('hex').slice(0, 12);
  const dot = file.lastIndexOf('.');
  return { href: `/-/assets/${file.slice(0, dot)}.${hash}${file.slice(dot)}`, body, contentType };
}

/** The stylesheet of every page. */
export const stylesheet = load('app.css', 'text/css; charset=utf-8');

/** The site icon. */
export const favicon = load('favicon.svg', 'image/svg+xml');

/** The editor's live-preview island (the editor works without it). */
export const editorScript = load('editor.js', 'text/javascript; charset=utf-8');

/** All assets by URL. */
export const assetsByHref = new Map<string, Asset>([
  [stylesheet.href, stylesheet],
  [favicon.href, favicon],
  [editorScript.href, editorScript],
]);
