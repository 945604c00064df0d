import type { BranchMoved, BranchMoveListener } from '../changes/branch-moved.ts';
import { isDocumentPath, isRegularFileMode } from '../content/document-path.ts';
import { parseFrontMatter } from '../content/front-matter.ts';
import { titleFromPath } from '../content/humanize.ts';
import type { AcknowledgeAudience, Classification } from '../content/types.ts';
import { withOrg, type Db } from '../db/connection.ts';
import type { Repository } from '../git/repository.ts';
import type { PathEntry } from '../git/tree-walk.ts';
import { PUBLISHED_BRANCH } from '../content/published-branch.ts';
import type { RepositoryRegistry } from '../projects/repositories.ts';
import { isEditorialMessage } from './editorial-trailer.ts';

/** Commits walked back from a new head to decide whether a change was editorial; beyond it, it is not. */
const MAX_COMMITS_WALKED = 200;
/** Paths per statement when documents stop asking (a deleted folder, an import). */
const STOP_BATCH = 2000;

const PUBLISHED_REF = `refs/heads/${PUBLISHED_BRANCH}`;

/** What a version of a document asks for, read from its front matter. */
interface AskingVersion {
  path: string;
  blobId: string;
  title: string;
  classification: Classification;
  audience: AcknowledgeAudience;
}

/**
 * The branch-move listener of acknowledgments: when the published branch moves, every changed document that
 * asks for acknowledgment (front matter `acknowledge:`) gets its new version recorded, with whether that version
 * requires re-acknowledgment (the default) or is an editorial change (every commit that changed the document
 * since the previous head carries the trailer `Acknowledgment: not-required`). A document whose new version no
 * longer asks (key removed, document deleted or moved away) stops asking.
 *
 * Idempotent and order-safe (delivery is at least once, a retry may arrive after a later move): a move older than
 * the one a document last saw changes nothing, and a version is recorded once per commit.
 */
export class AcknowledgmentVersions implements BranchMoveListener {
  readonly name = 'acknowledgment-versions';

  constructor(
    private readonly db: Db,
    private readonly repositories: RepositoryRegistry,
  ) {}

  async handle(event: BranchMoved): Promise<void> {
    if (event.ref !== PUBLISHED_REF) return;
    const project = await withOrg(this.db, event.orgId, (trx) =>
      trx.selectFrom('projects').select(['id', 'repo_dir']).where('org_id', '=', event.orgId).where('id', '=', event.projectId).executeTakeFirst(),
    );
    if (!project) return;
    const repository = await this.repositories.get({ id: project.id, repoDir: project.repo_dir });
    const candidates = await this.pathsToCheck(repository, event);
    const notAsking: string[] = [];
    for (const [path, entry] of candidates) {
      const asking = entry === null ? null : await this.askingVersion(repository, path, entry);
      if (asking === null) notAsking.push(path);
      else await this.recordVersion(repository, event, asking);
    }
    await this.stopAsking(event, notAsking);
  }

  /**
   * The changed documents, or (for a move listing too many paths) every document now and every one that asked,
   * each with its entry in the new head (null: not there). One tree walk for the move, or one listing for a
   * truncated move (an import of 10,000 documents), not a walk from the root per path.
   */
  private async pathsToCheck(repository: Repository, event: BranchMoved): Promise<Map<string, PathEntry | null>> {
    const found = new Map<string, PathEntry | null>();
    if (!event.pathsTruncated && event.newCommit !== null) {
      const walker = repository.treeWalker();
      const tree = (await repository.readCommit(event.newCommit)).tree;
      for (const path of event.changedPaths) {
        if (isDocumentPath(path)) found.set(path, (await walker.lookup(tree, path)).entry);
      }
      return found;
    }
    const known = await withOrg(this.db, event.orgId, (trx) =>
      trx.selectFrom('ack_documents').select('path').where('project_id', '=', event.projectId).where('active', '=', true).execute(),
    );
    for (const row of known) found.set(row.path, null);
    if (event.newCommit !== null) {
      for (const entry of await repository.listTree(event.newCommit)) {
        if (entry.type === 'blob' && isDocumentPath(entry.path)) found.set(entry.path, entry);
      }
    }
    return found;
  }

  /** The version at `path` (its entry in the new head) when it asks for acknowledgment, else null. */
  private async askingVersion(repository: Repository, path: string, entry: Pick<PathEntry, 'type' | 'mode' | 'oid'>): Promise<AskingVersion | null> {
    if (entry.type !== 'blob' || !isRegularFileMode(entry.mode)) return null;
    const source = (await repository.readBlob(entry.oid)).toString('utf8');
    // Most documents ask nothing: a header without the key (and without an escape that could spell it) is not
    // parsed again here. Exact: YAML can only name the key with these letters or with a backslash escape.
    if (!source.includes('acknowledge') && !source.includes('\\')) return null;
    const { data } = parseFrontMatter(path, source);
    // an invalid header asks nothing (readers see the document as restricted until it is fixed)
    if (!data?.acknowledge) return null;
    return {
      path,
      blobId: entry.oid,
      title: data.title ?? titleFromPath(path),
      classification: data.classification,
      audience: data.acknowledge,
    };
  }

  /** Documents that no longer ask stop asking: one statement per few thousand paths, not a transaction per path. */
  private async stopAsking(event: BranchMoved, paths: readonly string[]): Promise<void> {
    for (let start = 0; start < paths.length; start += STOP_BATCH) {
      const batch = paths.slice(start, start + STOP_BATCH);
      await withOrg(this.db, event.orgId, (trx) =>
        trx
          .updateTable('ack_documents')
          .set({ active: false, moved_at: event.at, move_id: event.id })
          .where('project_id', '=', event.projectId)
          .where('path', 'in', batch)
          .where('active', '=', true)
          .where('moved_at', '<=', new Date(event.at))
          .execute(),
      );
    }
  }

  private async recordVersion(repository: Repository, event: BranchMoved, version: AskingVersion): Promise<void> {
    const newCommit = event.newCommit!;
    // decided before the transaction (git reads); used only when the document already asked
    let editorial: boolean | null = null;
    const isEditorial = async () => (editorial ??= await editorialChange(repository, event.oldCommit, newCommit, version.path));
    const previous = await this.documentState(event, version.path);
    if (previous && previous.active && previous.blobId !== version.blobId) await isEditorial();

    await withOrg(this.db, event.orgId, async (trx) => {
      const current = await trx
        .selectFrom('ack_documents')
        .innerJoin('ack_versions', 'ack_versions.id', 'ack_documents.current_version')
        .select(['ack_documents.active', 'ack_documents.moved_at', 'ack_documents.move_id', 'ack_documents.required_version', 'ack_versions.blob_id'])
        .where('ack_documents.project_id', '=', event.projectId)
        .where('ack_documents.path', '=', version.path)
        .forUpdate()
        .executeTakeFirst();
      // a retried or late delivery of an older move changes nothing
      if (current && (current.moved_at.getTime() > Date.parse(event.at) || current.move_id === event.id)) return;
      const continuing = current !== undefined && current.active;
      const unchanged = continuing && current.blob_id === version.blobId;
      const requiresAck = !continuing || (!unchanged && !(editorial ?? false));
      let versionId: string;
      if (unchanged) {
        versionId = '';
      } else {
        await trx
          .insertInto('ack_versions')
          .values({
            org_id: event.orgId,
            project_id: event.projectId,
            path: version.path,
            commit_id: newCommit,
            blob_id: version.blobId,
            requires_ack: requiresAck,
            published_at: event.at,
          })
          .onConflict((oc) => oc.columns(['project_id', 'path', 'commit_id']).doNothing())
          .execute();
        const row = await trx
          .selectFrom('ack_versions')
          .select(['id', 'requires_ack'])
          .where('project_id', '=', event.projectId)
          .where('path', '=', version.path)
          .where('commit_id', '=', newCommit)
          .executeTakeFirstOrThrow();
        versionId = String(row.id);
      }
      const fields = {
        active: true,
        title: version.title,
        classification: version.classification,
        audience: version.audience === 'everyone' ? ['everyone'] : [...version.audience],
        moved_at: event.at,
        move_id: event.id,
      };
      if (!current) {
        await trx
          .insertInto('ack_documents')
          .values({ org_id: event.orgId, project_id: event.projectId, path: version.path, ...fields, current_version: versionId, required_version: versionId })
          .execute();
        return;
      }
      await trx
        .updateTable('ack_documents')
        .set({
          ...fields,
          ...(unchanged ? {} : { current_version: versionId }),
          ...(requiresAck && !unchanged ? { required_version: versionId } : {}),
        })
        .where('project_id', '=', event.projectId)
        .where('path', '=', version.path)
        .execute();
    });
  }

  private async documentState(event: BranchMoved, path: string): Promise<{ active: boolean; blobId: string } | null> {
    const row = await withOrg(this.db, event.orgId, (trx) =>
      trx
        .selectFrom('ack_documents')
        .innerJoin('ack_versions', 'ack_versions.id', 'ack_documents.current_version')
        .select(['ack_documents.active', 'ack_versions.blob_id'])
        .where('ack_documents.project_id', '=', event.projectId)
        .where('ack_documents.path', '=', path)
        .executeTakeFirst(),
    );
    return row ? { active: row.active, blobId: row.blob_id } : null;
  }
}

/**
 * True when every commit from `oldCommit` (exclusive) to `newCommit` that changed `path` says it is editorial, and
 * at least one did. Walks first parents; a history that does not lead back to `oldCommit` within a few hundred
 * commits (a rewritten branch, a huge push) counts as material: asking again is the safe side.
 */
export async function editorialChange(repository: Repository, oldCommit: string | null, newCommit: string, path: string): Promise<boolean> {
  if (oldCommit === null) return false;
  let commit: string | undefined = newCommit;
  let touched = false;
  for (let walked = 0; commit !== undefined && commit !== oldCommit; walked++) {
    if (walked >= MAX_COMMITS_WALKED) return false;
    const info = await repository.readCommit(commit);
    const parent = info.parents[0];
    const now = (await repository.entryAt(commit, path))?.oid ?? null;
    const before = parent === undefined ? null : ((await repository.entryAt(parent, path))?.oid ?? null);
    if (now !== before) {
      if (!isEditorialMessage(info.message)) return false;
      touched = true;
    }
    commit = parent;
  }
  return commit === oldCommit && touched;
}
