/**
 * DocuCommit benchmark (`npm run bench`: bench/start.mjs runs this file compiled like `docucommit serve`; also
 * `node --import tsx bench/run.ts`).
 *
 *   1. generates a deterministic corpus (bench/corpus.ts, in a child process) of N policy documents;
 *   2. imports it as one project with importFolder (one git commit + full render + store) on the default
 *      embedded PGlite database in a temporary data directory (or PostgreSQL via BENCH_DATABASE_URL);
 *   3. starts the real server (buildApp + listen on 127.0.0.1, random port);
 *   4. measures, 20 times, how long one changed document takes to be served after its commit
 *      (commitFiles → publisher.publish → poll the page over HTTP until the new text appears);
 *   5. load-tests a public page (anonymous) and an internal page (signed-in member) from a child process
 *      (bench/load.ts: wrk on loopback when installed, else autocannon), 64 connections for 10 s each;
 *   6. git over smart HTTP against the same server (bench/git-push.ts): git clone through the server vs file://,
 *      then --pushes one-file `git push`es, each timed until the page shows the change;
 *   7. history of a document with --history-versions versions and a redline of a ~200 KB document
 *      (bench/history.ts, its own repository; not counted in the server's peak RSS);
 *   8. samples this (server) process's RSS every 50 ms throughout.
 * Before all that (embedded PGlite only) it measures the first start as a user meets it (bench/first-start.ts):
 * `docucommit serve` on an empty data directory until the first page answers, with the process tree's peak RSS.
 *
 * It prints a table comparing each figure with its target and, as its last line, one JSON object with every
 * figure. Missed targets are reported, not failures: the exit code is non-zero only when the benchmark itself
 * could not run (or measured something other than a 200 page).
 *
 * Flags (or env): --documents N (BENCH_DOCUMENTS, 10000)  --duration S (BENCH_DURATION, 10)
 *                 --connections C (64)  --updates U (20)  --warmup S (2)  --seed S (1)
 *                 --pushes P (BENCH_PUSHES, 20)  --history-versions V (BENCH_HISTORY_VERSIONS, 1000)
 *                 --breakdown (also time renderMany alone over the whole corpus, no git/DB)
 *                 --keep (keep the temporary data directory)
 *                 --generator wrk|autocannon (BENCH_GENERATOR; default wrk when installed)
 * Env: BENCH_DATABASE_URL=postgres://… to run against PostgreSQL instead of embedded PGlite.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { AddressInfo } from 'node:net';
import { createAppContext, type AppContext } from '../src/app-context.ts';
import { upsertAccount } from '../src/auth/accounts.ts';
import type { Config } from '../src/config/config.ts';
import { importFolder } from '../src/projects/import-folder.ts';
import type { ProjectRecord } from '../src/projects/projects.ts';
import { PUBLISHED_BRANCH } from '../src/content/published-branch.ts';
import { renderMany, renderWorkerSource, type RenderWorkerSource } from '../src/projects/render-pool.ts';
import { documentUrl } from '../src/web/urls.ts';
import { buildApp } from '../src/web/app.ts';
import { login, testConfig } from '../test/helpers/test-app.ts';
import { measureFirstStart, type FirstStartFigures } from './first-start.ts';
import { measureGitPush } from './git-push.ts';
import { runHistoryBench } from './history.ts';
import { wrkAvailable, type LoadGenerator, type LoadRequest, type LoadResult } from './load.ts';
import type { SetupRequest, SetupResult } from './setup.ts';
import { installWorkerShim } from './worker-shim.ts';
import { runChild } from './child.ts';

// ---------------------------------------------------------------------------------------------------------------
// Options

interface Options {
  documents: number;
  duration: number;
  connections: number;
  updates: number;
  warmup: number;
  seed: number;
  breakdown: boolean;
  keep: boolean;
  dbInProcess: boolean;
  pushes: number;
  historyVersions: number;
  generator: LoadGenerator;
}

const USAGE = `Usage: npm run bench -- [--documents N] [--duration S] [--connections C] [--updates U] [--warmup S]
                     [--seed S] [--pushes P] [--history-versions V] [--breakdown] [--db-in-process] [--keep]
                     [--generator wrk|autocannon]
Env: BENCH_DOCUMENTS, BENCH_DURATION, BENCH_CONNECTIONS, BENCH_UPDATES, BENCH_WARMUP, BENCH_SEED, BENCH_PUSHES,
     BENCH_HISTORY_VERSIONS, BENCH_GENERATOR, BENCH_WRK_THREADS (1);
     BENCH_DATABASE_URL=postgres://… to use PostgreSQL instead of embedded PGlite. See docs/benchmarks.md.`;

function parseOptions(argv: string[], env: NodeJS.ProcessEnv): Options {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(USAGE);
    process.exit(0);
  }
  const value = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    if (i !== -1) return argv[i + 1];
    const eq = argv.find((a) => a.startsWith(`--${name}=`));
    return eq?.slice(name.length + 3);
  };
  const num = (name: string, fallback: number, min: number): number => {
    const raw = value(name) ?? env[`BENCH_${name.toUpperCase().replace(/-/g, '_')}`];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number ≥ ${min}, got "${raw}"`);
    return n;
  };
  const known = new Set(['documents', 'duration', 'connections', 'updates', 'warmup', 'seed', 'pushes', 'history-versions', 'breakdown', 'keep', 'db-in-process', 'generator']);
  for (const arg of argv) {
    const name = /^--([^=]+)/.exec(arg)?.[1];
    if (name && !known.has(name)) throw new Error(`unknown flag --${name} (known: ${[...known].map((k) => `--${k}`).join(' ')})`);
  }
  return {
    documents: Math.floor(num('documents', 10_000, 20)),
    duration: num('duration', 10, 1),
    connections: Math.floor(num('connections', 64, 1)),
    updates: Math.floor(num('updates', 20, 1)),
    warmup: num('warmup', 2, 0),
    seed: Math.floor(num('seed', 1, 0)),
    breakdown: argv.includes('--breakdown'),
    keep: argv.includes('--keep'),
    dbInProcess: argv.includes('--db-in-process'),
    pushes: Math.floor(num('pushes', 20, 1)),
    historyVersions: Math.floor(num('history-versions', 1000, 2)),
    generator: generatorOption(value('generator') ?? env.BENCH_GENERATOR),
  };
}

/** wrk when asked or, by default, when installed; autocannon otherwise. */
function generatorOption(raw: string | undefined): LoadGenerator {
  if (raw === undefined || raw === '') return wrkAvailable() ? 'wrk' : 'autocannon';
  if (raw !== 'wrk' && raw !== 'autocannon') throw new Error(`--generator must be wrk or autocannon, got "${raw}"`);
  if (raw === 'wrk' && !wrkAvailable()) throw new Error('--generator wrk: no wrk on PATH (Debian: apt-get install wrk)');
  return raw;
}

// ---------------------------------------------------------------------------------------------------------------
// Memory sampling: this process is the server (the corpus generator and the load generator are children).

class RssSampler {
  peak = 0;
  /** RSS when sampling started: Node and every module loaded, before the database is opened. */
  readonly initial = process.memoryUsage.rss();
  private phase = 'startup';
  readonly phasePeaks = new Map<string, number>();
  private readonly timer: NodeJS.Timeout;

  constructor(intervalMs = 50) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  enter(phase: string): void {
    this.sample();
    this.phase = phase;
    this.sample();
  }

  sample(): void {
    const rss = process.memoryUsage.rss();
    if (rss > this.peak) this.peak = rss;
    if (rss > (this.phasePeaks.get(this.phase) ?? 0)) this.phasePeaks.set(this.phase, rss);
  }

  stop(): void {
    this.sample();
    clearInterval(this.timer);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// CPU accounting: how much of the machine other processes used during a phase (this is a shared 2-core box; a
// busy neighbour makes every figure pessimistic). Linux only (/proc); null elsewhere.

interface CpuSnapshot {
  busy: number;
  steal: number;
  total: number;
  ours: number;
  /** Of `ours`: this process's threads (main, render workers, PGlite); the rest is its children (git, the spawner). */
  self: number;
  at: number;
}

function cpuSnapshot(): CpuSnapshot | null {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = fields;
    const rest = statFields('self')!;
    // utime, stime, cutime, cstime (children count once they have exited: git, the load generator, setup), plus
    // the children still running: the git spawner (src/git/spawner.mjs), whose exited children are the git
    // processes of every save and publish, and whatever else runs below this process
    const ours = rest[11]! + rest[12]! + rest[13]! + rest[14]! + liveDescendantsCpu();
    const busy = user + nice + system + irq + softirq;
    return { busy, steal, total: busy + idle + iowait + steal, ours, self: rest[11]! + rest[12]!, at: now() };
  } catch {
    return null;
  }
}

/** The fields of /proc/<pid>/stat after the command name (state is [0], ppid [1], utime [11] …), or null. */
function statFields(pid: string): number[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
  } catch {
    return null; // gone meanwhile
  }
}

/** utime + stime + cutime + cstime of every running process below this one. */
function liveDescendantsCpu(): number {
  const children = new Map<number, number[]>();
  const fields = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const rest = statFields(name);
    if (!rest) continue;
    const pid = Number(name);
    fields.set(pid, rest);
    const siblings = children.get(rest[1]!) ?? [];
    siblings.push(pid);
    children.set(rest[1]!, siblings);
  }
  let total = 0;
  const queue = [...(children.get(process.pid) ?? [])];
  while (queue.length > 0) {
    const pid = queue.pop()!;
    const rest = fields.get(pid)!;
    total += rest[11]! + rest[12]! + rest[13]! + rest[14]!;
    queue.push(...(children.get(pid) ?? []));
  }
  return total;
}

/** CPU seconds used by this process (all its threads) and its children (git) since `start`. */
function ourCpuSeconds(start: CpuSnapshot | null): number | null {
  const end = cpuSnapshot();
  return start && end ? (end.ours - start.ours) / 100 : null; // USER_HZ is 100 on Linux
}

/** CPU seconds since `start` of this process's own threads (main, render workers) and of its exited children (git). */
function ourCpuSplit(start: CpuSnapshot | null): { process: number; children: number } | null {
  const end = cpuSnapshot();
  if (!start || !end) return null;
  const self = (end.self - start.self) / 100;
  return { process: self, children: (end.ours - start.ours) / 100 - self };
}

/** Share of the machine's CPU (all cores) used by other processes, and stolen by the hypervisor, since `start`. */
function otherCpu(start: CpuSnapshot | null): { otherPercent: number; stealPercent: number } | null {
  const end = cpuSnapshot();
  if (!start || !end || end.total === start.total) return null;
  const total = end.total - start.total;
  const other = Math.max(0, end.busy - start.busy - (end.ours - start.ours));
  return { otherPercent: (other / total) * 100, stealPercent: ((end.steal - start.steal) / total) * 100 };
}

interface MemoryBreakdown {
  rss: number;
  heap_used: number;
  external: number;
}

function memoryBreakdown(): MemoryBreakdown {
  const m = process.memoryUsage();
  return { rss: round(mb(m.rss)), heap_used: round(mb(m.heapUsed)), external: round(mb(m.external)) };
}

// ---------------------------------------------------------------------------------------------------------------
// Children: corpus generator and load generator.

/** Run the load generator; also returns this (server) process's CPU use during the measured part of the run. */
async function load(request: LoadRequest): Promise<LoadResult & { server_cpu_percent: number; server_cpu_us_per_request: number }> {
  let cpuStart: NodeJS.CpuUsage | null = null;
  let wallStart = 0;
  const result = await runChild<LoadResult>('./load.ts', [JSON.stringify(request)], (event) => {
    if (event === 'measure-start') {
      cpuStart = process.cpuUsage();
      wallStart = now();
    }
  });
  const used = cpuStart ? process.cpuUsage(cpuStart) : null;
  const server_cpu_percent = used ? ((used.user + used.system) / 1000 / (now() - wallStart)) * 100 : NaN;
  const server_cpu_us_per_request = used && result.requests > 0 ? (used.user + used.system) / result.requests : NaN;
  return { ...result, server_cpu_percent, server_cpu_us_per_request };
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers

const now = () => performance.now();

function workerSourceLabel(source: RenderWorkerSource): Figures['render_worker'] {
  if (source.kind === 'tsx') return 'tsx';
  return source.cached ? 'cached bundle' : 'bundle';
}
const mb = (bytes: number) => bytes / 1024 / 1024;
const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;
// Seconds since the process started: lines up with the timestamps of a `--cpu-prof` profile.
const log = (message: string) => console.log(`[bench ${(performance.now() / 1000).toFixed(1).padStart(5)}s] ${message}`);

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (rank - lo);
}

const median = (values: number[]) => percentile(values, 50);

const htmlEscape = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Fail loudly unless `url` answers 200 with the expected document title: a bench of 404s or redirects is worthless. */
async function verifyPage(url: string, expectedTitle: string, headers: Record<string, string>, what: string): Promise<number> {
  const response = await fetch(url, { headers, redirect: 'manual' });
  const body = await response.text();
  const title = /<title>([^<]*)<\/title>/.exec(body)?.[1] ?? '(no <title>)';
  if (response.status !== 200) {
    throw new Error(`${what}: GET ${url} answered ${response.status} (location: ${response.headers.get('location') ?? '-'}), not 200; title "${title}"`);
  }
  if (!title.startsWith(`${htmlEscape(expectedTitle)} · `)) {
    throw new Error(`${what}: GET ${url} answered 200 but its title is "${title}", expected "${expectedTitle} · …"`);
  }
  return Buffer.byteLength(body);
}

// ---------------------------------------------------------------------------------------------------------------
// Main

interface Figures {
  documents: number;
  corpus_mb: number;
  import_seconds: number;
  render_docs_per_second: number;
  import_read_db_seconds: number;
  import_git_commit_seconds: number;
  import_publish_seconds: number;
  /** Render + store of every document, in parallel with the git commit (Publisher.prerender). */
  import_render_store_seconds: number;
  publish_docs_per_second: number;
  render_only_docs_per_second: number | null;
  /** CPU seconds of the import: this process (main thread and render workers) and git. */
  import_cpu_seconds: number | null;
  /** Import CPU per document, ms: the contention-robust cost of importing. */
  import_cpu_ms_per_document: number | null;
  /** Of import_cpu_seconds: this process (main thread, render workers, PGlite) and git (child processes). */
  import_cpu_process_seconds: number | null;
  import_cpu_git_seconds: number | null;
  /** Seconds from the import's return until its listeners (the search index's bulk build) were done. */
  import_listeners_seconds: number;
  /** Updates served while those listeners ran (no target: the background build's cost to a user). */
  update_during_listeners_ms_median: number | null;
  update_during_listeners_ms_max: number | null;
  update_served_ms_median: number;
  update_served_ms_p90: number;
  update_served_ms_max: number;
  update_commit_ms_median: number;
  update_publish_ms_median: number;
  update_first_serve_ms_median: number;
  /** CPU ms per update (commit, publish, first serve, git, and the polling client in this process). */
  update_cpu_ms: number | null;
  public_rps: number;
  public_p50_ms: number;
  public_p99_ms: number;
  public_non2xx: number;
  public_errors: number;
  public_page_kb: number;
  public_server_cpu_percent: number;
  /** Server CPU time per request (all threads), µs: the contention-robust cost of serving the page. */
  public_server_cpu_us_per_request: number;
  public_loader_cpu_percent: number;
  internal_rps: number;
  internal_p50_ms: number;
  internal_p99_ms: number;
  internal_non2xx: number;
  internal_errors: number;
  internal_page_kb: number;
  internal_server_cpu_percent: number;
  internal_server_cpu_us_per_request: number;
  internal_loader_cpu_percent: number;
  /** The load generator of both runs: wrk (C, on loopback) or autocannon (Node). */
  load_generator: LoadGenerator;
  /**
   * How the render workers started: the esbuild bundle built by this process, the same bundle read from the
   * on-disk cache (built by an earlier process, e.g. the setup child), or the tsx bootstrap (fallback).
   */
  render_worker: 'bundle' | 'cached bundle' | 'tsx';
  /** How this (server) process runs the sources: compiled by bin/load-sources.mjs like `docucommit serve`, or tsx. */
  loader: 'compiled' | 'tsx';
  peak_rss_mb: number;
  /** RSS before the database is opened (Node + modules, + tsx when run through it). */
  rss_at_start_mb: number;
  peak_rss_import_mb: number;
  peak_rss_serving_mb: number;
  loader_peak_rss_mb: number;
  connections: number;
  duration_seconds: number;
  database: 'pglite' | 'postgres';
  cpus: number;
  node: string;
  /** `docucommit serve` on an empty data directory until its first page answers (bench/first-start.ts). */
  first_start_seconds: number | null;
  /** Peak RSS of the whole process tree during that first start. */
  first_start_peak_rss_mb: number | null;
  first_start_image: FirstStartFigures['image'] | null;
  database_create_seconds: number | null;
  database_create_peak_rss_mb: number | null;
  render_worker_shim: boolean;
  /** RSS, V8 heap used, and memory outside the V8 heap (PGlite's WebAssembly memory, Buffers), in MB. */
  memory_after_import_mb: MemoryBreakdown;
  memory_after_load_mb: MemoryBreakdown;
  /** 1-minute load average before the bench started anything. */
  load_average_at_start: number;
  /** CPU used by processes other than the bench (and stolen by the hypervisor), in % of all cores, per phase. */
  other_cpu_percent: Record<'import' | 'update' | 'public' | 'internal', number | null>;
  /** git push of a one-file change → the page shows it (signed-in poll), including git's own work. */
  push_to_visible_ms_median: number;
  push_to_visible_ms_max: number;
  pushes: number;
  clone_http_ms_median: number;
  clone_file_ms_median: number;
  /** git clone through the server / git clone --no-local file:// of the same repository. */
  clone_ratio: number;
  history_versions: number;
  history_first_page_ms_median: number;
  history_last_page_ms_median: number;
  redline_document_kb: number;
  redline_ms_median: number;
  /** One renderDocument of the redline's ~200 KB document (cold). */
  render_200kb_ms: number;
  warnings: string[];
}

async function main(): Promise<void> {
  let options: Options;
  try {
    options = parseOptions(process.argv.slice(2), process.env);
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
  const rss = new RssSampler(50);
  const dataDir = mkdtempSync(join(tmpdir(), 'docucommit-bench-'));
  const databaseUrl = process.env.BENCH_DATABASE_URL || null;
  const warnings: string[] = [];
  const loadAverage = loadavg()[0] ?? 0;
  let context: AppContext | null = null;
  let closeServer: (() => Promise<void>) | null = null;

  log(
    `${options.documents} documents, ${options.connections} connections × ${options.duration} s, ` +
      `${availableParallelism()} CPUs (${cpus()[0]?.model ?? '?'}), ${round(mb(totalmem()) / 1024)} GB RAM, node ${process.version}, load average ${loadAverage.toFixed(2)}`,
  );
  log(`load generator: ${options.generator}${options.generator === 'wrk' ? ` (${process.env.BENCH_WRK_THREADS ?? 1} thread, loopback)` : ' (Node, in a child process)'}`);
  log(`data directory ${dataDir}; database ${databaseUrl ? 'PostgreSQL (BENCH_DATABASE_URL)' : 'embedded PGlite (DATA/db)'}`);

  try {
    // 0. The first start as a user meets it: `docucommit serve` on an empty data directory, database creation
    //    included, until the first page answers (bench/first-start.ts), while the machine is otherwise quiet.
    const firstStart = databaseUrl ? null : await measureFirstStart();
    if (firstStart) {
      log(
        `first start (fresh data directory → first page, database image ${firstStart.image}): ${round(firstStart.seconds, 2)} s, ` +
          `peak RSS of the process tree ${firstStart.peakRssMb === null ? '?' : Math.round(firstStart.peakRssMb)} MB`,
      );
    }

    // 1. Corpus, database creation and a check of the render workers, in a child process (bench/setup.ts):
    //    none of it is the server's memory or CPU.
    let t = now();
    const corpusDir = join(dataDir, 'corpus');
    const setup = await runChild<SetupResult>('./setup.ts', [
      JSON.stringify({
        dataDir,
        corpusDir,
        documents: options.documents,
        seed: options.seed,
        createDatabase: !databaseUrl && !options.dbInProcess,
      } satisfies SetupRequest),
    ]);
    const corpus = setup.corpus;
    log(
      `corpus: ${corpus.files} files, ${corpus.folders} folders, ${round(mb(corpus.bytes))} MB, ` +
        `${corpus.links} links (${corpus.brokenLinks} broken), classifications ${JSON.stringify(corpus.classifications)} ` +
        `in ${round(setup.corpusSeconds, 2)} s`,
    );
    if (setup.database) {
      log(
        `database created and migrated in a separate process (first start only): ${round(setup.database.seconds, 2)} s, ` +
          `peak RSS ${Math.round(setup.database.peakRssMb)} MB`,
      );
    }
    if (setup.renderWorkerError) {
      warnings.push(
        `PRODUCT BUG: the render worker threads do not start (${setup.renderWorkerError}). Every publish of ≥ 200 ` +
          `changed files (a full import) fails in the product. The bench installed bench/worker-shim.ts to measure anyway.`,
      );
      log(`WARNING: ${warnings[warnings.length - 1]}`);
      installWorkerShim();
    }

    // 2. Database and services (the real default: PGlite in DATA/db, migrations included).
    rss.enter('import');
    t = now();
    const config: Config = { ...testConfig(dataDir), databaseUrl };
    context = await createAppContext(config);
    const opened = databaseUrl ? 'PostgreSQL connected' : setup.database ? 'PGlite opened' : 'PGlite created';
    log(`${opened} and migrated in the server process in ${round(now() - t)} ms`);

    // 3. Full import: one commit of every file, then the full render and store. Time the two halves by wrapping
    //    this run's repository and publisher (instance-level, bench-only, removed right after).
    const ctx = context;
    const runId = randomBytes(3).toString('hex');
    const orgSlug = databaseUrl ? `bench-${runId}` : 'bench';
    const projectSlug = 'handbook';
    const timing = { commit: 0, publish: 0, prerender: 0 };
    const originalGet = ctx.repositories.get;
    const originalPublish = ctx.publisher.publish;
    const originalPrerender = ctx.publisher.prerender;
    // The import renders and stores (prerender) while git writes the commit; both are timed, in parallel.
    ctx.publisher.prerender = async function (...args: Parameters<typeof originalPrerender>) {
      const start = now();
      try {
        return await originalPrerender.apply(ctx.publisher, args);
      } finally {
        timing.prerender += now() - start;
      }
    };
    const wrapped = new WeakSet<object>();
    ctx.repositories.get = async function (this: unknown, project) {
      const repository = await originalGet.call(ctx.repositories, project);
      if (!wrapped.has(repository)) {
        wrapped.add(repository);
        const commitFiles = repository.commitFiles;
        repository.commitFiles = async function (...args: Parameters<typeof commitFiles>) {
          const start = now();
          try {
            return await commitFiles.apply(repository, args);
          } finally {
            timing.commit += now() - start;
            repository.commitFiles = commitFiles;
          }
        };
      }
      return repository;
    };
    ctx.publisher.publish = function (project: ProjectRecord) {
      const start = now();
      const result = originalPublish.call(ctx.publisher, project);
      void result.then(
        () => (timing.publish += now() - start),
        () => {},
      );
      return result;
    };
    const cpuImport = cpuSnapshot();
    t = now();
    const imported = await importFolder(ctx, {
      folder: corpusDir,
      orgSlug,
      projectSlug,
      projectName: 'Bench Handbook',
      author: { name: 'Bench', email: 'bench@example.com' },
      message: `Import ${options.documents} generated documents`,
    });
    const importMs = now() - t;
    const importCpuSplit = ourCpuSplit(cpuImport);
    const importCpuSeconds = importCpuSplit ? importCpuSplit.process + importCpuSplit.children : null;
    const otherImport = otherCpu(cpuImport);
    const memoryAfterImport = memoryBreakdown();
    ctx.repositories.get = originalGet;
    ctx.publisher.publish = originalPublish;
    ctx.publisher.prerender = originalPrerender;
    const project = imported.project;
    const snapshot = ctx.publisher.snapshotOf(project.id);
    if (!imported.changed || !snapshot || snapshot.documents.size !== options.documents) {
      throw new Error(
        `import did not publish ${options.documents} documents (changed=${imported.changed}, files=${imported.files}, ` +
          `snapshot=${snapshot?.documents.size ?? 'none'}, skipped=${imported.skipped.length})`,
      );
    }
    const importReadDbMs = importMs - Math.max(timing.commit, timing.prerender) - timing.publish;
    log(
      `import: ${round(importMs / 1000, 2)} s → ${Math.round(options.documents / (importMs / 1000))} docs/s ` +
        `(read folder + DB ${round(importReadDbMs)} ms, git commit ${round(timing.commit)} ms in parallel with render + store ` +
        `${round(timing.prerender)} ms, publish ${round(timing.publish)} ms)`,
    );

    // 4. Accounts and the server.
    rss.enter('serving');
    const email = `member-${runId}@bench.test`;
    const password = `bench-${runId}-password`;
    await upsertAccount(ctx.db, { email, orgSlug, role: 'member', password, name: 'Bench Member' });
    const { app } = await buildApp(ctx);
    await app.listen({ host: '127.0.0.1', port: 0 });
    closeServer = () => app.close();
    const { port } = app.server.address() as AddressInfo;
    const origin = `http://127.0.0.1:${port}`;
    const cookie = await login(app, email, password);
    const publicUrl = origin + documentUrl(project, corpus.publicDocument.path);
    const internalUrl = origin + documentUrl(project, corpus.internalDocument.path);
    const signedIn = { cookie };

    const publicBytes = await verifyPage(publicUrl, corpus.publicDocument.title, {}, 'public page (anonymous)');
    const internalBytes = await verifyPage(internalUrl, corpus.internalDocument.title, signedIn, 'internal page (member)');
    const anonymousInternal = await fetch(internalUrl, { redirect: 'manual' });
    await anonymousInternal.text();
    if (anonymousInternal.status === 200) throw new Error(`internal page ${internalUrl} is served to anonymous readers`);
    log(`server on ${origin}; public ${publicUrl} (${round(publicBytes / 1024)} KB), internal ${internalUrl} (${round(internalBytes / 1024)} KB)`);

    // 5a. The import's listeners (the search index's bulk build above all) run in the background after the import
    //     returns. A few updates while they run show what a user pays meanwhile; the figures with targets below are
    //     taken once they are done.
    const listenersStart = now();
    let listenersMs: number | null = null;
    const listenersDone = ctx.branchMoves.idle().then(() => {
      listenersMs = now() - listenersStart;
    });
    const duringBackground: number[] = [];
    {
      const repository = await ctx.repositories.get(project);
      const path = corpus.publicDocument.path;
      const original = readFileSync(join(corpusDir, ...path.split('/')), 'utf8');
      for (let i = 1; i <= 5 && listenersMs === null; i++) {
        const marker = `bench-background-${i}-${randomBytes(4).toString('hex')}`;
        const start = now();
        const head = await repository.resolveCommit(`refs/heads/${PUBLISHED_BRANCH}`);
        await repository.commitFiles({
          branch: PUBLISHED_BRANCH,
          expectedOld: head,
          mode: 'patch',
          changes: [{ path, content: Buffer.from(`${original.replace(/\n+$/, '')}\n\nBackground note: ${marker}.\n`, 'utf8') }],
          author: { name: 'Bench Member', email },
          message: `Update ${path} (background ${i})`,
        });
        await ctx.publisher.publish(project);
        for (;;) {
          const body = await (await fetch(publicUrl, { redirect: 'manual' })).text();
          if (body.includes(marker)) break;
          if (now() - start > 30_000) throw new Error(`background update ${i} not served after 30 s`);
        }
        duringBackground.push(now() - start);
      }
    }
    await listenersDone;
    log(
      `import's listeners (search index build, acknowledgments, change requests) done ${round(listenersMs! / 1000, 2)} s after the import; ` +
        (duringBackground.length > 0
          ? `meanwhile an update was served in median ${round(median(duringBackground))} ms, max ${round(Math.max(...duringBackground))} ms (${duringBackground.length} updates)`
          : 'no update measured meanwhile'),
    );

    // 5. One changed document served after its commit.
    rss.enter('update');
    const cpuUpdate = cpuSnapshot();
    const repository = await ctx.repositories.get(project);
    const updatePath = corpus.internalDocument.path;
    const original = readFileSync(join(corpusDir, ...updatePath.split('/')), 'utf8');
    const served: number[] = [];
    const commitTimes: number[] = [];
    const publishTimes: number[] = [];
    const firstServe: number[] = [];
    let polls = 0;
    for (let i = 1; i <= options.updates; i++) {
      const marker = `bench-update-${i}-${randomBytes(4).toString('hex')}`;
      const content = `${original.replace(/\n+$/, '')}\n\nRevision note: ${marker}.\n`;
      const start = now();
      const head = await repository.resolveCommit(`refs/heads/${PUBLISHED_BRANCH}`);
      await repository.commitFiles({
        branch: PUBLISHED_BRANCH,
        expectedOld: head,
        mode: 'patch',
        changes: [{ path: updatePath, content: Buffer.from(content, 'utf8') }],
        author: { name: 'Bench Member', email },
        message: `Update ${updatePath} (${i})`,
      });
      const committed = now();
      await ctx.publisher.publish(project);
      const published = now();
      for (;;) {
        polls++;
        const response = await fetch(internalUrl, { headers: signedIn, redirect: 'manual' });
        const body = await response.text();
        if (response.status === 200 && body.includes(marker)) break;
        if (now() - start > 30_000) throw new Error(`update ${i} not served after 30 s (last status ${response.status})`);
      }
      const done = now();
      served.push(done - start);
      commitTimes.push(committed - start);
      publishTimes.push(published - committed);
      firstServe.push(done - published);
    }
    log(
      `update → served: median ${round(median(served))} ms, max ${round(Math.max(...served))} ms over ${options.updates} updates ` +
        `(commit ${round(median(commitTimes))} ms + publish ${round(median(publishTimes))} ms + first serve ${round(median(firstServe))} ms, medians; ${polls} polls)`,
    );

    // 6. Load: cached pages under `connections` concurrent connections (wrk or autocannon, in a child process).
    const otherUpdate = otherCpu(cpuUpdate);
    const updateCpuSeconds = ourCpuSeconds(cpuUpdate);
    rss.enter('load');
    const cpuPublic = cpuSnapshot();
    log(`load: public page, anonymous, ${options.connections} connections, ${options.warmup} s warm-up + ${options.duration} s`);
    const publicLoad = await load({
      url: publicUrl,
      connections: options.connections,
      duration: options.duration,
      warmup: options.warmup,
      generator: options.generator,
    });
    log(`load: public page: ${Math.round(publicLoad.rps)} requests/s, p99 ${publicLoad.p99_ms} ms (${publicLoad.generator})`);
    log(`load: internal page, signed in, ${options.connections} connections, ${options.warmup} s warm-up + ${options.duration} s`);
    const otherPublic = otherCpu(cpuPublic);
    const cpuInternal = cpuSnapshot();
    const internalLoad = await load({
      url: internalUrl,
      connections: options.connections,
      duration: options.duration,
      warmup: options.warmup,
      headers: signedIn,
      generator: options.generator,
    });
    log(`load: internal page: ${Math.round(internalLoad.rps)} requests/s, p99 ${internalLoad.p99_ms} ms (${internalLoad.generator})`);
    // The pages must still be what was verified (no expired session turning the run into redirects).
    await verifyPage(publicUrl, corpus.publicDocument.title, {}, 'public page after load');
    await verifyPage(internalUrl, corpus.internalDocument.title, signedIn, 'internal page after load');

    const otherInternal = otherCpu(cpuInternal);
    const memoryAfterLoad = memoryBreakdown();

    // 7. git over smart HTTP against this server: clone ratio, then one-file pushes until the page shows them.
    rss.enter('git');
    log(`git: clone over HTTP vs file:// (3 each), then ${options.pushes} one-file pushes → page visible`);
    const gitFigures = await measureGitPush(
      { context: ctx, origin, project, documentPath: corpus.internalDocument.path, workDir: join(dataDir, 'git-client'), cookie },
      { pushes: options.pushes, cloneRuns: 3 },
    );
    log(
      `git: push → visible median ${round(gitFigures.pushToVisibleMedianMs)} ms (max ${round(gitFigures.pushToVisibleMaxMs)}); ` +
        `clone ${round(gitFigures.cloneHttpMedianMs)} ms over HTTP vs ${round(gitFigures.cloneFileMedianMs)} ms file:// = ${gitFigures.cloneRatio.toFixed(2)}`,
    );

    // 8. History of a document with many versions, and a redline of a ~200 KB document (own repository, no server).
    rss.enter('history'); // excluded from peak_rss_mb: not the server's work
    log(`history: ${options.historyVersions} versions of one document; redline of a ~200 KB document`);
    const historyFigures = await runHistoryBench({ versions: options.historyVersions });
    log(
      `history: first page ${round(historyFigures.historyFirstPageMedianMs)} ms, last page ${round(historyFigures.historyLastPageMedianMs)} ms; ` +
        `redline ${round(historyFigures.redlineMedianMs)} ms (one render ${round(historyFigures.renderOnceMs)} ms)`,
    );
    // 7. Optional: rendering alone, after everything else so that its memory does not count as the server's.
    let renderOnly: number | null = null;
    if (options.breakdown) {
      rss.enter('breakdown'); // excluded from peak_rss_mb
      const sources = readCorpusSources(corpusDir, [...snapshot.documents.keys()]);
      t = now();
      await renderMany(sources);
      renderOnly = options.documents / ((now() - t) / 1000);
      log(`breakdown: renderMany alone (worker pool, no git, no DB): ${Math.round(renderOnly)} docs/s`);
    }

    rss.stop();
    log(`peak RSS by phase: ${[...rss.phasePeaks].map(([phase, v]) => `${phase} ${Math.round(mb(v))} MB`).join(', ')}`);
    await closeServer();
    closeServer = null;
    await ctx.close();
    context = null;

    const phasePeak = (phase: string) => round(mb(rss.phasePeaks.get(phase) ?? 0));
    const other = { import: otherImport, update: otherUpdate, public: otherPublic, internal: otherInternal };
    const busiest = Object.entries(other).filter(([, o]) => o !== null && o.otherPercent + o.stealPercent > 10);
    if (busiest.length > 0) {
      warnings.push(
        `The machine was busy: other processes used ${busiest.map(([phase, o]) => `${Math.round(o!.otherPercent + o!.stealPercent)} % during ${phase}`).join(', ')} ` +
          `of all CPUs (load average at start ${loadAverage.toFixed(2)}). Figures are pessimistic; rerun on an idle machine.`,
      );
    }
    const otherPercent = (o: { otherPercent: number; stealPercent: number } | null) => (o ? Math.round(o.otherPercent + o.stealPercent) : null);
    const figures: Figures = {
      documents: options.documents,
      corpus_mb: round(mb(corpus.bytes)),
      import_seconds: round(importMs / 1000, 2),
      render_docs_per_second: Math.round(options.documents / (importMs / 1000)),
      import_read_db_seconds: round(importReadDbMs / 1000, 2),
      import_git_commit_seconds: round(timing.commit / 1000, 2),
      import_publish_seconds: round(timing.publish / 1000, 2),
      import_render_store_seconds: round(timing.prerender / 1000, 2),
      publish_docs_per_second: Math.round(options.documents / ((timing.publish + timing.prerender) / 1000)),
      render_only_docs_per_second: renderOnly === null ? null : Math.round(renderOnly),
      import_cpu_seconds: importCpuSeconds === null ? null : round(importCpuSeconds, 2),
      import_cpu_ms_per_document: importCpuSeconds === null ? null : round((importCpuSeconds * 1000) / options.documents, 2),
      import_cpu_process_seconds: importCpuSplit ? round(importCpuSplit.process, 2) : null,
      import_cpu_git_seconds: importCpuSplit ? round(importCpuSplit.children, 2) : null,
      import_listeners_seconds: round(listenersMs! / 1000, 2),
      update_during_listeners_ms_median: duringBackground.length > 0 ? round(median(duringBackground)) : null,
      update_during_listeners_ms_max: duringBackground.length > 0 ? round(Math.max(...duringBackground)) : null,
      update_served_ms_median: round(median(served)),
      update_served_ms_p90: round(percentile(served, 90)),
      update_served_ms_max: round(Math.max(...served)),
      update_commit_ms_median: round(median(commitTimes)),
      update_publish_ms_median: round(median(publishTimes)),
      update_first_serve_ms_median: round(median(firstServe)),
      update_cpu_ms: updateCpuSeconds === null ? null : Math.round((updateCpuSeconds * 1000) / options.updates),
      public_rps: Math.round(publicLoad.rps),
      public_p50_ms: publicLoad.p50_ms,
      public_p99_ms: publicLoad.p99_ms,
      public_non2xx: publicLoad.non_2xx,
      public_errors: publicLoad.errors + publicLoad.timeouts,
      public_page_kb: round(publicBytes / 1024),
      public_server_cpu_percent: Math.round(publicLoad.server_cpu_percent),
      public_server_cpu_us_per_request: Math.round(publicLoad.server_cpu_us_per_request),
      public_loader_cpu_percent: Math.round(publicLoad.loader_cpu_percent),
      internal_rps: Math.round(internalLoad.rps),
      internal_p50_ms: internalLoad.p50_ms,
      internal_p99_ms: internalLoad.p99_ms,
      internal_non2xx: internalLoad.non_2xx,
      internal_errors: internalLoad.errors + internalLoad.timeouts,
      internal_page_kb: round(internalBytes / 1024),
      internal_server_cpu_percent: Math.round(internalLoad.server_cpu_percent),
      internal_server_cpu_us_per_request: Math.round(internalLoad.server_cpu_us_per_request),
      internal_loader_cpu_percent: Math.round(internalLoad.loader_cpu_percent),
      load_generator: publicLoad.generator,
      render_worker: workerSourceLabel(await renderWorkerSource()),
      loader: process.env.DOCUCOMMIT_LOADED_AS === 'compiled' ? 'compiled' : 'tsx',
      peak_rss_mb: round(mb(Math.max(...[...rss.phasePeaks].filter(([phase]) => phase !== 'breakdown' && phase !== 'history').map(([, v]) => v)))),
      rss_at_start_mb: round(mb(rss.initial)),
      peak_rss_import_mb: phasePeak('import'),
      peak_rss_serving_mb: Math.max(phasePeak('serving'), phasePeak('update'), phasePeak('load'), phasePeak('git')),
      loader_peak_rss_mb: round(Math.max(publicLoad.loader_peak_rss_mb, internalLoad.loader_peak_rss_mb)),
      connections: options.connections,
      duration_seconds: options.duration,
      database: databaseUrl ? 'postgres' : 'pglite',
      cpus: availableParallelism(),
      node: process.version,
      first_start_seconds: firstStart ? round(firstStart.seconds, 2) : null,
      first_start_peak_rss_mb: firstStart?.peakRssMb != null ? Math.round(firstStart.peakRssMb) : null,
      first_start_image: firstStart?.image ?? null,
      database_create_seconds: setup.database ? round(setup.database.seconds, 2) : null,
      database_create_peak_rss_mb: setup.database ? Math.round(setup.database.peakRssMb) : null,
      render_worker_shim: setup.renderWorkerError !== null,
      memory_after_import_mb: memoryAfterImport,
      memory_after_load_mb: memoryAfterLoad,
      load_average_at_start: round(loadAverage, 2),
      other_cpu_percent: {
        import: otherPercent(otherImport),
        update: otherPercent(otherUpdate),
        public: otherPercent(otherPublic),
        internal: otherPercent(otherInternal),
      },
      push_to_visible_ms_median: round(gitFigures.pushToVisibleMedianMs),
      push_to_visible_ms_max: round(gitFigures.pushToVisibleMaxMs),
      pushes: gitFigures.pushes,
      clone_http_ms_median: round(gitFigures.cloneHttpMedianMs),
      clone_file_ms_median: round(gitFigures.cloneFileMedianMs),
      clone_ratio: round(gitFigures.cloneRatio, 2),
      history_versions: historyFigures.versions,
      history_first_page_ms_median: round(historyFigures.historyFirstPageMedianMs),
      history_last_page_ms_median: round(historyFigures.historyLastPageMedianMs),
      redline_document_kb: round(historyFigures.redlineDocumentBytes / 1024),
      redline_ms_median: round(historyFigures.redlineMedianMs),
      render_200kb_ms: round(historyFigures.renderOnceMs),
      warnings,
    };
    printTable(figures);
    if (!options.keep) rmSync(dataDir, { recursive: true, force: true });
    else log(`kept ${dataDir}`);
    console.log(JSON.stringify(figures));
  } catch (error) {
    rss.stop();
    await closeServer?.().catch(() => {});
    await context?.close().catch(() => {});
    if (!options.keep) rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
}

function readCorpusSources(dir: string, paths: string[]): { path: string; source: string }[] {
  return paths.map((path) => ({ path, source: readFileSync(join(dir, ...path.split('/')), 'utf8') }));
}

// ---------------------------------------------------------------------------------------------------------------
// Report

function printTable(f: Figures): void {
  type Row = [label: string, value: string, target: string, ok: boolean | null];
  const ms = (n: number) => `${round(n)} ms`;
  const rows: Row[] = [
    ['documents', `${f.documents} (${f.corpus_mb} MB)`, '', null],
    ['full import + render', `${f.import_seconds} s`, '', null],
    ['  documents/s', `${f.render_docs_per_second}`, '≥ 1,500', f.render_docs_per_second >= 1500],
    ['  read folder + DB setup', `${f.import_read_db_seconds} s`, '', null],
    ['  git commit', `${f.import_git_commit_seconds} s`, '', null],
    ['  render + store (parallel with the commit)', `${f.import_render_store_seconds} s`, '', null],
    ['  publish after the commit', `${f.import_publish_seconds} s (render + store + publish: ${f.publish_docs_per_second} docs/s)`, '', null],
  ];
  if (f.render_only_docs_per_second !== null) rows.push(['  renderMany alone', `${f.render_only_docs_per_second} docs/s`, '', null]);
  if (f.import_cpu_seconds !== null) rows.push(['  CPU used (all threads + git)', `${f.import_cpu_seconds} s = ${f.import_cpu_ms_per_document} ms/doc`, '', null]);
  if (f.import_cpu_process_seconds !== null) rows.push(['    server threads / git processes', `${f.import_cpu_process_seconds} s / ${f.import_cpu_git_seconds} s`, '', null]);
  const workerRow = { bundle: 'esbuild bundle', 'cached bundle': 'esbuild bundle (from the disk cache)', tsx: 'tsx bootstrap (bundle failed)' };
  rows.push(['  render workers', workerRow[f.render_worker], '', null]);
  rows.push(['  server sources', f.loader === 'compiled' ? 'compiled (as docucommit serve)' : 'through tsx', '', null]);
  rows.push(
    ['import\'s listeners done after (search index build)', `${f.import_listeners_seconds} s`, '', null],
    [
      '  update served meanwhile, median / max',
      f.update_during_listeners_ms_median === null ? 'none measured' : `${f.update_during_listeners_ms_median} / ${f.update_during_listeners_ms_max} ms`,
      '',
      null,
    ],
    ['update served after commit, median', ms(f.update_served_ms_median), '< 150 ms', f.update_served_ms_median < 150],
    ['update served after commit, max', ms(f.update_served_ms_max), '< 150 ms', f.update_served_ms_max < 150],
    ['  commit / publish / first serve (medians)', `${f.update_commit_ms_median} / ${f.update_publish_ms_median} / ${f.update_first_serve_ms_median} ms`, '', null],
    ['  CPU per update (all threads + git)', f.update_cpu_ms === null ? '?' : `${f.update_cpu_ms} ms`, '', null],
    ['load generator', f.load_generator === 'wrk' ? 'wrk (loopback)' : 'autocannon (Node)', '', null],
    ['public page, requests/s', `${f.public_rps}`, '≥ 10,000', f.public_rps >= 10_000],
    ['public page, p50', ms(f.public_p50_ms), '', null],
    ['public page, p99', ms(f.public_p99_ms), '< 25 ms', f.public_p99_ms < 25],
    ['public page, CPU server / load generator', `${f.public_server_cpu_percent} % / ${f.public_loader_cpu_percent} %`, '', null],
    ['public page, server CPU per request', `${f.public_server_cpu_us_per_request} µs`, '', null],
    ['public page, non-2xx / errors', `${f.public_non2xx} / ${f.public_errors}`, '0', f.public_non2xx + f.public_errors === 0],
    ['internal page (signed in), requests/s', `${f.internal_rps}`, '≥ 4,000', f.internal_rps >= 4000],
    ['internal page, p50', ms(f.internal_p50_ms), '', null],
    ['internal page, p99', ms(f.internal_p99_ms), '< 25 ms', f.internal_p99_ms < 25],
    ['internal page, CPU server / load generator', `${f.internal_server_cpu_percent} % / ${f.internal_loader_cpu_percent} %`, '', null],
    ['internal page, server CPU per request', `${f.internal_server_cpu_us_per_request} µs`, '', null],
    ['internal page, non-2xx / errors', `${f.internal_non2xx} / ${f.internal_errors}`, '0', f.internal_non2xx + f.internal_errors === 0],
    [`git push → page visible (median of ${f.pushes})`, ms(f.push_to_visible_ms_median), '< 500 ms', f.push_to_visible_ms_median < 500],
    ['git push → page visible, max', ms(f.push_to_visible_ms_max), '', null],
    ['git clone through the server / file://', `${f.clone_ratio} (${f.clone_http_ms_median} / ${f.clone_file_ms_median} ms)`, '≤ 1.5', f.clone_ratio <= 1.5],
    [`history page, ${f.history_versions} versions (newest / oldest 50)`, `${f.history_first_page_ms_median} / ${f.history_last_page_ms_median} ms`, '< 100 ms', Math.max(f.history_first_page_ms_median, f.history_last_page_ms_median) < 100],
    [`redline of two versions of a ${f.redline_document_kb} KB document`, ms(f.redline_ms_median), '< 100 ms', f.redline_ms_median < 100],
    ['  one render of that document (cold)', ms(f.render_200kb_ms), '', null],
    ['peak RSS (server process)', `${f.peak_rss_mb} MB`, '< 600 MB', f.peak_rss_mb < 600],
    ['  at start (modules loaded, no database yet)', `${f.rss_at_start_mb} MB`, '', null],
    ['  during import / while serving', `${f.peak_rss_import_mb} / ${f.peak_rss_serving_mb} MB`, '', null],
    ['  after import: RSS / V8 heap / external', `${f.memory_after_import_mb.rss} / ${f.memory_after_import_mb.heap_used} / ${f.memory_after_import_mb.external} MB`, '', null],
    ['  after load: RSS / V8 heap / external', `${f.memory_after_load_mb.rss} / ${f.memory_after_load_mb.heap_used} / ${f.memory_after_load_mb.external} MB`, '', null],
    ['  load generator (child, not counted)', `${f.loader_peak_rss_mb} MB`, '', null],
  );
  const o = f.other_cpu_percent;
  const pct = (n: number | null) => (n === null ? '?' : `${n}`);
  rows.push([
    'other processes\' CPU: import / update / public / internal',
    `${pct(o.import)} / ${pct(o.update)} / ${pct(o.public)} / ${pct(o.internal)} %`,
    '≈ 0',
    null,
  ]);
  if (f.first_start_seconds !== null) {
    const peak = f.first_start_peak_rss_mb;
    rows.push(
      [`first start → first page (database image ${f.first_start_image})`, `${f.first_start_seconds} s`, '', null],
      ['  peak RSS, whole process tree', peak === null ? '?' : `${peak} MB`, '< 300 MB', peak === null ? null : peak < 300],
    );
  }
  if (f.database_create_seconds !== null) {
    rows.push(['database creation (first start, separate process)', `${f.database_create_seconds} s, ${f.database_create_peak_rss_mb} MB`, '', null]);
  }
  const widths = [0, 1, 2].map((c) => Math.max(...rows.map((r) => (r[c] as string).length)));
  const line = (r: Row) =>
    `${(r[0]).padEnd(widths[0]!)}  ${(r[1]).padStart(widths[1]!)}  ${(r[2]).padEnd(widths[2]!)}  ${r[3] === null ? '' : r[3] ? '✓' : '✗'}`;
  console.log('');
  console.log(`DocuCommit benchmark — ${f.documents} documents, ${f.database}, ${f.cpus} CPUs, node ${f.node}, ${f.connections} connections × ${f.duration_seconds} s`);
  console.log('-'.repeat(widths[0]! + widths[1]! + widths[2]! + 8));
  for (const row of rows) console.log(line(row));
  for (const warning of f.warnings) console.log(`\n⚠ ${warning}`);
  console.log('');
}

main().then(
  () => {
    // Anything still holding the event loop (a stray socket) must not keep the process alive.
    setTimeout(() => process.exit(process.exitCode ?? 0), 2000).unref();
  },
  (error: unknown) => {
    console.error(`[bench] FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
