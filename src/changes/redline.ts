/**
 * Redlines of two versions of a document, pure: the rendered redline of two sanitized HTML bodies (blocks
 * aligned, changed blocks marked word by word, long unchanged runs collapsed), a line-based source diff, and a
 * summary naming the sections that changed. The redline is assembled from slices of the two (already sanitized)
 * bodies, text escaped here and tag names from a fixed list, then sanitized once more as defense in depth.
 */
import { diffArrays, diffLines, diffWords, diffWordsWithSpace } from 'diff';
import { Parser } from 'htmlparser2';
import { escapeHtml } from '../content/escape-html.ts';
import { isAllowedUrl, sanitizeDocumentHtml } from '../content/sanitize.ts';

/** One top-level block of a rendered body (a list contributes one block per item). */
export interface Block {
  /** Tag name of the block (`li` for list items). */
  tag: string;
  /** For list items: the list's tag (`ul` or `ol`). */
  list: 'ul' | 'ol' | null;
  /** The block's HTML, as in the body. */
  html: string;
  /** The HTML between the block's own tags. */
  inner: string;
  /** Text content, cells and lines separated by whitespace. */
  readonly text: string;
  /** Text of the nearest h2/h3 at or before this block (null before the first one). */
  section: string | null;
}

/** The sections that changed, in document order. */
export interface SectionSummary {
  changed: string[];
  added: string[];
  removed: string[];
}

export interface Redline {
  /** Sanitized HTML of the redline. */
  html: string;
  /** False when the two bodies render the same. */
  changed: boolean;
  summary: SectionSummary;
  /** Blocks added, removed and changed. */
  counts: { added: number; removed: number; changed: number };
}

/** One line of a source diff; `skip` stands for `count` unchanged lines left out. */
export type SourceDiffLine =
  | { kind: 'context' | 'added' | 'removed'; oldNumber: number | null; newNumber: number | null; text: string }
  | { kind: 'skip'; count: number };

/** Unchanged blocks shown around each change; longer unchanged runs are collapsed. */
const CONTEXT_BLOCKS = 2;
/** Heading shown for changes before the first h2/h3. */
export const OPENING_SECTION = 'Introduction';
/** Bounds on the diff work (beyond them a block or run is shown as wholly replaced). */
const MAX_BLOCK_EDITS = 4000;
const MAX_WORD_EDITS = 2000;
const MAX_LINE_EDITS = 20000;
const PAIR_LOOKAHEAD = 25;

/** Tags kept on a changed, added or removed block; anything else (tables, rules, figures...) becomes a div. */
const KEPT_TAGS = new Set(['p', 'li', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'dt', 'dd', 'pre', 'blockquote']);
const SECTION_TAGS = new Set(['h2', 'h3']);
const LIST_TAGS = new Set(['ul', 'ol']);
const CELL_TAGS = new Set(['td', 'th']);
const LINE_TAGS = new Set(['tr', 'br', 'p', 'li', 'dt', 'dd', 'div', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'caption', 'summary', 'figcaption']);


/** Splits a rendered body into its top-level blocks; list items are blocks of their own. */
export function splitBlocks(html: string): Block[] {
  const blocks: Block[] = [];
  // one open top-level element (or list item) being collected
  let current: { tag: string; list: 'ul' | 'ol' | null; start: number; innerStart: number; text: string[]; depth: number } | null = null;
  let depth = 0;
  let list: { tag: 'ul' | 'ol'; depth: number } | null = null;
  let section: string | null = null;
  const parser: Parser = new Parser(
    {
      onopentag(name) {
        depth++;
        const openEnd = parser.endIndex + 1;
        if (current === null) {
          if (depth === 1 && LIST_TAGS.has(name)) list = { tag: name as 'ul' | 'ol', depth };
          else if (depth === 1 || (list !== null && depth === list.depth + 1)) {
            current = { tag: name, list: depth === 1 ? null : list!.tag, start: parser.startIndex, innerStart: openEnd, text: [], depth };
          }
          return;
        }
        if (CELL_TAGS.has(name)) current.text.push(' ');
        else if (LINE_TAGS.has(name)) current.text.push('\n');
      },
      ontext(text) {
        current?.text.push(text);
      },
      onclosetag(name) {
        if (current !== null && depth === current.depth) {
          const end = parser.endIndex + 1;
          const closeStart = html.lastIndexOf('<', parser.endIndex);
          const selfClosed = closeStart < current.innerStart;
          // the text is worked out when first asked for (most blocks are only compared by their HTML)
          const pieces = current.text;
          let text: string | null = null;
          const block: Block = {
            tag: current.tag,
            list: current.list,
            html: html.slice(current.start, end),
            inner: selfClosed ? '' : html.slice(current.innerStart, closeStart),
            get text() {
              text ??= pieces.join('').replace(/[ \t\r\f]+/g, ' ').replace(/ ?\n[\n ]*/g, '\n').trim();
              return text;
            },
            section,
          };
          if (SECTION_TAGS.has(name) && current.list === null) block.section = section = block.text;
          blocks.push(block);
          current = null;
        } else if (list !== null && depth === list.depth) {
          list = null;
        }
        depth--;
      },
    },
    { decodeEntities: true, lowerCaseTags: true, lowerCaseAttributeNames: true },
  );
  parser.write(html);
  parser.end();
  return blocks;
}

type Item =
  | { kind: 'same'; block: Block }
  | { kind: 'added'; block: Block }
  | { kind: 'removed'; block: Block }
  | { kind: 'changed'; before: Block; after: Block };

/** Aligns the blocks of two bodies: unchanged, added, removed, and changed (a removed block paired with an added one). */
export function alignBlocks(before: Block[], after: Block[]): Item[] {
  const keyOf = (b: Block) => `${b.list ?? ''}|${b.html}`;
  const beforeKeys = before.map(keyOf);
  const afterKeys = after.map(keyOf);
  // beyond the bound for certain (every edit is counted by the imbalance at least once): no search
  const changes =
    (keyCountImbalance(beforeKeys, afterKeys) > MAX_BLOCK_EDITS ? undefined : diffArrays(beforeKeys, afterKeys, { maxEditLength: MAX_BLOCK_EDITS })) ??
    [{ value: before.map(keyOf), removed: true, added: false, count: before.length }, { value: after.map(keyOf), added: true, removed: false, count: after.length }];
  const items: Item[] = [];
  let i = 0;
  let j = 0;
  let removed: Block[] = [];
  let added: Block[] = [];
  const flush = () => {
    items.push(...pairReplaced(removed, added));
    removed = [];
    added = [];
  };
  for (const change of changes) {
    const count = change.value.length;
    if (change.removed) {
      removed.push(...before.slice(i, i + count));
      i += count;
    } else if (change.added) {
      added.push(...after.slice(j, j + count));
      j += count;
    } else {
      flush();
      for (let k = 0; k < count; k++) items.push({ kind: 'same', block: after[j + k]! });
      i += count;
      j += count;
    }
  }
  flush();
  return items;
}

/** Pairs removed and added blocks of one replaced run, in order, when their kind matches. */
function pairReplaced(removed: Block[], added: Block[]): Item[] {
  const items: Item[] = [];
  let j = 0;
  let i = 0;
  for (; i < removed.length; i++) {
    const r = removed[i]!;
    let match = -1;
    for (let k = j; k < added.length && k < j + PAIR_LOOKAHEAD; k++) {
      if (added[k]!.tag === r.tag && added[k]!.list === r.list) {
        match = k;
        break;
      }
    }
    if (match < 0) {
      items.push({ kind: 'removed', block: r });
      continue;
    }
    for (; j < match; j++) items.push({ kind: 'added', block: added[j]! });
    items.push({ kind: 'changed', before: r, after: added[match]! });
    j = match + 1;
  }
  for (; j < added.length; j++) items.push({ kind: 'added', block: added[j]! });
  return items;
}

/** The rendered redline of two sanitized bodies. */
export function redline(beforeHtml: string, afterHtml: string): Redline {
  const before = splitBlocks(beforeHtml);
  const after = splitBlocks(afterHtml);
  const items = alignBlocks(before, after);
  const counts = { added: 0, removed: 0, changed: 0 };
  for (const item of items) if (item.kind !== 'same') counts[item.kind]++;
  const changed = counts.added + counts.removed + counts.changed > 0;
  return {
    html: sanitizeDocumentHtml(renderItems(items)),
    changed,
    summary: summarize(items, before, after),
    counts,
  };
}

/** Renders aligned items, collapsing unchanged runs and regrouping list items into their lists. */
function renderItems(items: Item[]): string {
  const show = new Array<boolean>(items.length).fill(false);
  items.forEach((item, index) => {
    if (item.kind === 'same') return;
    for (let k = Math.max(0, index - CONTEXT_BLOCKS); k <= Math.min(items.length - 1, index + CONTEXT_BLOCKS); k++) show[k] = true;
  });
  const out: string[] = [];
  let openList: string | null = null;
  const setList = (tag: string | null) => {
    if (openList === tag) return;
    if (openList) out.push(`</${openList}>`);
    if (tag) out.push(`<${tag}>`);
    openList = tag;
  };
  let hidden = 0;
  const flushHidden = () => {
    if (hidden === 0) return;
    setList(null);
    out.push(`<p class="rl-collapsed">… ${hidden} unchanged ${hidden === 1 ? 'block' : 'blocks'} …</p>`);
    hidden = 0;
  };
  items.forEach((item, index) => {
    if (!show[index]) {
      hidden++;
      return;
    }
    flushHidden();
    const block = item.kind === 'changed' ? item.after : item.block;
    setList(block.list);
    out.push(renderItem(item));
  });
  flushHidden();
  setList(null);
  return out.join('\n');
}

function renderItem(item: Item): string {
  switch (item.kind) {
    case 'same':
      return item.block.html;
    case 'added':
      return wholeBlock(item.block, 'rl-added', 'ins');
    case 'removed':
      return wholeBlock(item.block, 'rl-removed', 'del');
    case 'changed':
      return changedBlock(item.before, item.after);
  }
}

/** An added or removed block: its own markup inside `<ins>`/`<del>`. */
function wholeBlock(block: Block, className: string, mark: 'ins' | 'del'): string {
  if (KEPT_TAGS.has(block.tag)) return `<${block.tag} class="${className}"><${mark}>${block.inner}</${mark}></${block.tag}>`;
  return `<div class="${className}"><${mark}>${block.html}</${mark}></div>`;
}

/** A changed block: insertions and deletions marked word by word, in the block's own tag, inline markup kept. */
function changedBlock(before: Block, after: Block): string {
  if (after.tag === 'pre') return `<pre class="rl-changed"><code>${wordDiff(before.text, after.text, true)}</code></pre>`;
  if (!KEPT_TAGS.has(after.tag)) return `<div class="rl-changed rl-text">${wordDiff(before.text, after.text)}</div>`;
  const marked = markupDiff(before.inner, after.inner);
  if (after.tag === 'blockquote') return `<blockquote class="rl-changed"><p>${marked}</p></blockquote>`;
  return `<${after.tag} class="rl-changed">${marked}</${after.tag}>`;
}

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

/** Keys one list has more often than the other: a lower bound on the insertions and deletions between them. */
function keyCountImbalance(oldKeys: readonly string[], newKeys: readonly string[]): number {
  const counts = new Map<string, number>();
  for (const key of oldKeys) counts.set(key, (counts.get(key) ?? 0) + 1);
  for (const key of newKeys) counts.set(key, (counts.get(key) ?? 0) - 1);
  let imbalance = 0;
  for (const count of counts.values()) imbalance += Math.abs(count);
  return imbalance;
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

/** Names the sections with changes; a section whose heading appears or disappears is added or removed. */
function summarize(items: Item[], before: Block[], after: Block[]): SectionSummary {
  const headingsOf = (blocks: Block[]) => new Set(blocks.filter((b) => SECTION_TAGS.has(b.tag) && b.list === null).map((b) => b.text));
  const oldHeadings = headingsOf(before);
  const newHeadings = headingsOf(after);
  const changed = new Set<string>();
  const added = new Set<string>();
  const removed = new Set<string>();
  const isSection = (b: Block) => SECTION_TAGS.has(b.tag) && b.list === null;
  for (const item of items) {
    if (item.kind === 'same') continue;
    if (item.kind === 'added' && isSection(item.block) && !oldHeadings.has(item.block.text)) added.add(item.block.text);
    else if (item.kind === 'removed' && isSection(item.block) && !newHeadings.has(item.block.text)) removed.add(item.block.text);
    else if (item.kind === 'changed' && isSection(item.before) && isSection(item.after)) {
      // a heading replaced by another: the old section went away and a new one came (or it was renamed)
      if (!newHeadings.has(item.before.text)) removed.add(item.before.text);
      if (!oldHeadings.has(item.after.text)) added.add(item.after.text);
      else changed.add(item.after.text);
    } else {
      const block = item.kind === 'changed' ? item.after : item.block;
      changed.add(block.section ?? OPENING_SECTION);
    }
  }
  return {
    changed: [...changed].filter((s) => !added.has(s) && !removed.has(s)),
    added: [...added],
    removed: [...removed],
  };
}

/** "Changed: Access requests, Audits · Added: Retention", or null when nothing changed. */
export function summaryText(summary: SectionSummary): string | null {
  const parts: string[] = [];
  if (summary.changed.length > 0) parts.push(`Changed: ${summary.changed.join(', ')}`);
  if (summary.added.length > 0) parts.push(`Added: ${summary.added.join(', ')}`);
  if (summary.removed.length > 0) parts.push(`Removed: ${summary.removed.join(', ')}`);
  return parts.length > 0 ? parts.join(' · ') : null;
}

/**
 * Beyond these a comparison is not shown (the page offers the two versions instead): a page of tens of thousands
 * of diff lines is of no use to a reader, and building it would hold the server's main thread.
 */
const MAX_SHOWN_SOURCE_LINES = 5_000;
const MAX_SHOWN_REDLINE_CHARS = 1_000_000;

/** Whether a redline and source diff are too large to show on a page. */
export function tooLargeToShow(result: { redline: Redline; source: SourceDiffLine[] }): boolean {
  return result.source.length > MAX_SHOWN_SOURCE_LINES || result.redline.html.length > MAX_SHOWN_REDLINE_CHARS;
}

/** A unified, line-based diff of two sources with `context` unchanged lines around each change. */
export function sourceDiff(before: string, after: string, context = 3): SourceDiffLine[] {
  const normalize = (text: string) => {
    const t = text.replace(/\r\n?/g, '\n');
    return t === '' || t.endsWith('\n') ? t : `${t}\n`;
  };
  const a = normalize(before);
  const b = normalize(after);
  // beyond the bound for certain (lines one side has more often than the other): no search
  const changes = (keyCountImbalance(a.split('\n'), b.split('\n')) > MAX_LINE_EDITS ? undefined : diffLines(a, b, { maxEditLength: MAX_LINE_EDITS })) ?? [
    { value: a, removed: true, added: false, count: 0 },
    { value: b, added: true, removed: false, count: 0 },
  ];
  const all: { kind: 'context' | 'added' | 'removed'; oldNumber: number | null; newNumber: number | null; text: string }[] = [];
  let oldNumber = 1;
  let newNumber = 1;
  for (const change of changes) {
    const lines = change.value.split('\n');
    if (lines.at(-1) === '') lines.pop();
    for (const text of lines) {
      if (change.added) all.push({ kind: 'added', oldNumber: null, newNumber: newNumber++, text });
      else if (change.removed) all.push({ kind: 'removed', oldNumber: oldNumber++, newNumber: null, text });
      else all.push({ kind: 'context', oldNumber: oldNumber++, newNumber: newNumber++, text });
    }
  }
  const keep = new Array<boolean>(all.length).fill(false);
  all.forEach((line, index) => {
    if (line.kind === 'context') return;
    for (let k = Math.max(0, index - context); k <= Math.min(all.length - 1, index + context); k++) keep[k] = true;
  });
  const out: SourceDiffLine[] = [];
  let skipped = 0;
  all.forEach((line, index) => {
    if (!keep[index]) {
      skipped++;
      return;
    }
    if (skipped > 0) out.push({ kind: 'skip', count: skipped });
    skipped = 0;
    out.push(line);
  });
  if (skipped > 0 && out.length > 0) out.push({ kind: 'skip', count: skipped });
  return out;
}
