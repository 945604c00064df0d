/**
 * Link warnings for a push, shown as `remote:` lines before its refs move. The push is not refused: the checker
 * (content/link-check.ts) runs on the pushed tree of the published branch, and the lines name the problems this
 * push brings (in the documents it changes, or left behind by what it removes or renames).
 */
import { isDocumentPath } from '../content/document-path.ts';
import { checkProject, formatLinkProblem, type CheckedDocument, type LinkProblem } from '../content/link-check.ts';
import { runGit, userArg } from '../git/run.ts';
import type { QuarantineEnv } from '../git/smart-http.ts';
import { parseLsTree } from '../git/tree-listing.ts';
import { isAttachmentEntry } from './attachments.ts';
import { budgets, renderWithinBudget } from './budget-pool.ts';
import type { Snapshot } from './snapshot.ts';

/** Beyond this many changed documents the push is not checked here (the problems page shows the result). */
export const MAX_CHECKED_DOCUMENTS = 300;
/** Problems listed one by one; the rest are counted. */
const LISTED = 20;
/** Documents larger than this are not rendered for the check (the publish shows them as too large anyway). */
const MAX_DOCUMENT_BYTES = 5 * 1024 * 1024;

export interface PushLinkCheckInput {
  repoPath: string;
  /** The quarantine environment the pre-receive hook reported: the pushed objects are readable through it. */
  env: QuarantineEnv;
  /** The pushed commit of the published branch. */
  newCommit: string;
  /** The published snapshot now: unchanged documents are taken from it instead of being rendered again. */
  previous: Snapshot | null;
}

/** `remote:` lines about the push's link problems; empty when it brings none. Never throws. */
export async function linkWarningsForPush(input: PushLinkCheckInput): Promise<string[]> {
  try {
    const problems = await newLinkProblems(input);
    if (problems === 'too-many') {
      return [`DocuCommit: this push changes more than ${MAX_CHECKED_DOCUMENTS} documents; its links were not checked here. See the project's problems page.`];
    }
    if (problems.length === 0) return [];
    const lines = [`DocuCommit link check: ${problems.length} ${problems.length === 1 ? 'problem' : 'problems'} in this push (it was accepted):`];
    for (const problem of problems.slice(0, LISTED)) lines.push(`  ${formatLinkProblem(problem)}`);
    if (problems.length > LISTED) lines.push(`  … and ${problems.length - LISTED} more on the project's problems page`);
    return lines;
  } catch {
    // a warning that cannot be computed is no reason to hold up or refuse the push
    return [];
  }
}

/** The problems of the pushed tree that the published one did not have. */
export async function newLinkProblems(input: PushLinkCheckInput): Promise<LinkProblem[] | 'too-many'> {
  const git = (args: Parameters<typeof runGit>[0]['args'], extra: Partial<Parameters<typeof runGit>[0]> = {}) =>
    runGit({ gitDir: input.repoPath, env: input.env, args, ...extra });
  const listing = parseLsTree((await git(['ls-tree', '-r', '-z', '-l', '--full-tree', '--end-of-options', userArg(input.newCommit)])).stdout);
  const previous = input.previous;
  const documents: CheckedDocument[] = [];
  const toRender: { path: string; oid: string }[] = [];
  const attachments: string[] = [];
  for (const entry of listing) {
    if (isAttachmentEntry(entry)) attachments.push(entry.path);
    if (entry.type !== 'blob' || !isDocumentPath(entry.path, entry.mode)) continue;
    const known = previous?.documents.get(entry.path);
    if (known && known.blobId === entry.oid) documents.push({ path: entry.path, links: known.meta.links, anchors: known.meta.anchors });
    else if ((entry.size ?? 0) <= MAX_DOCUMENT_BYTES) toRender.push({ path: entry.path, oid: entry.oid });
  }
  if (toRender.length > MAX_CHECKED_DOCUMENTS) return 'too-many';
  const changed = new Set(toRender.map((d) => d.path));
  if (toRender.length > 0) {
    const blobs = await readBlobs(git, toRender.map((d) => d.oid));
    for (const doc of toRender) {
      const source = blobs.get(doc.oid);
      if (source === undefined) continue;
      const rendered = await renderWithinBudget(doc.path, source.toString('utf8'), { runMs: budgets.publishRenderMs });
      documents.push({ path: doc.path, links: rendered.links, anchors: rendered.anchors });
    }
  }
  const before = new Set([...(previous?.brokenLinks.values() ?? [])].flat().map(problemKey));
  return checkProject(documents, attachments)
    .filter((problem) => changed.has(problem.from) || !before.has(problemKey(problem)))
    .sort((a, b) => (a.from < b.from ? -1 : a.from > b.from ? 1 : (a.line ?? 0) - (b.line ?? 0)));
}

const problemKey = (p: LinkProblem) => `${p.from}\n${p.kind}\n${p.href}`;

async function readBlobs(
  git: (args: Parameters<typeof runGit>[0]['args'], extra?: Partial<Parameters<typeof runGit>[0]>) => ReturnType<typeof runGit>,
  oids: string[],
): Promise<Map<string, Buffer>> {
  const blobs = new Map<string, Buffer>();
  const { stdout } = await git(['cat-file', '--batch'], { input: `${oids.join('\n')}\n`, maxStdoutBytes: 512 * 1024 * 1024 });
  let at = 0;
  while (at < stdout.length) {
    const newline = stdout.indexOf(0x0a, at);
    if (newline < 0) break;
    const [oid, kind, sizeText] = stdout.subarray(at, newline).toString('utf8').split(' ');
    at = newline + 1;
    if (kind === 'missing' || !oid || sizeText === undefined) continue;
    const size = Number(sizeText);
    if (kind === 'blob') blobs.set(oid, stdout.subarray(at, at + size));
    at += size + 1;
  }
  return blobs;
}
