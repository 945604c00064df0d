/**
 * Markdown body → sanitized HTML, with heading ids, table of contents and document links.
 * The markdown-it instance and the sanitizer options are built once, at module load.
 */
import MarkdownIt from 'markdown-it';
import type { Env, MarkdownIt as MarkdownItInstance, StateCore, Token } from 'markdown-it';
import { pageHrefFor, resolveRelativeLink } from './links.ts';
import { fastRules } from './markdown-fast-rules.ts';
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
}

export interface RenderedMarkdown {
  html: TrustedHtml;
  toc: TocEntry[];
  links: DocumentLink[];
  /** Text of the H1 that was taken as the title (and removed from `html`); null when none was. */
  headingTitle: string | null;
}

interface RenderEnv extends Env {
  frontMatterTitle?: string | undefined;
  headingTitle: string | null;
}

// GFM autolinks `www.example.com`; fuzzy links are off, since `incident-response.md` would otherwise become a
// link to a Moldovan domain.
const WWW_HOST = /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}(?::\d{1,5})?(?:[/?#][^\s<>"]*)?/i;
const TRAILING_PUNCTUATION = /[.,:;!?'"*_~]+$/;

const md = createMarkdownIt();

/** Render a Markdown body (front matter already removed) to sanitized HTML and the data around it. */
export function renderMarkdown(body: string, options: MarkdownOptions): RenderedMarkdown {
  const env: RenderEnv = { frontMatterTitle: options.frontMatterTitle, headingTitle: null };
  const tokens = md.parse(body, env);
  const toc: TocEntry[] = [];
  const links: DocumentLink[] = [];
  const seenLinks = new Set<string>();

  // The sanitizer is the most expensive step by far. It is skipped only when the tokens prove it would change
  // nothing: no raw HTML from the author (markdown-it escapes every text and attribute itself) and no link or
  // image URL the sanitizer would drop. Otherwise the whole body goes through sanitize-html as before.
  let needsSanitizer = options.alwaysSanitize === true;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (token.type === 'heading_open') {
      addTocEntry(toc, token, tokens[i + 1]);
    } else if (token.type === 'th_open' || token.type === 'td_open') {
      alignmentToClass(token);
    } else if (token.type === 'html_block') {
      needsSanitizer = true;
    } else if (token.type === 'inline' && token.children) {
      for (const child of token.children) {
        if (child.type === 'link_open') {
          rewriteDocumentLink(child, options.path, links, seenLinks);
          if (!needsSanitizer && !isAllowedUrl('a', child.attrGet('href'))) needsSanitizer = true;
        } else if (child.type === 'image') {
          if (!needsSanitizer && !isAllowedUrl('img', child.attrGet('src'))) needsSanitizer = true;
        } else if (child.type === 'html_inline' && !isTrustedHtmlToken(child)) {
          needsSanitizer = true;
        }
      }
    }
  }

  const rendered = md.renderer.render(tokens, md.options, env);
  const html = needsSanitizer ? sanitizeDocumentHtml(rendered) : provenSanitized(asSanitizerWrites(rendered));
  return { html, toc, links, headingTitle: env.headingTitle };
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
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (token.type !== 'heading_open') continue;
    const base = slugify(inlineText(tokens[i + 1]?.children));
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

function rewriteDocumentLink(link: Token, fromPath: string, links: DocumentLink[], seen: Set<string>): void {
  const href = link.attrGet('href');
  if (typeof href !== 'string' || !href) return;
  const resolved = resolveRelativeLink(fromPath, href);
  if (!resolved) return;
  link.attrSet('href', pageHrefFor(href));
  const written = safeDecodeURI(href);
  const key = `${written}\n${resolved.target}\n${resolved.anchor ?? ''}`;
  if (seen.has(key)) return;
  seen.add(key);
  links.push(resolved.anchor === undefined ? { href: written, target: resolved.target } : { href: written, ...resolved });
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
