/**
 * Who may see which versions of a document. A version is shown only to a reader who may read the document's
 * classification now AND the classification that version had, so downgrading a document never opens its past.
 * "Now" follows the path forward through renames; for a deleted document it is its last version.
 */
import type { Actor } from '../access/actor.ts';
import { can } from '../access/policy.ts';
import { parseFrontMatter } from '../content/front-matter.ts';
import type { Classification } from '../content/types.ts';
import { NotAuthenticatedError, NotFoundError } from '../errors.ts';
import { successorOf } from '../git/file-history.ts';
import type { Repository } from '../git/repository.ts';
import type { ProjectRecord } from '../projects/projects.ts';
import type { Snapshot } from '../projects/snapshot.ts';

/** Live access grants of the reader in the project (`projectId:path` keys). */
export type Grants = ReadonlySet<string>;

/** The file modes of regular files: symlinks and submodules are never documents. */
export const REGULAR_FILE_MODES = new Set(['100644', '100755']);

/** True when a repository path and mode name a document (a regular Markdown file, as the publisher decides). */
export function isDocumentPath(path: string, mode = '100644'): boolean {
  return REGULAR_FILE_MODES.has(mode) && /\.md$/i.test(path) && !path.startsWith('-/');
}

/**
 * History pages are for members: they name authors and show past text. Anonymous readers are asked to sign
 * in (NotAuthenticatedError), everyone else outside the organization gets the one 404.
 */
export function assertHistoryReader(actor: Actor, project: ProjectRecord | null): asserts project is ProjectRecord {
  if (actor.kind !== 'user') throw new NotAuthenticatedError();
  if (!project || !can(actor, 'read', { kind: 'project', orgId: project.orgId })) throw new NotFoundError();
}

const CLASSIFICATION_CACHE_LIMIT = 5000;

/** Classifications of blobs (by blob id), read through the repository's cat-file reader and remembered. */
export class VersionClassifier {
  readonly #byBlob = new Map<string, Classification>();

  /** The classification a version declares; `restricted` when its front matter is invalid (as the renderer does). */
  async of(repository: Repository, path: string, blob: string): Promise<Classification> {
    const known = this.#byBlob.get(blob);
    if (known) return known;
    const source = (await repository.readBlob(blob)).toString('utf8');
    const classification = classificationOfSource(path, source);
    if (this.#byBlob.size >= CLASSIFICATION_CACHE_LIMIT) this.#byBlob.clear();
    this.#byBlob.set(blob, classification);
    return classification;
  }
}

/** The classification declared by a document's source (invalid front matter counts as restricted). */
export function classificationOfSource(path: string, source: string): Classification {
  const { data } = parseFrontMatter(path, source);
  return data?.classification ?? 'restricted';
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
  return can(actor, 'read', {
    kind: 'document',
    orgId: project.orgId,
    classification,
    projectId: project.id,
    ...(path !== null ? { path } : {}),
    grants,
  });
}

/** May `actor` edit (and so restore) a document of `classification`? */
export function mayEdit(actor: Actor, project: ProjectRecord, classification: Classification): boolean {
  return can(actor, 'edit', { kind: 'document', orgId: project.orgId, classification });
}
