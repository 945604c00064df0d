/**
 * The search box's text, prepared for PostgreSQL (pure). The query itself is `websearch_to_tsquery` syntax
 * ("quoted phrases", `or`, `-word`), passed as a parameter; as-you-type prefix matching adds the last word as a
 * prefix (`incid` finds "incident"), given to `to_tsquery` only when it is letters and digits alone.
 */
import { cleanText } from './document-text.ts';

/** Longest query text taken from the box; the rest is ignored. */
export const MAX_QUERY_CHARS = 200;

export interface QueryText {
  /** The whole query, for websearch_to_tsquery. */
  text: string;
  /** With a prefix word: the query before it (websearch syntax) and the word, lower case, letters and digits only. */
  prefix: { head: string; word: string } | null;
  /**
   * Where a snippet is likely to be: the start (at most 5 characters, a crude stem) of the first word searched
   * for, lower case; '' when there is none. Snippets are cut from the text around its first occurrence.
   */
  needle: string;
}

/** The query as typed, or null when nothing is left to search for. */
export function parseQueryText(raw: string): QueryText | null {
  const text = cleanText(raw.replace(/\s+/g, ' ')).slice(0, MAX_QUERY_CHARS).trim();
  if (text === '' || !/[\p{L}\p{N}]/u.test(text)) return null;
  return { text, prefix: prefixOf(raw.slice(0, MAX_QUERY_CHARS), text), needle: needleOf(text) };
}

function needleOf(text: string): string {
  for (const token of text.split(' ')) {
    if (token.startsWith('-') || token.toLowerCase() === 'or') continue;
    const word = /[\p{L}\p{N}]{3,}/u.exec(token)?.[0];
    if (word) return word.toLowerCase().slice(0, 5);
  }
  return '';
}

/**
 * The last word as a prefix, when the box ends in the middle of one: not after a blank (the word is finished),
 * not inside an open quote (a phrase), not negated (`-draft`), not the operator `or`, at least two characters.
 */
function prefixOf(raw: string, text: string): QueryText['prefix'] {
  if (/\s$/.test(raw)) return null;
  const match = /(^|[^\p{L}\p{N}])([\p{L}\p{N}]{2,})$/u.exec(text);
  if (!match) return null;
  const word = match[2]!;
  const head = text.slice(0, text.length - word.length);
  if (match[1] === '-' || word.toLowerCase() === 'or') return null;
  if ((head.match(/"/g)?.length ?? 0) % 2 === 1) return null;
  return { head: head.trim(), word: word.toLowerCase() };
}
