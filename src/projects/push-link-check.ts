/**
 * The link check of a push, before its refs move. The checker (content/link-check.ts) runs on the pushed tree of
 * the published branch, and the lines name the problems this push adds (in the documents it changes, or left
 * behind by what it removes or renames): `remote:` warnings, or — when the organization refuses changes that add
 * broken links (projects/link-gate.ts, the same rule as for editor saves) — the reasons the push is refused.
 */
import { isDocumentPath } from '../content/document-path.ts';
import { addedLinkProblems, checkProject, sortedProblems, type CheckedDocument, type LinkProblem } from '../content/link-check.ts';
import { runGit, userArg } from '../git/run.ts';
import type { QuarantineEnv } from '../git/smart-http.ts';
import { parseDiffTree } from '../git/tree-diff.ts';
import { parseLsTree } from '../git/tree-listing.ts';
import type { PublishedDiff } from '../git/push-checks.ts';
import { readObjects } from '../git/pushed-objects.ts';
import { isAttachmentEntry } from './attachments.ts';
import { budgets, renderWithinBudget } from './budget-pool.ts';
import { LISTED_PROBLEMS, refusalLines } from './link-gate.ts';
import { versionKey } from './rendered-store.ts';
import { Snapshot, type DocumentMeta, type SnapshotAttachment, type SnapshotDocument } from './snapshot.ts';

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
  /** What the push checks already read of this update (its tree diff from its old commit, the document blobs). */
  known?: PublishedDiff | undefined;
  /**
   * Renders and stores the pushed documents for the publish that follows an accepted push (Publisher.prerender),
   * so a pushed document is rendered once; without it they are rendered here for their links only.
   */
  prerender?: ((files: { path: string; content: Buffer }[]) => Promise<ReadonlyMap<string, DocumentMeta>>) | undefined;
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
  const previous = input.previous;
  // A push on top of the published tree (the usual case) is checked from what it changes: the published
  // snapshot's problems are carried over (snapshot.ts, exact and differentially tested) and only the changed
  // documents and those linking to what changed are checked again, not all 10,000 documents of a project.
  if (previous?.tree) return newLinkProblemsSince(input, previous, maxChecked);
  return newLinkProblemsOfTree(input, maxChecked);
}

/** The whole pushed tree checked, against the published snapshot's problems (or none). */
export async function newLinkProblemsOfTree(input: PushLinkCheckInput, maxChecked = MAX_CHECKED_DOCUMENTS): Promise<LinkProblem[] | 'too-many'> {
  const git = gitIn(input);
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
  for (const doc of await renderPushed(input, toRender)) documents.push({ path: doc.path, links: doc.links, anchors: doc.anchors });
  return addedLinkProblems(checkProject(documents, attachments), [...(previous?.brokenLinks.values() ?? [])].flat());
}

/** The push checked from the published snapshot by the tree diff (what the next publish will do, see publisher.ts). */
async function newLinkProblemsSince(input: PushLinkCheckInput, previous: Snapshot, maxChecked: number): Promise<LinkProblem[] | 'too-many'> {
  const git = gitIn(input);
  // the push checks' diff is this one when the push starts from the published commit (the usual case)
  const known = input.known && input.known.base === previous.commit ? input.known : undefined;
  const changes = known
    ? known.changes
    : parseDiffTree((await git(['diff-tree', '-r', '-z', '--raw', '--no-renames', '--no-abbrev', '--end-of-options', userArg(previous.tree!), userArg(input.newCommit)])).stdout);
  const removed = new Set<string>();
  const toRender: { path: string; oid: string }[] = [];
  const attachments = { upserts: [] as SnapshotAttachment[], removed: new Set<string>() };
  for (const change of changes) {
    const entry = { mode: change.newMode, type: change.newMode === '160000' ? ('commit' as const) : ('blob' as const), path: change.path };
    const isDocument = change.status !== 'D' && entry.type === 'blob' && isDocumentPath(entry.path, entry.mode);
    if (isDocument) toRender.push({ path: change.path, oid: change.newOid });
    else if (previous.documents.has(change.path)) removed.add(change.path);
    if (change.status !== 'D' && isAttachmentEntry(entry)) attachments.upserts.push({ path: change.path, blobId: change.newOid, size: null });
    else if (previous.attachments.has(change.path)) attachments.removed.add(change.path);
  }
  if (toRender.length > maxChecked) return 'too-many';
  // a document too large to render is checked as having no links (the full check leaves it out the same way)
  const upserts: SnapshotDocument[] = [];
  const rendered = new Map((await renderPushed(input, toRender, known?.blobs, input.prerender)).map((doc) => [doc.path, doc]));
  for (const doc of toRender) {
    const meta = rendered.get(doc.path);
    if (meta) upserts.push({ path: doc.path, blobId: doc.oid, meta });
    else removed.add(doc.path);
  }
  const pushed = Snapshot.derive(previous, input.newCommit, input.newCommit, upserts, removed, attachments);
  const after = pushed.brokenLinks;
  const before = previous.brokenLinks;
  // the problems of a document not checked again are carried over as the same list: only the others can add any
  const added: LinkProblem[] = [];
  for (const [source, problems] of after) {
    const earlier = before.get(source);
    if (problems !== earlier) added.push(...addedLinkProblems(problems, earlier ?? []));
  }
  return sortedProblems(added);
}

type Git = (args: Parameters<typeof runGit>[0]['args'], extra?: Partial<Parameters<typeof runGit>[0]>) => ReturnType<typeof runGit>;

function gitIn(input: PushLinkCheckInput): Git {
  return (args, extra = {}) => runGit({ gitDir: input.repoPath, env: input.env, args, ...extra });
}

/** The pushed documents rendered within the publish's budget (their metadata: links, anchors, classification…). */
async function renderPushed(
  input: Pick<PushLinkCheckInput, 'repoPath' | 'env'>,
  documents: readonly { path: string; oid: string }[],
  read?: ReadonlyMap<string, Buffer>,
  prerender?: PushLinkCheckInput['prerender'],
): Promise<DocumentMeta[]> {
  if (documents.length === 0) return [];
  const unread = documents.filter((d) => !read?.has(d.oid)).map((d) => d.oid);
  const blobs = new Map([...(read ?? []), ...(unread.length > 0 ? await readObjects(input.repoPath, input.env, unread, 'blob') : [])]);
  const sources = documents.flatMap((doc) => {
    const content = blobs.get(doc.oid);
    return content === undefined || content.length > MAX_DOCUMENT_BYTES ? [] : [{ path: doc.path, oid: doc.oid, content }];
  });
  if (prerender) {
    const metas = await prerender(sources.map(({ path, content }) => ({ path, content })));
    return sources.flatMap((doc) => metas.get(versionKey(doc.path, doc.oid)) ?? []);
  }
  const metas: DocumentMeta[] = [];
  for (const doc of sources) {
    const { html: _html, ...meta } = await renderWithinBudget(doc.path, doc.content.toString('utf8'), { runMs: budgets.publishRenderMs });
    metas.push(meta);
  }
  return metas;
}

