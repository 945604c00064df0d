/**
 * The rendered store: each document version rendered once and kept, keyed by path, blob id and renderer version
 * (its metadata, with title, classification, tags, TOC and links, in `rendered_documents`; its sanitized HTML in
 * pack files, see html-packs.ts). The publisher asks it for the metadata of a tree's documents and the web layer
 * (through the publisher) for a version's HTML; a version missing from the store is rendered and stored here,
 * inline for a few documents and through the render worker pool for many.
 */
import { RENDERER_VERSION } from '../content/render-document.ts';
import type { RenderedDocument } from '../content/types.ts';
import { withOrg, type Db } from '../db/connection.ts';
import type { ProjectRecord } from './projects.ts';
import { projectHtmlDir, readHtml, readHtmlMany, writeHtmlPack, type HtmlLocation } from './html-packs.ts';
import { budgets, renderWithinBudget } from './budget-pool.ts';
import { PARALLEL_THRESHOLD, releaseWorkers, renderToPacksInWorkers, type RenderInput } from './render-pool.ts';
import type { RepositoryRegistry } from './repositories.ts';
import type { DocumentMeta, SnapshotDocument } from './snapshot.ts';
import type { TrustedHtml } from '../content/trusted-html.ts';

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

/** The key of a document version in maps of versions: `path\0blob`. */
export const versionKey = (path: string, blobId: string) => `${path}\0${blobId}`;

/** A document version: its path and blob id. */
export type DocumentVersion = { path: string; blobId: string };

/** Rendered document versions of every project: metadata rows and HTML packs, with the just-rendered HTML in memory. */
export class RenderedStore {
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


  /**
   * Render `missing` and store the results. Few documents render inline; many stream through the worker pool in
   * steps (read step k+1 and store step k−1 while the workers render step k), so memory stays bounded and the
   * main thread's reads and inserts overlap the rendering.
   */
  async renderAndStore(
    project: ProjectRecord,
    missing: DocumentVersion[],
    source: (doc: DocumentVersion) => Promise<string>,
    done: (doc: DocumentVersion, meta: DocumentMeta) => void,
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
  async loadMetas(project: ProjectRecord, pairs: readonly DocumentVersion[]): Promise<Map<string, DocumentMeta>> {
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
        const wanted = new Set(batch.map((p) => versionKey(p.path, p.blobId)));
        for (const row of rows) {
          const key = versionKey(row.path, row.blob_id);
          if (wanted.has(key)) result.set(key, parseJson<DocumentMeta>(row.meta));
        }
      }
    });
    return result;
  }

  /**
   * The sanitized HTML of many document versions (the search index reads a whole project's): their locations in
   * one query, each pack file opened once; any missing from the files is loaded like `loadHtml` does.
   */
  async loadHtmlMany(project: Pick<ProjectRecord, 'id' | 'orgId' | 'repoDir'>, docs: readonly SnapshotDocument[]): Promise<TrustedHtml[]> {
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
        locations.set(versionKey(row.path, row.blob_id), { pack: row.html_pack, offset: row.html_offset, length: row.html_length });
      }
    }
    const found: (TrustedHtml | null)[] = docs.map((d) => this.recentHtml.get(project.id, d) ?? null);
    const toRead = docs.flatMap((d, i) => {
      const location = found[i] === null ? locations.get(versionKey(d.path, d.blobId)) : undefined;
      return location ? [{ i, location }] : [];
    });
    const read = await readHtmlMany(htmlDir, toRead.map((r) => r.location));
    toRead.forEach((r, k) => (found[r.i] = read[k] ?? null));
    return Promise.all(docs.map(async (d, i) => found[i] ?? (await this.loadHtml(project, d))));
  }

  /**
   * The sanitized HTML of one document version (read when a page is first served, then cached by the web layer):
   * from its file, or rendered again from git when the file is missing or damaged (the files are a cache).
   */
  async loadHtml(project: Pick<ProjectRecord, 'id' | 'orgId' | 'repoDir'>, doc: SnapshotDocument): Promise<TrustedHtml> {
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

  add(key: DocumentVersion, meta: DocumentMeta, html: HtmlLocation): void {
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
  private readonly entries = new Map<string, TrustedHtml>();
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  get(projectId: string, doc: DocumentVersion): TrustedHtml | undefined {
    return this.entries.get(`${projectId}\0${versionKey(doc.path, doc.blobId)}`);
  }

  set(projectId: string, doc: DocumentVersion, html: TrustedHtml): void {
    const key = `${projectId}\0${versionKey(doc.path, doc.blobId)}`;
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


/** The key of a document version's `rendered_documents` row. */
function renderedKey(project: Pick<ProjectRecord, 'id'>, doc: DocumentVersion) {
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
export function parseJson<T>(value: unknown): T {
  return (typeof value === 'string' ? JSON.parse(value) : value) as T;
}
