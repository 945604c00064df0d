/**
 * What a change request's pages show beyond the request itself (change-requests.ts decides who sees it):
 *
 * - the rendered redline and the source diff of each changed document, worked out in the budget pool
 *   (projects/budget-pool.ts) within one time budget for the page; a document too large, or reached after the
 *   budget ran out, is shown as such (the page offers its preview instead);
 * - the description and comments, rendered like documents (the Markdown pipeline and its sanitizer);
 * - a preview of any page of the draft as it would read after the merge (the merged tree, or the draft when it
 *   conflicts with main), for a reader who may read the document in the published version and in the preview;
 * - the conflicts with main, when it moved: per conflicting document its base, main's and the draft's text.
 *
 * Every method takes a view already authorized by ChangeRequests.get (or calls it).
 */
import type { UserActor } from '../access/actor.ts';
import type { Grants } from '../access/policy.ts';
import { classificationOf, stricter } from '../content/classification.ts';
import { isDocumentPath } from '../content/document-path.ts';
import { parseFrontMatter } from '../content/front-matter.ts';
import { titleFromPath } from '../content/humanize.ts';
import type { SourceDiffLine } from '../content/redline/source-diff.ts';
import { summaryText } from '../content/redline/summary.ts';
import type { TrustedHtml } from '../content/trusted-html.ts';
import type { Classification, RenderedDocument } from '../content/types.ts';
import { ConflictError, InvalidInputError, NotFoundError } from '../errors.ts';
import { authorize } from '../access/authorize.ts';
import type { AuditEventInput } from '../audit/audit-log.ts';
import { BranchMovedError } from '../git/errors.ts';
import type { FileChange } from '../git/commit-files.ts';
import { repoPathProblem } from '../git/paths.ts';
import type { Repository } from '../git/repository.ts';
import { budgets, compareWithinBudget, deadlineIn, renderFragmentsWithinBudget, renderWithinBudget } from '../projects/budget-pool.ts';
import type { ProjectRecord } from '../projects/projects.ts';
import type { RepositoryRegistry } from '../projects/repositories.ts';
import type { BranchMoves } from './branch-moves.ts';
import { moveRequestHead, type TimelineStep } from './change-request-timeline.ts';
import { changeProblems } from './change-rules.ts';
import { changeRequestAuditTarget, type ChangeRequests, type ChangeRequestView, type DraftCommit } from './change-requests.ts';
import { changeRights, normalizeDocumentSource } from './editor.ts';
import { assertMayRead, mayRead } from './version-access.ts';

/** Largest version (characters) compared on the page; a larger one is "too large" at once, without trying. */
export const MAX_COMPARED_CHARS = 512 * 1024;
/** Largest version of a conflicting document whose text the conflict view shows. */
export const MAX_CONFLICT_CHARS = 256 * 1024;
/** Diffs remembered between page views (by path and blobs), each with a redline of at most so many characters. */
const DIFF_CACHE_LIMIT = 500;
const MAX_CACHED_REDLINE_CHARS = 64 * 1024;
/** Documents listed in a preview's navigation. */
const MAX_PREVIEW_NAV = 200;

/** A changed document's redline and source diff, or why there is none. */
export type DocumentDiff =
  | {
      kind: 'compared';
      /** "Changed: Scope, Escalation", or null when the rendered text is the same. */
      summary: string | null;
      counts: { added: number; removed: number; changed: number };
      redlineHtml: TrustedHtml;
      source: SourceDiffLine[];
    }
  /** `always`: over the size compared at all (not merely cut short by the time budget). */
  | { kind: 'too-large'; always?: boolean }
  /** Not a Markdown document (an image, an attachment): no text to compare. */
  | { kind: 'file' };

/**
 * One version of a conflicting document as the conflict view shows it. A text is the part where the versions
 * differ, with a few lines around it: `before` and `after` lines the same in every version are left out.
 */
export type ConflictSide =
  | { kind: 'text'; text: string; before: number; after: number }
  | { kind: 'absent' }
  | { kind: 'hidden' }
  | { kind: 'too-large' }
  | { kind: 'file' };

/** Unchanged lines kept around the differing part of a conflict's versions. */
const CONFLICT_CONTEXT_LINES = 3;

export interface ConflictingDocument {
  path: string;
  /** The version both sides started from (the merge base). */
  base: ConflictSide;
  /** Main's version now. */
  ours: ConflictSide;
  /** The draft's version. */
  theirs: ConflictSide;
}

export interface ConflictReport {
  base: string;
  main: string;
  head: string;
  /** The conflicting documents the reader may see (a path they may not read is left out, as if absent). */
  documents: ConflictingDocument[];
}

/** The page of a draft as it would read after the merge. */
export interface DraftPreview {
  request: ChangeRequestView;
  path: string;
  rendered: RenderedDocument;
  /**
   * What is shown: the merged result, the draft alone (it conflicts with main), what the merge published, or the
   * draft as one of its commits left it (`commit`).
   */
  basis: 'merge' | 'draft' | 'merged' | 'commit';
  /** With basis `commit`: that commit. */
  commit?: string;
  /** True when the change request changes this document. */
  changed: boolean;
  /** The change's documents that exist after it, with titles, for the preview's navigation. */
  documents: { path: string; title: string }[];
  /** A read of a confidential or restricted version, for the audit log. */
  audited: { path: string; commit: string; classification: 'confidential' | 'restricted' } | null;
}

export interface ChangeRequestPagesDeps {
  repositories: RepositoryRegistry;
  changeRequests: ChangeRequests;
  /** Moves the draft when a conflict is resolved in the browser. */
  branchMoves: BranchMoves;
}

/** The conflicts of a draft with main, as the resolution editor opens them. */
export interface ConflictResolution {
  request: ChangeRequestView;
  /** The draft's head and main's, the resolution is based on (a form sends them back). */
  head: string;
  main: string;
  /** Each conflicting document with git's merged text, conflict markers and all. */
  documents: { path: string; text: string }[];
}

/** Most files main may have changed since the draft started for a resolution in the browser. */
const MAX_RESOLUTION_FILES = 500;
const CONFLICT_MARKER = /^(<{7}|>{7})( |$)/m;

/** Everything the page of a change request shows, for a reader who may see it. */
export interface ChangeRequestPage {
  request: ChangeRequestView;
  diffs: DocumentDiff[];
  texts: { description: TrustedHtml | null; reviews: (TrustedHtml | null)[] };
  conflicts: ConflictReport | null;
  /** The draft's commits, newest first (subjects only where the reader may read every path a commit touches). */
  commits: { commits: DraftCommit[]; more: boolean };
  /** Steps of the timeline other than reviews, oldest first; `earlier`: older steps not listed. */
  timeline: { steps: TimelineStep[]; earlier: number };
}

export class ChangeRequestPages {
  constructor(private readonly deps: ChangeRequestPagesDeps) {}

  /** The page of a change request (404 for anyone who may not see it); links in its texts are written from `linkBase`. */
  async page(project: ProjectRecord, actor: UserActor, number: number, grants: Grants, linkBase: string): Promise<ChangeRequestPage> {
    const request = await this.deps.changeRequests.get(project, actor, number, grants);
    const [diffs, texts, conflicts, commits, timeline] = await Promise.all([
      this.diffs(project, request),
      this.texts(request, linkBase),
      this.conflicts(project, actor, request, grants),
      this.deps.changeRequests.commits(project, actor, request, grants),
      this.deps.changeRequests.timeline(project, request),
    ]);
    return { request, diffs, texts, conflicts, commits, timeline };
  }

  /**
   * The redline and source diff of every changed document, in the order of `view.documents`. Rendering and
   * diffing share one budget (the compare page's); what is left when it runs out is "too large".
   */
  async diffs(project: ProjectRecord, view: ChangeRequestView): Promise<DocumentDiff[]> {
    const deadline = deadlineIn(budgets.compareMs);
    const keys = view.documents.map((d) => `${d.path}\0${d.before?.blob ?? ''}\0${d.after?.blob ?? ''}`);
    // the texts are read only when some document's diff is not remembered
    const sources = keys.every((key) => this.#diffs.has(key)) ? null : await this.deps.changeRequests.sources(project, view);
    const result: DocumentDiff[] = [];
    for (const [i, key] of keys.entries()) {
      const known = this.#diffs.get(key);
      if (known) {
        result.push(known);
        continue;
      }
      const { path, before, after } = sources![i]!;
      const diff = await this.#diff(path, before, after, deadline);
      // a version cut short by the time budget may fit another time: only what is always the same is kept
      if ((diff.kind !== 'too-large' || diff.always) && (diff.kind !== 'compared' || diff.redlineHtml.length <= MAX_CACHED_REDLINE_CHARS)) {
        if (this.#diffs.size >= DIFF_CACHE_LIMIT) this.#diffs.delete(this.#diffs.keys().next().value!);
        this.#diffs.set(key, diff);
      }
      result.push(diff);
    }
    return result;
  }

  /** Remembered diffs, by path and the two versions' blobs (the redline of two versions never changes). */
  readonly #diffs = new Map<string, DocumentDiff>();

  async #diff(path: string, before: string | null, after: string | null, deadline: { deadline: number }): Promise<DocumentDiff> {
    if (!isDocumentPath(path)) return { kind: 'file' };
    if ((before ?? '').length > MAX_COMPARED_CHARS || (after ?? '').length > MAX_COMPARED_CHARS) return { kind: 'too-large', always: true };
    const [old, now] = await Promise.all([render(path, before, deadline), render(path, after, deadline)]);
    if (old.tooLarge || now.tooLarge) return { kind: 'too-large' };
    const compared = await compareWithinBudget({ html: old.html, source: before ?? '' }, { html: now.html, source: after ?? '' }, deadline);
    if (compared === null) return { kind: 'too-large' };
    return { kind: 'compared', summary: summaryText(compared.redline.summary), counts: compared.redline.counts, redlineHtml: compared.redline.html, source: compared.source };
  }

  /**
   * The description and each review's text rendered like documents (null: nothing written), links written from
   * the project's root URL `linkBase`. Beyond the view's render budget all are null and the page shows them as text.
   */
  async texts(view: ChangeRequestView, linkBase: string): Promise<{ description: TrustedHtml | null; reviews: (TrustedHtml | null)[] }> {
    const items = [
      { text: view.description, idPrefix: 'cr-text-', linkBase },
      ...view.reviews.map((review) => ({ text: review.body, idPrefix: `cr-review-${review.id}-`, linkBase })),
    ];
    const rendered = await renderFragmentsWithinBudget(items, deadlineIn(budgets.viewRenderMs));
    const shown = rendered.map((html, i) => (items[i]!.text.trim() === '' ? null : html));
    return { description: shown[0] ?? null, reviews: shown.slice(1) };
  }

  /**
   * When main moved and the draft no longer merges cleanly: per conflicting document, its base, main's and the
   * draft's text (escaped by the page, never rendered). Null when the request is not open or merges cleanly.
   */
  async conflicts(project: ProjectRecord, actor: UserActor, view: ChangeRequestView, grants: Grants): Promise<ConflictReport | null> {
    if (view.state !== 'open' || !view.mainCommit) return null;
    const repository = await this.deps.repositories.get(project);
    const main = view.mainCommit;
    const base = await repository.mergeBase(main, view.headCommit);
    // main has not moved past the draft's start: nothing can conflict (and no merge need be computed)
    if (base === main) return null;
    const merge = await repository.tryMerge(main, view.headCommit);
    if (merge.clean) return null;
    const touched = new Set(view.documents.map((d) => d.path));
    const documents: ConflictingDocument[] = [];
    for (const path of merge.conflicts) {
      const sides = {
        base: base ? await side(repository, base, path) : { side: { kind: 'absent' } as const, classification: null },
        ours: await side(repository, main, path),
        theirs: await side(repository, view.headCommit, path),
      };
      const readable = (s: Loaded) => s.classification === null || mayRead(actor, project, s.classification, path, grants);
      // a path outside the change the reader may not read in any version is left out entirely (hidden is missing)
      if (!touched.has(path) && !Object.values(sides).every(readable)) continue;
      const shown = (s: Loaded): ConflictSide => (readable(s) ? s.side : { kind: 'hidden' });
      const [b, o, t] = focusOnDifferences([shown(sides.base), shown(sides.ours), shown(sides.theirs)]);
      documents.push({ path, base: b!, ours: o!, theirs: t! });
    }
    return { base: base ?? '', main, head: view.headCommit, documents };
  }

  /**
   * A page of the draft (`address`: its page URL within the project, `policies/x` or `policies/` for an index) as
   * it would read after the merge. NotFoundError for a request the actor may not see, a missing page, and a page
   * the actor may not read in the preview or in the published version (the one 404).
   */
  async preview(project: ProjectRecord, actor: UserActor, number: number, address: string, grants: Grants, at?: string): Promise<DraftPreview> {
    const request = await this.deps.changeRequests.get(project, actor, number, grants);
    const path = documentPathOfPage(address);
    const repository = await this.deps.repositories.get(project);
    let tree: string;
    let basis: DraftPreview['basis'];
    if (at !== undefined) {
      // a version of the draft: only one of its own listed commits (not any commit of the repository)
      const listed = await this.deps.changeRequests.commits(project, actor, request, grants);
      const commit = listed.commits.find((c) => c.oid === at);
      if (!commit) throw new NotFoundError();
      tree = commit.oid;
      basis = 'commit';
    } else if (request.state === 'merged' && request.mergeCommit) {
      tree = request.mergeCommit;
      basis = 'merged';
    } else {
      const merge = request.mainCommit ? await repository.tryMerge(request.mainCommit, request.headCommit) : null;
      tree = merge?.clean ? merge.tree : request.headCommit;
      basis = merge?.clean ? 'merge' : 'draft';
    }
    const shown = await documentAt(repository, tree, path);
    if (!shown) throw new NotFoundError();
    // both the version previewed and the one readers have now (the merged request's: the one it replaced)
    const publishedAt = request.state === 'merged' && request.mergeCommit ? ((await repository.readCommit(request.mergeCommit)).parents[0] ?? null) : request.mainCommit;
    const published = publishedAt ? await documentAt(repository, publishedAt, path) : null;
    for (const version of [shown, published]) {
      if (version) assertMayRead(actor, project, version.classification, path, grants);
    }
    const rendered = await renderWithinBudget(path, shown.source, deadlineIn(budgets.viewRenderMs));
    const documents: DraftPreview['documents'] = [];
    for (const document of request.documents) {
      if (documents.length >= MAX_PREVIEW_NAV) break;
      if (!document.after || !isDocumentPath(document.path)) continue;
      const text = (await repository.readBlob(document.after.blob)).toString('utf8');
      documents.push({ path: document.path, title: titleOf(document.path, text) });
    }
    const strictest = published ? stricter(shown.classification, published.classification) : shown.classification;
    return {
      request,
      path,
      rendered,
      basis,
      changed: request.documents.some((d) => d.path === path),
      documents,
      ...(basis === 'commit' ? { commit: tree } : {}),
      audited:
        strictest === 'confidential' || strictest === 'restricted'
          ? { path, commit: basis === 'commit' ? tree : basis === 'merged' ? request.mergeCommit! : request.headCommit, classification: strictest }
          : null,
    };
  }

  /**
   * The conflicts of an open request's draft with main, for the resolution editor: who may resolve them is a
   * person who may edit the project and read and edit every conflicting document (any other answer: 404 for
   * what they may not see, 403 for what they may not change, 409 when there is nothing to resolve).
   */
  async conflictResolution(project: ProjectRecord, actor: UserActor, number: number, grants: Grants): Promise<ConflictResolution> {
    const request = await this.deps.changeRequests.get(project, actor, number, grants);
    authorize(actor, 'edit', { kind: 'project', orgId: project.orgId }, 'Your role cannot change drafts.');
    if (request.state !== 'open' || !request.mainCommit) throw new ConflictError('Only an open change request has conflicts to resolve.');
    const repository = await this.deps.repositories.get(project);
    const merge = await repository.tryMerge(request.mainCommit, request.headCommit);
    if (merge.clean) throw new ConflictError('The draft merges cleanly with main: there is nothing to resolve.');
    const documents: ConflictResolution['documents'] = [];
    for (const path of merge.conflicts) {
      const versions = [await documentAt(repository, request.mainCommit, path), await documentAt(repository, request.headCommit, path)];
      const merged = await repository.entryAt(merge.tree, path);
      if (!isDocumentPath(path) || !merged || merged.type !== 'blob' || versions.every((v) => v === null)) {
        throw new ConflictError('A file that is not a document conflicts: resolve this draft with git.');
      }
      for (const version of versions) {
        if (!version) continue;
        assertMayRead(actor, project, version.classification, path, grants);
        authorize(
          actor,
          'edit',
          { kind: 'document', orgId: project.orgId, classification: version.classification },
          'Your role may not edit every conflicting document: ask their author or resolve with git.',
        );
      }
      documents.push({ path, text: (await repository.readBlob(merged.oid)).toString('utf8') });
    }
    return { request, head: request.headCommit, main: request.mainCommit, documents };
  }

  /**
   * Resolves the conflicts: one commit on the draft that merges main in (its second parent), with `files` as
   * the text of the conflicting documents. The head and main the form was based on must still be current (409).
   * The new head dismisses the approvals (the change-requests listener updates the request).
   */
  async resolve(project: ProjectRecord, actor: UserActor, number: number, input: { head: string; main: string; files: { path: string; content: string }[] }, grants: Grants): Promise<string> {
    const opened = await this.conflictResolution(project, actor, number, grants);
    if (input.head !== opened.head || input.main !== opened.main) throw new ConflictError('The draft or main changed since you opened the editor. Nothing was saved: open it again.');
    const repository = await this.deps.repositories.get(project);
    const merge = await repository.tryMerge(opened.main, opened.head);
    const resolved = new Map<string, string>();
    for (const file of input.files) resolved.set(file.path, normalizeDocumentSource(file.content));
    const checks = [];
    for (const { path } of opened.documents) {
      const text = resolved.get(path);
      if (text === undefined) throw new InvalidInputError(`The text of ${path} is missing.`);
      if (CONFLICT_MARKER.test(text)) throw new InvalidInputError(`${path} still has conflict markers (<<<<<<< or >>>>>>>): keep the text it should have and remove them.`);
      const draft = await documentAt(repository, opened.head, path);
      checks.push({ path, before: draft?.source ?? null, after: text });
    }
    // the rules every change obeys (change-rules.ts), as for a save or a push to a draft
    const problems = changeProblems(changeRights(actor, project), checks, { publishedBranch: false });
    if (problems.length > 0) throw new InvalidInputError(`Nothing was saved: ${problems.map((p) => (p.kind === 'front-matter' ? p.errors.map((e) => `${e.file}:${e.line}: ${e.message}`).join('; ') : p.message)).join('; ')}.`);
    // the draft's tree → the merged tree: main's changes as git merged them, the resolved documents as written
    const changes: FileChange[] = [];
    const fromMain = await repository.diffTrees(opened.head, merge.tree);
    if (fromMain.length > MAX_RESOLUTION_FILES) throw new ConflictError('Main changed too many files since the draft started: resolve this draft with git.');
    for (const change of fromMain) {
      if (resolved.has(change.path)) continue;
      const entry = await repository.entryAt(merge.tree, change.path);
      changes.push(entry && entry.type === 'blob' ? { path: change.path, content: await repository.readBlob(entry.oid) } : { path: change.path, delete: true });
    }
    for (const [path, content] of resolved) if (opened.documents.some((d) => d.path === path)) changes.push({ path, content });
    const auditActor = { type: 'user' as const, id: actor.userId, label: actor.email };
    try {
      const result = await this.deps.branchMoves.commit(
        project,
        repository,
        {
          branch: opened.request.branch,
          expectedOld: opened.head,
          mergeParent: opened.main,
          mode: 'patch',
          changes,
          author: { name: actor.name.trim() || actor.email, email: actor.email },
          message: `Merge main into ${opened.request.branch}\n\nConflicts resolved in the browser: ${opened.documents.map((d) => d.path).join(', ')}`,
        },
        {
          kind: 'save',
          actor: auditActor,
          events: (commit): AuditEventInput[] => {
            const target = changeRequestAuditTarget(project, number);
            return [
              { orgId: project.orgId, actor: auditActor, action: 'change_request.conflicts_resolved', target, outcome: 'success', details: { commit, main: opened.main, documents: opened.documents.length } },
              { orgId: project.orgId, actor: auditActor, action: 'change_request.updated', target, outcome: 'success', details: { old: opened.head, head: commit } },
            ];
          },
          // the request follows its draft in the move's own transaction (the page after the redirect shows the new
          // head, approvals of the old one no longer counting); the change-requests listener then finds it done
          rows: async (trx, commit) => {
            await moveRequestHead(trx, { orgId: project.orgId, id: opened.request.id }, { to: commit, actor: { userId: actor.userId, label: actor.email }, kind: 'conflicts_resolved' });
          },
        },
      );
      return result.commit!;
    } catch (error) {
      if (error instanceof BranchMovedError) throw new ConflictError('The draft changed while saving. Nothing was saved: open the editor again.');
      throw error;
    }
  }
}

/** A version of one side, rendered on the time left (a side that is absent renders as nothing). */
function render(path: string, source: string | null, deadline: { deadline: number }): Promise<RenderedDocument> {
  return renderWithinBudget(path, source ?? '', deadline);
}

interface Loaded {
  side: ConflictSide;
  /** The version's classification (a file that is not a document: internal, as the change rules count it); null when absent. */
  classification: Classification | null;
}

async function side(repository: Repository, commit: string, path: string): Promise<Loaded> {
  const entry = await repository.entryAt(commit, path);
  if (!entry) return { side: { kind: 'absent' }, classification: null };
  if (entry.type !== 'blob' || !isDocumentPath(path, entry.mode)) return { side: { kind: 'file' }, classification: 'internal' };
  const text = (await repository.readBlob(entry.oid)).toString('utf8');
  return { side: text.length > MAX_CONFLICT_CHARS ? { kind: 'too-large' } : { kind: 'text', text, before: 0, after: 0 }, classification: classificationOf(text) };
}

/**
 * The versions cut to where they differ: lines at the start and at the end that every shown text has in common
 * are left out (counted in `before` and `after`), but for CONFLICT_CONTEXT_LINES around the difference.
 */
export function focusOnDifferences(sides: ConflictSide[]): ConflictSide[] {
  const texts = sides.flatMap((s) => (s.kind === 'text' ? [s.text.split('\n')] : []));
  if (texts.length < 2) return sides;
  const shortest = Math.min(...texts.map((lines) => lines.length));
  let head = 0;
  while (head < shortest && texts.every((lines) => lines[head] === texts[0]![head])) head++;
  let tail = 0;
  while (tail < shortest - head && texts.every((lines) => lines[lines.length - 1 - tail] === texts[0]![texts[0]!.length - 1 - tail])) tail++;
  const before = Math.max(0, head - CONFLICT_CONTEXT_LINES);
  const after = Math.max(0, tail - CONFLICT_CONTEXT_LINES);
  return sides.map((s) => {
    if (s.kind !== 'text') return s;
    const lines = s.text.split('\n');
    return { kind: 'text', text: lines.slice(before, lines.length - after).join('\n'), before, after };
  });
}

/** A document's text and classification in a commit or tree; null when there is no document at `path`. */
async function documentAt(repository: Repository, commitOrTree: string, path: string): Promise<{ source: string; classification: Classification } | null> {
  const entry = await repository.entryAt(commitOrTree, path);
  if (!entry || entry.type !== 'blob' || !isDocumentPath(path, entry.mode)) return null;
  const source = (await repository.readBlob(entry.oid)).toString('utf8');
  return { source, classification: classificationOf(source) };
}

/**
 * The repository path of a page address inside a project, as reading pages name them: `policies/x` →
 * `policies/x.md`, `policies/` → `policies/index.md`, `` → `index.md`. Anything else is the one 404.
 */
export function documentPathOfPage(address: string): string {
  const path = address === '' || address.endsWith('/') ? `${address}index.md` : /\.md$/i.test(address) ? address : `${address}.md`;
  if (repoPathProblem(path) || path.split('/').some((segment) => segment.startsWith('-') || segment === '.' || segment === '..') || !isDocumentPath(path)) throw new NotFoundError();
  return path;
}

/** A document's title for navigation: its front matter's, else its file name. */
function titleOf(path: string, source: string): string {
  return parseFrontMatter(path, source).data?.title ?? titleFromPath(path);
}
