/**
 * The blocks of a rendered (sanitized) body and their alignment between two versions: unchanged, added, removed,
 * and changed (a removed block paired with an added one of the same kind). Pure.
 */
import { diffArrays } from 'diff';
import { Parser } from 'htmlparser2';
import { keyCountImbalance } from './key-imbalance.ts';

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

/** Bound on the block alignment (beyond it the bodies are shown as wholly replaced). */
const MAX_BLOCK_EDITS = 4000;
const PAIR_LOOKAHEAD = 25;

/** Headings that open a section (the summary names sections by them). */
export const SECTION_TAGS = new Set(['h2', 'h3']);
const LIST_TAGS = new Set(['ul', 'ol']);
/** Table cells: their boundaries are spaces in a block's text. */
export const CELL_TAGS = new Set(['td', 'th']);
/** Elements whose boundaries are line breaks in a block's text. */
export const LINE_TAGS = new Set(['tr', 'br', 'p', 'li', 'dt', 'dd', 'div', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'caption', 'summary', 'figcaption']);

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

/** One aligned pair of blocks (or a lone one). */
export type AlignedItem =
  | { kind: 'same'; block: Block }
  | { kind: 'added'; block: Block }
  | { kind: 'removed'; block: Block }
  | { kind: 'changed'; before: Block; after: Block };

/** Aligns the blocks of two bodies: unchanged, added, removed, and changed (a removed block paired with an added one). */
export function alignBlocks(before: Block[], after: Block[]): AlignedItem[] {
  const keyOf = (b: Block) => `${b.list ?? ''}|${b.html}`;
  const beforeKeys = before.map(keyOf);
  const afterKeys = after.map(keyOf);
  // beyond the bound for certain (every edit is counted by the imbalance at least once): no search
  const changes =
    (keyCountImbalance(beforeKeys, afterKeys) > MAX_BLOCK_EDITS ? undefined : diffArrays(beforeKeys, afterKeys, { maxEditLength: MAX_BLOCK_EDITS })) ??
    [{ value: before.map(keyOf), removed: true, added: false, count: before.length }, { value: after.map(keyOf), added: true, removed: false, count: after.length }];
  const items: AlignedItem[] = [];
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
function pairReplaced(removed: Block[], added: Block[]): AlignedItem[] {
  const items: AlignedItem[] = [];
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
