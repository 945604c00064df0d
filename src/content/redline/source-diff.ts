/** A unified, line-based diff of two Markdown sources. Pure. */
import { diffLines } from 'diff';
import { keyCountImbalance } from './key-imbalance.ts';

/** One line of a source diff; `skip` stands for `count` unchanged lines left out. */
export type SourceDiffLine =
  | { kind: 'context' | 'added' | 'removed'; oldNumber: number | null; newNumber: number | null; text: string }
  | { kind: 'skip'; count: number };

/** Bound on the line diff (beyond it the sources are shown as wholly replaced). */
const MAX_LINE_EDITS = 20000;

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
