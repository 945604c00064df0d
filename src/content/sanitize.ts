import sanitizeHtml from 'sanitize-html';
import type { IOptions, Attributes } from 'sanitize-html';
import type { TrustedHtml } from './trusted-html.ts';

const HEADINGS = ['h1', 'h2', 'h3', 'h4', 'h5', 'h6'] as const;

// Tags that may carry an author's `class` (e.g. `<div class="text-muted">`, `language-ts` on code).
const CLASSED = [
  'div', 'span', 'p', 'code', 'pre', 'table', 'thead', 'tbody', 'tfoot', 'tr', 'th', 'td', 'ul', 'ol', 'li',
  'blockquote', 'dl', 'dt', 'dd', 'figure', 'figcaption', 'details', 'summary', 'kbd', 'mark', 'section', 'input',
  ...HEADINGS,
];

const allowedAttributes: Record<string, string[]> = {
  '*': ['title', 'lang', 'dir'],
  a: ['href', 'target', 'rel', 'id'],
  li: ['id'],
  img: ['src', 'alt', 'width', 'height'],
  td: ['colspan', 'rowspan'],
  th: ['colspan', 'rowspan', 'scope'],
  col: ['span'],
  colgroup: ['span'],
  ol: ['start', 'reversed'],
  details: ['open'],
  time: ['datetime'],
  q: ['cite'],
  blockquote: ['cite'],
  input: ['type', 'disabled', 'checked'],
};
for (const tag of CLASSED) allowedAttributes[tag] = [...(allowedAttributes[tag] ?? []), 'class'];
for (const tag of HEADINGS) allowedAttributes[tag] = [...(allowedAttributes[tag] ?? []), 'id'];

// Footnotes (markdown-it-footnote) link a reference `<a id="fnref1">` and its note `<li id="fn1">` both ways. Only
// ids of that shape survive: an author's own `id` could shadow a global of the page's scripts (DOM clobbering).
const FOOTNOTE_REFERENCE_ID = /^fnref\d+(?::\d+)?$/;
const FOOTNOTE_ID = /^fn\d+$/;

/** Classes the footnotes need on elements that otherwise carry none. */
const allowedClasses: Record<string, string[]> = {
  a: ['footnote-backref'],
  sup: ['footnote-ref'],
  hr: ['footnotes-sep'],
};

/**
 * Links: only `_blank` survives as a target, and it always travels with `rel="noopener noreferrer"`; only a
 * footnote reference's id is kept.
 */
function transformLink(tagName: string, attribs: Attributes): { tagName: string; attribs: Attributes } {
  const result: Attributes = {};
  for (const [name, value] of Object.entries(attribs)) {
    if (name === 'id' && !FOOTNOTE_REFERENCE_ID.test(value)) continue;
    if (name !== 'rel' && name !== 'target') result[name] = value;
  }
  if (attribs.target?.trim().toLowerCase() === '_blank') {
    result.target = '_blank';
    result.rel = 'noopener noreferrer';
  }
  return { tagName, attribs: result };
}

/** List items keep an id only when it is a footnote's. */
function transformListItem(tagName: string, attribs: Attributes): { tagName: string; attribs: Attributes } {
  if (attribs.id === undefined || FOOTNOTE_ID.test(attribs.id)) return { tagName, attribs };
  const { id: _id, ...rest } = attribs;
  return { tagName, attribs: rest };
}

/** Any input becomes what a task list needs: a disabled checkbox. Nothing in a document is a form. */
function transformInput(tagName: string, attribs: Attributes): { tagName: string; attribs: Attributes } {
  const result: Attributes = { type: 'checkbox', disabled: '' };
  if ('checked' in attribs) result.checked = '';
  if (attribs.class) result.class = attribs.class;
  return { tagName, attribs: result };
}

const LINK_SCHEMES = ['http', 'https', 'mailto'];
const IMAGE_SCHEMES = ['http', 'https'];

const OPTIONS: IOptions = {
  allowedTags: [
    ...HEADINGS, 'p', 'br', 'hr', 'blockquote', 'pre', 'code', 'kbd', 'samp', 'var', 'em', 'strong', 'b', 'i', 'u',
    's', 'del', 'ins', 'mark', 'small', 'sub', 'sup', 'abbr', 'cite', 'q', 'dfn', 'time', 'span', 'div', 'wbr',
    'a', 'img', 'ul', 'ol', 'li', 'dl', 'dt', 'dd', 'table', 'thead', 'tbody', 'tfoot', 'tr', 'th', 'td', 'caption',
    'colgroup', 'col', 'details', 'summary', 'figure', 'figcaption', 'section', 'input',
  ],
  allowedAttributes,
  allowedClasses,
  allowedSchemes: LINK_SCHEMES,
  allowedSchemesByTag: { img: IMAGE_SCHEMES },
  allowedSchemesAppliedToAttributes: ['href', 'src', 'cite'],
  allowProtocolRelative: false,
  disallowedTagsMode: 'discard',
  // Their text is code or markup, not prose: drop it along with the tag.
  nonTextTags: ['script', 'style', 'textarea', 'option', 'select', 'noscript', 'template', 'title', 'xmp', 'iframe', 'noembed', 'noframes', 'object'],
  transformTags: { a: transformLink, li: transformListItem, input: transformInput },
  parser: { decodeEntities: true, lowerCaseTags: true, lowerCaseAttributeNames: true },
};

/**
 * Reduce HTML to the documentation allowlist: no scripts, handlers, styles, frames, forms or dangerous URLs.
 * Idempotent: sanitizing the output again returns it unchanged.
 */
export function sanitizeDocumentHtml(html: string): TrustedHtml {
  return sanitizeHtml(html, OPTIONS) as TrustedHtml;
}

/**
 * The sanitizer's second door, for Markdown's fast path only (markdown.ts): HTML that markdown-it wrote from
 * tokens proven to hold no raw HTML and no URL the sanitizer would drop, respelled exactly as the sanitizer
 * writes it (`asSanitizerWrites`), so that sanitizing it would return it unchanged (a test checks that).
 */
export function provenSanitized(html: string): TrustedHtml {
  return html as TrustedHtml;
}

// URLs made only of characters that need no cleaning (markdown-it percent-encodes everything else), so the
// sanitizer's own checks (control characters and comments removed, then the scheme) see exactly this string.
const PLAIN_URL = /^[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=%]*$/;
const URL_SCHEME = /^([a-zA-Z][a-zA-Z0-9.\-+]*):/;

/**
 * Whether the sanitizer would keep this `href` (`a`) or `src` (`img`) as it is: no scheme (relative, not
 * protocol-relative) or an allowed one. Conservative: anything unusual answers false, and the caller then runs
 * the sanitizer itself.
 */
export function isAllowedUrl(tag: 'a' | 'img', value: string | number | null | undefined): boolean {
  if (value === null || value === undefined) return true;
  const url = String(value);
  if (!PLAIN_URL.test(url)) return false;
  const scheme = URL_SCHEME.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined) return !/^[/\\]{2}/.test(url);
  return (tag === 'img' ? IMAGE_SCHEMES : LINK_SCHEMES).includes(scheme);
}
