/**
 * The link checker: one function behind `docucommit check`, the import summary, the warnings on push and the
 * problems page, so that all four count the same problems. Pure: it is given what exists and what links where.
 */
import type { DocumentLink } from './types.ts';

export type LinkProblemKind = 'broken-link' | 'missing-image' | 'unknown-anchor';

/** One broken link, missing image or unknown anchor, located in its source file. */
export interface LinkProblem {
  /** Repository path of the document holding the link. */
  from: string;
  /** 1-based line in the whole file (front matter included), when known. */
  line: number | null;
  /** The href or src as written. */
  href: string;
  kind: LinkProblemKind;
  message: string;
}

/** A document as the checker sees it: its links and the anchors (heading ids) others may link to. */
export interface CheckedDocument {
  path: string;
  links: readonly DocumentLink[];
  /** Heading ids; when absent (an old cache entry), anchors into this document are not checked. */
  anchors?: readonly string[] | undefined;
}

export interface LinkTargets {
  /** Documents that exist for this check (for a reader: the ones they may read). */
  document(path: string): CheckedDocument | undefined;
  /** Non-Markdown files of the project. */
  hasAttachment(path: string): boolean;
  /** Folders holding at least one of those documents (their URL is a section page). */
  hasFolder(path: string): boolean;
}

/** Every problem in the links of `sources`, in source order. */
export function checkLinks(sources: Iterable<CheckedDocument>, targets: LinkTargets): LinkProblem[] {
  const problems: LinkProblem[] = [];
  for (const source of sources) {
    for (const link of source.links) {
      const problem = problemOf(source.path, link, targets);
      if (problem) problems.push(problem);
    }
  }
  return problems;
}

/** `file:line: message`, the form editors and CI logs understand. */
export function formatLinkProblem(problem: LinkProblem): string {
  return `${problem.from}${problem.line !== null ? `:${problem.line}` : ''}: ${problem.message}`;
}

function problemOf(from: string, link: DocumentLink, targets: LinkTargets): LinkProblem | null {
  const at = { from, line: link.line ?? null, href: link.href };
  const what = link.kind === 'image' ? 'image' : 'link';
  if (link.target === '..' || link.target.startsWith('../')) {
    return { ...at, kind: link.kind === 'image' ? 'missing-image' : 'broken-link', message: `${what} ${link.href} points outside the project` };
  }
  const document = targets.document(link.target) ?? (link.kind === 'image' ? undefined : targets.document(`${link.target}.md`));
  if (document) {
    if (link.anchor === undefined || document.anchors === undefined || document.anchors.includes(link.anchor)) return null;
    if (link.anchor === '' || link.anchor === 'top') return null;
    const where = document.path === from ? 'this document' : document.path;
    return { ...at, kind: 'unknown-anchor', message: `link ${link.href}: ${where} has no heading #${link.anchor}` };
  }
  if (targets.hasAttachment(link.target)) return null;
  if (link.kind !== 'image' && (link.target === '' || targets.hasFolder(link.target))) return null;
  if (link.kind === 'image') return { ...at, kind: 'missing-image', message: `image ${link.href} does not exist` };
  return { ...at, kind: 'broken-link', message: `link ${link.href} leads to a page that does not exist` };
}

/** Folder paths of `paths` at every depth: `a/b/c.md` → `a`, `a/b`. */
export function foldersOf(paths: Iterable<string>): Set<string> {
  const folders = new Set<string>();
  for (const path of paths) {
    for (let slash = path.indexOf('/'); slash !== -1; slash = path.indexOf('/', slash + 1)) folders.add(path.slice(0, slash));
  }
  return folders;
}

/** Check a whole project: every document readable, `attachmentPaths` its other files. */
export function checkProject(documents: readonly CheckedDocument[], attachmentPaths: Iterable<string>): LinkProblem[] {
  const byPath = new Map(documents.map((doc) => [doc.path, doc]));
  const attachments = new Set(attachmentPaths);
  const folders = foldersOf(byPath.keys());
  return checkLinks(documents, {
    document: (path) => byPath.get(path),
    hasAttachment: (path) => attachments.has(path),
    hasFolder: (path) => folders.has(path),
  });
}

/** Counts by kind, and the first few problems as `file:line: message` lines: the summary after an import or push. */
export function summarizeLinkProblems(problems: readonly LinkProblem[], first = 10): string[] {
  if (problems.length === 0) return [];
  const count = (kind: LinkProblemKind) => problems.filter((p) => p.kind === kind).length;
  const parts = [
    [count('broken-link'), 'broken link', 'broken links'],
    [count('missing-image'), 'missing image', 'missing images'],
    [count('unknown-anchor'), 'unknown anchor', 'unknown anchors'],
  ] as const;
  const counts = parts.filter(([n]) => n > 0).map(([n, one, many]) => `${n} ${n === 1 ? one : many}`);
  const lines = [`Link check: ${counts.join(', ')}`, ...problems.slice(0, first).map((p) => `  ${formatLinkProblem(p)}`)];
  if (problems.length > first) lines.push(`  … and ${problems.length - first} more`);
  return lines;
}

/**
 * The problems of `after` that `before` did not have: what a change adds. Problems are the same when they are of
 * the same kind, in the same file, for the same href as written (lines move with every edit above them).
 */
export function addedLinkProblems(after: readonly LinkProblem[], before: Iterable<LinkProblem>): LinkProblem[] {
  const key = (p: LinkProblem) => `${p.from}\n${p.kind}\n${p.href}`;
  const known = new Map<string, number>();
  for (const problem of before) known.set(key(problem), (known.get(key(problem)) ?? 0) + 1);
  const added: LinkProblem[] = [];
  for (const problem of after) {
    // the same broken href written twice where it was once: one of them is new
    const left = known.get(key(problem)) ?? 0;
    if (left > 0) known.set(key(problem), left - 1);
    else added.push(problem);
  }
  return sortedProblems(added);
}

/** Problems by source path, then line. */
export function sortedProblems(problems: LinkProblem[]): LinkProblem[] {
  return problems.sort((a, b) => (a.from < b.from ? -1 : a.from > b.from ? 1 : (a.line ?? 0) - (b.line ?? 0)));
}
