/**
 * Drop-in replacements for three hot spots of markdown-it, each doing exactly what the stock code does, only
 * cheaper. test/content/markdown-fast-rules.test.ts compares each with the stock behaviour of the installed
 * markdown-it and linkify-it, so an upgrade that changes them fails there rather than changing pages silently.
 */
import type { MarkdownIt, StateCore, StateInline } from 'markdown-it';

/** Characters at which markdown-it's `text` rule stops: where another inline rule may start. */
export const TEXT_TERMINATORS = '\n!#$%&*+-:<=>@[\\]^_`{}~';

const isTerminator = new Uint8Array(128);
for (const char of TEXT_TERMINATORS) isTerminator[char.charCodeAt(0)] = 1;

/**
 * The inline `text` rule: skip a run of characters no other rule cares about. Same as stock, with a lookup table
 * and locals instead of a `switch` and property reads per character (it runs over nearly every character).
 */
function text(state: StateInline, silent: boolean): boolean {
  const src = state.src;
  const max = state.posMax;
  const start = state.pos;
  let pos = start;
  while (pos < max) {
    const code = src.charCodeAt(pos);
    if (code < 128 && isTerminator[code] === 1) break;
    pos++;
  }
  if (pos === start) return false;
  if (!silent) state.pending += src.slice(start, pos);
  state.pos = pos;
  return true;
}

/** The core `normalize` rule (CR LF and CR to LF, NUL to U+FFFD) without scanning twice for what is not there. */
function normalize(state: StateCore): void {
  let src = state.src;
  if (src.includes('\r')) src = src.replace(/\r\n?/g, '\n');
  if (src.includes('\0')) src = src.replace(/\0/g, '\uFFFD');
  state.src = src;
}

/**
 * Every link linkify-it can find starts with one of its schema prefixes (compared ASCII-case-insensitively, as
 * its own `ig` regex does) or, for a fuzzy email, contains `@`. Fuzzy links (`example.com`) are off.
 */
export const LINKIFY_SCHEMA_PREFIXES = ['http:', 'https:', 'ftp:', '//', 'mailto:', 'www.'] as const;
const LINKIFY_CANDIDATE = new RegExp([...LINKIFY_SCHEMA_PREFIXES, '@'].map(escapeRegExp).join('|'), 'i');

/**
 * linkify-it's `test()` scans each text with a regex that begins with a large Unicode class at every position
 * (~5 % of a render). Text without a schema prefix or `@` cannot hold a link, so it skips the scan; anything else
 * goes to linkify-it as before. `test()` is a pure check (match() does the work), so this changes no result.
 */
function skipTextsWithoutLinks(md: MarkdownIt): void {
  const linkify = md.linkify;
  const test = linkify.test.bind(linkify);
  linkify.test = (text: string): boolean => mayHoldLink(text) && test(text);
}

/** Whether `text` contains a schema prefix or `@`. */
function mayHoldLink(text: string): boolean {
  // Cheaper screens first, for the usual "no": each prefix contains `:` or `//`, or is `www.`.
  const maybe = text.includes(':') || text.includes('//') || text.includes('@') || WWW.test(text);
  return maybe && LINKIFY_CANDIDATE.test(text);
}

const WWW = /www\./i;

/** markdown-it plugin: install the three replacements. Use after the linkify schemas are configured. */
export function fastRules(md: MarkdownIt): void {
  md.inline.ruler.at('text', text);
  md.core.ruler.at('normalize', normalize);
  skipTextsWithoutLinks(md);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
