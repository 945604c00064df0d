/**
 * The search index of published documents: one `search_documents` row per document of a project's published
 * snapshot, with its plain text and weighted tsvector, and a `search_index_state` row naming the commit the rows
 * reflect. The text comes from the rendered store (the HTML the publisher already wrote), never from a second
 * render.
 *
 * `ensureIndexed` brings a project's rows to its published snapshot and is idempotent: the branch-move listener
 * (search-listener.ts) calls it after each publish with the changed paths as a hint, an import calls it after
 * its publish (every document at once, in batches), and a search calls it before querying, so results never
 * lag a publish this process made even when a delivery is still pending or failed.
 */
import { sql, type Kysely } from 'kysely';
import { withOrg, type Db } from '../db/connection.ts';
import type { Database } from '../db/schema.ts';
import type { ProjectRecord } from '../projects/projects.ts';
import type { Publisher } from '../projects/publisher.ts';
import type { Snapshot, SnapshotDocument } from '../projects/snapshot.ts';
import { headingsText, htmlToText, pathWords } from './document-text.ts';

/** The text search configuration of the index and the queries (documents are written in English). */
export const TEXT_SEARCH_CONFIG = 'english';

/** Documents read, converted and written per step (one transaction each). */
const INDEX_BATCH = 200;
/**
 * Rows per INSERT statement, and the body text one statement may carry. Each statement is its own transaction:
 * on the embedded database a transaction holds the only connection, and PostgreSQL's `to_tsvector` costs ~2 ms
 * per 10 KB there, so a small statement keeps the wait of the page requests queued behind it short (a bulk build
 * of 10,000 documents runs for tens of seconds in the background; requests must not queue behind it).
 */
const INSERT_ROWS = 16;
const INSERT_BODY_CHARS = 48_000;

/** A hint of what changed since the indexed commit (a branch-move event's paths). */
export interface IndexHint {
  /** The commit the change started from and the one it led to: used only when they are the indexed commit and the
   * published one (otherwise other moves happened in between, and everything is compared). */
  fromCommit: string | null;
  toCommit: string | null;
  paths: readonly string[];
  /** More paths changed than listed: compare everything. */
  truncated: boolean;
}

/** What one `ensureIndexed` did (tests and the bench read it). */
export interface IndexOutcome {
  commit: string | null;
  written: number;
  removed: number;
  /** True when every indexed row was compared with the snapshot (no usable hint). */
  full: boolean;
}

type IndexedProject = Pick<ProjectRecord, 'id' | 'orgId' | 'repoDir'>;

export class SearchIndex {
  /** The commit each project's rows reflect, as far as this process knows. */
  private readonly indexed = new Map<string, string | null>();
  private readonly running = new Map<string, Promise<IndexOutcome>>();

  constructor(
    private readonly db: Db,
    private readonly publisher: Publisher,
  ) {}

  /** True when this process knows the project's rows reflect its published snapshot (no database round trip). */
  isCurrent(project: Pick<ProjectRecord, 'id'>): boolean {
    const snapshot = this.publisher.snapshotOf(project.id);
    return snapshot !== null && this.indexed.has(project.id) && this.indexed.get(project.id) === snapshot.commit;
  }

  /**
   * Bring the project's rows to its published snapshot (nothing to do when already there). One run per project
   * at a time; a call made while one runs waits for it, then checks again.
   */
  ensureIndexed(project: IndexedProject, hint?: IndexHint): Promise<IndexOutcome> {
    const previous = this.running.get(project.id) ?? Promise.resolve(null);
    const next = previous.catch(() => null).then(() => this.ensureNow(project, hint));
    this.running.set(project.id, next);
    void next
      .finally(() => {
        if (this.running.get(project.id) === next) this.running.delete(project.id);
      })
      .catch(() => {});
    return next;
  }

  /** Forget a deleted project (its rows go with it: the foreign key cascades). */
  forget(projectId: string): void {
    this.indexed.delete(projectId);
  }

  private async ensureNow(project: IndexedProject, hint: IndexHint | undefined): Promise<IndexOutcome> {
    const snapshot = this.publisher.snapshotOf(project.id);
    // Not published in this process (yet): there is nothing to compare with; the next publish's event indexes it.
    if (!snapshot) return { commit: null, written: 0, removed: 0, full: false };
    const known = this.indexed.has(project.id) ? this.indexed.get(project.id)! : await this.readState(project);
    if (known === snapshot.commit && this.indexed.has(project.id)) return { commit: known, written: 0, removed: 0, full: false };
    if (known === snapshot.commit) {
      this.indexed.set(project.id, known);
      return { commit: known, written: 0, removed: 0, full: false };
    }
    const useHint = hint !== undefined && !hint.truncated && known !== null && hint.fromCommit === known && hint.toCommit === snapshot.commit;
    const indexedBlobs = await this.readIndexedBlobs(project, useHint ? hint.paths : null);
    const candidates = useHint ? hint.paths : [...new Set([...snapshot.documents.keys(), ...indexedBlobs.keys()])];
    const toWrite: SnapshotDocument[] = [];
    const toRemove: string[] = [];
    for (const path of candidates) {
      const doc = snapshot.documents.get(path);
      const blob = indexedBlobs.get(path);
      if (doc && doc.blobId !== blob) toWrite.push(doc);
      else if (!doc && blob !== undefined) toRemove.push(path);
    }
    await this.write(project, snapshot, toWrite, toRemove);
    this.indexed.set(project.id, snapshot.commit);
    return { commit: snapshot.commit, written: toWrite.length, removed: toRemove.length, full: !useHint };
  }

  private async readState(project: IndexedProject): Promise<string | null> {
    const row = await withOrg(this.db, project.orgId, (trx) =>
      trx.selectFrom('search_index_state').select('commit_id').where('project_id', '=', project.id).executeTakeFirst(),
    );
    return row?.commit_id ?? null;
  }

  /** Indexed blob ids by path: of `paths`, or of the whole project. */
  private async readIndexedBlobs(project: IndexedProject, paths: readonly string[] | null): Promise<Map<string, string>> {
    const result = new Map<string, string>();
    if (paths !== null && paths.length === 0) return result;
    const rows = await withOrg(this.db, project.orgId, (trx) => {
      let query = trx.selectFrom('search_documents').select(['path', 'blob_id']).where('project_id', '=', project.id);
      if (paths !== null) query = query.where('path', 'in', [...paths]);
      return query.execute();
    });
    for (const row of rows) result.set(row.path, row.blob_id);
    return result;
  }

  /**
   * Write the rows of `docs` and delete those of `removed`, in steps of one transaction each; the state row names
   * the snapshot's commit only after the last step (a crash in between leaves the old commit: the next run
   * compares everything again).
   */
  private async write(project: IndexedProject, snapshot: Snapshot, docs: readonly SnapshotDocument[], removed: readonly string[]): Promise<void> {
    // The HTML of the next step is read while this one is written.
    let pending = docs.length > 0 ? this.publisher.loadHtmlMany(project, docs.slice(0, INDEX_BATCH)) : null;
    for (let start = 0; start < docs.length; start += INDEX_BATCH) {
      const step = docs.slice(start, start + INDEX_BATCH);
      const htmls = await pending!;
      const next = docs.slice(start + INDEX_BATCH, start + 2 * INDEX_BATCH);
      pending = next.length > 0 ? this.publisher.loadHtmlMany(project, next) : null;
      const rows = step.map((doc, i) => rowOf(project, doc, htmls[i]!));
      // Rows are idempotent upserts: a crash between statements leaves the old state row, and the next run redoes them.
      for (const statement of statementsOf(rows)) {
        await withOrg(this.db, project.orgId, (trx) => upsertRows(trx, statement));
        // Let the requests that arrived meanwhile reach the database before the next statement.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }
    await withOrg(this.db, project.orgId, async (trx) => {
      if (removed.length > 0) {
        await trx.deleteFrom('search_documents').where('project_id', '=', project.id).where('path', 'in', [...removed]).execute();
      }
      await trx
        .insertInto('search_index_state')
        .values({ org_id: project.orgId, project_id: project.id, commit_id: snapshot.commit, indexed_at: new Date() })
        .onConflict((oc) => oc.column('project_id').doUpdateSet({ commit_id: snapshot.commit, indexed_at: new Date() }))
        .execute();
    });
  }
}

interface IndexRow {
  org_id: string;
  project_id: string;
  path: string;
  blob_id: string;
  title: string;
  tags: string[];
  classification: string;
  date: string | null;
  body: string;
  headings: string;
  path_words: string;
}

function rowOf(project: IndexedProject, doc: SnapshotDocument, html: string): IndexRow {
  const { meta } = doc;
  return {
    org_id: project.orgId,
    project_id: project.id,
    path: doc.path,
    blob_id: doc.blobId,
    title: meta.title,
    tags: meta.tags,
    classification: meta.classification,
    date: meta.date,
    // A document too large to render has only a notice as its HTML: its title, tags and path are still indexed.
    body: meta.tooLarge ? '' : htmlToText(html),
    headings: headingsText(meta.toc),
    path_words: pathWords(doc.path),
  };
}

/** Rows cut into statements of at most INSERT_ROWS rows and, past the first row, INSERT_BODY_CHARS of body text. */
function statementsOf(rows: readonly IndexRow[]): IndexRow[][] {
  const statements: IndexRow[][] = [];
  let current: IndexRow[] = [];
  let chars = 0;
  for (const row of rows) {
    if (current.length > 0 && (current.length >= INSERT_ROWS || chars + row.body.length > INSERT_BODY_CHARS)) {
      statements.push(current);
      current = [];
      chars = 0;
    }
    current.push(row);
    chars += row.body.length;
  }
  if (current.length > 0) statements.push(current);
  return statements;
}

/**
 * Insert or replace rows; the weighted vectors are computed by PostgreSQL: title and tags A, headings B, path C
 * (the summary), body D (ts_rank's default weights 1.0, 0.4, 0.2, 0.1).
 */
async function upsertRows(trx: Kysely<Database>, rows: IndexRow[]): Promise<void> {
  const config = sql.lit(TEXT_SEARCH_CONFIG);
  await sql`
    INSERT INTO search_documents (org_id, project_id, path, blob_id, title, tags, classification, date, body, summary, vector)
    SELECT org_id, project_id, path, blob_id, title, tags, classification, date, body, summary,
      summary || setweight(to_tsvector(${config}::regconfig, body), 'D')
    FROM (
      SELECT r.*,
        setweight(to_tsvector(${config}::regconfig, r.title), 'A')
        || setweight(to_tsvector(${config}::regconfig, array_to_string(r.tags, ' ')), 'A')
        || setweight(to_tsvector(${config}::regconfig, r.headings), 'B')
        || setweight(to_tsvector(${config}::regconfig, r.path_words), 'C') AS summary
      FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) AS r(
        org_id uuid, project_id uuid, path text, blob_id text, title text, tags text[], classification text,
        date text, body text, headings text, path_words text)
    ) AS s
    ON CONFLICT (project_id, path) DO UPDATE SET
      blob_id = excluded.blob_id, title = excluded.title, tags = excluded.tags, classification = excluded.classification,
      date = excluded.date, body = excluded.body, summary = excluded.summary, vector = excluded.vector
  `.execute(trx);
}
