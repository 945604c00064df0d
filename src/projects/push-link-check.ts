/**
 * The link check of a push, before its refs move. The checker (content/link-check.ts) runs on the pushed tree of
 * the published branch, and the lines name the problems this push adds (in the documents it changes, or left
 * behind by what it removes or renames): `remote:` warnings, or — when the organization refuses changes that add
 * broken links (projects/link-gate.ts, the same rule as for editor saves) — the reasons the push is refused.
 */
import { isDocumentPath } from '../content/document-path.ts';
import { addedLinkProblems, checkProject, type CheckedDocument, type LinkProblem } from '../content/link-check.ts';
import { runGit, userArg } from '../git/run.ts';
import type { QuarantineEnv } from '../git/smart-http.ts';
import { parseLsTree } from '../git/tree-listing.ts';
import { isAttachmentEntry } from './attachments.ts';
import { budgets, renderWithinBudget } from './budget-pool.ts';
import { LISTED_PROBLEMS, refusalLines } from './link-gate.ts';
import type { Snapshot } from './snapshot.ts';

/** Beyond this many changed documents a push is not checked when problems are only warnings (the problems page
 * shows the result); when they refuse, up to MAX_REFUSAL_CHECKED are, and a larger push is refused unchecked. */
export const MAX_CHECKED_DOCUMENTS = 300;
export const MAX_REFUSAL_CHECKED = 5000;
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
  /** The organization refuses changes that add broken links. */
  refuse?: boolean;
}

/** What the check says about a push: refused (its lines are the reasons) or accepted (its lines are warnings). */
export interface PushLinkVerdict {
  refused: boolean;
  lines: string[];
}

/** The push's link check as `remote:` lines. Never throws. */
export async function linkCheckForPush(input: PushLinkCheckInput): Promise<PushLinkVerdict> {
  const refuse = input.refuse === true;
  try {
    const problems = await newLinkProblems(input, refuse ? MAX_REFUSAL_CHECKED : MAX_CHECKED_DOCUMENTS);
    if (problems === 'too-many') {
      return refuse
        ? { refused: true, lines: [`DocuCommit refused this push: it changes more than ${MAX_REFUSAL_CHECKED} documents, too many to check their links; push them in smaller steps.`] }
        : { refused: false, lines: [`DocuCommit: this push changes more than ${MAX_CHECKED_DOCUMENTS} documents; its links were not checked here. See the project's problems page.`] };
    }
    if (problems.length === 0) return { refused: false, lines: [] };
    const count = `${problems.length} ${problems.length === 1 ? 'problem' : 'problems'}`;
    const listed = refusalLines(problems).map((line) => `  ${line}`);
    if (refuse) {
      return { refused: true, lines: [`DocuCommit refused this push: this organization refuses changes that add broken links, and it adds ${count}:`, ...listed] };
    }
    if (problems.length > LISTED_PROBLEMS) listed[listed.length - 1] += " on the project's problems page";
    return { refused: false, lines: [`DocuCommit link check: ${count} in this push (it was accepted):`, ...listed] };
  } catch {
    // a warning that cannot be computed is no reason to hold up a push; a check the organization requires is
    return refuse ? { refused: true, lines: ['DocuCommit refused this push: its links could not be checked. Try again.'] } : { refused: false, lines: [] };
  }
}

/** The problems of the pushed tree that the published one did not have. */
export async function newLinkProblems(input: PushLinkCheckInput, maxChecked = MAX_CHECKED_DOCUMENTS): Promise<LinkProblem[] | 'too-many'> {
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
  if (toRender.length > maxChecked) return 'too-many';
  if (toRender.length > 0) {
    const blobs = await readBlobs(git, toRender.map((d) => d.oid));
    for (const doc of toRender) {
      const source = blobs.get(doc.oid);
      if (source === undefined) continue;
      const rendered = await renderWithinBudget(doc.path, source.toString('utf8'), { runMs: budgets.publishRenderMs });
      documents.push({ path: doc.path, links: rendered.links, anchors: rendered.anchors });
    }
  }
  return addedLinkProblems(checkProject(documents, attachments), [...(previous?.brokenLinks.values() ?? [])].flat());
}

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
