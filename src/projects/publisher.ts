import { createHash } from 'node:crypto';
import { isDocumentPath } from '../content/document-path.ts';
import { PUBLISHED_REF } from '../content/published-branch.ts';
import { RENDERER_VERSION } from '../content/render-document.ts';
import type { Kysely } from 'kysely';
import { withOrg, type Db } from '../db/connection.ts';
import type { Database } from '../db/schema.ts';
import type { Repository } from '../git/repository.ts';
import { setPublished, type ProjectRecord } from './projects.ts';
import { parseJson, RenderedStore, versionKey, type DocumentVersion } from './rendered-store.ts';
import type { RepositoryRegistry } from './repositories.ts';
import { Snapshot, type DocumentMeta, type SnapshotAttachment, type SnapshotDocument } from './snapshot.ts';
import { attachmentsOf, isAttachmentEntry } from './attachments.ts';
import type { TrustedHtml } from '../content/trusted-html.ts';
import { timedOperation } from '../observability/operations.ts';
import { SINGLE_PROCESS, type ProcessBus } from '../cluster/process-bus.ts';

/** Quiet time after an incremental publish before its snapshot row is written. */
const SNAPSHOT_ROW_DELAY_MS = 2000;

/** Which tree entries are documents: regular Markdown files (symlinks and submodules are never followed). */
const isDocumentEntry = (e: { mode: string; type: string; path: string }) => e.type === 'blob' && isDocumentPath(e.path, e.mode);

/** The git blob id of `content` (what `git hash-object` prints in a SHA-1 repository). */
export function gitBlobId(content: Buffer): string {
  return createHash('sha1').update(`blob ${content.length}\0`).update(content).digest('hex');
}

/**
 * Keeps each project's published snapshot current: reads the branch head, has only the documents whose blobs
 * are new rendered (the rendered store, rendered-store.ts, keeps every version by path, blob id and renderer
 * version), stores the snapshot, and swaps it in for readers. One publish per project runs at a time.
 *
 * A publish after the first one is incremental: a tree diff (`Repository.diffTrees`) between the published tree
 * and the new one names the changed paths, and the new snapshot is the previous one with those documents
 * replaced (its clearance views are carried over when navigation cannot have changed). Its cost grows with the
 * change, not the project.
 */
export class Publisher {
  private readonly current = new Map<string, Snapshot>();
  private readonly running = new Map<string, Promise<Snapshot>>();
  /** Metadata rendered ahead of a commit (`prerender`), by project and `path\0blob`; used by the next publish. */
  private readonly prepared = new Map<string, Map<string, DocumentMeta>>();
  private readonly store: RenderedStore;

  /**
   * @param htmlRoot folder of the rendered HTML (DATA/rendered, see html-packs.ts); the database keeps each
   *   document's metadata and where its HTML is.
   */
  constructor(
    private readonly db: Db,
    private readonly repositories: RepositoryRegistry,
    htmlRoot: string,
    /** Tells the other processes of the database about each publish (cluster/process-bus.ts). */
    private readonly bus: ProcessBus = SINGLE_PROCESS,
  ) {
    this.store = new RenderedStore(db, repositories, htmlRoot);
  }

  /** The snapshot readers see now, or null before the first publish. */
  snapshotOf(projectId: string): Snapshot | null {
    return this.current.get(projectId) ?? null;
  }

  /** Drop a deleted project's snapshot (readers get 404 at once); waits for a publish in progress. */
  async forget(projectId: string): Promise<void> {
    await this.running.get(projectId)?.catch(() => null);
    this.current.delete(projectId);
    this.prepared.delete(projectId);
    clearTimeout(this.storeTimers.get(projectId));
    this.storeTimers.delete(projectId);
  }

  /** Bring the project's snapshot up to its branch head (no-op when already there). */
  publish(project: ProjectRecord): Promise<Snapshot> {
    return this.queue(project, false);
  }

  /**
   * Bring this process's snapshot up to the branch head another process published (cluster/follow.ts): the same
   * work from the shared repositories and rendered store, without writing the publication again or announcing it.
   */
  follow(project: ProjectRecord): Promise<Snapshot> {
    return this.queue(project, true);
  }

  /** Projects this process holds a snapshot of. */
  heldProjects(): string[] {
    return [...this.current.keys()];
  }

  private queue(project: ProjectRecord, follow: boolean): Promise<Snapshot> {
    const previous = this.running.get(project.id) ?? Promise.resolve(null);
    const next = previous.catch(() => null).then(() => timedOperation('publish', () => this.publishNow(project, follow)));
    this.running.set(project.id, next);
    void next.finally(() => {
      if (this.running.get(project.id) === next) this.running.delete(project.id);
    }).catch(() => {});
    return next;
  }

  /**
   * Render and store documents that are about to be committed (a folder import renders while git writes the
   * commit). Keyed by the blob id git will give each file, so the publish after the commit finds them; a file
   * whose id differs (or that is not committed after all) is simply rendered by that publish, or never used.
   */
  async prerender(project: ProjectRecord, files: readonly { path: string; content: Buffer }[]): Promise<Map<string, DocumentMeta>> {
    // Contents by key, each dropped once read: after the commit, this is the last reference to a file's bytes.
    const contents = new Map<string, Buffer>();
    const wanted: DocumentVersion[] = [];
    for (const file of files) {
      if (!isDocumentPath(file.path)) continue;
      const pending = { path: file.path, blobId: gitBlobId(file.content) };
      wanted.push(pending);
      contents.set(versionKey(pending.path, pending.blobId), file.content);
    }
    const known = await this.store.loadMetas(project, wanted);
    const prepared = this.preparedFor(project.id);
    // what this call found or rendered, by path and blob (the map above is dropped by the next publish)
    const metas = new Map<string, DocumentMeta>();
    for (const [key, meta] of known) {
      prepared.set(key, meta);
      metas.set(key, meta);
      contents.delete(key);
    }
    const missing = wanted.filter((w) => contents.has(versionKey(w.path, w.blobId)));
    const take = (doc: DocumentVersion): string => {
      const key = versionKey(doc.path, doc.blobId);
      const content = contents.get(key)!;
      contents.delete(key);
      return content.toString('utf8');
    };
    await this.store.renderAndStore(project, missing, async (m) => take(m), (doc, meta) => {
      prepared.set(versionKey(doc.path, doc.blobId), meta);
      metas.set(versionKey(doc.path, doc.blobId), meta);
    });
    return metas;
  }

  private preparedFor(projectId: string): Map<string, DocumentMeta> {
    let map = this.prepared.get(projectId);
    if (!map) {
      map = new Map();
      this.prepared.set(projectId, map);
    }
    return map;
  }

  private async publishNow(project: ProjectRecord, follow: boolean): Promise<Snapshot> {
    try {
      return await this.publishHead(project, follow);
    } finally {
      this.prepared.delete(project.id);
    }
  }

  private async publishHead(project: ProjectRecord, follow: boolean): Promise<Snapshot> {
    const repository = await this.repositories.get(project);
    const commit = await repository.resolveCommit(PUBLISHED_REF);
    const known = this.current.get(project.id);
    if (known && known.commit === commit) return known;
    if (!commit) return this.install(project, new Snapshot(project.id, null, null, new Map()), known);

    const { tree } = await repository.readCommit(commit);
    let snapshot: Snapshot;
    let store = true;
    if (known?.tree) {
      snapshot = await this.updateSnapshot(project, repository, known, commit, tree);
    } else {
      const stored = await this.loadStoredSnapshot(project, repository, tree, commit);
      store = stored === null;
      snapshot = stored ?? (await this.buildSnapshot(project, repository, commit, tree));
    }
    // Readers get the new snapshot first; then it is recorded. A snapshot built in full is stored at once (a
    // restart loads it without rendering); after an incremental publish the row (every path and blob, ~70 bytes
    // a document) is written a moment later, once per burst of commits: until then a restart rebuilds the
    // snapshot from the rendered_documents rows, which are already stored.
    this.install(project, snapshot, known);
    if (follow) return snapshot;
    const incremental = known?.tree != null;
    await withOrg(this.db, project.orgId, async (trx) => {
      if (store && !incremental) await insertSnapshotRow(trx, project, snapshot);
      await setPublished(trx, project, commit, tree);
      // delivered to the other processes when this commits: they follow the branch head
      await this.bus.send(trx, { t: 'published', o: project.orgId, p: project.id, c: commit });
    });
    if (store && incremental) this.storeLater(project);
    return snapshot;
  }

  private readonly storeTimers = new Map<string, NodeJS.Timeout>();

  /** Store the project's current snapshot row after a quiet moment (see publishHead). */
  private storeLater(project: ProjectRecord): void {
    clearTimeout(this.storeTimers.get(project.id));
    const timer = setTimeout(() => {
      this.storeTimers.delete(project.id);
      const snapshot = this.current.get(project.id);
      if (!snapshot?.tree) return;
      // A cache row: if it cannot be written (database closed, shutting down), a restart rebuilds it.
      void withOrg(this.db, project.orgId, (trx) => insertSnapshotRow(trx, project, snapshot)).catch(() => {});
    }, SNAPSHOT_ROW_DELAY_MS);
    timer.unref();
    this.storeTimers.set(project.id, timer);
  }

  private install(project: ProjectRecord, snapshot: Snapshot, previous: Snapshot | undefined): Snapshot {
    // Views and broken links the previous snapshot had are built before the swap: the first reader waits for nothing.
    snapshot.prepareLike(previous ?? null);
    this.current.set(project.id, snapshot);
    return snapshot;
  }

  /** The published snapshot moved from `known` to `tree`: apply the tree diff to it. */
  private async updateSnapshot(
    project: ProjectRecord,
    repository: Repository,
    known: Snapshot,
    commit: string,
    tree: string,
  ): Promise<Snapshot> {
    const changes = known.tree === tree ? [] : await repository.diffTrees(known.tree, tree);
    const removed = new Set<string>();
    const wanted: DocumentVersion[] = [];
    const attachments = { upserts: [] as SnapshotAttachment[], removed: new Set<string>() };
    for (const change of changes) {
      const entry = { mode: change.newMode, type: change.newMode === '160000' ? ('commit' as const) : ('blob' as const), path: change.path };
      const isDocument = change.status !== 'D' && isDocumentEntry(entry);
      if (isDocument) wanted.push({ path: change.path, blobId: change.newOid });
      else if (known.documents.has(change.path)) removed.add(change.path);
      // attachments: sizes are not in a tree diff (null: the server reads the blob to learn it)
      if (change.status !== 'D' && isAttachmentEntry(entry)) attachments.upserts.push({ path: change.path, blobId: change.newOid, size: null });
      else if (known.attachments.has(change.path)) attachments.removed.add(change.path);
    }
    const metas = await this.resolveMetas(project, repository, wanted);
    const upserts = wanted.map((w) => ({ path: w.path, blobId: w.blobId, meta: metas.get(versionKey(w.path, w.blobId))! }));
    return Snapshot.derive(known, commit, tree, upserts, removed, attachments, { succeeds: true });
  }

  /** A snapshot of this tree built earlier (e.g. before a restart), with its documents' metadata. */
  private async loadStoredSnapshot(project: ProjectRecord, repository: Repository, tree: string, commit: string): Promise<Snapshot | null> {
    const row = await withOrg(this.db, project.orgId, (trx) =>
      trx
        .selectFrom('snapshots')
        .select('documents')
        .where('project_id', '=', project.id)
        .where('tree_id', '=', tree)
        .where('renderer_version', '=', RENDERER_VERSION)
        .executeTakeFirst(),
    );
    if (!row) return null;
    const entries = parseJson<[string, string][]>(row.documents);
    const metas = await this.store.loadMetas(project, entries.map(([path, blobId]) => ({ path, blobId })));
    if (metas.size !== entries.length) return null; // cache rows missing: rebuild
    const documents = new Map<string, SnapshotDocument>();
    for (const [path, blobId] of entries) documents.set(path, { path, blobId, meta: metas.get(versionKey(path, blobId))! });
    return new Snapshot(project.id, commit, tree, documents, undefined, attachmentsOf(await repository.listTree(tree)));
  }

  /** Every document of the tree, from the caches where possible (first publish in this process). */
  private async buildSnapshot(project: ProjectRecord, repository: Repository, commit: string, tree: string): Promise<Snapshot> {
    const listing = await repository.listTree(tree);
    const entries = listing.filter(isDocumentEntry);
    entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    const wanted = entries.map((e) => ({ path: e.path, blobId: e.oid }));
    const metas = await this.resolveMetas(project, repository, wanted);
    const documents = new Map<string, SnapshotDocument>();
    for (const w of wanted) documents.set(w.path, { path: w.path, blobId: w.blobId, meta: metas.get(versionKey(w.path, w.blobId))! });
    return new Snapshot(project.id, commit, tree, documents, undefined, attachmentsOf(listing));
  }

  /**
   * Metadata of document versions of the project, by `path\0blob` (versionKey): from the rendered store, rendered
   * and stored when missing (older versions: the version in effect, a date's view).
   */
  async metasOf(project: ProjectRecord, versions: readonly DocumentVersion[]): Promise<Map<string, DocumentMeta>> {
    return this.resolveMetas(project, await this.repositories.get(project), [...versions]);
  }

  /**
   * The project as it was at `commit` (any commit of its repository): derived from the published snapshot by a tree
   * diff, so its cost grows with the difference, not with the project. Not installed: the caller keeps it (the
   * as-of view, evidence/effective-versions.ts). Null before the first publish.
   */
  async snapshotAt(project: ProjectRecord, commit: string): Promise<Snapshot | null> {
    const current = this.current.get(project.id);
    if (!current?.tree) return null;
    if (current.commit === commit) return current;
    const repository = await this.repositories.get(project);
    const { tree } = await repository.readCommit(commit);
    return this.updateSnapshot(project, repository, current, commit, tree);
  }

  /** Metadata of each (path, blob): prepared ahead, cached in the database, or rendered (and stored) now. */
  private async resolveMetas(project: ProjectRecord, repository: Repository, wanted: DocumentVersion[]): Promise<Map<string, DocumentMeta>> {
    const result = new Map<string, DocumentMeta>();
    const prepared = this.prepared.get(project.id);
    let missing = wanted;
    if (prepared) {
      missing = missing.filter((w) => {
        const meta = prepared.get(versionKey(w.path, w.blobId));
        if (meta) result.set(versionKey(w.path, w.blobId), meta);
        return !meta;
      });
    }
    if (missing.length > 0) {
      const cached = await this.store.loadMetas(project, missing);
      for (const [key, meta] of cached) result.set(key, meta);
      missing = missing.filter((w) => !cached.has(versionKey(w.path, w.blobId)));
    }
    if (missing.length > 0) {
      await this.store.renderAndStore(project, missing, async (m) => (await repository.readBlob(m.blobId)).toString('utf8'), (doc, meta) =>
        result.set(versionKey(doc.path, doc.blobId), meta),
      );
    }
    return result;
  }

  /**
   * The sanitized HTML of one document version (read when a page is first served, then cached by the web layer):
   * from the rendered store, rendered again from git when its file is missing or damaged (the files are a cache).
   */
  loadHtml(project: Pick<ProjectRecord, 'id' | 'orgId' | 'repoDir'>, doc: SnapshotDocument): Promise<TrustedHtml> {
    return this.store.loadHtml(project, doc);
  }

  /** The sanitized HTML of many document versions at once (the search index reads a whole project's). */
  loadHtmlMany(project: Pick<ProjectRecord, 'id' | 'orgId' | 'repoDir'>, docs: readonly SnapshotDocument[]): Promise<TrustedHtml[]> {
    return this.store.loadHtmlMany(project, docs);
  }
}

async function insertSnapshotRow(trx: Kysely<Database>, project: ProjectRecord, snapshot: Snapshot): Promise<void> {
  await trx
    .insertInto('snapshots')
    .values({
      org_id: project.orgId,
      project_id: project.id,
      tree_id: snapshot.tree!,
      commit_id: snapshot.commit!,
      renderer_version: RENDERER_VERSION,
      documents: JSON.stringify([...snapshot.documents.values()].map((d) => [d.path, d.blobId])),
    })
    .onConflict((oc) => oc.columns(['project_id', 'tree_id', 'renderer_version']).doNothing())
    .execute();
}
