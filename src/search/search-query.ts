/**
 * Permission-filtered full-text search. The filter is part of the SQL: a row is considered only when the reader's
 * clearance covers its classification (access/policy.ts) or, for a member, when they hold a live access grant
 * for that document at its classification (access/grants.ts). Hits, counts, tag counts and "similar titles" all
 * come from rows that passed it, so a document the reader may not read adds nothing to any of them.
 */
import { sql, type Kysely, type RawBuilder } from 'kysely';
import { roleIn, type Actor } from '../access/actor.ts';
import { clearanceFor } from '../access/policy.ts';
import { clearanceCovers, CLASSIFICATION_ORDER } from '../content/classification.ts';
import type { Classification } from '../content/types.ts';
import { withOrg, type Db } from '../db/connection.ts';
import type { Database } from '../db/schema.ts';
import type { ProjectRecord } from '../projects/projects.ts';
import { MATCH_END, MATCH_START } from './document-text.ts';
import { highlightSegments, type SnippetSegment } from './highlight.ts';
import { parseQueryText, type QueryText } from './query-text.ts';
import { TEXT_SEARCH_CONFIG, type SearchIndex } from './search-index.ts';

/** Hits per page. */
export const PAGE_SIZE = 20;
/** Pages a query can be turned to (deeper pages ask for a better query). */
export const MAX_PAGE = 50;
/**
 * Matches a query reads at most (the reader's, after the permission and tag filters): the total, the counts and the
 * facets come from them, shown as "200+" when reached. What bounds a query's cost on a project of any size.
 */
export const MATCH_CAP = 200;
/** Title/tags/headings/path matches ranked by their full text beyond the page (with the page's first body matches). */
const TITLE_CANDIDATES = 20;
/**
 * Snippets are cut from this many characters of text, starting this many before the first match: about the 2 × 30
 * words ts_headline shows at most (its cost grows with the text it is given: it parses and stems every word).
 */
const SNIPPET_WINDOW = 420;
const SNIPPET_LEAD = 120;
/** Tags offered as filters, most frequent first. */
const MAX_TAG_FACETS = 30;
/** Titles at least 0.4 close (pg_trgm word similarity: search_similar_titles, migration 028) are offered when the text finds nothing. */
const SIMILAR_TITLES = 10;

/** ts_headline's options: matches between the private-use markers, two short fragments. */
const HEADLINE_OPTIONS = `StartSel=${MATCH_START}, StopSel=${MATCH_END}, MaxWords=30, MinWords=12, ShortWord=3, MaxFragments=2, FragmentDelimiter=" … "`;

export interface SearchRequest {
  actor: Actor;
  /** The projects searched: those the reader may list (all of theirs, or the one of a project search). */
  projects: readonly ProjectRecord[];
  query: string;
  /** Only this project (an id among `projects`). */
  projectId?: string | null;
  /** Only documents carrying this tag. */
  tag?: string | null;
  /** 1-based. */
  page?: number;
}

export interface SearchHit {
  project: ProjectRecord;
  path: string;
  title: string;
  tags: string[];
  classification: Classification;
  date: string | null;
  snippet: SnippetSegment[];
}

export interface SearchResults {
  /** The query as searched (trimmed), '' when there was nothing to search for. */
  query: string;
  /** 'text': full-text hits; 'similar-titles': nothing matched, these titles are close to the query; 'none'. */
  kind: 'text' | 'similar-titles' | 'none';
  total: number;
  /** True when the matches reached the search's bound (MATCH_CAP): `total` and the counts are lower bounds ("200+"). */
  atLeast: boolean;
  /** True when a facet's counts came from matches that reached the bound: each count is a lower bound. */
  countsAtLeast: boolean;
  page: number;
  pageCount: number;
  hits: SearchHit[];
  /** Readable matching documents per project (with the tag filter applied). */
  projectCounts: { project: ProjectRecord; count: number }[];
  /** Tags of readable matching documents (with the project filter applied), most frequent first. */
  tagCounts: { tag: string; count: number }[];
}

/** A row of the search statement: a hit, or a count per project or tag (`key`, `n`). */
type ResultRow = { kind: 'hit' | 'similar' | 'total' | 'scanned' | 'project' | 'tag'; key: string | null; n: number | null } & Partial<HitRow>;

interface HitRow {
  project_id: string;
  path: string;
  title: string;
  tags: string[];
  classification: Classification;
  date: string | null;
  rank: number;
  headline: string;
}

/** Answers searches over the index, for one reader at a time. */
export class SearchService {
  private trigrams: Promise<boolean> | null = null;

  constructor(
    private readonly db: Db,
    private readonly index: SearchIndex,
    /** The clock that decides whether an access grant is still live. */
    private readonly now: () => number = Date.now,
    /** The benchmark's window into the plans: each statement's EXPLAIN ANALYZE, before it runs. */
    private readonly explain?: (statement: 'search' | 'similar-titles', plan: string) => void,
    /** The bound on matches read per query (tests lower it to reach it with a few documents). */
    private readonly matchCap: number = MATCH_CAP,
  ) {}

  async search(request: SearchRequest): Promise<SearchResults> {
    const page = Math.min(MAX_PAGE, Math.max(1, Math.floor(request.page ?? 1)));
    const empty: SearchResults = { query: '', kind: 'none', total: 0, atLeast: false, countsAtLeast: false, page, pageCount: 0, hits: [], projectCounts: [], tagCounts: [] };
    const parsed = parseQueryText(request.query);
    if (!parsed || request.projects.length === 0) return { ...empty, query: parsed?.text ?? '' };
    // Results never lag a publish of this process (a no-op unless the index is behind the published snapshot).
    for (const project of request.projects) {
      if (!this.index.isCurrent(project)) await this.index.ensureIndexed(project);
    }
    const selected = request.projectId ? request.projects.filter((p) => p.id === request.projectId) : request.projects;
    const tag = request.tag ? request.tag : null;
    const byOrg = groupByOrg(request.projects);
    const byId = new Map(request.projects.map((p) => [p.id, p]));
    const now = new Date(this.now());
    const selectedIds = new Set(selected.map((p) => p.id));

    const projectCounts: SearchResults['projectCounts'] = [];
    const tagTotals = new Map<string, number>();
    let total = 0;
    let capped = false;
    let countsCapped = false;
    const rows: HitRow[] = [];
    const similarRows: HitRow[] = [];
    const trigrams = await this.hasTrigrams();
    const single = byOrg.size === 1;
    const cap = this.matchCap;
    for (const [orgId, projects] of byOrg) {
      const inScope = projects.filter((p) => selectedIds.has(p.id)).map((p) => p.id);
      const all = projects.map((p) => p.id);
      const reader = readerOf(request.actor, orgId);
      // One organization: the page is cut in SQL; several: each gives its best up to this page, merged below.
      const limit = single ? PAGE_SIZE : PAGE_SIZE * page;
      const offset = single ? PAGE_SIZE * (page - 1) : 0;
      const query = tsQuery(parsed);
      const matches = (projectIds: readonly string[], tagFilter: string | null) =>
        sql`search_readable_matches(q.query, ${projectIds}::uuid[], ${reader.open}::text[], ${reader.userId}::uuid, ${now}, ${tagFilter}::text, ${cap})`;
      // Bounded work per query, whatever the corpus (migration 020): the first `cap` matches the reader may read
      // (permission and tag filter applied inside, before the limit) give the total and the facets; the best
      // candidates come from the title/headings/tags/path matches (their own small GIN index), ranked, plus the
      // first body matches; only those are ranked by their full text, and snippets are cut for the page alone.
      // Counts reaching `cap` are shown as "cap+". Facets over other scopes (another project, no tag) are read
      // only when a filter makes them differ from the matches of the page.
      const projectsDiffer = inScope.length !== all.length;
      // Typo tolerance in the same statement (one round trip): titles close to the text, read only when the text
      // matched nothing the reader may read (a one-time filter: the trigram index is not touched otherwise).
      const similar = trigrams
        ? sql`
          s AS MATERIALIZED (
            SELECT d.project_id, d.path, d.similarity FROM search_similar_titles(${parsed.text}, ${inScope}::uuid[]) AS d
            WHERE NOT EXISTS (SELECT 1 FROM m) AND d.org_id = ${orgId} AND ${readableFilter(request.actor, orgId, now)}
              AND (${tag}::text IS NULL OR d.tags @> ARRAY[${tag}::text])
            ORDER BY d.similarity DESC, d.path
            LIMIT ${SIMILAR_TITLES}
          ),`
        : sql``;
      const similarSelect = trigrams
        ? sql`
          UNION ALL
          SELECT 'similar', s.project_id::text, s.path, d.title, d.tags, d.classification, d.date, s.similarity, left(d.body, 240), NULL, NULL
          FROM s JOIN search_documents d ON d.project_id = s.project_id AND d.path = s.path`
        : sql``;
      const statement = sql<ResultRow>`
          WITH q AS (SELECT ${query} AS query),
          m AS MATERIALIZED (
            SELECT d.project_id, d.path, d.tags, d.summary_rank FROM q, ${matches(inScope, tag)} AS d WHERE numnode(q.query) > 0
          ),
          full_m AS MATERIALIZED (SELECT count(*) >= ${cap} AS capped FROM m),
          t AS MATERIALIZED (
            SELECT d.project_id, d.path, d.summary_rank
            FROM q, search_title_matches(q.query, ${inScope}::uuid[], ${reader.open}::text[], ${reader.userId}::uuid, ${now}, ${tag}::text, ${cap}) AS d
            WHERE numnode(q.query) > 0 AND (SELECT capped FROM full_m)
            UNION ALL
            SELECT m.project_id, m.path, m.summary_rank FROM m WHERE m.summary_rank > 0 AND NOT (SELECT capped FROM full_m)
          ),
          candidates AS (
            (SELECT t.project_id, t.path FROM t ORDER BY t.summary_rank DESC, t.path LIMIT ${limit + offset + TITLE_CANDIDATES})
            UNION
            (SELECT m.project_id, m.path FROM m LIMIT ${limit + offset})
          ),
          p AS MATERIALIZED (
            ${projectsDiffer ? sql`SELECT d.project_id FROM q, ${matches(all, tag)} AS d WHERE numnode(q.query) > 0` : sql`SELECT m.project_id FROM m`}
          ),
          f AS MATERIALIZED (
            ${tag !== null ? sql`SELECT d.tags FROM q, ${matches(inScope, null)} AS d WHERE numnode(q.query) > 0` : sql`SELECT m.tags FROM m`}
          ),
          ${similar}
          hits AS (
            SELECT c.project_id, c.path, ts_rank_cd(d.vector, q.query, 1) AS rank
            FROM candidates c JOIN search_documents d ON d.project_id = c.project_id AND d.path = c.path, q
            -- a title match is not always a match (\`password -laptop\`: "laptop" in the body)
            WHERE d.vector @@ q.query
            ORDER BY rank DESC, c.path
            LIMIT ${limit} OFFSET ${offset}
          )
          SELECT 'hit' AS kind, hits.project_id::text AS project_id, hits.path, d.title, d.tags, d.classification, d.date,
            hits.rank, ts_headline(${sql.lit(TEXT_SEARCH_CONFIG)}::regconfig,
              substr(d.body, greatest(1, ${firstOccurrence(parsed.needle)} - ${SNIPPET_LEAD}), ${SNIPPET_WINDOW}),
              q.query, ${HEADLINE_OPTIONS}) AS headline, NULL AS key, NULL::int AS n
          FROM hits JOIN search_documents d ON d.project_id = hits.project_id AND d.path = hits.path, q
          UNION ALL
          SELECT 'total', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, count(*)::int FROM m
          UNION ALL
          SELECT 'project', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, p.project_id::text, count(*)::int FROM p GROUP BY p.project_id
          UNION ALL
          SELECT 'scanned', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'projects', count(*)::int FROM p
          UNION ALL
          SELECT 'tag', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, x.t, count(*)::int FROM f CROSS JOIN LATERAL unnest(f.tags) AS x(t) GROUP BY x.t
          UNION ALL
          SELECT 'scanned', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'tags', count(*)::int FROM f
          ${similarSelect}
        `;
      const result = await withOrg(this.db, orgId, async (trx) => {
        if (this.explain) this.explain('search', await planOf(trx, statement));
        return statement.execute(trx);
      });
      for (const row of result.rows) {
        if (row.kind === 'hit') {
          rows.push(row as HitRow);
        } else if (row.kind === 'similar') {
          similarRows.push({ ...(row as HitRow), headline: openingWords(row.headline!) });
        } else if (row.kind === 'total') {
          total += row.n!;
          if (row.n! >= cap) capped = true;
        } else if (row.kind === 'scanned') {
          if (row.n! >= cap) countsCapped = true;
        } else if (row.kind === 'project') {
          const project = byId.get(row.key!);
          if (!project) continue;
          projectCounts.push({ project, count: row.n! });
        } else {
          tagTotals.set(row.key!, (tagTotals.get(row.key!) ?? 0) + row.n!);
        }
      }
    }
    rows.sort(byRank);
    let kind: SearchResults['kind'] = 'text';
    let pageRows = single ? rows : rows.slice(PAGE_SIZE * (page - 1), PAGE_SIZE * page);
    if (total === 0) {
      pageRows = similarRows.sort(byRank).slice(0, SIMILAR_TITLES);
      kind = pageRows.length > 0 ? 'similar-titles' : 'none';
      total = pageRows.length;
      capped = false;
      countsCapped = false;
    }
    return {
      query: parsed.text,
      kind,
      total,
      atLeast: capped,
      countsAtLeast: capped || countsCapped,
      page,
      pageCount: Math.min(MAX_PAGE, Math.ceil(total / PAGE_SIZE)),
      hits: pageRows.map((row) => ({
        project: byId.get(row.project_id)!,
        path: row.path,
        title: row.title,
        tags: row.tags,
        classification: row.classification,
        date: row.date,
        snippet: highlightSegments(row.headline),
      })),
      projectCounts: projectCounts.sort((a, b) => b.count - a.count || a.project.name.localeCompare(b.project.name)),
      tagCounts: [...tagTotals]
        .map(([tagName, count]) => ({ tag: tagName, count }))
        .sort((a, b) => b.count - a.count || a.tag.localeCompare(b.tag))
        .slice(0, MAX_TAG_FACETS),
    };
  }

  /** Whether pg_trgm is installed (migration 016 creates it where the database allows, and 028 the function). */
  private hasTrigrams(): Promise<boolean> {
    this.trigrams ??= sql<{ ok: boolean }>`SELECT EXISTS (SELECT 1 FROM pg_proc WHERE proname = 'search_similar_titles') AS ok`
      .execute(this.db)
      .then((r) => r.rows[0]?.ok === true)
      .catch(() => false);
    return this.trigrams;
  }
}

/**
 * The read permission of policy.ts as SQL over `search_documents d`: classifications up to the reader's clearance,
 * or (members only) a live grant for the document whose approved classification covers the document's current one.
 */
export function readableFilter(actor: Actor, orgId: string, now: Date): RawBuilder<unknown> {
  const clearance = clearanceFor(actor, orgId);
  const open = CLASSIFICATION_ORDER.filter((classification) => clearanceCovers(clearance, classification));
  if (actor.kind !== 'user' || roleIn(actor, orgId) === null) return sql`d.classification = ANY(${open}::text[])`;
  return sql`(d.classification = ANY(${open}::text[]) OR EXISTS (
    SELECT 1 FROM access_grants g
    WHERE g.org_id = d.org_id AND g.project_id = d.project_id AND g.path = d.path AND g.user_id = ${actor.userId}
      AND g.expires_at > ${now} AND (g.classification = 'restricted' OR d.classification = 'confidential')))`;
}

/** The read permission as the search functions take it (migration 020): open classifications, and whose grants count. */
function readerOf(actor: Actor, orgId: string): { open: Classification[]; userId: string | null } {
  const clearance = clearanceFor(actor, orgId);
  const open = CLASSIFICATION_ORDER.filter((classification) => clearanceCovers(clearance, classification));
  const member = actor.kind === 'user' && roleIn(actor, orgId) !== null;
  return { open, userId: member ? actor.userId : null };
}

/** EXPLAIN ANALYZE of a statement, as text (the benchmark's evidence). */
async function planOf(trx: Kysely<Database>, statement: RawBuilder<unknown>): Promise<string> {
  const rows = await sql<{ 'QUERY PLAN': string }>`EXPLAIN (ANALYZE, BUFFERS) ${statement}`.execute(trx);
  return rows.rows.map((row) => row['QUERY PLAN']).join('\n');
}

/**
 * Where the snippet's window starts: the first occurrence of the needle written in lower case or capitalized
 * (`strpos` on the text as stored; `lower()` of a whole body cost more than the headline itself), 0 when neither
 * occurs (the window then starts at the beginning of the text).
 */
function firstOccurrence(needle: string): RawBuilder<unknown> {
  if (needle === '') return sql`0`;
  const capitalized = needle.charAt(0).toUpperCase() + needle.slice(1);
  if (capitalized === needle) return sql`strpos(d.body, ${needle})`;
  return sql`coalesce(least(nullif(strpos(d.body, ${needle}), 0), nullif(strpos(d.body, ${capitalized}), 0)), 0)`;
}

/** The tsquery of the box: websearch syntax, or'ed with the last word as a prefix while it is being typed. */
function tsQuery(query: QueryText): RawBuilder<unknown> {
  const config = sql.lit(TEXT_SEARCH_CONFIG);
  const full = sql`websearch_to_tsquery(${config}::regconfig, ${query.text})`;
  if (!query.prefix) return full;
  // the word is letters and digits only (query-text.ts): nothing in it is to_tsquery syntax
  return sql`(${full} || (websearch_to_tsquery(${config}::regconfig, ${query.prefix.head}) && to_tsquery(${config}::regconfig, ${`${query.prefix.word}:*`})))`;
}

function groupByOrg(projects: readonly ProjectRecord[]): Map<string, ProjectRecord[]> {
  const byOrg = new Map<string, ProjectRecord[]>();
  for (const project of projects) {
    const list = byOrg.get(project.orgId);
    if (list) list.push(project);
    else byOrg.set(project.orgId, [project]);
  }
  return byOrg;
}

const byRank = (a: HitRow, b: HitRow) => b.rank - a.rank || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);

/** The first words of a text, cut at a word boundary. */
function openingWords(text: string): string {
  if (text.length < 240) return text;
  const cut = text.slice(0, 240);
  const space = cut.lastIndexOf(' ');
  return `${space > 120 ? cut.slice(0, space) : cut} …`;
}
