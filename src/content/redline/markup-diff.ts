/**
 * Word diffs of a changed block: of its text alone (`wordDiff`), or of its inner HTML with the inline markup kept
 * (`markupDiff`). Text is escaped here (content/escape-html.ts) and tags are rebuilt from a fixed list; the
 * redline sanitizes the result once more. Pure.
 */
import { diffArrays, diffWords, diffWordsWithSpace } from 'diff';
import { Parser } from 'htmlparser2';
import { escapeHtml } from '../escape-html.ts';
import { isAllowedUrl } from '../sanitize.ts';
import { CELL_TAGS, LINE_TAGS } from './blocks.ts';
import { keyCountImbalance } from './key-imbalance.ts';

/** Bound on the diff work of one block (beyond it the block is shown as wholly replaced). */
const MAX_WORD_EDITS = 2000;

/** Escaped text with `<ins>`/`<del>` around inserted and deleted words (blocks compared by their text only). */
export function wordDiff(before: string, after: string, keepWhitespace = false): string {
  const options = { maxEditLength: MAX_WORD_EDITS };
  const changes = keepWhitespace ? diffWordsWithSpace(before, after, options) : diffWords(before, after, options);
  if (!changes) return `<del>${escapeHtml(before)}</del> <ins>${escapeHtml(after)}</ins>`;
  return changes
    .map((c) => (c.added ? `<ins>${escapeHtml(c.value)}</ins>` : c.removed ? `<del>${escapeHtml(c.value)}</del>` : escapeHtml(c.value)))
    .join('');
}

// ── Word diffs that keep inline markup ───────────────────────────────────────────────────────────────────────
//
// A block's inner HTML becomes a stream of tokens: words, punctuation marks, opening and closing tags of a fixed
// list of inline elements (rebuilt here from the tag name and, for links, the URL, escaped), void elements (br,
// img, a task list's checkbox) and line breaks standing for block boundaries inside the block. Whitespace is not
// a token: each token carries the whitespace before it. The two streams are diffed by token key. An inline
// element counts as unchanged only when both its tags are unchanged and matched to the two tags of one element of
// the other version; otherwise everything inside it, in both versions, counts as changed (so a word made bold or a
// link whose target changed shows as the old form deleted and the new form inserted). Then each deleted run is a
// balanced slice of the old stream, each inserted run one of the new, and the unchanged tags form balanced
// elements around them: the output is well formed by construction.

/** Inline elements kept in a changed block (source `del`/`ins` become `s`/`u`: in a redline they would read as marks). */
const INLINE_TAGS: Record<string, string> = {
  strong: 'strong', b: 'b', em: 'em', i: 'i', u: 'u', ins: 'u', s: 's', del: 's', strike: 's', code: 'code', kbd: 'kbd',
  samp: 'samp', var: 'var', mark: 'mark', sup: 'sup', sub: 'sub', small: 'small', q: 'q', cite: 'cite', dfn: 'dfn',
  abbr: 'abbr', a: 'a',
};
/** Elements whose boundaries are line breaks inside a changed block; table cells are spaces (as in `Block.text`). */
const BREAK_TAGS = new Set([
  ...LINE_TAGS, 'ul', 'ol', 'dl', 'blockquote', 'pre', 'table', 'thead', 'tbody', 'tfoot', 'figure', 'details', 'section', 'hr',
]);
BREAK_TAGS.delete('br');
/** Passes of the unchanged-markup check before a block is shown as wholly replaced. */
const MAX_MARKUP_PASSES = 16;
const WORD = /\s+|[\p{L}\p{N}\p{M}_]+(?:['\u2019][\p{L}\p{N}\p{M}_]+)*|[^\s\p{L}\p{N}\p{M}_]/gu;
const BR = '<br />';

export interface Token {
  kind: 'word' | 'open' | 'close' | 'void' | 'break';
  /** Compared between versions: the text, or the rebuilt tag. */
  key: string;
  /** Output HTML: escaped text, or a tag from the fixed list with escaped attributes. */
  html: string;
  /** The (escaped) whitespace before the token. */
  lead: string;
  /** For opening and closing tags: the element's name. */
  name?: string;
}

/** The tokens of a block's (sanitized) inner HTML; no whitespace next to line breaks or at either end. */
export function markupTokens(html: string): Token[] {
  const tokens: Token[] = [];
  let space = '';
  const push = (kind: Token['kind'], key: string, html = key, name?: string) => {
    if (kind === 'break') {
      space = '';
      if (tokens.length > 0 && tokens.at(-1)!.kind !== 'break') tokens.push({ kind, key, html, lead: '' });
      return;
    }
    tokens.push({ kind, key, html, lead: tokens.length === 0 || tokens.at(-1)!.kind === 'break' ? '' : space, name });
    space = '';
  };
  let text = '';
  let inPre = 0;
  const flushText = () => {
    if (text === '') return;
    const lines = inPre > 0 ? text.split('\n') : [text];
    lines.forEach((line, index) => {
      if (index > 0) push('break', '\n', BR);
      for (const match of line.matchAll(WORD)) {
        const value = match[0];
        if (/^\s/.test(value)) space += escapeHtml(value);
        else push('word', value, escapeHtml(value));
      }
    });
    text = '';
  };
  // what each open element contributed: the inline tag name, or null
  const open: (string | null)[] = [];
  const parser = new Parser(
    {
      onopentag(name, attribs) {
        flushText();
        const inline = INLINE_TAGS[name];
        open.push(inline ?? null);
        if (inline !== undefined) {
          const href = inline === 'a' && attribs.href !== undefined && isAllowedUrl('a', attribs.href) ? ` href="${escapeHtml(attribs.href)}"` : '';
          push('open', `<${inline}${href}>`, undefined, inline);
        } else if (name === 'br') push('void', BR);
        else if (name === 'img' && attribs.src !== undefined && isAllowedUrl('img', attribs.src)) {
          push('void', `<img src="${escapeHtml(attribs.src)}" alt="${escapeHtml(attribs.alt ?? '')}" />`);
        } else if (name === 'input' && attribs.type === 'checkbox') {
          push('void', `<input type="checkbox" disabled${'checked' in attribs ? ' checked' : ''} />`);
        } else if (CELL_TAGS.has(name)) space += ' ';
        else if (BREAK_TAGS.has(name)) push('break', '\n', BR);
        if (name === 'pre') inPre++;
      },
      ontext(value) {
        text += value;
      },
      onclosetag(name) {
        flushText();
        const inline = open.pop();
        if (inline) push('close', `</${inline}>`, undefined, inline);
        else if (BREAK_TAGS.has(name)) push('break', '\n', BR);
        if (name === 'pre') inPre--;
      },
    },
    { decodeEntities: true, lowerCaseTags: true, lowerCaseAttributeNames: true },
  );
  parser.write(html);
  parser.end();
  flushText();
  if (tokens.at(-1)?.kind === 'break') tokens.pop();
  return tokens;
}

/** For each opening or closing tag, the index of its partner (-1 for other tokens and unmatched tags). */
function matchTags(tokens: Token[]): Int32Array {
  const match = new Int32Array(tokens.length).fill(-1);
  const stack: number[] = [];
  tokens.forEach((token, index) => {
    if (token.kind === 'open') stack.push(index);
    else if (token.kind === 'close') {
      const opener = stack.pop();
      if (opener !== undefined && tokens[opener]!.name === token.name) {
        match[opener] = index;
        match[index] = opener;
      }
    }
  });
  return match;
}

/**
 * Unpairs the tokens of every element not kept as it was: one whose tags are not both unchanged and matched to
 * the two tags of one element of the other version. Repeated until stable; false when that takes too many passes.
 */
function settleMarkup(oldTokens: Token[], newTokens: Token[], oldPair: Int32Array, newPair: Int32Array): boolean {
  const oldMatch = matchTags(oldTokens);
  const newMatch = matchTags(newTokens);
  const sides = [
    { tokens: oldTokens, pair: oldPair, match: oldMatch, otherPair: newPair, otherMatch: newMatch },
    { tokens: newTokens, pair: newPair, match: newMatch, otherPair: oldPair, otherMatch: oldMatch },
  ];
  for (let pass = 0; pass < MAX_MARKUP_PASSES; pass++) {
    let unpaired = false;
    for (const { tokens, pair, match, otherPair, otherMatch } of sides) {
      // +1 where a changed element starts, -1 just after it ends
      const edges = new Int32Array(tokens.length + 1);
      tokens.forEach((token, index) => {
        if (token.kind !== 'open' && token.kind !== 'close') return;
        const partner = match[index]!;
        if (partner < 0) {
          edges[index]!++;
          edges[index + 1]!--;
        } else if (token.kind === 'open' && !(pair[index]! >= 0 && pair[partner]! >= 0 && otherMatch[pair[index]!] === pair[partner])) {
          edges[index]!++;
          edges[partner + 1]!--;
        }
      });
      let inside = 0;
      for (let index = 0; index < tokens.length; index++) {
        inside += edges[index]!;
        if (inside > 0 && pair[index]! >= 0) {
          otherPair[pair[index]!] = -1;
          pair[index] = -1;
          unpaired = true;
        }
      }
    }
    if (!unpaired) return true;
  }
  return false;
}

/** Tokens whose key one stream has more often than the other: a lower bound on the edits between them. */
function keyImbalance(oldTokens: Token[], newTokens: Token[]): number {
  return keyCountImbalance(
    oldTokens.map((t) => t.key),
    newTokens.map((t) => t.key),
  );
}

interface Segment {
  kind: 'same' | 'change';
  old: Token[];
  new: Token[];
}

/** The inner HTML of a changed block with insertions and deletions marked word by word, its inline markup kept. */
export function markupDiff(beforeHtml: string, afterHtml: string): string {
  const oldTokens = markupTokens(beforeHtml);
  const newTokens = markupTokens(afterHtml);
  const replaced = () =>
    oldTokens.length === 0 || newTokens.length === 0 ? renderChange(oldTokens, newTokens) : `${markRun(oldTokens, 'del')} ${markRun(newTokens, 'ins')}`;
  // beyond the bound for certain: no need to search for the edits
  if (keyImbalance(oldTokens, newTokens) > MAX_WORD_EDITS) return replaced();
  const changes = diffArrays(
    oldTokens.map((t) => t.key),
    newTokens.map((t) => t.key),
    { maxEditLength: MAX_WORD_EDITS },
  );
  if (!changes) return replaced();
  const oldPair = new Int32Array(oldTokens.length).fill(-1);
  const newPair = new Int32Array(newTokens.length).fill(-1);
  let i = 0;
  let j = 0;
  for (const change of changes) {
    const count = change.value.length;
    if (change.removed) i += count;
    else if (change.added) j += count;
    else {
      for (let k = 0; k < count; k++) {
        oldPair[i + k] = j + k;
        newPair[j + k] = i + k;
      }
      i += count;
      j += count;
    }
  }
  if (!settleMarkup(oldTokens, newTokens, oldPair, newPair)) return replaced();

  // unchanged runs and changes (each side of a change is a balanced slice of its version)
  const segments: Segment[] = [];
  i = 0;
  j = 0;
  while (i < oldTokens.length || j < newTokens.length) {
    if (i < oldTokens.length && j < newTokens.length && oldPair[i] === j) {
      const last = segments.at(-1);
      const same = last?.kind === 'same' ? last : { kind: 'same' as const, old: [], new: [] };
      if (same !== last) segments.push(same);
      same.old.push(oldTokens[i++]!);
      same.new.push(newTokens[j++]!);
      continue;
    }
    const change: Segment = { kind: 'change', old: [], new: [] };
    while (i < oldTokens.length && oldPair[i]! < 0) change.old.push(oldTokens[i++]!);
    while (j < newTokens.length && newPair[j]! < 0) change.new.push(newTokens[j++]!);
    segments.push(change);
  }
  let html = '';
  for (const segment of segments) {
    if (segment.kind === 'same') for (const t of segment.new) html += t.lead + t.html;
    else html += trimmedChange(segment.old, segment.new);
  }
  return html;
}

/** A change with the words and breaks both sides start or end with (before any tag) shown as unchanged. */
function trimmedChange(old: Token[], neu: Token[]): string {
  const same = (a: Token | undefined, b: Token | undefined) =>
    a !== undefined && b !== undefined && a.key === b.key && a.kind !== 'open' && a.kind !== 'close';
  let head = 0;
  while (same(old[head], neu[head])) head++;
  let tail = 0;
  while (tail < Math.min(old.length, neu.length) - head && same(old[old.length - 1 - tail], neu[neu.length - 1 - tail])) tail++;
  let html = '';
  for (const t of neu.slice(0, head)) html += t.lead + t.html;
  html += renderChange(old.slice(head, old.length - tail), neu.slice(head, neu.length - tail));
  for (const t of neu.slice(neu.length - tail)) html += t.lead + t.html;
  return html;
}

/** Deleted then inserted tokens, the whitespace before the change outside the marks. */
function renderChange(old: Token[], neu: Token[]): string {
  const lead = neu[0]?.lead || old[0]?.lead || '';
  return lead + markRun(old, 'del') + markRun(neu, 'ins');
}

/** A balanced run of tokens inside `<ins>`/`<del>` (without its first token's lead); line breaks alone show as ¶. */
function markRun(tokens: Token[], mark: 'ins' | 'del'): string {
  if (tokens.length === 0) return '';
  if (tokens.every((t) => t.kind === 'break' || (t.kind === 'void' && t.key === BR))) return mark === 'ins' ? `<ins>¶${BR}</ins>` : '<del>¶</del>';
  let html = `<${mark}>${tokens[0]!.html}`;
  for (let k = 1; k < tokens.length; k++) html += tokens[k]!.lead + tokens[k]!.html;
  return `${html}</${mark}>`;
}

