/**
 * Audited reads benchmark (`npm run bench:audit`, and the second part of `npm run bench`).
 *
 * Every read of a confidential document is recorded in the audit log before the page leaves. This measures what
 * that costs, on the embedded database and on a PostgreSQL server, against a real `docucommit serve` process
 * (the demo project, a signed-in manager):
 *
 *   1. an internal page (not audited) and the confidential page (audited), each alone, 32 connections, with the
 *      machine's CPU per request split between the server, PostgreSQL, the kernel's workers and the load generator
 *      (bench/cpu-accounting.ts);
 *   2. the public page while the confidential page is read at full load (both loads at once);
 *   3. audit events per second sustained during the confidential run (counted in the database);
 *   4. kill -9 of the server while 16 clients read the confidential page: pages received vs events stored.
 *
 * Flags (or env): --duration S (BENCH_DURATION, 10)  --connections C (32; BENCH_CONNECTIONS is run.ts's)
 *                 --generator wrk|autocannon (BENCH_GENERATOR)  --database pglite|postgres (both when absent)
 *                 --workers N (PostgreSQL: the server's processes; default serve's, the number of cores)
 * Env: BENCH_DATABASE_URL=postgres://user@host/db — an administrative connection: a fresh database is created
 *      for the run and dropped after it. Without it, 127.0.0.1:5432 is tried; the PostgreSQL part is skipped with
 *      a line saying so when no server answers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { createAppContext } from '../src/app-context.ts';
import { upsertAccount } from '../src/auth/accounts.ts';
import { loadConfig, type Config } from '../src/config/config.ts';
import { withAuditChain } from '../src/db/connection.ts';
import { DEMO, importDemoProject } from '../src/projects/demo-project.ts';
import { runChild } from './child.ts';
import { cpuBetween, cpuSnapshot, processTree, type CpuSnapshot } from './cpu-accounting.ts';
import { wrkAvailable, type LoadGenerator, type LoadRequest, type LoadResult } from './load.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PAGES = {
  public: `/${DEMO.orgSlug}/${DEMO.projectSlug}/policies/code-of-conduct`,
  internal: `/${DEMO.orgSlug}/${DEMO.projectSlug}/policies/data-handling`,
  confidential: `/${DEMO.orgSlug}/${DEMO.projectSlug}/policies/incident-response`,
};

interface Options {
  duration: number;
  connections: number;
  generator: LoadGenerator;
  /** `serve --workers` on PostgreSQL (null: serve's default). */
  workers: number | null;
}

interface Figures {
  database: 'pglite' | 'postgres';
  internal_rps: number;
  internal_p99_ms: number;
  confidential_rps: number;
  confidential_p99_ms: number;
  confidential_share_of_internal: number;
  /** Where the machine's CPU went per request, µs (see `CpuPerRequest`). */
  internal_cpu_us: CpuPerRequest;
  confidential_cpu_us: CpuPerRequest;
  /**
   * PostgreSQL's checkpoints during the internal and the confidential run, warm-up included (null: PGlite). A
   * checkpoint's writes and the full-page images after it can cut a run's figures by much: one run of the eighth
   * session's series fell to 1,756 audited req/s at 506 µs of PostgreSQL's CPU per event; this says whether one fell
   * in the window.
   */
  checkpoints: { internal: number; confidential: number } | null;
  audit_events_per_second: number;
  public_alone_rps: number;
  public_alone_p99_ms: number;
  public_under_audited_load_rps: number;
  public_under_audited_load_p99_ms: number;
  public_under_audited_load_timeouts: number;
  confidential_during_public_rps: number;
  kill9_pages_received: number;
  kill9_events_missing: number;
  errors: number;
}

/**
 * CPU per completed request, µs, over the measured seconds: the server's processes, PostgreSQL's (none on the
 * embedded database: it is a thread of the server), the kernel's workers (the disk flushes' write-back), the load
 * generator, and the machine as a whole. With the cores all busy, this says which part a page's cost is in.
 */
interface CpuPerRequest {
  server: number;
  postgres: number;
  kernel: number;
  generator: number;
  machine: number;
}

const log = (message: string) => console.log(`[bench:audit] ${message}`);

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { duration: { type: 'string' }, connections: { type: 'string' }, generator: { type: 'string' }, database: { type: 'string' }, workers: { type: 'string' } },
    // `npm run bench` passes bench/run.ts's flags to both benchmarks
    strict: false,
  });
  const options: Options = {
    duration: Number(values.duration ?? process.env.BENCH_DURATION ?? 10),
    connections: Number(values.connections ?? 32),
    generator: (values.generator ?? process.env.BENCH_GENERATOR ?? (wrkAvailable() ? 'wrk' : 'autocannon')) as LoadGenerator,
    workers: values.workers === undefined ? null : Number(values.workers),
  };
  log(`load generator: ${options.generator}, ${options.connections} connections, ${options.duration} s per run`);
  const only = values.database === undefined ? null : String(values.database);
  if (only !== null && only !== 'pglite' && only !== 'postgres') throw new Error('--database: pglite or postgres');
  const results: Figures[] = only === 'postgres' ? [] : [await runFor('pglite', null, options)];
  const admin = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  if (only === 'pglite') log('PostgreSQL not measured (--database pglite)');
  else if (await postgresAnswers(admin)) results.push(await runFor('postgres', admin, options));
  else log(`PostgreSQL at ${redact(admin)} does not answer: measured on the embedded database only`);
  printTable(results);
  console.log(JSON.stringify({ audited_reads: results }));
}

async function runFor(database: Figures['database'], adminUrl: string | null, options: Options): Promise<Figures> {
  const dataDir = mkdtempSync(join(tmpdir(), 'docucommit-bench-audit-'));
  const dbName = `docucommit_bench_${randomBytes(4).toString('hex')}`;
  let databaseUrl: string | null = null;
  if (adminUrl) {
    await withAdmin(adminUrl, (admin) => sql.raw(`CREATE DATABASE ${dbName}`).execute(admin));
    const url = new URL(adminUrl);
    url.pathname = `/${dbName}`;
    databaseUrl = url.toString();
  }
  const env = { ...process.env, NODE_ENV: 'production', ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}) };
  delete (env as Record<string, string | undefined>).DOCUCOMMIT_DATA;
  if (!databaseUrl) delete (env as Record<string, string | undefined>).DATABASE_URL;
  const config = loadConfig({ dataDir, env });
  log(`${database}: preparing the demo project and a signed-in manager`);
  const { cookie, orgId } = await prepare(config);
  try {
    const workers = databaseUrl && options.workers !== null ? options.workers : null;
    let server = await startServer(dataDir, env, workers);
    const at = (page: keyof typeof PAGES) => server.base + PAGES[page];
    for (const page of ['public', 'internal', 'confidential'] as const) await expectPage(at(page), page === 'public' ? {} : { cookie });
    const signedIn = { cookie };
    const run = (url: string, headers: Record<string, string>, extra: Partial<LoadRequest> = {}, onEvent?: (event: string) => void) =>
      runChild<LoadResult>('./load.ts', [JSON.stringify({ url, headers, connections: options.connections, duration: options.duration, warmup: 2, generator: options.generator, ...extra })], onEvent);

    const serverPids = processTree(server.process!.pid!);
    /** A run whose CPU is accounted from the load generator's start of measuring to its end. */
    const measured = async (url: string, onStart?: () => void) => {
      let before: CpuSnapshot | undefined;
      const result = await run(url, signedIn, {}, (event) => {
        if (event !== 'measure-start') return;
        before = cpuSnapshot(serverPids);
        onStart?.();
      });
      return { result, cpu: perRequest(before, cpuSnapshot(serverPids), result) };
    };
    const checkpointCount = async () => (adminUrl ? await withAdmin(adminUrl, checkpointsSoFar) : 0);
    log(`${database}: internal page alone`);
    const beforeInternal = await checkpointCount();
    const { result: internal, cpu: internalCpu } = await measured(at('internal'));
    const afterInternal = await checkpointCount();
    log(`${database}: confidential page alone (audited)`);
    // the measured window, to count the events it stored once the database can be opened (after the server)
    let windowStart = new Date();
    const { result: confidential, cpu: confidentialCpu } = await measured(at('confidential'), () => (windowStart = new Date()));
    const windowEnd = new Date();
    const afterConfidential = await checkpointCount();
    log(`${database}: public page alone`);
    const publicAlone = await run(at('public'), {});
    log(`${database}: public page while the confidential page is read at full load`);
    const background = run(at('confidential'), signedIn, { duration: options.duration + 4, warmup: 0 });
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const publicLoaded = await run(at('public'), {}, { warmup: 0 });
    const during = await background;
    for (const page of ['public', 'confidential'] as const) await expectPage(at(page), page === 'public' ? {} : signedIn);

    log(`${database}: kill -9 while 16 clients read the confidential page`);
    const received = await readUntilKilled(server.process, at('confidential'), cookie);
    const stored = await storedEvents(config, orgId, received, [windowStart, windowEnd]);
    server = { ...server, process: null };

    return {
      database,
      internal_rps: Math.round(internal.rps),
      internal_p99_ms: internal.p99_ms,
      confidential_rps: Math.round(confidential.rps),
      confidential_p99_ms: confidential.p99_ms,
      confidential_share_of_internal: Math.round((confidential.rps / internal.rps) * 100) / 100,
      internal_cpu_us: internalCpu,
      confidential_cpu_us: confidentialCpu,
      checkpoints: adminUrl ? { internal: afterInternal - beforeInternal, confidential: afterConfidential - afterInternal } : null,
      audit_events_per_second: Math.round(stored.inWindow / ((windowEnd.getTime() - windowStart.getTime()) / 1000)),
      public_alone_rps: Math.round(publicAlone.rps),
      public_alone_p99_ms: publicAlone.p99_ms,
      public_under_audited_load_rps: Math.round(publicLoaded.rps),
      public_under_audited_load_p99_ms: publicLoaded.p99_ms,
      public_under_audited_load_timeouts: publicLoaded.timeouts,
      confidential_during_public_rps: Math.round(during.rps),
      kill9_pages_received: received.length,
      kill9_events_missing: stored.missing,
      errors: [internal, confidential, publicAlone, publicLoaded, during].reduce((n, r) => n + r.errors + r.non_2xx, 0),
    };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
    if (adminUrl) await withAdmin(adminUrl, (admin) => sql.raw(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).execute(admin));
  }
}

/** CPU per completed request between two snapshots (see `CpuPerRequest`). */
function perRequest(before: CpuSnapshot | undefined, after: CpuSnapshot, result: LoadResult): CpuPerRequest {
  if (!before) throw new Error('the load generator did not say when it started measuring');
  const seconds = (after.at - before.at) / 1000;
  const us = (cpuSeconds: number) => Math.round((cpuSeconds / result.requests) * 1e6);
  return {
    server: us(cpuBetween(before.server, after.server)),
    postgres: us(cpuBetween(before.postgres, after.postgres)),
    kernel: us(cpuBetween(before.kernel, after.kernel)),
    generator: us((result.loader_cpu_percent / 100) * seconds),
    machine: us(after.machine - before.machine),
  };
}

/** The demo project and a manager with a live session, written before the server starts. */
async function prepare(config: Config): Promise<{ cookie: string; orgId: string }> {
  const context = await createAppContext(config);
  try {
    const { user } = await upsertAccount(context.db, { email: 'reader@zephyrcart.test', orgSlug: DEMO.orgSlug, role: 'manager', password: 'a long enough passphrase here' });
    await importDemoProject(context);
    const { id } = await context.sessions.create(user.id);
    const org = await context.db.selectFrom('organizations').select('id').where('slug', '=', DEMO.orgSlug).executeTakeFirstOrThrow();
    return { cookie: `dc_session=${id}`, orgId: org.id };
  } finally {
    await context.close();
  }
}

async function startServer(dataDir: string, env: NodeJS.ProcessEnv, workers: number | null): Promise<{ base: string; process: ChildProcess | null }> {
  const port = await freePort();
  const args = ['serve', '--data', dataDir, '--port', String(port), ...(workers === null ? [] : ['--workers', String(workers)])];
  const child = spawn(process.execPath, [join(ROOT, 'bin/docucommit.mjs'), ...args], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('DocuCommit is running')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`the server exited (${code}): ${out}`)));
  });
  return { base: `http://127.0.0.1:${port}`, process: child };
}

/** Read as fast as 16 clients can until ~3 s have passed, then kill the server; the request ids of whole pages. */
async function readUntilKilled(server: ChildProcess | null, url: string, cookie: string): Promise<string[]> {
  if (!server) throw new Error('no server');
  const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
  const received: string[] = [];
  let stop = false;
  const client = async () => {
    while (!stop) {
      try {
        const response = await fetch(url, { headers: { cookie } });
        const body = await response.text();
        if (response.status === 200 && body.includes('</html>')) received.push(response.headers.get('x-request-id')!);
      } catch {
        // the kill
      }
    }
  };
  const clients = Array.from({ length: 16 }, client);
  await new Promise((resolve) => setTimeout(resolve, 3000));
  stop = true;
  server.kill('SIGKILL');
  await exited;
  await Promise.allSettled(clients);
  return received;
}

/** After the server is gone: events stored in the confidential run's window, and received pages without an event. */
async function storedEvents(config: Config, orgId: string, requestIds: string[], [from, to]: [Date, Date]) {
  const context = await createAppContext(config);
  try {
    const rows = await withAuditChain(context.db, orgId, (trx) =>
      trx.selectFrom('audit_events').select(['request_id', 'occurred_at']).where('org_id', '=', orgId).where('action', '=', 'document.read').execute());
    const stored = new Set(rows.map((r) => r.request_id));
    const inWindow = rows.filter((r) => {
      const at = new Date(r.occurred_at).getTime();
      return at >= from.getTime() && at <= to.getTime();
    }).length;
    return { inWindow, missing: requestIds.filter((id) => !stored.has(id)).length };
  } finally {
    await context.close();
  }
}

async function expectPage(url: string, headers: Record<string, string>): Promise<void> {
  const response = await fetch(url, { headers, redirect: 'manual' });
  if (response.status !== 200) throw new Error(`${url} answered ${response.status}`);
  await response.arrayBuffer();
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function postgresAnswers(url: string): Promise<boolean> {
  try {
    await withAdmin(url, (admin) => sql`select 1`.execute(admin));
    return true;
  } catch {
    return false;
  }
}

/** The server's checkpoints so far, requested and timed (pg_stat_bgwriter, PostgreSQL 15–16; the view moved in 17). */
async function checkpointsSoFar(admin: Kysely<unknown>): Promise<number> {
  try {
    const { rows } = await sql<{ n: string }>`select checkpoints_timed + checkpoints_req as n from pg_stat_bgwriter`.execute(admin);
    return Number(rows[0]?.n ?? 0);
  } catch {
    const { rows } = await sql<{ n: string }>`select num_timed + num_requested as n from pg_stat_checkpointer`.execute(admin);
    return Number(rows[0]?.n ?? 0);
  }
}

async function withAdmin<T>(url: string, fn: (admin: Kysely<unknown>) => Promise<T>): Promise<T> {
  const admin = new Kysely<unknown>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 1, connectionTimeoutMillis: 2000 }) }) });
  try {
    return await fn(admin);
  } finally {
    await admin.destroy();
  }
}

const redact = (url: string) => url.replace(/\/\/[^@/]*@/, '//…@');

const cpuLine = (c: CpuPerRequest) => `${c.server}/${c.postgres}/${c.kernel}/${c.generator}/${c.machine}`;

function printTable(results: Figures[]): void {
  const rows: [string, (f: Figures) => string, string, ((f: Figures) => boolean) | null][] = [
    ['internal page, req/s (p99)', (f) => `${f.internal_rps} (${f.internal_p99_ms} ms)`, '', null],
    ['confidential page, req/s (p99)', (f) => `${f.confidential_rps} (${f.confidential_p99_ms} ms)`, '', null],
    ['confidential ÷ internal', (f) => `${f.confidential_share_of_internal}`, '≥ 0.33', (f) => f.confidential_share_of_internal >= 1 / 3],
    ['CPU µs/req internal: srv/PG/kern/load/all', (f) => cpuLine(f.internal_cpu_us), '', null],
    ['CPU µs/req confidential: same', (f) => cpuLine(f.confidential_cpu_us), '', null],
    ['PG checkpoints in internal / confidential run', (f) => (f.checkpoints ? `${f.checkpoints.internal} / ${f.checkpoints.confidential}` : '—'), '', null],
    ['audit events/s sustained', (f) => `${f.audit_events_per_second}`, '', null],
    ['public page alone, req/s (p99)', (f) => `${f.public_alone_rps} (${f.public_alone_p99_ms} ms)`, '', null],
    ['public page under audited load, p99', (f) => `${f.public_under_audited_load_p99_ms} ms (${f.public_under_audited_load_rps} req/s, ${f.public_under_audited_load_timeouts} timeouts)`, '< 25 ms', (f) => f.public_under_audited_load_p99_ms < 25],
    ['confidential meanwhile, req/s', (f) => `${f.confidential_during_public_rps}`, '', null],
    ['kill -9: pages received / events missing', (f) => `${f.kill9_pages_received} / ${f.kill9_events_missing}`, '0 missing', (f) => f.kill9_events_missing === 0],
    ['errors and non-2xx', (f) => `${f.errors}`, '0', (f) => f.errors === 0],
  ];
  console.log('');
  console.log(['figure'.padEnd(42), ...results.map((r) => r.database.padEnd(34)), 'target'].join(' '));
  for (const [label, value, target, ok] of rows) {
    const cells = results.map((r) => `${value(r)}${ok ? (ok(r) ? ' ✓' : ' ✗') : ''}`.padEnd(34));
    console.log([label.padEnd(42), ...cells, target].join(' '));
  }
  console.log('');
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(1);
  },
);
