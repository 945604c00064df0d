/**
 * THE RAW-HTML DOOR, AS A TYPE.
 *
 * `TrustedHtml` is HTML that may be written into a page as it is. A plain string is not one: the compiler refuses
 * it wherever HTML is written raw (the views' TrustedHtml component, a page frame's body, a document's body).
 * Only two kinds of code make one:
 *
 *  1. the sanitizer (content/sanitize.ts): every document body, preview and redline goes through it (Markdown's
 *     fast path, which proves the sanitizer would change nothing, is the sanitizer's own second door there);
 *  2. the escaping renderer (web/views/render.ts): Preact, which escapes every text and attribute value.
 *
 * HTML stored by the first and read back (the rendered store's packs, html-packs.ts) is trusted again where it
 * is read. A test lists the files allowed to write `as TrustedHtml`; nothing else may.
 */
declare const trusted: unique symbol;

/** HTML from the sanitizer or the escaping renderer (see the file comment). */
export type TrustedHtml = string & { readonly [trusted]: true };
