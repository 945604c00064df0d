import { RENDERER_VERSION } from '../content/render-document.ts';
import type { RenderedDocument } from '../content/types.ts';
import { withOrg, type Db } from '../db/connection.ts';
import type { Repository } from '../git/repository.ts';
import { setPublished, type ProjectRecord } from './projects.ts';
import { renderMany } from './render-pool.ts';
import type { RepositoryRegistry } from './repositories.ts';
import { Snapshot, type DocumentMeta, type SnapshotDocument } from './snapshot.ts';

/** The branch whose head is the published view. */
export const PUBLISHED_BRANCH = 'main';
const INSERT_BATCH = 500;

/** Which tree entries are documents: regular Markdown files (symlinks and submodules are never followed). */
const isDocumentEntry = (e: { mode: string; type: string; path: string }) =>
  e.type === 'blob' && (e.mode === '100644' || e.mode === '100755') && /\.md$/i.test(e.path) && !e.path.startsWith('-/');

/**
 * Keeps each project's published snapshot current: reads the branch head, re-renders only the documents whose
 * blobs are new (rendered HTML is cached in the database by path, blob id and renderer version), stores the
 * snapshot, and swaps it in for readers. One publish per project runs at a time.
 */
export class Publisher {
  private readonly current = new Map<string, Snapshot>();
  /** Organization of each project this process has published (row-level security needs it for every query). */
  private readonly orgOf = new Map<string, string>();
  private readonly running = new Map<string, Promise<Snapshot>>();

  constructor(
    private readonly db: Db,
    private readonly repositories: RepositoryRegistry,
  ) {}

  /** The snapshot readers see now, or null before the first publish. */
  snapshotOf(projectId: string): Snapshot | null {
    return this.current.get(projectId) ?? null;
  }

  /** Bring the project's snapshot up to its branch head (no-op when already there). */
  publish(project: ProjectRecord): Promise<Snapshot> {
    const previous = this.running.get(project.id) ?? Promise.resolve(null);
    const next = previous.catch(() => null).then(() => this.publishNow(project));
    this.running.set(project.id, next);
    void next.finally(() => {
      if (this.running.get(project.id) === next) this.running.delete(project.id);
    }).catch(() => {});
    return next;
  }

  private async publishNow(project: ProjectRecord): Promise<Snapshot> {
    const repository = await this.repositories.get(project);
    const commit = await repository.resolveCommit(`refs/heads/${PUBLISHED_BRANCH}`);
    const known = this.current.get(project.id);
    if (known && known.commit === commit) return known;
    if (!commit) return this.install(project, new Snapshot(project.id, null, null, new Map()));

    const { tree } = await repository.readCommit(commit);
    const stored = await this.loadStoredSnapshot(project, tree, commit);
    const snapshot = stored ?? (await this.buildSnapshot(project, repository, commit, tree, known));
    await setPublished(this.db, project, commit, tree);
    return this.install(project, snapshot);
  }

  private install(project: ProjectRecord, snapshot: Snapshot): Snapshot {
    this.orgOf.set(project.id, project.orgId);
    this.current.set(project.id, snapshot);
    return snapshot;
  }

  /** A snapshot of this tree built earlier (e.g. before a restart), with its documents' metadata. */
  private async loadStoredSnapshot(project: ProjectRecord, tree: string, commit: string): Promise<Snapshot | null> {
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
    const metas = await this.loadMetas(project, entries);
    if (metas.size !== entries.length) return null; // cache rows missing: rebuild
    const documents = new Map<string, SnapshotDocument>();
    for (const [path, blobId] of entries) documents.set(path, { path, blobId, meta: metas.get(`${path}\0${blobId}`)! });
    return new Snapshot(project.id, commit, tree, documents);
  }

  private async buildSnapshot(
    project: ProjectRecord,
    repository: Repository,
    commit: string,
    tree: string,
    previous: Snapshot | undefined,
  ): Promise<Snapshot> {
    const entries = (await repository.listTree(tree)).filter(isDocumentEntry);
    const documents = new Map<string, SnapshotDocument>();
    let missing: { path: string; blobId: string }[] = [];
    for (const entry of entries) {
      const reused = previous?.documents.get(entry.path);
      if (reused && reused.blobId === entry.oid) documents.set(entry.path, reused);
      else missing.push({ path: entry.path, blobId: entry.oid });
    }

    if (missing.length > 0) {
      const cached = await this.loadMetas(project, missing.map((m) => [m.path, m.blobId]));
      missing = missing.filter((m) => {
        const meta = cached.get(`${m.path}\0${m.blobId}`);
        if (meta) documents.set(m.path, { path: m.path, blobId: m.blobId, meta });
        return !meta;
      });
    }

    if (missing.length > 0) {
      const sources = await Promise.all(
        missing.map(async (m) => ({ path: m.path, source: (await repository.readBlob(m.blobId)).toString('utf8') })),
      );
      const rendered = await renderMany(sources);
      await this.storeRendered(project, missing, rendered);
      rendered.forEach((doc, i) => {
        const { blobId, path } = missing[i]!;
        documents.set(path, { path, blobId, meta: metaOf(doc) });
      });
    }

    const ordered = new Map([...documents.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    await withOrg(this.db, project.orgId, (trx) =>
      trx
      .insertInto('snapshots')
      .values({
        org_id: project.orgId,
        project_id: project.id,
        tree_id: tree,
        commit_id: commit,
        renderer_version: RENDERER_VERSION,
        documents: JSON.stringify([...ordered.values()].map((d) => [d.path, d.blobId])),
      })
      .onConflict((oc) => oc.columns(['project_id', 'tree_id', 'renderer_version']).doNothing())
      .execute(),
    );
    return new Snapshot(project.id, commit, tree, ordered);
  }

  private async storeRendered(
    project: ProjectRecord,
    keys: { path: string; blobId: string }[],
    rendered: RenderedDocument[],
  ): Promise<void> {
    for (let start = 0; start < rendered.length; start += INSERT_BATCH) {
      const rows = rendered.slice(start, start + INSERT_BATCH).map((doc, i) => ({
        org_id: project.orgId,
        project_id: project.id,
        path: keys[start + i]!.path,
        blob_id: keys[start + i]!.blobId,
        renderer_version: RENDERER_VERSION,
        meta: JSON.stringify(metaOf(doc)),
        html: doc.html,
        text: doc.text,
      }));
      await withOrg(this.db, project.orgId, (trx) =>
        trx
          .insertInto('rendered_documents')
          .values(rows)
          .onConflict((oc) => oc.columns(['project_id', 'path', 'blob_id', 'renderer_version']).doNothing())
          .execute(),
      );
    }
  }

  /** Cached metadata for (path, blob) pairs, keyed `path\0blob`. */
  private async loadMetas(project: ProjectRecord, pairs: [string, string][]): Promise<Map<string, DocumentMeta>> {
    const result = new Map<string, DocumentMeta>();
    for (let start = 0; start < pairs.length; start += INSERT_BATCH) {
      const batch = pairs.slice(start, start + INSERT_BATCH);
      const rows = await withOrg(this.db, project.orgId, (trx) =>
        trx
          .selectFrom('rendered_documents')
          .select(['path', 'blob_id', 'meta'])
          .where('project_id', '=', project.id)
          .where('renderer_version', '=', RENDERER_VERSION)
          .where('path', 'in', batch.map(([path]) => path))
          .execute(),
      );
      const wanted = new Set(batch.map(([path, blob]) => `${path}\0${blob}`));
      for (const row of rows) {
        const key = `${row.path}\0${row.blob_id}`;
        if (wanted.has(key)) result.set(key, parseJson<DocumentMeta>(row.meta));
      }
    }
    return result;
  }

  /** The sanitized HTML of one document version (read when a page is first served, then cached by the web layer). */
  async loadHtml(projectId: string, doc: SnapshotDocument): Promise<string> {
    const orgId = this.orgOf.get(projectId);
    if (!orgId) throw new Error(`project ${projectId} has not been published in this process`);
    const row = await withOrg(this.db, orgId, (trx) =>
      trx
        .selectFrom('rendered_documents')
        .select('html')
        .where('project_id', '=', projectId)
        .where('path', '=', doc.path)
        .where('blob_id', '=', doc.blobId)
        .where('renderer_version', '=', RENDERER_VERSION)
        .executeTakeFirst(),
    );
    if (!row) throw new Error(`rendered HTML missing for ${doc.path}@${doc.blobId}`);
    return row.html;
  }
}

function metaOf(doc: RenderedDocument): DocumentMeta {
  const { html: _html, text: _text, ...meta } = doc;
  return meta;
}

/** PGlite returns jsonb parsed, node-postgres too; a string means it came back as text. */
function parseJson<T>(value: unknown): T {
  return (typeof value === 'string' ? JSON.parse(value) : value) as T;
}
