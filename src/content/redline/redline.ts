/**
 * Redlines of two versions of a document, pure: the rendered redline of two sanitized HTML bodies (blocks
 * aligned, changed blocks marked word by word, long unchanged runs collapsed) with its summary. The redline is
 * assembled from slices of the two (already sanitized) bodies, text escaped and tag names from a fixed list
 * (markup-diff.ts), then goes through the sanitizer like every document body: its HTML is TrustedHtml.
 *
 * blocks.ts splits and aligns, markup-diff.ts marks words, summary.ts names sections, source-diff.ts diffs lines.
 */
import { sanitizeDocumentHtml } from '../sanitize.ts';
import type { TrustedHtml } from '../trusted-html.ts';
import { alignBlocks, splitBlocks, type AlignedItem, type Block } from './blocks.ts';
import { markupDiff, wordDiff } from './markup-diff.ts';
import type { SourceDiffLine } from './source-diff.ts';
import { summarize, type SectionSummary } from './summary.ts';

/** The redline of two versions, its summary and its counts. */
export interface Redline {
  /** Sanitized HTML of the redline. */
  html: TrustedHtml;
  /** False when the two bodies render the same. */
  changed: boolean;
  summary: SectionSummary;
  /** Blocks added, removed and changed. */
  counts: { added: number; removed: number; changed: number };
}

/** Unchanged blocks shown around each change; longer unchanged runs are collapsed. */
const CONTEXT_BLOCKS = 2;

/** Tags kept on a changed, added or removed block; anything else (tables, rules, figures...) becomes a div. */
const KEPT_TAGS = new Set(['p', 'li', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'dt', 'dd', 'pre', 'blockquote']);

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
function renderItems(items: AlignedItem[]): string {
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

function renderItem(item: AlignedItem): string {
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
