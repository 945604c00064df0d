/**
 * Who may see which versions of a document. A version is shown only to a reader who may read the document's
 * classification now AND the classification that version had, so downgrading a document never opens its past.
 * "Now" follows the path forward through renames; for a deleted document it is its last version.
 */
import type { Actor } from '../access/actor.ts';
import { authorize } from '../access/authorize.ts';
import { can, type Grants, type Resource } from '../access/policy.ts';
import { classificationOf, stricter } from '../content/classification.ts';
import { isDocumentPath } from '../content/document-path.ts';
import type { Classification } from '../content/types.ts';
import { lastChangeOf, pathChanges, renamesIn, successorOf, type CommitWithFiles, type FileTouch } from '../git/file-history.ts';
import type { Repository } from '../git/repository.ts';
import type { ProjectRecord } from '../projects/projects.ts';
import type { Snapshot } from '../projects/snapshot.ts';

const CLASSIFICATION_CACHE_LIMIT = 5000;

/** Classifications of blobs (by blob id), read through the repository's cat-file reader and remembered. */
export class VersionClassifier {
  readonly #byBlob = new Map<string, Classification>();

  /** The classification a version declares; `restricted` when its front matter is invalid (as the renderer does). */
  async of(repository: Repository, path: string, blob: string): Promise<Classification> {
    const known = this.#byBlob.get(blob);
    if (known) return known;
    const source = (await repository.readBlob(blob)).toString('utf8');
    const classification = classificationOf(source);
    if (this.#byBlob.size >= CLASSIFICATION_CACHE_LIMIT) this.#byBlob.clear();
    this.#byBlob.set(blob, classification);
    return classification;
  }
}

/** The current state of the document that had `path` at some point: its classification now, if it exists. */
export interface CurrentDocument {
  /** Its path at the published head, or null when it was deleted. */
  path: string | null;
  /** Its classification now, or (when deleted) that of its last version; null when nothing is known. */
  classification: Classification | null;
}

/** Finds the document a path became at the published head, following renames forward. */
export async function currentDocumentOf(
  repository: Repository,
  snapshot: Snapshot,
  classifier: VersionClassifier,
  path: string,
): Promise<CurrentDocument> {
  const published = snapshot.documents.get(path);
  if (published) return { path, classification: published.meta.classification };
  if (!snapshot.commit) return { path: null, classification: null };
  const successor = await successorOf(repository, snapshot.commit, path);
  if (successor.kind === 'present') {
    const doc = snapshot.documents.get(successor.path);
    // present in git but not a document of the snapshot (e.g. renamed to a non-Markdown name): restricted
    return { path: successor.path, classification: doc ? doc.meta.classification : 'restricted' };
  }
  return {
    path: null,
    classification: successor.lastBlob ? await classifier.of(repository, successor.path, successor.lastBlob) : null,
  };
}

/** May `actor` read a document of `classification` at `path` (grants count for the document's current path)? */
export function mayRead(actor: Actor, project: ProjectRecord, classification: Classification, path: string | null, grants: Grants): boolean {
  return can(actor, 'read', readResource(project, classification, path, grants));
}

/** Refuses (404, audited: authorize) a reader who may not read a document of `classification` at `path`. */
export function assertMayRead(actor: Actor, project: ProjectRecord, classification: Classification, path: string | null, grants: Grants): void {
  authorize(actor, 'read', readResource(project, classification, path, grants));
}

function readResource(project: ProjectRecord, classification: Classification, path: string | null, grants: Grants): Resource {
  return { kind: 'document', orgId: project.orgId, classification, projectId: project.id, ...(path !== null ? { path } : {}), grants };
}

/** May `actor` edit (and so restore) a document of `classification`? */
export function mayEdit(actor: Actor, project: ProjectRecord, classification: Classification): boolean {
  return can(actor, 'edit', { kind: 'document', orgId: project.orgId, classification });
}

/** What became of one version of a document by the published head. */
export interface VersionFate {
  /** Where that document is now (after any renames), or null when it was deleted. */
  currentPath: string | null;
  /** Its classification now (for a deleted document: that of its last version). */
  current: Classification;
  /** The strictest classification among that version and every later version of the same document. */
  strictest: Classification;
}

/** Renames followed forward before giving up (and failing closed). */
const MAX_FORWARD_HOPS = 16;
/** Commits read per batch of paths; a longer history fails closed for versions older than that. */
const LINEAGE_LIMIT = 20_000;
const CLOSED: VersionFate = { currentPath: null, current: 'restricted', strictest: 'restricted' };

interface Touch {
  oid: string;
  parent: string | null;
  file: FileTouch;
}

/**
 * The later life of document versions, for one request at one published head. A version belongs to the
 * document that was at its path when it was written, whatever lives at that path now: from the version's
 * commit, the path's later changes are followed forward, and where a commit removes the path and git's rename
 * detection sees it moved, the document is followed to its new path. A removal that is not a rename ends the
 * document; anything created at the path afterwards is another document. Whatever cannot be followed
 * (too many renames, a history too long to read, a commit not on the path's history) counts as restricted.
 * Nothing in it depends on the reader, so one lineage serves every request at the same head (ProjectHistory
 * keeps a few).
 */
export class DocumentLineage {
  readonly #timelines = new Map<string, Touch[]>();
  readonly #renames = new Map<string, Promise<Map<string, string>>>();
  readonly #fates = new Map<string, Promise<VersionFate>>();
  readonly #byIndex = new Map<string, Promise<VersionFate>[]>();
  readonly #loading = new Map<string, Promise<void>>();
  #failed = false;

  constructor(
    private readonly repository: Repository,
    private readonly snapshot: Snapshot,
    private readonly classifier: VersionClassifier,
  ) {}

  /** True when this lineage describes `repository` at `head` and no lookup failed: it can serve a new request. */
  servesFor(repository: Repository, head: string | null): boolean {
    return this.repository === repository && this.snapshot.commit === head && !this.#failed;
  }

  /** Reads the changes of these paths in one git call (later lookups of them cost nothing). */
  async load(paths: Iterable<string>): Promise<void> {
    const wanted = [...new Set(paths)];
    const missing = wanted.filter((p) => !this.#loading.has(p));
    if (missing.length > 0 && this.snapshot.commit) {
      const batch = pathChanges(this.repository, this.snapshot.commit, missing, LINEAGE_LIMIT).then((commits) => {
        const timelines = new Map<string, Touch[]>(missing.map((p) => [p, []]));
        for (const commit of commits) {
          for (const file of commit.files) timelines.get(file.path)?.push({ oid: commit.oid, parent: commit.parents[0] ?? null, file });
        }
        for (const [path, timeline] of timelines) this.#timelines.set(path, timeline);
      });
      batch.catch(() => {
        this.#failed = true;
      });
      for (const path of missing) this.#loading.set(path, batch);
    }
    await Promise.all(wanted.map((p) => this.#loading.get(p) ?? Promise.resolve()));
  }

  /**
   * The fate of the version of `path` at `commit` (the version that commit has, or, when the commit removed the
   * path, the document it removed). Restricted when it cannot be told.
   */
  fate(commit: string, path: string): Promise<VersionFate> {
    const key = `${commit}\0${path}`;
    let found = this.#fates.get(key);
    if (!found) {
      found = this.#follow(commit, path, 0).catch(() => {
        this.#failed = true;
        return CLOSED;
      });
      this.#fates.set(key, found);
    }
    return found;
  }

  async #follow(commit: string, path: string, hops: number): Promise<VersionFate> {
    if (hops > MAX_FORWARD_HOPS || !this.snapshot.commit) return CLOSED;
    await this.load([path]);
    const timeline = this.#timelines.get(path);
    if (!timeline) return CLOSED;
    let index = timeline.findIndex((t) => t.oid === commit);
    if (index < 0) {
      // the commit did not change the path: its version is the one of the path's last change before it
      const last = await lastChangeOf(this.repository, commit, path);
      index = last ? timeline.findIndex((t) => t.oid === last) : -1;
    }
    // not found: not on this path's history as far as it was read (LINEAGE_LIMIT), or no version there
    if (index < 0) return CLOSED;
    // the fates of the path's changes, newest first, each built on the next newer one: computed once per path
    let fates = this.#byIndex.get(path);
    if (!fates) this.#byIndex.set(path, (fates = []));
    for (let k = fates.length; k <= index; k++) {
      const fate = this.#fateOfChange(path, timeline[k]!, k === 0 ? null : fates[k - 1]!, hops);
      fate.catch(() => {}); // awaited later (by the next older change or a caller), never left unhandled
      fates.push(fate);
    }
    return fates[index]!;
  }

  /** The fate of the version a change left (or of the document a removal ended), given the next newer change's. */
  async #fateOfChange(path: string, change: Touch, newer: Promise<VersionFate> | null, hops: number): Promise<VersionFate> {
    const { oid, parent, file } = change;
    const blob = file.newBlob ?? file.oldBlob;
    if (!blob || !isDocumentPath(path, file.mode)) return CLOSED;
    const own = await this.classifier.of(this.repository, path, blob);
    if (file.newBlob) {
      if (newer) {
        const next = await newer;
        return { ...next, strictest: stricter(own, next.strictest) };
      }
      // the newest change: the document is at this path at the head
      const published = this.snapshot.documents.get(path);
      const current = published ? published.meta.classification : own;
      return { currentPath: path, current, strictest: stricter(own, current) };
    }
    // removed here: moved (followed to its new path) or deleted (the end of this document)
    const moved = (await this.#renamesOf(oid, parent)).get(path);
    if (moved === undefined) return { currentPath: null, current: own, strictest: own };
    if (!isDocumentPath(moved)) return CLOSED;
    const next = await this.#follow(oid, moved, hops + 1);
    return { ...next, strictest: stricter(own, next.strictest) };
  }

  #renamesOf(commit: string, parent: string | null): Promise<Map<string, string>> {
    let found = this.#renames.get(commit);
    if (!found) this.#renames.set(commit, (found = renamesIn(this.repository, commit, parent)));
    return found;
  }
}

/** Who may see a commit: the reader, in the project, with their grants. */
export interface CommitReader {
  actor: Actor;
  project: ProjectRecord;
  grants: Grants;
}

/** A document a commit changed, with whether this reader may read both its versions and everything they became. */
export interface TouchedVersion {
  file: FileTouch;
  fate: VersionFate;
  readable: boolean;
}

/** What of a commit a reader may see. */
export interface CommitVisibility {
  /** True when the reader may see the commit's message, author and the paths it touched. */
  shown: boolean;
  /** The documents it changed (only for the caller's filtering: never show paths when `shown` is false). */
  documents: TouchedVersion[];
  /** Files that are not documents. */
  otherFiles: number;
}

/**
 * THE rule for every page that shows a commit (blob, compare, a document's history, the project's commits,
 * restores): a commit's message, author and the paths it touched are shown only to a reader who may read every
 * document it touched, on both sides of the change, and what each became later (DocumentLineage), at its
 * current path (where grants apply). Anything else shows at most its time and id.
 */
export async function commitVisibility(reader: CommitReader, lineage: DocumentLineage, classifier: VersionClassifier, repository: Repository, commit: CommitWithFiles): Promise<CommitVisibility> {
  const files = commit.files.filter((f) => isDocumentPath(f.path, f.mode));
  await lineage.load(files.map((f) => f.path));
  const documents: TouchedVersion[] = [];
  for (const file of files) {
    const fate = await lineage.fate(commit.oid, file.path);
    const before = file.oldBlob ? await classifier.of(repository, file.path, file.oldBlob).catch(() => 'restricted' as const) : fate.strictest;
    const readable = mayRead(reader.actor, reader.project, stricter(before, fate.strictest), fate.currentPath, reader.grants);
    documents.push({ file, fate, readable });
  }
  return {
    shown: documents.every((d) => d.readable),
    documents,
    otherFiles: commit.files.length - files.length,
  };
}

/** May the reader read the version of `path` at `commit`, whose own classification is `own`? (see VersionFate) */
export function mayReadVersion(reader: CommitReader, own: Classification, fate: VersionFate): boolean {
  return mayRead(reader.actor, reader.project, stricter(own, fate.strictest), fate.currentPath, reader.grants);
}

/** `mayReadVersion`, refusing (404, audited: authorize) when not. */
export function assertMayReadVersion(reader: CommitReader, own: Classification, fate: VersionFate): void {
  assertMayRead(reader.actor, reader.project, stricter(own, fate.strictest), fate.currentPath, reader.grants);
}
