/**
 * What a stale save shows its author: a line diff of their text against the version that won. Pure; the web
 * layer escapes every line when it renders the diff.
 */

/** One line of a diff: in both versions, only in the current version, or only in the author's text. */
export interface DiffLine {
  kind: 'same' | 'removed' | 'added';
  text: string;
}

/** Above this many cells of the LCS table the middle is shown as replaced wholesale (memory stays bounded). */
const MAX_LCS_CELLS = 4_000_000;

/** Splits text into lines, ignoring the difference between CRLF and LF and a final newline. */
export function splitLines(text: string): string[] {
  const normalized = text.replace(/\r\n?/g, '\n');
  if (normalized === '') return [];
  return (normalized.endsWith('\n') ? normalized.slice(0, -1) : normalized).split('\n');
}

/**
 * A line-based diff from `current` (the version now on the branch) to `mine` (the author's text): the
 * longest common subsequence of lines, after trimming the common head and tail.
 */
export function diffLines(current: string, mine: string): DiffLine[] {
  const a = splitLines(current);
  const b = splitLines(mine);
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const result: DiffLine[] = a.slice(0, start).map((text) => ({ kind: 'same', text }));
  result.push(...diffMiddle(a.slice(start, endA), b.slice(start, endB)));
  for (let i = endA; i < a.length; i++) result.push({ kind: 'same', text: a[i]! });
  return result;
}

function diffMiddle(a: string[], b: string[]): DiffLine[] {
  const n = a.length;
  const m = b.length;
  if (n === 0 || m === 0 || (n + 1) * (m + 1) > MAX_LCS_CELLS) {
    return [...a.map((text) => ({ kind: 'removed' as const, text })), ...b.map((text) => ({ kind: 'added' as const, text }))];
  }
  // lengths[i][j] = LCS length of a[i..] and b[j..]
  const width = m + 1;
  const lengths = new Uint32Array((n + 1) * width);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lengths[i * width + j] =
        a[i] === b[j] ? lengths[(i + 1) * width + j + 1]! + 1 : Math.max(lengths[(i + 1) * width + j]!, lengths[i * width + j + 1]!);
    }
  }
  const out: DiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      out.push({ kind: 'same', text: a[i]! });
      i++;
      j++;
    } else if (lengths[(i + 1) * width + j]! >= lengths[i * width + j + 1]!) {
      out.push({ kind: 'removed', text: a[i++]! });
    } else {
      out.push({ kind: 'added', text: b[j++]! });
    }
  }
  while (i < n) out.push({ kind: 'removed', text: a[i++]! });
  while (j < m) out.push({ kind: 'added', text: b[j++]! });
  return out;
}

/** A run of unchanged lines left out of a folded diff. */
export interface DiffSkip {
  kind: 'skip';
  count: number;
}

/** The diff with long unchanged stretches folded away, keeping `context` lines around every change. */
export function foldDiff(diff: readonly DiffLine[], context = 3): (DiffLine | DiffSkip)[] {
  const keep = new Array<boolean>(diff.length).fill(false);
  diff.forEach((line, i) => {
    if (line.kind === 'same') return;
    for (let k = Math.max(0, i - context); k <= Math.min(diff.length - 1, i + context); k++) keep[k] = true;
  });
  const out: (DiffLine | DiffSkip)[] = [];
  for (let i = 0; i < diff.length; ) {
    if (keep[i]) {
      out.push(diff[i++]!);
      continue;
    }
    let j = i;
    while (j < diff.length && !keep[j]) j++;
    // folding one or two lines saves nothing
    if (j - i <= 2) out.push(...diff.slice(i, j));
    else out.push({ kind: 'skip', count: j - i });
    i = j;
  }
  return out;
}
