/** The summary of a redline: the sections (by their h2/h3 headings) that changed, were added or were removed. Pure. */
import { SECTION_TAGS, type AlignedItem, type Block } from './blocks.ts';

/** The sections that changed, in document order. */
export interface SectionSummary {
  changed: string[];
  added: string[];
  removed: string[];
}

/** Heading shown for changes before the first h2/h3. */
export const OPENING_SECTION = 'Introduction';

/** Names the sections with changes; a section whose heading appears or disappears is added or removed. */
export function summarize(items: AlignedItem[], before: Block[], after: Block[]): SectionSummary {
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
