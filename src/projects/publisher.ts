import { createHash } from 'node:crypto';
import { RENDERER_VERSION } from '../content/render-document.ts';
import type { RenderedDocument } from '../content/types.ts';
import type { Kysely } from 'kysely';
import { withOrg, type Db } from '../db/connection.ts';
import type { Database } from '../db/schema.ts';
import type { Repository } from '../git/repository.ts';
import { setPublished, type ProjectRecord } from './projects.ts';
import { projectHtmlDir, readHtml, readHtmlMany, writeHtmlPack, type HtmlLocation } from './html-packs.ts';
import { budgets, renderWithinBudget } from './budget-pool.ts';
import { PARALLEL_THRESHOLD, releaseWorkers, renderToPacksInWorkers, type RenderInput } from './render-pool.ts';
import type { RepositoryRegistry } from './repositories.ts';
import { Snapshot, type DocumentMeta, type SnapshotDocument } from './snapshot.ts';

/** The branch whose head is the published view. */
export const PUBLISHED_BRANCH = 'main';
/** Rows per multi-row statement (metadata: title, tags, TOC, links; a few KB a document). */
const INSERT_BATCH = 100;
/** Rows per transaction when storing many rendered documents (one commit flush each). */
const STORE_TRANSACTION_ROWS = 1000;
/** Paths per lookup of cached metadata. */
const LOOKUP_BATCH = 500;
/** Documents read from git and sent to the render workers per step of a large publish. */
const RENDER_STEP = 50;
/** Steps in flight at once: enough to keep every worker busy while the main thread stores finished ones. */
const STEPS_IN_FLIGHT = 8;
/** Rendered HTML kept in memory for the first reader of a just-published document. */
const RECENT_HTML_BYTES = 8 * 1024 * 1024;
/** Quiet time after an incremental publish before its snapshot row is written. */
const SNAPSHOT_ROW_DELAY_MS = 2000;

/** Which tree entries are documents: regular Markdown files (symlinks and submodules are never followed). */
const isDocumentEntry = (e: { mode: string; type: string; path: string }) =>
  e.type === 'blob' && (e.mode === '100644' || e.mode === '100755') && isDocumentPath(e.path);

const isDocumentPath = (path: string) => /\.md$/i.test(path) && !path.startsWith('-/');

/** The git blob id of `content` (what `git hash-object` prints in a SHA-1 repository). */
export function gitBlobId(content: Buffer): string {
  return createHash('sha1').update(`blob ${content.length}\0`).update(content).digest('hex');
}

const keyOf = (path: string, blobId: string) => `${path}\0${blobId}`;

type Pending = { path: string; blobId: string };

/**
 * Keeps each project's published snapshot current: reads the branch head, re-renders only the documents whose
 * blobs are new (rendered documents are cached by path, blob id and renderer version: metadata in the database,
 * HTML in pack files), stores the snapshot, and swaps it in for readers. One publish per project runs at a time.
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
  private readonly recentHtml = new RecentHtml(RECENT_HTML_BYTES);

  /**
   * @param htmlRoot folder of the rendered HTML (DATA/rendered, see html-packs.ts); the database keeps each
   *   document's metadata and where its HTML is.
   */
  constructor(
    private readonly db: Db,
    private readonly repositories: RepositoryRegistry,
    private readonly htmlRoot: string,
  ) {}

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
    const previous = this.running.get(project.id) ?? Promise.resolve(null);
    const next = previous.catch(() => null).then(() => this.publishNow(project));
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
  async prerender(project: ProjectRecord, files: readonly { path: string; content: Buffer }[]): Promise<void> {
    // Contents by key, each dropped once read: after the commit, this is the last reference to a file's bytes.
    const contents = new Map<string, Buffer>();
    const wanted: Pending[] = [];
    for (const file of files) {
      if (!isDocumentPath(file.path)) continue;
      const pending = { path: file.path, blobId: gitBlobId(file.content) };
      wanted.push(pending);
      contents.set(keyOf(pending.path, pending.blobId), file.content);
    }
    const known = await this.loadMetas(project, wanted);
    const prepared = this.preparedFor(project.id);
    for (const [key, meta] of known) {
      prepared.set(key, meta);
      contents.delete(key);
    }
    const missing = wanted.filter((w) => contents.has(keyOf(w.path, w.blobId)));
    const take = (doc: Pending): string => {
      const key = keyOf(doc.path, doc.blobId);
      const content = contents.get(key)!;
      contents.delete(key);
      return content.toString('utf8');
    };
    await this.renderAndStore(project, missing, async (m) => take(m), (doc, meta) => prepared.set(keyOf(doc.path, doc.blobId), meta));
  }

  private preparedFor(projectId: string): Map<string, DocumentMeta> {
    let map = this.prepared.get(projectId);
    if (!map) {
      map = new Map();
      this.prepared.set(projectId, map);
    }
    return map;
  }

  private async publishNow(project: ProjectRecord): Promise<Snapshot> {
    try {
      return await this.publishHead(project);
    } finally {
      this.prepared.delete(project.id);
    }
  }

  private async publishHead(project: ProjectRecord): Promise<Snapshot> {
    const repository = await this.repositories.get(project);
    const commit = await repository.resolveCommit(`refs/heads/${PUBLISHED_BRANCH}`);
    const known = this.current.get(project.id);
    if (known && known.commit === commit) return known;
    if (!commit) return this.install(project, new Snapshot(project.id, null, null, new Map()), known);

    const { tree } = await repository.readCommit(commit);
    let snapshot: Snapshot;
    let store = true;
    if (known?.tree) {
      snapshot = await this.updateSnapshot(project, repository, known, commit, tree);
    } else {
      const stored = await this.loadStoredSnapshot(project, tree, commit);
      store = stored === null;
      snapshot = stored ?? (await this.buildSnapshot(project, repository, commit, tree));
    }
    // Readers get the new snapshot first; then it is recorded. A snapshot built in full is stored at once (a
    // restart loads it without rendering); after an incremental publish the row (every path and blob, ~70 bytes
    // a document) is written a moment later, once per burst of commits: until then a restart rebuilds the
    // snapshot from the rendered_documents rows, which are already stored.
    this.install(project, snapshot, known);
    const incremental = known?.tree != null;
    await withOrg(this.db, project.orgId, async (trx) => {
      if (store && !incremental) await insertSnapshotRow(trx, project, snapshot);
      await setPublished(trx, project, commit, tree);
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
    const wanted: Pending[] = [];
    for (const change of changes) {
      const isDocument =
        change.status !== 'D' && isDocumentEntry({ mode: change.newMode, type: change.newMode === '160000' ? 'commit' : 'blob', path: change.path });
      if (isDocument) wanted.push({ path: change.path, blobId: change.newOid });
      else if (known.documents.has(change.path)) removed.add(change.path);
    }
    const metas = await this.resolveMetas(project, repository, wanted);
    const upserts = wanted.map((w) => ({ path: w.path, blobId: w.blobId, meta: metas.get(keyOf(w.path, w.blobId))! }));
    return Snapshot.derive(known, commit, tree, upserts, removed);
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
    const metas = await this.loadMetas(project, entries.map(([path, blobId]) => ({ path, blobId })));
    if (metas.size !== entries.length) return null; // cache rows missing: rebuild
    const documents = new Map<string, SnapshotDocument>();
    for (const [path, blobId] of entries) documents.set(path, { path, blobId, meta: metas.get(keyOf(path, blobId))! });
    return new Snapshot(project.id, commit, tree, documents);
  }

  /** Every document of the tree, from the caches where possible (first publish in this process). */
  private async buildSnapshot(project: ProjectRecord, repository: Repository, commit: string, tree: string): Promise<Snapshot> {
    const entries = (await repository.listTree(tree)).filter(isDocumentEntry);
    entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    const wanted = entries.map((e) => ({ path: e.path, blobId: e.oid }));
    const metas = await this.resolveMetas(project, repository, wanted);
    const documents = new Map<string, SnapshotDocument>();
    for (const w of wanted) documents.set(w.path, { path: w.path, blobId: w.blobId, meta: metas.get(keyOf(w.path, w.blobId))! });
    return new Snapshot(project.id, commit, tree, documents);
  }

  /** Metadata of each (path, blob): prepared ahead, cached in the database, or rendered (and stored) now. */
  private async resolveMetas(project: ProjectRecord, repository: Repository, wanted: Pending[]): Promise<Map<string, DocumentMeta>> {
    const result = new Map<string, DocumentMeta>();
    const prepared = this.prepared.get(project.id);
    let missing = wanted;
    if (prepared) {
      missing = missing.filter((w) => {
        const meta = prepared.get(keyOf(w.path, w.blobId));
        if (meta) result.set(keyOf(w.path, w.blobId), meta);
        return !meta;
      });
    }
    if (missing.length > 0) {
      const cached = await this.loadMetas(project, missing);
      for (const [key, meta] of cached) result.set(key, meta);
      missing = missing.filter((w) => !cached.has(keyOf(w.path, w.blobId)));
    }
    if (missing.length > 0) {
      await this.renderAndStore(project, missing, async (m) => (await repository.readBlob(m.blobId)).toString('utf8'), (doc, meta) =>
        result.set(keyOf(doc.path, doc.blobId), meta),
      );
    }
    return result;
  }

  /**
   * Render `missing` and store the results. Few documents render inline; many stream through the worker pool in
   * steps (read step k+1 and store step k−1 while the workers render step k), so memory stays bounded and the
   * main thread's reads and inserts overlap the rendering.
   */
  private async renderAndStore(
    project: ProjectRecord,
    missing: Pending[],
    source: (doc: Pending) => Promise<string>,
    done: (doc: Pending, meta: DocumentMeta) => void,
  ): Promise<void> {
    if (missing.length === 0) return;
    const store = new RowWriter(this.db, project);
    const htmlDir = projectHtmlDir(this.htmlRoot, project.id);
    if (missing.length < PARALLEL_THRESHOLD) {
      const inputs: RenderInput[] = await Promise.all(missing.map(async (m) => ({ path: m.path, source: await source(m) })));
      // small documents inline; a large one in a worker with a time budget, published as too large beyond it
      const rendered = await Promise.all(inputs.map((i) => renderWithinBudget(i.path, i.source, { runMs: budgets.publishRenderMs })));
      // The pack first, then the rows: a row never names HTML that was not written (a crash in between leaves a
      // pack nobody refers to).
      const locations = await writeHtmlPack(htmlDir, rendered.map((doc) => doc.html));
      rendered.forEach((doc, i) => {
        const key = missing[i]!;
        this.recentHtml.set(project.id, key, doc.html);
        const meta = metaOf(doc);
        store.add(key, meta, locations[i]!);
        done(key, meta);
      });
      await store.close();
      return;
    }
    const inFlight = new Set<Promise<void>>();
    let failure: unknown = null;
    for (let start = 0; start < missing.length && failure === null; start += RENDER_STEP) {
      const step = missing.slice(start, start + RENDER_STEP);
      const work = (async () => {
        const inputs = await Promise.all(step.map(async (m) => ({ path: m.path, source: await source(m) })));
        // the worker writes the step's HTML as one pack; the rows naming it follow
        const rendered = await renderToPacksInWorkers(inputs, htmlDir, missing.length);
        rendered.forEach(({ meta, html }, i) => {
          store.add(step[i]!, meta, html);
          done(step[i]!, meta);
        });
      })().catch((error: unknown) => {
        failure ??= error;
      });
      inFlight.add(work);
      void work.finally(() => inFlight.delete(work));
      if (inFlight.size >= STEPS_IN_FLIGHT) await Promise.race(inFlight);
      // The database falling behind the workers: let it catch up (bounds the rows held in memory).
      if (store.backlog() > STORE_TRANSACTION_ROWS + RENDER_STEP * STEPS_IN_FLIGHT) await store.drain();
    }
    await Promise.all(inFlight);
    // The workers' part is done: their memory goes back now, while the last rows are written.
    releaseWorkers();
    await store.close();
    if (failure !== null) throw failure;
  }

  /** Cached metadata for (path, blob) pairs, keyed `path\0blob`. */
  private async loadMetas(project: ProjectRecord, pairs: readonly Pending[]): Promise<Map<string, DocumentMeta>> {
    const result = new Map<string, DocumentMeta>();
    if (pairs.length === 0) return result;
    await withOrg(this.db, project.orgId, async (trx) => {
      // A project's first import asks for thousands of paths of which none can be there: one probe instead.
      if (pairs.length > LOOKUP_BATCH) {
        const any = await trx.selectFrom('rendered_documents').select('path').where('project_id', '=', project.id).limit(1).executeTakeFirst();
        if (!any) return;
      }
      for (let start = 0; start < pairs.length; start += LOOKUP_BATCH) {
        const batch = pairs.slice(start, start + LOOKUP_BATCH);
        const rows = await trx
          .selectFrom('rendered_documents')
          .select(['path', 'blob_id', 'meta'])
          .where('project_id', '=', project.id)
          .where('renderer_version', '=', RENDERER_VERSION)
          .where('path', 'in', batch.map((p) => p.path))
          .execute();
        const wanted = new Set(batch.map((p) => keyOf(p.path, p.blobId)));
        for (const row of rows) {
          const key = keyOf(row.path, row.blob_id);
          if (wanted.has(key)) result.set(key, parseJson<DocumentMeta>(row.meta));
        }
      }
    });
    return result;
  }

  /**
   * The sanitized HTML of one document version (read when a page is first served, then cached by the web layer):
   * from its file, or rendered again from git when the file is missing or damaged (the files are a cache).
   */
  async loadHtml(project: Pick<ProjectRecord, 'id' | 'orgId' | 'repoDir'>, doc: SnapshotDocument): Promise<string> {
    const recent = this.recentHtml.get(project.id, doc);
    if (recent !== undefined) return recent;
    const htmlDir = projectHtmlDir(this.htmlRoot, project.id);
    const row = await withOrg(this.db, project.orgId, (trx) =>
      trx
        .selectFrom('rendered_documents')
        .select(['html_pack', 'html_offset', 'html_length'])
        .where((eb) => eb.and(renderedKey(project, doc)))
        .executeTakeFirst(),
    );
    if (row?.html_pack != null && row.html_offset != null && row.html_length != null) {
      const stored = await readHtml(htmlDir, { pack: row.html_pack, offset: row.html_offset, length: row.html_length });
      if (stored !== null) return stored;
    }
    // Missing (a row from before HTML packs, a cleared cache) or damaged (a pack cut short by a crash): render it
    // again from git, and point the row at the new copy.
    const repository = await this.repositories.get(project);
    const source = (await repository.readBlob(doc.blobId)).toString('utf8');
    const { html } = await renderWithinBudget(doc.path, source, { runMs: budgets.publishRenderMs });
    const [location] = await writeHtmlPack(htmlDir, [html]);
    await withOrg(this.db, project.orgId, (trx) =>
      trx
        .updateTable('rendered_documents')
        .set(htmlColumns(location!))
        .where((eb) => eb.and(renderedKey(project, doc)))
        .execute(),
    );
    return html;
  }

  /**
   * The sanitized HTML of many document versions (the search index reads a whole project's): their locations in
   * one query per batch, each pack file opened once; any missing from the files is loaded like `loadHtml` does.
   */
  async loadHtmlMany(project: Pick<ProjectRecord, 'id' | 'orgId' | 'repoDir'>, docs: readonly SnapshotDocument[]): Promise<string[]> {
    if (docs.length === 0) return [];
    const htmlDir = projectHtmlDir(this.htmlRoot, project.id);
    const rows = await withOrg(this.db, project.orgId, (trx) =>
      trx
        .selectFrom('rendered_documents')
        .select(['path', 'blob_id', 'html_pack', 'html_offset', 'html_length'])
        .where('project_id', '=', project.id)
        .where('renderer_version', '=', RENDERER_VERSION)
        .where('path', 'in', docs.map((d) => d.path))
        .execute(),
    );
    const locations = new Map<string, HtmlLocation>();
    for (const row of rows) {
      if (row.html_pack != null && row.html_offset != null && row.html_length != null) {
        locations.set(keyOf(row.path, row.blob_id), { pack: row.html_pack, offset: row.html_offset, length: row.html_length });
      }
    }
    const found = docs.map((d) => this.recentHtml.get(project.id, d) ?? null);
    const toRead = docs.flatMap((d, i) => {
      const location = found[i] === null ? locations.get(keyOf(d.path, d.blobId)) : undefined;
      return location ? [{ i, location }] : [];
    });
    const read = await readHtmlMany(htmlDir, toRead.map((r) => r.location));
    toRead.forEach((r, k) => (found[r.i] = read[k] ?? null));
    return Promise.all(docs.map(async (d, i) => found[i] ?? (await this.loadHtml(project, d))));
  }
}

/**
 * Collects rendered rows and writes them in multi-row statements, many statements per transaction, one
 * transaction at a time, in the background of the rendering.
 */
class RowWriter {
  private rows: Parameters<RowWriter['insert']>[1] = [];
  private chain: Promise<void> = Promise.resolve();
  private failure: unknown = null;
  private queued = 0;

  constructor(
    private readonly db: Db,
    private readonly project: ProjectRecord,
  ) {}

  add(key: Pending, meta: DocumentMeta, html: HtmlLocation): void {
    this.rows.push({
      org_id: this.project.orgId,
      project_id: this.project.id,
      path: key.path,
      blob_id: key.blobId,
      renderer_version: RENDERER_VERSION,
      meta: JSON.stringify(meta),
      ...htmlColumns(html),
    });
    if (this.rows.length >= STORE_TRANSACTION_ROWS) this.flush();
  }

  /** Rows handed over but not yet written. */
  backlog(): number {
    return this.queued + this.rows.length;
  }

  /** Wait until everything handed over so far is written. */
  async drain(): Promise<void> {
    this.flush();
    await this.chain;
    if (this.failure !== null) throw this.failure;
  }

  close(): Promise<void> {
    return this.drain();
  }

  private flush(): void {
    if (this.rows.length === 0) return;
    const rows = this.rows;
    this.rows = [];
    this.queued += rows.length;
    this.chain = this.chain.then(async () => {
      try {
        if (this.failure === null) await this.insert(this.db, rows);
      } catch (error) {
        this.failure ??= error;
      } finally {
        this.queued -= rows.length;
      }
    });
  }

  private async insert(
    db: Db,
    rows: {
      org_id: string;
      project_id: string;
      path: string;
      blob_id: string;
      renderer_version: string;
      meta: string;
      html_pack: string;
      html_offset: number;
      html_length: number;
    }[],
  ): Promise<void> {
    await withOrg(db, this.project.orgId, async (trx) => {
      for (let start = 0; start < rows.length; start += INSERT_BATCH) {
        // Each statement's answer comes back as a message (PGlite on its own thread, or the PostgreSQL socket),
        // so the event loop turns between statements and the render workers' results are taken meanwhile.
        await trx
          .insertInto('rendered_documents')
          .values(rows.slice(start, start + INSERT_BATCH))
          .onConflict((oc) => oc.columns(['project_id', 'path', 'blob_id', 'renderer_version']).doNothing())
          .execute();
      }
    });
  }
}

/** The HTML of recently rendered documents (a commit's changed files), bounded by size, oldest dropped first. */
class RecentHtml {
  private readonly entries = new Map<string, string>();
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  get(projectId: string, doc: Pending): string | undefined {
    return this.entries.get(`${projectId}\0${keyOf(doc.path, doc.blobId)}`);
  }

  set(projectId: string, doc: Pending, html: string): void {
    const key = `${projectId}\0${keyOf(doc.path, doc.blobId)}`;
    if (this.entries.has(key) || html.length > this.maxBytes / 4) return;
    this.entries.set(key, html);
    this.bytes += html.length;
    for (const [oldest, value] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(oldest);
      this.bytes -= value.length;
    }
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

/** The key of a document version's `rendered_documents` row. */
function renderedKey(project: Pick<ProjectRecord, 'id'>, doc: Pending) {
  return { project_id: project.id, path: doc.path, blob_id: doc.blobId, renderer_version: RENDERER_VERSION };
}

function htmlColumns(location: HtmlLocation) {
  return { html_pack: location.pack, html_offset: location.offset, html_length: location.length };
}

function metaOf(doc: RenderedDocument): DocumentMeta {
  const { html: _html, ...meta } = doc;
  return meta;
}

/** PGlite returns jsonb parsed, node-postgres too; a string means it came back as text. */
function parseJson<T>(value: unknown): T {
  return (typeof value === 'string' ? JSON.parse(value) : value) as T;
}
