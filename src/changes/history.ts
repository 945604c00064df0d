/**
 * Reading the past of a project: a document's history (following renames), any version rendered, the redline of
 * two versions, and the project-wide list of commits. Every answer is filtered for the reader (version-access.ts):
 * what they may not read is absent, and a document they may not read answers like a missing one (NotFoundError).
 * Only commits on the published branch are reachable.
 */
import type { Actor } from '../access/actor.ts';
import type { Grants } from '../access/policy.ts';
import { isDocumentPath } from '../content/document-path.ts';
import type { Classification, RenderedDocument } from '../content/types.ts';
import { InvalidInputError, NotFoundError } from '../errors.ts';
import { blobAt, branchHistory, commitsWithFiles, fileHistory, isAncestor, type CommitWithFiles, type FileTouch } from '../git/file-history.ts';
import type { Repository } from '../git/repository.ts';
import type { ProjectRecord } from '../projects/projects.ts';
import { budgets, compareWithinBudget, deadlineIn, renderWithinBudget } from '../projects/budget-pool.ts';
import type { Publisher } from '../projects/publisher.ts';
import type { RepositoryRegistry } from '../projects/repositories.ts';
import type { Snapshot } from '../projects/snapshot.ts';
import type { Redline } from '../content/redline/redline.ts';
import type { SourceDiffLine } from '../content/redline/source-diff.ts';
import {
  commitVisibility,
  currentDocumentOf,
  assertMayRead,
  assertMayReadVersion,
  DocumentLineage,
  mayReadVersion,
  VersionClassifier,
  type VersionFate,
} from './version-access.ts';

/** Entries per page of a history. */
export const HISTORY_PAGE_SIZE = 50;
/** Highest page number accepted (git would have to walk past page × size commits). */
const MAX_PAGE = 10_000;
const RENDER_CACHE_LIMIT = 200;
/** Projects whose DocumentLineage is kept between requests. */
const LINEAGE_CACHE_LIMIT = 16;
/** Renames followed when looking for a document's older names. */
const MAX_NAME_LOOKUP = 1000;

/** Who made a commit, and when. */
export interface CommitFacts {
  commit: string;
  shortId: string;
  authorName: string;
  authorEmail: string;
  time: Date;
  /** First line of the message; null when the reader may not see it (then the author is empty too). */
  subject: string | null;
}

/** One version in a document's history. */
export interface HistoryEntry extends CommitFacts {
  /** Added, modified, renamed (from `oldPath`) or deleted in this commit. */
  status: FileTouch['status'];
  /** The document's path after the commit (for a deletion: the path it had). */
  path: string;
  oldPath: string | null;
  /** The first parent, to compare with; null for a root commit or when the document did not exist before. */
  parent: string | null;
  /** A version the reader may not read (a classification above theirs at the time): shown without message or links. */
  hidden: boolean;
}

export interface DocumentHistoryPage {
  /** The path asked for (the document's name in the newest version listed). */
  path: string;
  title: string;
  /** Where the document is now, or null when it was deleted. */
  currentPath: string | null;
  classification: Classification;
  entries: HistoryEntry[];
  page: number;
  hasNext: boolean;
}

/** A read of a confidential or restricted version, which the audit log must record. */
export interface VersionRead {
  path: string;
  commit: string;
  classification: 'confidential' | 'restricted';
}

export interface DocumentVersion extends CommitFacts {
  path: string;
  /** The version's blob and rendering. */
  blob: string;
  rendered: RenderedDocument;
  currentPath: string | null;
  /** The document's classification now (or, when deleted, of its last version). */
  currentClassification: Classification;
  /** True when the published version has the same text. */
  isCurrent: boolean;
  /** The commit before this version's commit, when the document existed there (for "compare with previous"). */
  parent: string | null;
  audit: VersionRead[];
}

/** One side of a comparison; `path` null when the document did not exist at that commit. */
export interface ComparedSide extends CommitFacts {
  path: string | null;
  title: string | null;
  classification: Classification | null;
}

export interface Comparison {
  /** The path asked for (at `to`). */
  path: string;
  title: string;
  currentPath: string | null;
  currentClassification: Classification;
  from: ComparedSide;
  to: ComparedSide;
  /** The redline and source diff; null when the versions are too large to compare within the time budget. */
  diff: { redline: Redline; source: SourceDiffLine[] } | null;
  audit: VersionRead[];
}

/** A document a commit touched, as the reader may see it. */
export interface TouchedDocument {
  path: string;
  status: FileTouch['status'];
  /** Its title now, when it still exists at that path. */
  title: string | null;
  /** Whether the commit left a version to open (false for deletions). */
  hasVersion: boolean;
}

export interface ProjectCommit extends CommitFacts {
  /** False when the commit touched a document the reader may not read: then nothing but its time and id is shown. */
  shown: boolean;
  /** The documents it touched (empty unless shown). */
  documents: TouchedDocument[];
  /** Files that are not documents (images, configuration); 0 unless shown. */
  otherFiles: number;
}

export interface ProjectHistoryPage {
  commits: ProjectCommit[];
  page: number;
  hasNext: boolean;
}

/** The reader of a history request: who, in which project, with which live grants. */
export interface HistoryReader {
  actor: Actor;
  project: ProjectRecord;
  grants: Grants;
}

/** The past of projects, as each reader may see it. */
export class ProjectHistory {
  readonly #classifier = new VersionClassifier();
  readonly #rendered = new Map<string, RenderedDocument>();
  /** One DocumentLineage per project at its current head (they hold no reader's data). */
  readonly #lineages = new Map<string, DocumentLineage>();

  constructor(
    private readonly repositories: RepositoryRegistry,
    private readonly publisher: Publisher,
  ) {}

  /** A commit id from a URL (7 to 40 hex digits) resolved to a commit of the published branch, or NotFoundError. */
  async resolveCommit(reader: HistoryReader, id: string): Promise<string> {
    if (!/^[0-9a-f]{7,40}$/.test(id)) throw new NotFoundError();
    const { repository, snapshot } = await this.#open(reader.project);
    const commit = await repository.resolveCommit(id);
    if (!commit || !snapshot.commit || !(await isAncestor(repository, commit, snapshot.commit))) throw new NotFoundError();
    return commit;
  }

  /** A document's history, newest first, following renames. NotFoundError when the reader may not read it. */
  async documentHistory(reader: HistoryReader, path: string, page: number): Promise<DocumentHistoryPage> {
    checkPage(page);
    const { repository, snapshot } = await this.#open(reader.project);
    if (!snapshot.commit) throw new NotFoundError();
    const current = await this.#currentReadable(reader, repository, snapshot, path);
    const commits = await fileHistory(repository, snapshot.commit, path, {
      limit: HISTORY_PAGE_SIZE + 1,
      skip: (page - 1) * HISTORY_PAGE_SIZE,
    });
    if (commits.length === 0) throw new NotFoundError();
    const listed = commits.slice(0, HISTORY_PAGE_SIZE);
    const lineage = this.#lineageOf(reader.project, repository, snapshot);
    const shown = await this.#shownCommits(reader, repository, lineage, listed.map((c) => c.oid));
    const entries: HistoryEntry[] = [];
    for (const commit of listed) {
      const file = commit.files.find(isDocumentTouch);
      if (!file) continue;
      const blob = file.newBlob ?? file.oldBlob;
      const classification = blob ? await this.#classifier.of(repository, file.path, blob) : 'restricted';
      // the version's own document, wherever it went (not whatever lives at this path now)
      const hidden = !mayReadVersion(reader, classification, await lineage.fate(commit.oid, file.path));
      entries.push({
        ...shownFacts(factsOf(commit), !hidden && shown.has(commit.oid)),
        status: file.status,
        path: file.path,
        oldPath: file.oldPath,
        parent: file.status === 'A' ? null : (commit.parents[0] ?? null),
        hidden,
      });
    }
    return {
      path,
      title: this.#titleOf(snapshot, current.path, path),
      currentPath: current.path,
      classification: current.classification,
      entries,
      page,
      hasNext: commits.length > HISTORY_PAGE_SIZE,
    };
  }

  /** One version of a document, rendered. NotFoundError when missing or when the reader may not read it. */
  async version(reader: HistoryReader, commit: string, path: string): Promise<DocumentVersion> {
    const { repository, snapshot } = await this.#open(reader.project);
    if (!isDocumentPath(path) || !snapshot.commit) throw new NotFoundError();
    const side = await this.#side(repository, commit, [path], deadlineIn(budgets.viewRenderMs));
    if (!side.rendered) throw new NotFoundError();
    const lineage = this.#lineageOf(reader.project, repository, snapshot);
    const current = await this.#versionReadable(reader, lineage, commit, path, side.rendered.classification);
    const head = current.path !== null ? snapshot.documents.get(current.path) : undefined;
    const info = await repository.readCommit(commit);
    const parent = info.parents[0] ?? null;
    const parentHasDocument = parent !== null && (await blobAt(repository, parent, path)) !== null;
    const shown = await this.#shownCommits(reader, repository, lineage, [commit]);
    return {
      ...shownFacts(side.facts, shown.has(commit)),
      path,
      blob: side.blob,
      rendered: side.rendered,
      currentPath: current.path,
      currentClassification: current.classification,
      isCurrent: head !== undefined && head.blobId === side.blob,
      parent: parentHasDocument ? parent : null,
      audit: auditedReads([{ path, commit, classification: side.rendered.classification }]),
    };
  }

  /** The Markdown source of one version (a download). NotFoundError when missing or when the reader may not read it. */
  async versionSource(reader: HistoryReader, commit: string, path: string): Promise<{ source: Buffer; audit: VersionRead[] }> {
    const { repository, snapshot } = await this.#open(reader.project);
    if (!snapshot.commit) throw new NotFoundError();
    const found = await blobAt(repository, commit, path);
    if (!found || !isDocumentPath(path, found.mode)) throw new NotFoundError();
    const classification = await this.#classifier.of(repository, path, found.oid);
    // judged like the version page: by the version's own classification and its document's later ones
    await this.#versionReadable(reader, this.#lineageOf(reader.project, repository, snapshot), commit, path, classification);
    return { source: await repository.readBlob(found.oid), audit: auditedReads([{ path, commit, classification }]) };
  }

  /**
   * The redline and source diff of a document between two commits (`path` is its name at `to`). Rendering both
   * versions and diffing them share one time budget; beyond it `diff` is null (too large to compare).
   */
  async compare(reader: HistoryReader, from: string, to: string, path: string): Promise<Comparison> {
    const deadline = deadlineIn(budgets.compareMs);
    const { repository, snapshot } = await this.#open(reader.project);
    if (!isDocumentPath(path) || !snapshot.commit) throw new NotFoundError();
    const [after, sameName] = await Promise.all([this.#side(repository, to, [path], deadline), this.#side(repository, from, [path], deadline)]);
    let before = sameName;
    // not there under this name: it may have had another one before a rename
    if (!before.rendered) before = await this.#side(repository, from, await this.#olderNames(repository, to, path), deadline);
    if (!after.rendered && !before.rendered) throw new NotFoundError();
    // each side is judged by its own document's later life; "now" is the newer side's document
    const lineage = this.#lineageOf(reader.project, repository, snapshot);
    let current: { path: string | null; classification: Classification } | null = null;
    for (const side of [before, after]) {
      if (side.rendered && side.path) current = await this.#versionReadable(reader, lineage, side.facts.commit, side.path, side.rendered.classification);
    }
    const shown = await this.#shownCommits(reader, repository, lineage, [...new Set([from, to])]);
    const sideView = (side: typeof before): ComparedSide => ({
      ...shownFacts(side.facts, shown.has(side.facts.commit)),
      path: side.path,
      title: side.rendered?.title ?? null,
      classification: side.rendered?.classification ?? null,
    });
    // a version that could not even be rendered in time cannot be compared
    const tooLarge = before.rendered?.tooLarge === true || after.rendered?.tooLarge === true;
    return {
      path,
      title: after.rendered?.title ?? before.rendered!.title,
      currentPath: current!.path,
      currentClassification: current!.classification,
      from: sideView(before),
      to: sideView(after),
      diff: tooLarge
        ? null
        : await compareWithinBudget(
            { html: before.rendered?.html ?? '', source: before.source },
            { html: after.rendered?.html ?? '', source: after.source },
            deadline,
          ),
      audit: auditedReads(
        [before, after].flatMap((s) => (s.rendered && s.path ? [{ path: s.path, commit: s.facts.commit, classification: s.rendered.classification }] : [])),
      ),
    };
  }

  /** The project's commits, newest first, each with the documents it touched that the reader may see. */
  async projectHistory(reader: HistoryReader, page: number): Promise<ProjectHistoryPage> {
    checkPage(page);
    const { repository, snapshot } = await this.#open(reader.project);
    if (!snapshot.commit) return { commits: [], page, hasNext: false };
    const commits = await branchHistory(repository, snapshot.commit, { limit: HISTORY_PAGE_SIZE + 1, skip: (page - 1) * HISTORY_PAGE_SIZE });
    const listed = commits.slice(0, HISTORY_PAGE_SIZE);
    const lineage = this.#lineageOf(reader.project, repository, snapshot);
    await lineage.load(listed.flatMap((c) => c.files.filter(isDocumentTouch).map((f) => f.path)));
    const result: ProjectCommit[] = [];
    for (const commit of listed) {
      const visibility = await commitVisibility(reader, lineage, this.#classifier, repository, commit);
      const documents: TouchedDocument[] = visibility.shown
        ? visibility.documents.map(({ file, fate }) => ({
            path: file.path,
            status: file.status,
            title: titleAt(snapshot, fate, file.path),
            hasVersion: file.newBlob !== null,
          }))
        : [];
      result.push({
        ...shownFacts(factsOf(commit), visibility.shown),
        shown: visibility.shown,
        documents,
        otherFiles: visibility.shown ? visibility.otherFiles : 0,
      });
    }
    return { commits: result, page, hasNext: commits.length > HISTORY_PAGE_SIZE };
  }

  /**
   * The document rendered as of a version, cached by path and blob; a large one in a worker, by `deadline` or
   * as too large to render (not cached: the budget may have been a compare's, or the machine busy).
   */
  async render(path: string, blob: string, source: string, deadline: { deadline: number }): Promise<RenderedDocument> {
    const key = `${path}\0${blob}`;
    let rendered = this.#rendered.get(key);
    if (rendered) {
      this.#rendered.delete(key);
    } else {
      rendered = await renderWithinBudget(path, source, deadline);
      if (rendered.tooLarge) return rendered;
      if (this.#rendered.size >= RENDER_CACHE_LIMIT) this.#rendered.delete(this.#rendered.keys().next().value!);
    }
    this.#rendered.set(key, rendered);
    return rendered;
  }

  /** The project's lineage at this snapshot's head: kept while the head stays, dropped after a failed lookup. */
  #lineageOf(project: ProjectRecord, repository: Repository, snapshot: Snapshot): DocumentLineage {
    const kept = this.#lineages.get(project.id);
    if (kept?.servesFor(repository, snapshot.commit)) return kept;
    const lineage = new DocumentLineage(repository, snapshot, this.#classifier);
    this.#lineages.delete(project.id);
    if (this.#lineages.size >= LINEAGE_CACHE_LIMIT) this.#lineages.delete(this.#lineages.keys().next().value!);
    this.#lineages.set(project.id, lineage);
    return lineage;
  }

  async #open(project: ProjectRecord): Promise<{ repository: Repository; snapshot: Snapshot }> {
    const snapshot = this.publisher.snapshotOf(project.id) ?? (await this.publisher.publish(project));
    return { repository: await this.repositories.get(project), snapshot };
  }

  /** The document's state now; NotFoundError unless the reader may read its current (or last) classification. */
  async #currentReadable(reader: HistoryReader, repository: Repository, snapshot: Snapshot, path: string) {
    if (!isDocumentPath(path)) throw new NotFoundError();
    const current = await currentDocumentOf(repository, snapshot, this.#classifier, path);
    if (!current.classification) throw new NotFoundError();
    this.#assertReadable(reader, current.classification, current.path);
    return { path: current.path, classification: current.classification };
  }

  /**
   * The version of `path` at `commit` (of classification `own`), if the reader may read it and everything its
   * document became (DocumentLineage); else the policy's 404. Returns where that document is now.
   */
  async #versionReadable(reader: HistoryReader, lineage: DocumentLineage, commit: string, path: string, own: Classification) {
    const fate = await lineage.fate(commit, path);
    assertMayReadVersion(reader, own, fate);
    return { path: fate.currentPath, classification: fate.current };
  }

  /** The commits among `oids` whose message, author and paths the reader may see (commitVisibility, the one rule). */
  async #shownCommits(reader: HistoryReader, repository: Repository, lineage: DocumentLineage, oids: string[]): Promise<Set<string>> {
    const shown = new Set<string>();
    const commits = await commitsWithFiles(repository, oids);
    await lineage.load(commits.flatMap((c) => c.files.filter(isDocumentTouch).map((f) => f.path)));
    for (const commit of commits) {
      if ((await commitVisibility(reader, lineage, this.#classifier, repository, commit)).shown) shown.add(commit.oid);
    }
    return shown;
  }

  #assertReadable(reader: HistoryReader, classification: Classification, currentPath: string | null): void {
    // hidden by its classification: answered like a missing document, and audited (access.denied)
    assertMayRead(reader.actor, reader.project, classification, currentPath, reader.grants);
  }

  /** The document at `commit` under the first of `names` that holds a regular Markdown file there. */
  async #side(repository: Repository, commit: string, names: string[], deadline: { deadline: number }) {
    const info = await repository.readCommit(commit);
    const facts: CommitFacts = {
      commit,
      shortId: commit.slice(0, 8),
      authorName: info.author.name,
      authorEmail: info.author.email,
      time: info.author.time,
      subject: info.message.split('\n', 1)[0] ?? '',
    };
    for (const name of names) {
      const found = await blobAt(repository, commit, name);
      if (!found || !isDocumentPath(name, found.mode)) continue;
      const source = (await repository.readBlob(found.oid)).toString('utf8');
      return { facts, path: name, blob: found.oid, source, rendered: await this.render(name, found.oid, source, deadline) };
    }
    return { facts, path: null, blob: null, source: '', rendered: null };
  }

  /** The names the document at `path` had before renames, newest first. */
  async #olderNames(repository: Repository, commit: string, path: string): Promise<string[]> {
    const names: string[] = [];
    for (const entry of await fileHistory(repository, commit, path, { limit: MAX_NAME_LOOKUP, skip: 0 })) {
      for (const file of entry.files) if (file.oldPath && !names.includes(file.oldPath) && file.oldPath !== path) names.push(file.oldPath);
    }
    return names;
  }

  #titleOf(snapshot: Snapshot, currentPath: string | null, path: string): string {
    const doc = currentPath !== null ? snapshot.documents.get(currentPath) : undefined;
    return doc ? doc.meta.title : (path.split('/').pop() ?? path).replace(/\.md$/i, '');
  }
}

function checkPage(page: number): void {
  if (!Number.isSafeInteger(page) || page < 1 || page > MAX_PAGE) throw new InvalidInputError('No such page.');
}

function isDocumentTouch(file: FileTouch): boolean {
  return isDocumentPath(file.path, file.mode);
}

/** A commit's facts as a reader sees them: without message and author unless `shown` (commitVisibility). */
export function shownFacts<T extends CommitFacts>(facts: T, shown: boolean): T {
  return shown ? facts : { ...facts, authorName: '', authorEmail: '', subject: null };
}

/** The title of the document a version became, when it is still at the path it had then. */
function titleAt(snapshot: Snapshot, fate: VersionFate, path: string): string | null {
  return fate.currentPath === path ? (snapshot.documents.get(path)?.meta.title ?? null) : null;
}

function factsOf(commit: CommitWithFiles): CommitFacts {
  return {
    commit: commit.oid,
    shortId: commit.oid.slice(0, 8),
    authorName: commit.author.name,
    authorEmail: commit.author.email,
    time: commit.author.time,
    subject: commit.subject,
  };
}

function auditedReads(reads: { path: string; commit: string; classification: Classification }[]): VersionRead[] {
  return reads.flatMap((r) =>
    r.classification === 'confidential' || r.classification === 'restricted' ? [{ ...r, classification: r.classification }] : [],
  );
}
