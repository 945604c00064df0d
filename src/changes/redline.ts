/**
 * Redlines of two versions of a document, pure: the rendered redline of two sanitized HTML bodies (blocks
 * aligned, changed blocks marked word by word, long unchanged runs collapsed), a line-based source diff, and a
 * summary naming the sections that changed. The redline is assembled from slices of the two (already sanitized)
 * bodies, text escaped here and tag names from a fixed list, then sanitized once more as defense in depth.
 */
import { diffArrays, diffLines, diffWords, diffWordsWithSpace } from 'diff';
import { Parser } from 'htmlparser2';
import { sanitizeDocumentHtml } from '../content/sanitize.ts';

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
  text: string;
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

/** Escapes text for HTML content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&#39;'));
}

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
          const text = current.text.join('').replace(/[ \t\r\f]+/g, ' ').replace(/ ?\n[\n ]*/g, '\n').trim();
          if (SECTION_TAGS.has(name) && current.list === null) section = text;
          blocks.push({
            tag: current.tag,
            list: current.list,
            html: html.slice(current.start, end),
            inner: selfClosed ? '' : html.slice(current.innerStart, closeStart),
            text,
            section,
          });
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
  const changes =
    diffArrays(before.map(keyOf), after.map(keyOf), { maxEditLength: MAX_BLOCK_EDITS }) ??
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

/** A changed block: its text with insertions and deletions marked word by word, in the block's own tag. */
function changedBlock(before: Block, after: Block): string {
  const preformatted = after.tag === 'pre';
  const marked = wordDiff(before.text, after.text, preformatted);
  if (preformatted) return `<pre class="rl-changed"><code>${marked}</code></pre>`;
  if (after.tag === 'blockquote') return `<blockquote class="rl-changed"><p>${marked}</p></blockquote>`;
  if (KEPT_TAGS.has(after.tag)) return `<${after.tag} class="rl-changed">${marked}</${after.tag}>`;
  return `<div class="rl-changed rl-text">${marked}</div>`;
}

/** Escaped text with `<ins>`/`<del>` around inserted and deleted words. */
export function wordDiff(before: string, after: string, keepWhitespace = false): string {
  const options = { maxEditLength: MAX_WORD_EDITS };
  const changes = keepWhitespace ? diffWordsWithSpace(before, after, options) : diffWords(before, after, options);
  if (!changes) return `<del>${escapeHtml(before)}</del> <ins>${escapeHtml(after)}</ins>`;
  return changes
    .map((c) => (c.added ? `<ins>${escapeHtml(c.value)}</ins>` : c.removed ? `<del>${escapeHtml(c.value)}</del>` : escapeHtml(c.value)))
    .join('');
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

/** A unified, line-based diff of two sources with `context` unchanged lines around each change. */
export function sourceDiff(before: string, after: string, context = 3): SourceDiffLine[] {
  const normalize = (text: string) => {
    const t = text.replace(/\r\n?/g, '\n');
    return t === '' || t.endsWith('\n') ? t : `${t}\n`;
  };
  const a = normalize(before);
  const b = normalize(after);
  const changes = diffLines(a, b, { maxEditLength: MAX_LINE_EDITS }) ?? [
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
