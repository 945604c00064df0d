import type { Kysely } from 'kysely';
import { runStatements } from './run-statements.ts';

/**
 * Two things of issue #15:
 *
 * - An organization may refuse changes that add broken links: pushes to the published branch and editor saves
 *   whose documents bring new link problems (content/link-check.ts) are refused with the problems as
 *   `file:line: message` (projects/link-gate.ts). Off by default: problems are then warnings only.
 *
 * - Search reads less per match. `search_hits` is `search_matches` (migration 016: the GIN index answers the text
 *   match, which row-level security would otherwise keep from it) returning, with each match, what the query
 *   needs of it — its classification and tags (the permission filter and the facets) and its rank by the small
 *   summary vector — so the search statement no longer joins every match back to `search_documents` (one index
 *   probe and one policy check per match: most of a common word's cost). The permission filter stays in the
 *   statement, on these columns. `search_similar_titles` does the same for typo tolerance: the trigram index
 *   answers `<%` (not leakproof either: under the policy every title was compared), at the threshold set here.
 *   Both read only the current organization's rows (app_org_id(), as the policy would).
 *
 * - The GIN indexes of search write straight into the index (`fastupdate = off`): see below.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, [
    `ALTER TABLE organizations ADD COLUMN refuse_broken_links boolean NOT NULL DEFAULT false`,
    // GIN's pending list (fastupdate) is merged into the index only by (auto)vacuum, which embedded PGlite never
    // runs: every search read the whole list, up to 4 MB of entries (~0.6 s a query on PGlite, even for a word found
    // nowhere). Entries now go straight into the index, and the list left by earlier writes is merged once.
    `ALTER INDEX search_documents_vector SET (fastupdate = off)`,
    `SELECT gin_clean_pending_list('search_documents_vector'::regclass)`,
    `DO $$ BEGIN
      IF EXISTS (SELECT 1 FROM pg_class WHERE relname = 'search_documents_title_trgm') THEN
        ALTER INDEX search_documents_title_trgm SET (fastupdate = off);
        PERFORM gin_clean_pending_list('search_documents_title_trgm'::regclass);
      END IF;
    END $$`,
    `CREATE FUNCTION search_hits(p_query tsquery, p_projects uuid[])
    RETURNS TABLE (org_id uuid, project_id uuid, path text, classification text, tags text[], summary_rank real)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public SET enable_seqscan = off AS
    $$ SELECT d.org_id, d.project_id, d.path, d.classification, d.tags, ts_rank(d.summary, p_query)
       FROM public.search_documents d
       WHERE d.org_id = public.app_org_id() AND d.project_id = ANY (p_projects) AND d.vector @@ p_query $$`,
    `DO $$ BEGIN
      IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
        CREATE FUNCTION search_similar_titles(p_text text, p_projects uuid[])
        RETURNS TABLE (org_id uuid, project_id uuid, path text, classification text, tags text[], similarity real)
        LANGUAGE sql STABLE SECURITY DEFINER
        SET search_path = pg_catalog, public SET enable_seqscan = off SET pg_trgm.word_similarity_threshold = 0.4 AS
        $f$ SELECT d.org_id, d.project_id, d.path, d.classification, d.tags, word_similarity(p_text, d.title)
            FROM public.search_documents d
            WHERE d.org_id = public.app_org_id() AND d.project_id = ANY (p_projects) AND p_text <% d.title $f$;
      END IF;
    END $$`,
  ]);
}
