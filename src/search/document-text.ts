/**
 * What the search index keeps of a rendered document: its body as plain text, its headings, its path as words.
 * Pure (strings in, strings out). The HTML comes from the rendered store (never rendered again for search).
 */
import type { TocEntry } from '../content/types.ts';

/** Longest body text indexed: PostgreSQL's tsvector holds at most 1 MB, and snippets are cut from this text. */
export const MAX_BODY_CHARS = 200_000;

/**
 * The markers `ts_headline` puts around matches (search-query.ts). They are private-use characters, removed from
 * every indexed text here, so a marker in a snippet always comes from PostgreSQL, never from a document.
 */
export const MATCH_START = '\uE001';
export const MATCH_END = '\uE002';

const BLOCK_TAGS = new Set([
  'p', 'div', 'br', 'hr', 'li', 'ul', 'ol', 'dl', 'dt', 'dd', 'tr', 'td', 'th', 'table', 'thead', 'tbody', 'pre',
  'blockquote', 'section', 'article', 'aside', 'header', 'footer', 'figure', 'figcaption', 'details', 'summary',
  'h1', 'h2', 'h3', 'h4', 'h5', 'h6',
]);

const NAMED_ENTITIES: Record<string, string> = {
  amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ', copy: '©', reg: '®', trade: '™', hellip: '…',
  mdash: '—', ndash: '–', lsquo: '‘', rsquo: '’', ldquo: '“', rdquo: '”', bull: '•', middot: '·', euro: '€',
};

/** Characters never kept in indexed text: the match markers and other control characters. */
const UNWANTED = /[\uE001\uE002\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/g;

/** Plain text of sanitized document HTML: tags dropped (block tags become line breaks), entities decoded. */
export function htmlToText(html: string): string {
  const text = html
    // comments and the contents of elements that are not prose
    .replace(/<!--[\s\S]*?-->/g, ' ')
    .replace(/<(script|style|template)\b[\s\S]*?<\/\1\s*>/gi, ' ')
    .replace(/<\/?([a-zA-Z][a-zA-Z0-9-]*)\b[^>]*>/g, (_tag, name: string) => (BLOCK_TAGS.has(name.toLowerCase()) ? '\n' : ''))
    .replace(/&(#x[0-9a-fA-F]{1,6}|#[0-9]{1,7}|[a-zA-Z]{2,8});/g, decodeEntity);
  return cleanText(text).slice(0, MAX_BODY_CHARS);
}

function decodeEntity(whole: string, name: string): string {
  if (name[0] === '#') {
    const code = name[1] === 'x' || name[1] === 'X' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
    return Number.isFinite(code) && code > 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff) ? String.fromCodePoint(code) : ' ';
  }
  return NAMED_ENTITIES[name] ?? whole;
}

/** Text with markers and control characters removed, runs of blanks collapsed, at most one empty line in a row. */
export function cleanText(text: string): string {
  return text
    .replace(UNWANTED, ' ')
    .replace(/[ \t\r\f\v\u00A0]+/g, ' ')
    .replace(/ ?\n[ \n]*/g, '\n')
    .trim();
}

/** Every heading of the table of contents, one per line. */
export function headingsText(toc: readonly TocEntry[]): string {
  const lines: string[] = [];
  const walk = (entries: readonly TocEntry[]) => {
    for (const entry of entries) {
      lines.push(entry.text);
      walk(entry.children);
    }
  };
  walk(toc);
  return cleanText(lines.join('\n'));
}

/** A repository path as words (`policies/incident-response.md` → `policies incident response`). */
export function pathWords(path: string): string {
  return cleanText(path.replace(/\.md$/i, '').replace(/[/_.-]+/g, ' '));
}
