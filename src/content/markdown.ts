/**
 * Markdown body → sanitized HTML, with heading ids, table of contents and document links.
 * The markdown-it instance and the sanitizer options are built once, at module load.
 */
import MarkdownIt from 'markdown-it';
import type { Env, MarkdownIt as MarkdownItInstance, StateCore, Token } from 'markdown-it';
import { full as emojiPlugin } from 'markdown-it-emoji';
import footnotes from 'markdown-it-footnote';
import githubAlertsPlugin from 'markdown-it-github-alerts';
import { decodeAmpersands, escapeHtml } from './escape-html.ts';
import { resolveLocalReference } from './links.ts';
import { fastRules, skipDocumentsWithoutShortcodes } from './markdown-fast-rules.ts';
import { isAllowedUrl, provenSanitized, sanitizeDocumentHtml } from './sanitize.ts';
import { isTrustedHtmlToken, taskLists } from './task-lists.ts';
import type { TrustedHtml } from './trusted-html.ts';
import type { DocumentLink, TocEntry } from './types.ts';

export interface MarkdownOptions {
  /** Repository path of the document, used to resolve its relative links. */
  path: string;
  /** Title from the front matter, if any: a leading H1 repeating it is removed. */
  frontMatterTitle?: string | undefined;
  /**
   * Always run the HTML sanitizer, even when the token stream proves it would change nothing (tests compare the
   * two paths). Default false.
   */
  alwaysSanitize?: boolean;
  /** Line of the whole file on which `body` starts (after the front matter), for the lines links report. Default 1. */
  firstLine?: number;
  /**
   * Text that is not a document but shown on a page of its own (a change request's description, a comment):
   * no heading is taken as a title, heading ids start with `idPrefix` (several texts share one page), and links
   * to the project's files are written from the project's root URL `linkBase` (`/{org}/{project}/`), since the
   * page is not at a document's place. `path` is then the file they are resolved from (`index.md`: the root).
   */
  fragment?: { idPrefix: string; linkBase: string };
}

export interface RenderedMarkdown {
  html: TrustedHtml;
  toc: TocEntry[];
  links: DocumentLink[];
  /** Ids of every heading (the anchors links may point at). */
  anchors: string[];
  /** Text of the H1 that was taken as the title (and removed from `html`); null when none was. */
  headingTitle: string | null;
}

interface RenderEnv extends Env {
  frontMatterTitle?: string | undefined;
  headingTitle: string | null;
  /** A fragment's heading-id prefix (see MarkdownOptions.fragment); takes no title heading when set. */
  idPrefix?: string;
}

// GFM autolinks `www.example.com`; fuzzy links are off, since `incident-response.md` would otherwise become a
// link to a Moldovan domain.
const WWW_HOST = /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}(?::\d{1,5})?(?:[/?#][^\s<>"]*)?/i;
const TRAILING_PUNCTUATION = /[.,:;!?'"*_~]+$/;

// Typed here: the linter's type service does not read these two packages' declarations (ESM-only `.d.mts`, and
// none at all for markdown-it-emoji, declared in src/types/).
const emoji = emojiPlugin as unknown as (md: MarkdownItInstance, options: { shortcuts: Record<string, string[]> }) => void;
const githubAlerts = githubAlertsPlugin as unknown as (md: MarkdownItInstance, options: { icons: Record<string, string> }) => void;

const md = createMarkdownIt();

/** Render a Markdown body (front matter already removed) to sanitized HTML and the data around it. */
export function renderMarkdown(body: string, options: MarkdownOptions): RenderedMarkdown {
  const env: RenderEnv = { frontMatterTitle: options.frontMatterTitle, headingTitle: null };
  if (options.fragment) env.idPrefix = options.fragment.idPrefix;
  const tokens = md.parse(body, env);
  const toc: TocEntry[] = [];
  const anchors: string[] = [];
  const references = new References(options.path, options.firstLine ?? 1, options.fragment?.linkBase);

  // The sanitizer is the most expensive step by far. It is skipped only when the tokens prove it would change
  // nothing: no raw HTML from the author (markdown-it escapes every text and attribute itself) and no link or
  // image URL the sanitizer would drop. Otherwise the whole body goes through sanitize-html as before.
  let needsSanitizer = options.alwaysSanitize === true;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (token.type === 'heading_open') {
      addTocEntry(toc, token, tokens[i + 1]);
      anchors.push(String(token.attrGet('id') ?? ''));
    } else if (token.type === 'th_open' || token.type === 'td_open') {
      alignmentToClass(token);
    } else if (token.type === 'html_block') {
      needsSanitizer = true;
      token.content = references.rewriteRawHtml(token.content, token.map?.[0]);
    } else if (token.type === 'inline' && token.children) {
      let line = token.map?.[0];
      for (const child of token.children) {
        if (child.type === 'softbreak' || child.type === 'hardbreak') {
          if (line !== undefined) line++;
        } else if (child.type === 'link_open') {
          references.rewriteAttribute(child, 'href', line, 'link');
          if (!needsSanitizer && !isAllowedUrl('a', child.attrGet('href'))) needsSanitizer = true;
        } else if (child.type === 'image') {
          references.rewriteAttribute(child, 'src', line, 'image');
          if (!needsSanitizer && !isAllowedUrl('img', child.attrGet('src'))) needsSanitizer = true;
        } else if (child.type === 'html_inline' && !isTrustedHtmlToken(child)) {
          needsSanitizer = true;
          child.content = references.rewriteRawHtml(child.content, line);
        }
      }
    }
  }

  const rendered = md.renderer.render(tokens, md.options, env);
  const html = needsSanitizer ? sanitizeDocumentHtml(rendered) : provenSanitized(asSanitizerWrites(rendered));
  return { html, toc, links: references.links, anchors, headingTitle: env.headingTitle };
}

/**
 * markdown-it's own output for tokens without raw HTML, written exactly as the sanitizer would write it:
 * void elements are already `<br />` (xhtmlOut); the sanitizer leaves `"` unescaped in text (only in attribute
 * values is it `&quot;`). Tags never contain a raw `>` (markdown-it escapes attribute values), so text is what
 * lies between `>` and the next `<`.
 */
export function asSanitizerWrites(html: string): string {
  let at = html.indexOf('&quot;');
  if (at === -1) return html;
  // `at` is in text when no `<` precedes it, or the last `<` before it is closed by a `>` before it. Both "last"
  // positions only move forward with `at`, so they are tracked with forward searches: linear in the HTML, however
  // many quotes a long paragraph holds (a backward search per quote was quadratic).
  const lastBefore = (char: string) => {
    let last = -1;
    let next = html.indexOf(char);
    return (position: number): number => {
      while (next !== -1 && next < position) {
        last = next;
        next = html.indexOf(char, next + 1);
      }
      return last;
    };
  };
  const lastTagStart = lastBefore('<');
  const lastTagEnd = lastBefore('>');
  let result = '';
  let copied = 0;
  for (; at !== -1; at = html.indexOf('&quot;', at + 6)) {
    const tagStart = lastTagStart(at);
    if (tagStart !== -1 && lastTagEnd(at) < tagStart) continue;
    result += `${html.slice(copied, at)}"`;
    copied = at + 6;
  }
  return result + html.slice(copied);
}

/**
 * A change request's description or comment as HTML: the documents' Markdown and sanitizer (raw HTML is
 * sanitized exactly as in a document), without a title heading, with heading ids under `idPrefix` and links to
 * the project's files written from its root URL `linkBase`.
 */
export function renderMarkdownFragment(text: string, fragment: { idPrefix: string; linkBase: string }): TrustedHtml {
  return renderMarkdown(text, { path: 'index.md', fragment }).html;
}

/** The slug used for a heading's id: lowercase letters and digits joined by hyphens. */
export function slugify(text: string): string {
  // ASCII is its own NFKC form, and its only letters and digits are [A-Za-z0-9] (no marks): same result, cheaper.
  const kept = ASCII.test(text)
    ? text.toLowerCase().replace(/[^a-z0-9\s_-]/g, '')
    : text.normalize('NFKC').toLowerCase().replace(/[^\p{L}\p{M}\p{N}\s_-]/gu, '');
  const slug = kept.trim().replace(/\s+/g, '-');
  return slug || 'section';
}

const ASCII = /^[\x00-\x7f]*$/;

/** Plain text of inline tokens (text, code, image alt), as a heading's title or TOC entry shows it. */
export function inlineText(children: readonly Token[] | null | undefined): string {
  let text = '';
  for (const child of children ?? []) {
    if (child.type === 'text' || child.type === 'code_inline') text += child.content;
    else if (child.type === 'image') text += inlineText(child.children);
    else if (child.type === 'softbreak' || child.type === 'hardbreak') text += ' ';
  }
  return collapseSpaces(text);
}

/** Runs of whitespace as one space, none at either end. */
function collapseSpaces(text: string): string {
  // Most texts have single spaces only, which the replace would leave as they are.
  return (IRREGULAR_SPACE.test(text) ? text.replace(/\s+/g, ' ') : text).trim();
}

const IRREGULAR_SPACE = /[^\S ]|\s\s/;

/** The configured markdown-it instance (exported for tests; renderMarkdown uses one built at module load). */
export function createMarkdownIt(): MarkdownItInstance {
  // xhtmlOut: void elements as `<br />`, the way the sanitizer writes them (see asSanitizerWrites).
  const instance = new MarkdownIt('default', { html: true, linkify: true, typographer: false, xhtmlOut: true });
  instance.linkify.set({ fuzzyLink: false, fuzzyEmail: true });
  instance.linkify.add('www.', {
    validate(text: string, pos: number): number {
      const match = WWW_HOST.exec(text.slice(pos));
      if (!match) return 0;
      let link = match[0].replace(TRAILING_PUNCTUATION, '');
      // Keep a closing parenthesis only when the link opened one: `(see www.x.org)`.
      while (link.endsWith(')') && count(link, '(') < count(link, ')')) link = link.slice(0, -1).replace(TRAILING_PUNCTUATION, '');
      return link.length;
    },
    normalize(match: { url: string }): void {
      match.url = `https://${match.url}`;
    },
  });
  instance.core.ruler.push('anchor', headingIds);
  instance.core.ruler.before('anchor', 'document_title', takeTitleHeading);
  instance.use(taskLists);
  instance.use(fastRules);
  instance.use(footnotes);
  // `1`, as GitHub writes a footnote reference, rather than the plugin's `[1]`.
  const caption = instance.renderer.rules.footnote_caption!;
  instance.renderer.rules.footnote_caption = (...args) => caption(...args).replace(/^\[(.*)\]$/, '$1');
  // `:name:` only, as GitHub: no text smileys (`:)`, `8-)`), which would also change times and code-like text.
  instance.use(emoji, { shortcuts: {} });
  skipDocumentsWithoutShortcodes(instance);
  // No inline SVG icons (the sanitizer keeps no SVG): the stylesheet draws them.
  instance.use(githubAlerts, { icons: {} });
  // The plugin writes a custom title (`> [!NOTE] Title`) into the HTML as it is: escape it, since documents
  // without other raw HTML skip the sanitizer.
  instance.renderer.rules.alert_open = (tokens, idx) => {
    const { title, type } = tokens[idx]!.meta as { title: string; type: string };
    const kind = escapeHtml(type);
    return `<div class="markdown-alert markdown-alert-${kind}"><p class="markdown-alert-title">${escapeHtml(title)}</p>\n`;
  };
  return instance;
}

/**
 * Every heading gets an id from its text (`slugify`); repeats get `-2`, `-3`, … (the first free one). Linear in
 * the number of headings: markdown-it-anchor, used before, searched the token list again after each heading and
 * retried every suffix from 2 for each repeat, quadratic on long documents with many (repeated) headings.
 */
function headingIds(state: StateCore): void {
  const used = new Set<string>();
  const nextSuffix = new Map<string, number>();
  const tokens = state.tokens;
  const prefix = (state.env as unknown as RenderEnv).idPrefix ?? '';
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (token.type !== 'heading_open') continue;
    const base = prefix + slugify(inlineText(tokens[i + 1]?.children));
    let id = base;
    if (used.has(id)) {
      // Suffixes below `n` were taken when last tried and `used` only grows: resuming there is exact.
      let n = nextSuffix.get(base) ?? 2;
      while (used.has(`${base}-${n}`)) n++;
      id = `${base}-${n}`;
      nextSuffix.set(base, n + 1);
    }
    used.add(id);
    token.attrSet('id', id);
  }
}

/**
 * The page shows the title itself, so the heading that supplies it is removed before ids are assigned:
 * with a front matter title, a leading H1 that repeats it; without one, the first top-level H1.
 */
function takeTitleHeading(state: StateCore): void {
  const env = state.env as unknown as RenderEnv;
  // a fragment (a comment) has no title: its headings all stay
  if (env.idPrefix !== undefined) return;
  const tokens = state.tokens;
  let index = -1;
  if (env.frontMatterTitle) {
    const first = firstContentIndex(tokens);
    if (isH1(tokens[first]) && sameTitle(inlineText(tokens[first + 1]?.children), env.frontMatterTitle)) index = first;
  } else {
    index = tokens.findIndex((token, i) => isH1(token) && inlineText(tokens[i + 1]?.children) !== '');
    if (index !== -1) env.headingTitle = inlineText(tokens[index + 1]?.children);
  }
  if (index !== -1) tokens.splice(index, 3);
}

function isH1(token: Token | undefined): boolean {
  return token?.type === 'heading_open' && token.tag === 'h1' && token.level === 0;
}

function firstContentIndex(tokens: Token[]): number {
  let i = 0;
  while (i < tokens.length && tokens[i]!.type === 'html_block' && /^\s*(?:<!--[\s\S]*?-->\s*)*$/.test(tokens[i]!.content)) i++;
  return i;
}

function sameTitle(a: string, b: string): boolean {
  return collapseSpaces(a).toLowerCase() === collapseSpaces(b).toLowerCase();
}

function addTocEntry(toc: TocEntry[], heading: Token, inline: Token | undefined): void {
  if (heading.level !== 0 || (heading.tag !== 'h2' && heading.tag !== 'h3')) return;
  const entry: TocEntry = { id: String(heading.attrGet('id') ?? ''), text: inlineText(inline?.children), children: [] };
  const parent = toc[toc.length - 1];
  // An h3 before any h2 has no parent to nest under; it stays at the top level.
  if (heading.tag === 'h3' && parent) parent.children.push(entry);
  else toc.push(entry);
}

function alignmentToClass(cell: Token): void {
  const style = cell.attrGet('style');
  if (typeof style !== 'string') return;
  // Inline styles are not allowed (sanitizer and CSP); alignment travels as a class instead.
  cell.attrs = (cell.attrs ?? []).filter(([name]) => name !== 'style');
  const align = /text-align:\s*(left|center|right)/.exec(style)?.[1];
  if (align) cell.attrJoin('class', `align-${align}`);
}

// `<a … href=…>` and `<img … src=…>` in raw HTML: the tag, then the attribute's value in its quotes (or none).
const RAW_REFERENCE = /<(a|img)\b[^>]{0,2000}?\s(href|src)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+))/gi;

/** The references of one document to its project, collected while their hrefs are rewritten for the page. */
class References {
  readonly links: DocumentLink[] = [];
  private readonly seen = new Set<string>();

  constructor(
    private readonly fromPath: string,
    private readonly firstLine: number,
    /** A fragment's project root URL: relative references are written from it (see MarkdownOptions.fragment). */
    private readonly linkBase?: string,
  ) {}

  /** A Markdown link's href or image's src: rewritten in place (`.md` dropped, `/…` from the root), recorded. */
  rewriteAttribute(token: Token, name: 'href' | 'src', bodyLine: number | undefined, kind: 'link' | 'image'): void {
    const value = token.attrGet(name);
    if (typeof value !== 'string' || !value) return;
    const pageHref = this.record(value, bodyLine, kind);
    if (pageHref !== null) token.attrSet(name, pageHref);
  }

  /** Links and image sources inside raw HTML, resolved exactly like Markdown ones. The sanitizer runs after. */
  rewriteRawHtml(html: string, bodyLine: number | undefined): string {
    if (!html.includes('<')) return html;
    return html.replace(RAW_REFERENCE, (match: string, tag: string, attribute: string, double?: string, single?: string, bare?: string, offset?: number) => {
      const isImage = tag.toLowerCase() === 'img';
      if (attribute.toLowerCase() !== (isImage ? 'src' : 'href')) return match;
      const value = double ?? single ?? bare ?? '';
      const line = bodyLine === undefined ? undefined : bodyLine + countNewlines(html, offset ?? 0);
      const pageHref = this.record(decodeAmpersands(value), line, isImage ? 'image' : 'link');
      if (pageHref === null) return match;
      const quote = double !== undefined ? '"' : single !== undefined ? "'" : '';
      const written = escapeHtml(pageHref);
      return `${match.slice(0, match.length - value.length - quote.length * 2)}${quote}${written}${quote}`;
    });
  }

  /** Record a reference (once per href, target, anchor and kind); the href to write, or null to leave it. */
  private record(href: string, bodyLine: number | undefined, kind: 'link' | 'image'): string | null {
    const resolved = resolveLocalReference(this.fromPath, href);
    if (!resolved) return null;
    const written = safeDecodeURI(href);
    const key = `${kind}\n${written}\n${resolved.target}\n${resolved.anchor ?? ''}`;
    if (!this.seen.has(key)) {
      this.seen.add(key);
      const link: DocumentLink = { href: written, target: resolved.target };
      if (resolved.anchor !== undefined) link.anchor = resolved.anchor;
      if (bodyLine !== undefined) link.line = this.firstLine + bodyLine;
      if (kind === 'image') link.kind = 'image';
      this.links.push(link);
    }
    return this.linkBase === undefined ? resolved.pageHref : fromRoot(this.linkBase, resolved.pageHref);
  }
}

/**
 * A page href relative to the project's root, written as a path from the site's root: `policies/x` with
 * `/acme/handbook/` → `/acme/handbook/policies/x`. Same-page anchors stay as they are.
 */
function fromRoot(linkBase: string, pageHref: string): string {
  if (pageHref.startsWith('#')) return pageHref;
  const url = new URL(pageHref, `https://site.invalid${linkBase}`);
  return `${url.pathname}${url.search}${url.hash}`;
}

function countNewlines(text: string, end: number): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < end; i = text.indexOf('\n', i + 1)) n++;
  return n;
}


function safeDecodeURI(href: string): string {
  // Without a `%` there is nothing to decode (and nothing malformed).
  if (!href.includes('%')) return href;
  try {
    return decodeURI(href);
  } catch {
    return href;
  }
}

function count(text: string, char: string): number {
  let n = 0;
  for (const c of text) if (c === char) n++;
  return n;
}
