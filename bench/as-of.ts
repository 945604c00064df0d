/**
 * The as-of view benchmark (`npm run bench:as-of`, and part of `npm run bench`; runnable alone:
 * `node --import tsx bench/as-of.ts [--documents N] [--changes C] [--runs R]`).
 *
 *   1. generates the deterministic corpus (bench/corpus.ts, default 10,000 documents) and imports it as one project
 *      on embedded PGlite in a temporary data directory;
 *   2. gives it a year of history: C commits (default 120) through the branch-move protocol, each changing a few
 *      documents, every fifth version taking effect some days after its publication; each commit's record of
 *      publication is then dated one of the past year's days (as if made then);
 *   3. times, through the real app (`app.inject`, a signed-in admin: every document readable), pages of
 *      `/{org}/{project}/-/at/{day}/…` for several days: the first page of a day (cold: the snapshot of that day is
 *      derived from today's by a tree diff and the effective dates applied) and then, once warm, a document, its
 *      section and the project home, R times each — with today's page for comparison.
 *
 * Prints a table and, last, one JSON line. The target is < 100 ms per page once warm; a missed target is reported,
 * not a failure. Figures from a loaded machine are inflated: the load average is printed with them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { sql } from 'kysely';
import { createAppContext } from '../src/app-context.ts';
import { upsertAccount } from '../src/auth/accounts.ts';
import { openDatabase } from '../src/db/connection.ts';
import { importFolder } from '../src/projects/import-folder.ts';
import { documentUrl, sectionUrl } from '../src/web/urls.ts';
import { buildApp } from '../src/web/app.ts';
import { login, testConfig } from '../test/helpers/test-app.ts';
import { generateCorpus, Rng } from './corpus.ts';

const DAY = 24 * 60 * 60 * 1000;

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const raw = i === -1 ? process.env[`BENCH_${name.toUpperCase()}`] : process.argv[i + 1];
  const n = raw === undefined ? fallback : Number(raw);
  if (!Number.isFinite(n) || n < 1) throw new Error(`--${name} must be a positive number`);
  return Math.floor(n);
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const p95 = (values: number[]) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * 0.95))]!;
const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;
const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);

async function main(): Promise<void> {
  const documents = flag('documents', 10_000);
  const changes = flag('changes', 120);
  const runs = flag('runs', 30);
  const dataDir = mkdtempSync(join(tmpdir(), 'docucommit-bench-as-of-'));
  const log = (line: string) => console.error(`[as-of] ${line}`);
  try {
    const corpus = generateCorpus(join(dataDir, 'corpus'), { documents, seed: 1 });
    const db = await openDatabase({ kind: 'pglite', dataDir: join(dataDir, 'db') });
    const context = await createAppContext(testConfig(dataDir), db);
    let t = performance.now();
    const { project } = await importFolder(context, {
      folder: corpus.dir,
      orgSlug: 'bench',
      projectSlug: 'handbook',
      projectName: 'Bench Handbook',
      author: { name: 'Bench', email: 'bench@example.com' },
    });
    log(`import of ${documents} documents: ${round((performance.now() - t) / 1000, 2)} s`);

    // a year of history: commits of a few documents each, dated across the past year
    const now = Date.now();
    const rng = new Rng(7);
    const markdown = corpus.paths.filter((p) => p.endsWith('.md') && !p.endsWith('index.md'));
    const repository = await context.repositories.get(project);
    const actor = { type: 'user' as const, id: '', label: 'bench@example.com' };
    const dated: { commit: string; at: number }[] = [];
    t = performance.now();
    for (let i = 0; i < changes; i++) {
      const at = now - 365 * DAY + Math.floor(((i + 1) * 360 * DAY) / changes);
      const files = new Map<string, string>();
      for (let k = 0; k < 3; k++) {
        const path = markdown[Math.floor(rng.next() * markdown.length)]!;
        const source = (await repository.readBlob((await repository.entryAt((await repository.headOf('main'))!, path))!.oid)).toString('utf8');
        const effective = i % 5 === 0 ? `effective: ${day(at + 20 * DAY)}\n` : '';
        files.set(path, source.replace(/^effective: .*\n/m, '').replace(/^---\n/, `---\n${effective}`) + `\nRevision ${i} of this document.\n`);
      }
      const head = await repository.headOf('main');
      const result = await context.branchMoves.commit(
        project,
        repository,
        { branch: 'main', expectedOld: head, mode: 'patch', changes: [...files].map(([path, content]) => ({ path, content })), author: { name: 'Bench', email: 'bench@example.com' }, message: `Revision ${i}` },
        // generated history, recorded as an import: protected main (changes/protected-main.ts) refuses a person's save
        // of a restricted document without its approvals, and the corpus has some
        { kind: 'import', actor, events: (commit) => ({ orgId: project.orgId, actor, action: 'document.saved', target: { type: 'commit', id: commit }, outcome: 'success' }) },
      );
      dated.push({ commit: result.commit!, at });
    }
    await context.branchMoves.idle();
    log(`${changes} commits: ${round((performance.now() - t) / 1000, 2)} s`);
    // the import a year and a day ago, each commit on its day (the record of publication is what as-of reads)
    await db.transaction().execute(async (trx) => {
      await sql`SET LOCAL ROLE NONE`.execute(trx);
      await trx.updateTable('branch_moves').set({ created_at: new Date(now - 366 * DAY) }).where('project_id', '=', project.id).execute();
      for (const { commit, at } of dated) {
        await trx.updateTable('branch_moves').set({ created_at: new Date(at) }).where('project_id', '=', project.id).where('new_commit', '=', commit).execute();
      }
    });

    await upsertAccount(db, { email: 'admin@bench.test', orgSlug: 'bench', role: 'admin', password: 'bench-admin-password-1', name: 'Bench Admin' });
    const { app } = await buildApp(context);
    const cookie = await login(app, 'admin@bench.test', 'bench-admin-password-1');
    const get = async (url: string) => {
      const start = performance.now();
      const response = await app.inject({ method: 'GET', url, headers: { cookie } });
      const ms = performance.now() - start;
      if (response.statusCode !== 200) throw new Error(`${url}: ${response.statusCode}`);
      return ms;
    };
    const doc = corpus.internalDocument.path;
    const folder = doc.split('/').slice(0, -1).join('/');
    const pagesOf = (at?: string) => {
      const address = { orgSlug: 'bench', slug: 'handbook', ...(at ? { at } : {}) };
      return [documentUrl(address, doc), sectionUrl(address, folder), sectionUrl(address, '')];
    };

    const rows: { label: string; coldMs: number | null; medianMs: number; p95Ms: number }[] = [];
    const measure = async (label: string, at?: string) => {
      const [first, ...others] = pagesOf(at);
      const coldMs = await get(first!);
      for (const url of others) await get(url);
      const times: number[] = [];
      for (let i = 0; i < runs; i++) for (const url of pagesOf(at)) times.push(await get(url));
      rows.push({ label, coldMs, medianMs: median(times), p95Ms: p95(times) });
    };
    await measure('today (for comparison)');
    for (const daysAgo of [360, 180, 90, 30, 1]) await measure(`as of ${daysAgo} days ago`, day(now - daysAgo * DAY));

    const load = loadavg()[0]!;
    console.log('');
    console.log(`as-of view: ${documents} documents, ${changes} commits over a year, ${runs} warm runs × 3 pages per day`);
    console.log('| view | first page (cold) | warm median | warm p95 | target (warm) |');
    console.log('|---|---:|---:|---:|---|');
    for (const row of rows) {
      console.log(`| ${row.label} | ${row.coldMs === null ? '—' : `${round(row.coldMs)} ms`} | ${round(row.medianMs)} ms | ${round(row.p95Ms)} ms | < 100 ms ${row.p95Ms < 100 ? 'met' : 'MISSED'} |`);
    }
    console.log(`load average ${round(load, 2)} on ${availableParallelism()} CPUs`);
    console.log(JSON.stringify({ bench: 'as-of', documents, changes, runs, loadAverage: round(load, 2), cpus: availableParallelism(), rows }));
    await app.close();
    await context.close();
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
