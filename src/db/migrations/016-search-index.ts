import type { Kysely } from 'kysely';
import { APP_ROLE } from './006-row-level-security.ts';
import { runStatements } from './run-statements.ts';

/**
 * The full-text search index (src/search/): one row per published document of a project, with its plain text,
 * a weighted tsvector of everything (title and tags A, headings B, path C, body D: `vector`, GIN-indexed, what a
 * query matches) and the same without the body (`summary`, a few hundred bytes: what every match is ranked by
 * first), and one row per project naming the commit the index reflects. Both are tenant tables under row-level security, like those of 006.
 *
 * Typo tolerance for titles uses pg_trgm. The migration runs as the database owner, who may not be allowed to
 * create extensions on a managed PostgreSQL: then search works without it (no "did you mean" titles), and the
 * trigram index is created only when the extension exists. On PGlite the extension is loaded by the database
 * thread (pglite-worker.mjs).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, [
    `DO $$ BEGIN
      CREATE EXTENSION IF NOT EXISTS pg_trgm;
    EXCEPTION WHEN OTHERS THEN
      RAISE NOTICE 'pg_trgm is not available (%): search works without typo tolerance for titles', SQLERRM;
    END $$`,
    `CREATE TABLE search_documents (
    org_id uuid NOT NULL,
    project_id uuid NOT NULL,
    path text NOT NULL,
    blob_id text NOT NULL,
    title text NOT NULL,
    tags text[] NOT NULL,
    classification text NOT NULL CHECK (classification IN ('public', 'internal', 'confidential', 'restricted')),
    date text,
    body text NOT NULL,
    summary tsvector NOT NULL,
    vector tsvector NOT NULL,
    PRIMARY KEY (project_id, path),
    FOREIGN KEY (org_id, project_id) REFERENCES projects (org_id, id) ON DELETE CASCADE
    )`,
    `CREATE INDEX search_documents_vector ON search_documents USING gin (vector)`,
    `DO $$ BEGIN
      IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
        CREATE INDEX search_documents_title_trgm ON search_documents USING gin (title gin_trgm_ops);
      END IF;
    END $$`,
    `CREATE TABLE search_index_state (
    org_id uuid NOT NULL,
    project_id uuid PRIMARY KEY,
    commit_id text,
    indexed_at timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (org_id, project_id) REFERENCES projects (org_id, id) ON DELETE CASCADE
    )`,
    // Row-level security keeps a query's own conditions from using an index unless their operators are leakproof,
    // and the text-match operator (@@) is not: under the policy every match read and compared every document's
    // vector. This returns the matching documents of the current organization (app_org_id(), as the policy would)
    // through the GIN index, with its owner's rights; callers join it back to search_documents under the policy.
    // A sequential scan would read every vector (the index answers without them), whatever the statistics say.
    `CREATE FUNCTION search_matches(p_query tsquery, p_projects uuid[]) RETURNS TABLE (project_id uuid, path text)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public SET enable_seqscan = off AS
    $$ SELECT d.project_id, d.path FROM public.search_documents d
       WHERE d.org_id = public.app_org_id() AND d.project_id = ANY (p_projects) AND d.vector @@ p_query $$`,
    `GRANT SELECT, INSERT, UPDATE, DELETE ON search_documents, search_index_state TO ${APP_ROLE}`,
    ...['search_documents', 'search_index_state'].flatMap((table) => [
      `ALTER TABLE ${table} ENABLE ROW LEVEL SECURITY`,
      `CREATE POLICY tenant_isolation ON ${table} USING (org_id = app_org_id()) WITH CHECK (org_id = app_org_id())`,
    ]),
  ]);
}
