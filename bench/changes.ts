/**
 * Change-request benchmark (`npm run bench:changes`, and part of `npm run bench`).
 *
 * On a generated project of 10,000 documents (bench/corpus.ts), on embedded PGlite, with the real server:
 *   1. the page of a change request touching 50 documents (`GET /{org}/{project}/-/changes/{n}`: documents read
 *      from git, the rules, the line diffs in the budget worker pool), signed in as a reviewer: its first view and those of
 *      four other requests of 50 documents (redlines rendered and trees read for the first time: what a reviewer
 *      opening a new request waits for), then p50/p95 of --page-loads views of the same page again (what it
 *      remembers: redlines by blob, changed documents and commits by commit). Target < 300 ms;
 *   2. merge → visible: a change request of one document approved, then merged through the service (merge-tree,
 *      merge commit, branch-move protocol, publish) until the document's page over HTTP shows the new text,
 *      --merges times. Target < 500 ms;
 *   3. the list of change requests (`/-/changes`) with --requests open requests: one query with the visibility
 *      rule in SQL (its p50), for a reader who may see them and one who may see none of them.
 *
 * Flags: --documents N (10000)  --page-loads L (20)  --merges M (10)  --requests R (60)
 * Timings on a loaded machine are indicative only (the load average is printed with them).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { UserActor } from '../src/access/actor.ts';
import { createAppContext, type AppContext } from '../src/app-context.ts';
import { upsertAccount } from '../src/auth/accounts.ts';
import { loadConfig } from '../src/config/config.ts';
import { PUBLISHED_BRANCH } from '../src/content/published-branch.ts';
import { openDatabase } from '../src/db/connection.ts';
import type { Role } from '../src/db/schema.ts';
import { importFolder } from '../src/projects/import-folder.ts';
import { buildApp } from '../src/web/app.ts';
import { documentUrl } from '../src/web/urls.ts';
import { login } from '../test/helpers/test-app.ts';
import { generateCorpus } from './corpus.ts';

const { values } = parseArgs({
  options: {
    documents: { type: 'string', default: '10000' },
    'page-loads': { type: 'string', default: '20' },
    merges: { type: 'string', default: '10' },
    requests: { type: 'string', default: '60' },
  },
  strict: false,
});
const DOCUMENTS = Number(values.documents);
const PAGE_LOADS = Number(values['page-loads']);
const MERGES = Number(values.merges);
const REQUESTS = Number(values.requests);
/** Requests of 50 documents whose first view is timed. */
const COLD_VIEWS = 5;
const PASSWORD = 'bench passphrase that is long enough';

const percentile = (list: number[], p: number) => {
  const sorted = [...list].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
};
const round = (n: number) => Math.round(n * 10) / 10;

async function main(): Promise<void> {
  const corpusDir = mkdtempSync(join(tmpdir(), 'docucommit-bench-changes-corpus-'));
  const dataDir = mkdtempSync(join(tmpdir(), 'docucommit-bench-changes-'));
  let context: AppContext | null = null;
  try {
    const corpus = generateCorpus(corpusDir, { documents: DOCUMENTS });
    const config = loadConfig({ dataDir, env: { ...process.env, DATABASE_URL: '' } });
    const db = await openDatabase({ kind: 'pglite', dataDir: join(dataDir, 'db') });
    context = await createAppContext(config, db);
    const accounts = {} as Record<'author' | 'reviewer' | 'reviewer2' | 'member', UserActor>;
    for (const [key, role] of [['author', 'admin'], ['reviewer', 'admin'], ['reviewer2', 'owner'], ['member', 'member']] as const) {
      const { user } = await upsertAccount(db, { email: `${key}@bench.test`, name: key, orgSlug: 'bench', role, password: PASSWORD });
      accounts[key] = { kind: 'user', userId: user.id, email: user.email, name: user.name, memberships: new Map<string, Role>() };
    }
    const started = performance.now();
    const { project } = await importFolder(context, { folder: corpusDir, orgSlug: 'bench', projectSlug: 'handbook', author: { name: 'Bench', email: 'bench@bench.test' } });
    await context.branchMoves.idle();
    const importSeconds = (performance.now() - started) / 1000;
    for (const [key, role] of [['author', 'admin'], ['reviewer', 'admin'], ['reviewer2', 'owner'], ['member', 'member']] as const) {
      accounts[key] = { ...accounts[key], memberships: new Map<string, Role>([[project.orgId, role]]) };
    }
    const { app } = await buildApp(context);
    await app.listen({ port: 0, host: '127.0.0.1' });
    const origin = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    const cookie = await login(app, 'reviewer@bench.test', PASSWORD);
    const memberCookie = await login(app, 'member@bench.test', PASSWORD);
    const ctx = context;
    const none = new Set<string>();
    const repository = await ctx.repositories.get(project);
    const documents = corpus.paths.filter((p) => p.endsWith('.md') && !p.endsWith('index.md'));

    /** A draft on `branch` from main changing `paths` (a line appended to each), opened by the author. */
    async function openRequest(branch: string, paths: readonly string[], line: string): Promise<number> {
      const main = (await repository.headOf(PUBLISHED_BRANCH))!;
      const changes = [];
      for (const path of paths) {
        const entry = await repository.entryAt(main, path);
        changes.push({ path, content: `${(await repository.readBlob(entry!.oid)).toString('utf8')}\n${line}\n` });
      }
      await ctx.branchMoves.commit(
        project,
        repository,
        { branch, expectedOld: null, startFrom: main, mode: 'patch', changes, author: { name: 'author', email: accounts.author.email }, message: line },
        { kind: 'save', actor: { type: 'user', id: accounts.author.userId, label: accounts.author.email }, events: () => [] },
      );
      await ctx.branchMoves.idle();
      return ctx.changeRequests.open(project, accounts.author, { branch, title: line }, none);
    }

    const get = async (path: string, who = cookie) => {
      const t0 = performance.now();
      const response = await fetch(`${origin}${path}`, { headers: { cookie: who }, redirect: 'manual' });
      const body = await response.text();
      if (response.status !== 200) throw new Error(`${path}: ${response.status}`);
      return { ms: performance.now() - t0, body };
    };

    // 1. the page of a request touching 50 documents
    const fifty = documents.filter((_, i) => i % Math.floor(documents.length / 50) === 0).slice(0, 50);
    const big = await openRequest('bench/fifty', fifty, 'Bench: fifty documents.');
    const pageUrl = `/${project.orgSlug}/${project.slug}/-/changes/${big}`;
    // its first view (redlines rendered, trees read) and those of other requests of 50 documents: what a reviewer
    // opening a new request waits for; then the same page read again
    const firstViews = [(await get(pageUrl)).ms];
    const step = Math.floor(documents.length / 50);
    for (let k = 1; k <= COLD_VIEWS - 1; k++) {
      const others = documents.filter((_, i) => i % step === k % step).slice(0, 50);
      const n = await openRequest(`bench/fifty-${k}`, others, `Bench: fifty other documents (${k}).`);
      firstViews.push((await get(`/${project.orgSlug}/${project.slug}/-/changes/${n}`)).ms);
    }
    const pageTimes: number[] = [];
    for (let i = 0; i < PAGE_LOADS; i++) pageTimes.push((await get(pageUrl)).ms);

    // 2. merge → visible
    const mergeTimes: number[] = [];
    for (let i = 0; i < MERGES; i++) {
      const path = documents[(i * 7919) % documents.length]!;
      const line = `Merged line ${i} ${Date.now()}.`;
      const number = await openRequest(`bench/merge-${i}`, [path], line);
      const view = await ctx.changeRequests.get(project, accounts.reviewer, number, none);
      if (view.verdict.needsReview) {
        await ctx.changeRequests.review(project, accounts.reviewer, number, { verdict: 'approve' }, none);
        await ctx.changeRequests.review(project, accounts.reviewer2, number, { verdict: 'approve' }, none);
      }
      const url = documentUrl({ orgSlug: project.orgSlug, slug: project.slug }, path);
      const t0 = performance.now();
      const merged = await ctx.changeRequests.merge(project, accounts.author, number, none);
      if (!merged.merged) throw new Error(`merge ${i} conflicted`);
      for (;;) {
        if ((await get(url)).body.includes(line.replace(/\.$/, ''))) break;
        if (performance.now() - t0 > 10_000) throw new Error(`merge ${i} not visible after 10 s`);
      }
      mergeTimes.push(performance.now() - t0);
    }

    // 3. the list with many open requests
    for (let i = 0; i < REQUESTS; i++) await openRequest(`bench/list-${i}`, [documents[(i * 104729) % documents.length]!], `Listed ${i}.`);
    const listUrl = `/${project.orgSlug}/${project.slug}/-/changes`;
    await get(listUrl);
    const listTimes: number[] = [];
    const memberListTimes: number[] = [];
    for (let i = 0; i < PAGE_LOADS; i++) {
      listTimes.push((await get(listUrl)).ms);
      memberListTimes.push((await get(`${listUrl}?filter=review`, memberCookie)).ms);
    }

    const figures = {
      documents: corpus.paths.length,
      import_s: round(importSeconds),
      cr_page_50_documents_first_view_p50_ms: round(percentile(firstViews, 50)),
      cr_page_50_documents_first_view_max_ms: round(Math.max(...firstViews)),
      cr_page_50_documents_p50_ms: round(percentile(pageTimes, 50)),
      cr_page_50_documents_p95_ms: round(percentile(pageTimes, 95)),
      merge_to_visible_p50_ms: round(percentile(mergeTimes, 50)),
      merge_to_visible_p95_ms: round(percentile(mergeTimes, 95)),
      cr_list_p50_ms: round(percentile(listTimes, 50)),
      cr_list_member_review_filter_p50_ms: round(percentile(memberListTimes, 50)),
      open_requests: REQUESTS + 1,
      load_average_1m: round(loadavg()[0]!),
    };
    console.log(`Change-request benchmark: ${corpus.paths.length} documents, import ${figures.import_s} s, load average ${figures.load_average_1m}`);
    console.table([
      { figure: `CR page, 50 documents, first view (p50 of ${COLD_VIEWS})`, ms: figures.cr_page_50_documents_first_view_p50_ms, target: '< 300 ms', met: figures.cr_page_50_documents_first_view_p50_ms < 300 ? 'yes' : 'NO' },
      { figure: `CR page, 50 documents, first view (slowest of ${COLD_VIEWS})`, ms: figures.cr_page_50_documents_first_view_max_ms, target: '', met: '' },
      { figure: 'CR page, 50 documents, viewed again (p50)', ms: figures.cr_page_50_documents_p50_ms, target: '< 300 ms', met: figures.cr_page_50_documents_p50_ms < 300 ? 'yes' : 'NO' },
      { figure: 'CR page, 50 documents, viewed again (p95)', ms: figures.cr_page_50_documents_p95_ms, target: '', met: '' },
      { figure: 'merge → visible (p50)', ms: figures.merge_to_visible_p50_ms, target: '< 500 ms', met: figures.merge_to_visible_p50_ms < 500 ? 'yes' : 'NO' },
      { figure: 'merge → visible (p95)', ms: figures.merge_to_visible_p95_ms, target: '', met: '' },
      { figure: `CR list, ${REQUESTS + 1} open (p50)`, ms: figures.cr_list_p50_ms, target: '', met: '' },
      { figure: 'CR list, "waiting for my review", member (p50)', ms: figures.cr_list_member_review_filter_p50_ms, target: '', met: '' },
    ]);
    console.log(JSON.stringify(figures));
    await app.close();
  } finally {
    await context?.close();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(corpusDir, { recursive: true, force: true });
  }
}

await main();
process.exit(0);

