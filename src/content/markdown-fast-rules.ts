/**
 * Drop-in replacements for four hot spots of markdown-it and its plugins, each doing exactly what the stock code
 * does, only cheaper. test/content/markdown-fast-rules.test.ts compares each with the stock behaviour of the installed
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

/**
 * A shortcode as markdown-it-emoji matches it: `:name:`, names of lowercase letters, digits, `_`, `+` and `-` with
 * at least one letter or digit (`:---:` of a table's alignment row is none). The look-ahead leaves the closing
 * colon to open the next candidate (`:---:smile:`).
 */
const SHORTCODE_CANDIDATE = /:([a-z0-9_+-]+)(?=:)/g;
const LETTER_OR_DIGIT = /[a-z0-9]/;

/** Whether `src` contains anything markdown-it-emoji could replace (its names are a subset of the candidates). */
export function mayHoldShortcode(src: string): boolean {
  if (src.indexOf(':') === src.lastIndexOf(':')) return false; // none, or one colon
  SHORTCODE_CANDIDATE.lastIndex = 0;
  for (let match = SHORTCODE_CANDIDATE.exec(src); match !== null; match = SHORTCODE_CANDIDATE.exec(src)) {
    if (LETTER_OR_DIGIT.test(match[1]!)) return true;
  }
  return false;
}

/** markdown-it's rule list (not part of its typed API; stable across versions and used by many plugins). */
interface RulerInternals {
  __rules__: { name: string; fn: (state: StateCore) => void }[];
}

/**
 * markdown-it-emoji tests every text token of a document against one regex alternating its 1,900 names (~8 % of
 * an import's render time). A text token is a piece of the document's source, so a document whose source holds
 * no `:name:` candidate has nothing to replace: the rule is skipped for it; any other document goes through the
 * plugin's rule as before. Install after the plugin.
 */
export function skipDocumentsWithoutShortcodes(md: MarkdownIt): void {
  const rule = (md.core.ruler as unknown as RulerInternals).__rules__.find((r) => r.name === 'emoji');
  if (!rule) throw new Error('markdown-it-emoji is not installed');
  const replace = rule.fn;
  md.core.ruler.at('emoji', (state: StateCore) => {
    if (mayHoldShortcode(state.src)) replace(state);
  });
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
