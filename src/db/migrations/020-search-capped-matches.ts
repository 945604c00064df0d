import type { Kysely } from 'kysely';
import { APP_ROLE } from './006-row-level-security.ts';
import { runStatements } from './run-statements.ts';

/**
 * Search with bounded work per query (issue #15: p99 < 50 ms at 8 readers). `search_hits` (028) returned every
 * match — ~8,000 rows for a common word on 10,000 documents, each read, filtered and counted — and PGlite answers
 * one statement at a time, so 8 readers queued behind ~80 ms each. Now:
 *
 * - `search_readable_matches` applies the read permission (classifications open to the reader, or a live access
 *   grant of theirs for the document) and the tag filter *inside*, then stops at `p_limit`: the first matches a
 *   reader may read, never a page of hidden ones that a filter outside would have to throw away. Counts and facets
 *   come from these (shown as "200+" when the limit is reached).
 * - `search_title_matches` does the same over the small `summary` vector (title and tags, headings, path), through
 *   a GIN index of its own: the candidates ranked first, so the best documents are found without reading every
 *   body match.
 *
 * Both are SECURITY DEFINER for the reason of 028 (row-level security would keep the GIN index from answering `@@`)
 * and read only the current organization's rows (app_org_id(), as the policy would), grants included.
 */
const READABLE = `(d.classification = ANY (p_open) OR (p_user IS NOT NULL AND EXISTS (
        SELECT 1 FROM public.access_grants g
         WHERE g.org_id = d.org_id AND g.project_id = d.project_id AND g.path = d.path AND g.user_id = p_user
           AND g.expires_at > p_now AND (g.classification = 'restricted' OR d.classification = 'confidential'))))
      AND (p_tag IS NULL OR d.tags @> ARRAY[p_tag])`;

export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, [
    `CREATE INDEX search_documents_summary ON search_documents USING gin (summary) WITH (fastupdate = off)`,
    `CREATE FUNCTION search_readable_matches(p_query tsquery, p_projects uuid[], p_open text[], p_user uuid, p_now timestamptz, p_tag text, p_limit integer)
    RETURNS TABLE (project_id uuid, path text, tags text[], summary_rank real)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public SET enable_seqscan = off AS $$
      SELECT d.project_id, d.path, d.tags, ts_rank(d.summary, p_query)
        FROM public.search_documents d
       WHERE d.org_id = public.app_org_id() AND d.project_id = ANY (p_projects) AND d.vector @@ p_query AND ${READABLE}
       LIMIT p_limit
    $$`,
    `CREATE FUNCTION search_title_matches(p_query tsquery, p_projects uuid[], p_open text[], p_user uuid, p_now timestamptz, p_tag text, p_limit integer)
    RETURNS TABLE (project_id uuid, path text, summary_rank real)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public SET enable_seqscan = off AS $$
      SELECT d.project_id, d.path, ts_rank(d.summary, p_query)
        FROM public.search_documents d
       WHERE d.org_id = public.app_org_id() AND d.project_id = ANY (p_projects) AND d.summary @@ p_query AND ${READABLE}
       LIMIT p_limit
    $$`,
    `REVOKE ALL ON FUNCTION search_readable_matches(tsquery, uuid[], text[], uuid, timestamptz, text, integer) FROM PUBLIC`,
    `GRANT EXECUTE ON FUNCTION search_readable_matches(tsquery, uuid[], text[], uuid, timestamptz, text, integer) TO ${APP_ROLE}`,
    `REVOKE ALL ON FUNCTION search_title_matches(tsquery, uuid[], text[], uuid, timestamptz, text, integer) FROM PUBLIC`,
    `GRANT EXECUTE ON FUNCTION search_title_matches(tsquery, uuid[], text[], uuid, timestamptz, text, integer) TO ${APP_ROLE}`,
  ]);
}
