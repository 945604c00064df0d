/**
 * Search benchmark (`npm run bench:search`, and part of `npm run bench`).
 *
 * On a generated project of 10,000 documents (bench/corpus.ts), on embedded PGlite (data on disk, as served) and
 * on PostgreSQL when one answers:
 *   1. the import (commit, render, publish), how long after it the listener has the index ready, and the bulk
 *      build alone (the index emptied and built again from the rendered store): what the index adds to an import;
 *   2. query latency at 8 concurrent readers (a member: internal clearance, the grant check in every query):
 *      full search (facets, ranked page, snippets) for common words, rare words, phrases, as-you-type prefixes,
 *      negations and typos (similar titles), p50 and p99 per kind and overall. Goal: p99 < 50 ms.
 *
 * Also printed: the load average, CPU per query (this process, PGlite's thread included; for PostgreSQL also its
 * backends serving the benchmark's database, from /proc), and with --explain each statement's EXPLAIN ANALYZE
 * for one query of each kind.
 *
 * Flags: --documents N (10000)  --readers R (8)  --queries Q (per reader, 60)  --databases pglite,postgres
 *        --explain  --compare FILE (a module exporting another SearchService: both are measured on the same
 *        index, in alternated rounds, so a loaded machine weighs on both alike)  --rounds N (4, with --compare)
 * Env: BENCH_DATABASE_URL=postgres://user@host/db (administrative: a database is created and dropped); without
 *      it 127.0.0.1:5432 is tried, and the PostgreSQL part is skipped with a line saying so when nothing answers.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import type { UserActor } from '../src/access/actor.ts';
import { createAppContext, type AppContext } from '../src/app-context.ts';
import { upsertAccount } from '../src/auth/accounts.ts';
import { loadConfig } from '../src/config/config.ts';
import { openDatabase, withOrg, type Db } from '../src/db/connection.ts';
import { importFolder } from '../src/projects/import-folder.ts';
import { SearchService } from '../src/search/search-query.ts';
import { generateCorpus } from './corpus.ts';

const { values } = parseArgs({
  options: {
    documents: { type: 'string', default: '10000' },
    readers: { type: 'string', default: '8' },
    queries: { type: 'string', default: '60' },
    databases: { type: 'string', default: 'pglite,postgres' },
    explain: { type: 'boolean', default: false },
    compare: { type: 'string' },
    rounds: { type: 'string', default: '4' },
  },
  strict: false,
});
const DOCUMENTS = Number(values.documents);
const READERS = Number(values.readers);
const QUERIES = Number(values.queries);
const DATABASES = String(values.databases).split(',');
const EXPLAIN = values.explain === true;
const COMPARE = typeof values.compare === 'string' ? values.compare : null;
const ROUNDS = COMPARE ? Number(values.rounds) : 1;

/** Query kinds, each a few texts drawn from the corpus vocabulary (bench/corpus.ts). */
const QUERY_KINDS: Record<string, string[]> = {
  'common word': ['access', 'employees', 'review', 'policy', 'data'],
  'rare word': ['whistleblowing', 'kubectl', 'hospitality', 'segmentation', 'bribery'],
  phrase: ['"encryption keys"', '"service desk"', '"firewall rules"', '"expense claims"'],
  'as you type': ['encr', 'vuln', 'onboa', 'disaster rec', 'key manag'],
  'with -negation': ['password -laptop', 'incident -runbook', 'travel or expense -policy'],
  'typo (similar titles)': ['pasword polcy', 'encyrption standrd', 'vendr risk'],
};

interface Row {
  database: string;
  import_s: number;
  /** From the end of the import until the listener has indexed it. */
  index_ready_after_s: number;
  /** The bulk build alone. */
  index_s: number;
  index_share_of_import: string;
  variant: string;
  kind: string;
  p50_ms: number;
  p99_ms: number;
  queries: number;
  /** CPU per query: this process (PGlite's thread included) and PostgreSQL's backends for this database. */
  cpu_ms_per_query: number;
  load_avg_1m: number;
}

/** A search service as the benchmark calls it (this one, or the one of --compare). */
interface Searcher {
  search(request: Parameters<SearchService['search']>[0]): Promise<unknown>;
}
type SearcherClass = new (db: Db, index: AppContext['searchIndex'], now?: () => number, explain?: (statement: string, plan: string) => void) => Searcher;

/** CPU seconds (user + system) of these processes, from /proc (0 for those that are gone or unreadable). */
function cpuSecondsOf(pids: readonly number[]): number {
  const tick = 100; // USER_HZ on Linux
  let total = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += (Number(fields[11]) + Number(fields[12])) / tick;
    } catch {
      // gone
    }
  }
  return total;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

async function postgresUrl(): Promise<{ url: string; drop(): Promise<void> } | null> {
  const admin = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const db = new Kysely<unknown>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: admin, max: 1, connectionTimeoutMillis: 2000 }) }) });
  const name = `docucommit_bench_search_${randomBytes(4).toString('hex')}`;
  try {
    await sql.raw(`CREATE DATABASE ${name}`).execute(db);
  } catch (error) {
    await db.destroy();
    console.log(`PostgreSQL part skipped: ${admin.replace(/\/\/[^@]*@/, '//')} does not answer (${(error as Error).message})`);
    return null;
  }
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      await sql.raw(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).execute(db);
      await db.destroy();
    },
  };
}

async function run(database: 'pglite' | 'postgres', corpusDir: string): Promise<Row[]> {
  const dataDir = mkdtempSync(join(tmpdir(), 'docucommit-bench-search-'));
  const postgres = database === 'postgres' ? await postgresUrl() : null;
  if (database === 'postgres' && !postgres) return [];
  let context: AppContext | null = null;
  try {
    const config = loadConfig({ dataDir, env: { ...process.env, ...(postgres ? { DATABASE_URL: postgres.url } : {}) } });
    const db = postgres
      ? await openDatabase({ kind: 'postgres', url: postgres.url, appUrl: null, secret: config.secret })
      : await openDatabase({ kind: 'pglite', dataDir: join(dataDir, 'db') });
    context = await createAppContext(config, db);
    const { user } = await upsertAccount(db, { email: 'reader@bench.test', orgSlug: 'bench', role: 'member', password: 'bench passphrase that is long' });

    const author = { name: 'Bench', email: 'bench@bench.test' };
    let started = performance.now();
    // The import returns once the snapshot is published; the index follows as a branch-move listener.
    const { project } = await importFolder(context, { folder: corpusDir, orgSlug: 'bench', projectSlug: 'handbook', author });
    const importSeconds = (performance.now() - started) / 1000;
    started = performance.now();
    await context.branchMoves.idle();
    await context.searchIndex.ensureIndexed(project);
    const readySeconds = (performance.now() - started) / 1000;
    // The bulk build alone: the index emptied, then built again from the rendered store.
    await withOrg(db, project.orgId, async (trx) => {
      await trx.deleteFrom('search_documents').where('project_id', '=', project.id).execute();
      await trx.deleteFrom('search_index_state').where('project_id', '=', project.id).execute();
    });
    context.searchIndex.forget(project.id);
    started = performance.now();
    const outcome = await context.searchIndex.ensureIndexed(project);
    const indexSeconds = (performance.now() - started) / 1000;
    if (outcome.written < DOCUMENTS) throw new Error(`indexed ${outcome.written} of ${DOCUMENTS} documents`);

    const actor: UserActor = { kind: 'user', userId: user.id, email: user.email, name: user.name, memberships: new Map([[project.orgId, 'member']]) };
    const all = Object.entries(QUERY_KINDS).flatMap(([kind, texts]) => texts.map((text) => ({ kind, text })));
    const variants: { name: string; Service: SearcherClass }[] = [{ name: 'this', Service: SearchService as unknown as SearcherClass }];
    if (COMPARE) {
      const module = (await import(pathToFileURL(resolve(COMPARE)).href)) as { SearchService: SearcherClass };
      variants.push({ name: 'compared', Service: module.SearchService });
    }
    if (EXPLAIN) {
      for (const [kind, texts] of Object.entries(QUERY_KINDS)) {
        const explaining = new SearchService(db, context.searchIndex, Date.now, (statement, plan) => {
          console.log(`\n--- ${database}: EXPLAIN ANALYZE of the ${statement} statement for ${kind} ${JSON.stringify(texts[0])}\n${plan}`);
        });
        await explaining.search({ actor, projects: [project], query: texts[0]!, page: 1 });
      }
    }
    // PostgreSQL's backends serving this database (the pool's connections), for their CPU
    const backends = async () =>
      postgres ? (await sql<{ pid: number }>`SELECT pid FROM pg_stat_activity WHERE datname = current_database()`.execute(db)).rows.map((r) => r.pid) : [];
    const timings = new Map<string, number[]>();
    const cpu = new Map<string, { seconds: number; queries: number; load: number[] }>();
    for (let round = 0; round < ROUNDS; round++) {
      for (const variant of round % 2 === 0 ? variants : [...variants].reverse()) {
        const service = new variant.Service(db, context.searchIndex);
        // Warm-up: each query once, by as many readers at once as the measurement has, so that the pool holds (and
        // the CPU below counts) every connection the measurement uses. Warmed one at a time, the pool held one
        // connection, and the measurement opened the rest: each new PostgreSQL backend's first searches paid for
        // loading catalogs and the text search dictionary (~250 ms), which made the p99, and their CPU went uncounted.
        let next = 0;
        await Promise.all(
          Array.from({ length: READERS }, async () => {
            while (next < all.length) await service.search({ actor, projects: [project], query: all[next++]!.text });
          }),
        );
        const pids = await backends();
        const cpuBefore = process.cpuUsage();
        const pgBefore = cpuSecondsOf(pids);
        let counter = 0;
        await Promise.all(
          Array.from({ length: READERS }, async () => {
            for (let i = 0; i < QUERIES; i++) {
              const { kind, text } = all[counter++ % all.length]!;
              const t0 = performance.now();
              await service.search({ actor, projects: [project], query: text, page: 1 });
              const ms = performance.now() - t0;
              const key = `${variant.name}\n${kind}`;
              timings.set(key, [...(timings.get(key) ?? []), ms]);
            }
          }),
        );
        const used = process.cpuUsage(cpuBefore);
        const seconds = (used.user + used.system) / 1e6 + (cpuSecondsOf(pids) - pgBefore);
        const entry = cpu.get(variant.name) ?? { seconds: 0, queries: 0, load: [] };
        entry.seconds += seconds;
        entry.queries += READERS * QUERIES;
        entry.load.push(loadavg()[0]!);
        cpu.set(variant.name, entry);
      }
    }
    const rows: Row[] = [];
    const base = {
      database,
      import_s: round(importSeconds),
      index_ready_after_s: round(readySeconds),
      index_s: round(indexSeconds),
      index_share_of_import: `${Math.round((indexSeconds / importSeconds) * 100)}%`,
    };
    for (const variant of variants) {
      const used = cpu.get(variant.name)!;
      const perVariant = { ...base, variant: variant.name, cpu_ms_per_query: round((used.seconds * 1000) / used.queries), load_avg_1m: round(used.load.reduce((a, b) => a + b, 0) / used.load.length) };
      const everything: number[] = [];
      for (const [key, list] of timings) {
        const [name, kind] = key.split('\n') as [string, string];
        if (name !== variant.name) continue;
        const sorted = [...list].sort((a, b) => a - b);
        everything.push(...list);
        rows.push({ ...perVariant, kind, p50_ms: round(percentile(sorted, 50)), p99_ms: round(percentile(sorted, 99)), queries: list.length });
      }
      const sorted = everything.sort((a, b) => a - b);
      rows.push({ ...perVariant, kind: 'ALL', p50_ms: round(percentile(sorted, 50)), p99_ms: round(percentile(sorted, 99)), queries: sorted.length });
    }
    return rows;
  } finally {
    await context?.close();
    await postgres?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const corpusDir = mkdtempSync(join(tmpdir(), 'docucommit-bench-search-corpus-'));
try {
  const corpus = generateCorpus(corpusDir, { documents: DOCUMENTS });
  console.log(`Search benchmark: ${corpus.paths.length} documents (${Math.round(corpus.bytes / 1024 / 1024)} MB), ${READERS} concurrent readers, ${QUERIES} queries each`);
  const rows: Row[] = [];
  for (const database of ['pglite', 'postgres'] as const) if (DATABASES.includes(database)) rows.push(...(await run(database, corpusDir)));
  console.table(rows);
  const worst = rows.filter((r) => r.kind === 'ALL');
  for (const row of worst) console.log(`${row.database} (${row.variant}): p50 ${row.p50_ms} ms, p99 ${row.p99_ms} ms (goal p99 < 50 ms: ${row.p99_ms < 50 ? 'met' : 'NOT met'}); index ready ${row.index_ready_after_s} s after a ${row.import_s} s import; bulk build alone ${row.index_s} s (${row.index_share_of_import} of the import); CPU ${row.cpu_ms_per_query} ms a query; load average ${row.load_avg_1m}`);
} finally {
  rmSync(corpusDir, { recursive: true, force: true });
}
process.exit(0);
