/**
 * git over smart HTTP benchmark (callable from bench/run.ts; runnable alone: `node --import tsx bench/git-push.ts`).
 *
 *   1. push to visible: generate the corpus (default 10,000 documents), import it, start the real server, clone it
 *      over HTTP with an admin's token; then 20 times: change one internal document, commit, `git push`, and poll
 *      the page over HTTP (signed in) until the new text appears. Median and worst, including git's own work
 *      (pack, push checks in the pre-receive hook, receive-pack, incremental publish).
 *   2. clone ratio: `git clone` through the server vs `git clone file://` of the same bare repository
 *      (median of 3 each, `--no-local` so the file:// clone also packs objects rather than hard-linking them).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { createAppContext, type AppContext } from '../src/app-context.ts';
import { upsertAccount } from '../src/auth/accounts.ts';
import { createToken } from '../src/auth/tokens.ts';
import { importFolder } from '../src/projects/import-folder.ts';
import type { ProjectRecord } from '../src/projects/projects.ts';
import { buildApp } from '../src/web/app.ts';
import { documentUrl } from '../src/web/urls.ts';
import { login, testConfig } from '../test/helpers/test-app.ts';
import { generateCorpus } from './corpus.ts';
import { installWorkerShim } from './worker-shim.ts';

export interface GitPushBenchOptions {
  documents?: number;
  pushes?: number;
  cloneRuns?: number;
  seed?: number;
}

export interface GitPushBenchFigures {
  documents: number;
  pushes: number;
  pushToVisibleMedianMs: number;
  pushToVisibleMaxMs: number;
  cloneHttpMedianMs: number;
  cloneFileMedianMs: number;
  cloneRatio: number;
  loadAverage: number;
  cpus: number;
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

function git(home: string, args: string[], cwd?: string): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('git', ['-c', 'credential.helper=', ...args], {
      cwd,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: {
        PATH: process.env.PATH,
        HOME: home,
        GIT_CONFIG_NOSYSTEM: '1',
        GIT_TERMINAL_PROMPT: '0',
        GIT_AUTHOR_NAME: 'Bench',
        GIT_AUTHOR_EMAIL: 'bench@example.com',
        GIT_COMMITTER_NAME: 'Bench',
        GIT_COMMITTER_EMAIL: 'bench@example.com',
      },
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolvePromise() : reject(new Error(`git ${args[0]} failed: ${stderr}`))));
  });
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

/** A running server with an imported project, to measure git against (bench/run.ts passes its own). */
export interface GitPushTarget {
  context: AppContext;
  /** Origin of the listening server, e.g. http://127.0.0.1:1234. */
  origin: string;
  project: ProjectRecord;
  /** Repository path of an internal document to change, and a scratch directory for clones. */
  documentPath: string;
  workDir: string;
  /** Cookie of a signed-in reader of that document (the page is polled as them). */
  cookie: string;
}

/**
 * Measures push → visible and the clone ratio against a running server: creates an admin account and a token in
 * the project's organization, clones, then pushes one-file changes and polls the page (signed in) until each
 * appears.
 */
export async function measureGitPush(target: GitPushTarget, options: { pushes?: number; cloneRuns?: number } = {}): Promise<GitPushBenchFigures> {
  const pushes = options.pushes ?? 20;
  const cloneRuns = options.cloneRuns ?? 3;
  const { context, origin, project, workDir } = target;
  const home = join(workDir, 'client');
  const suffix = randomBytes(3).toString('hex');
  const email = `bench-git-${suffix}@example.com`;
  const password = `bench git password ${suffix} long enough`;
  // clone needs a role that may read every document (restricted ones too): an admin's token
  await upsertAccount(context.db, { email, orgSlug: project.orgSlug, role: 'admin', password, name: 'Bench Git' });
  const user = await context.db.selectFrom('users').select('id').where('email', '=', email).executeTakeFirstOrThrow();
  const { token } = await createToken(context.db, { userId: user.id, name: 'bench', scopes: ['write'] });
  const url = new URL(origin);
  const remote = `${url.protocol}//x-token:${token}@${url.host}/${project.orgSlug}/${project.slug}.git`;
  const cookie = target.cookie;

  // clone through the server vs file:// of the same bare repository
  const bare = context.repositories.pathOf(project);
  const httpTimes: number[] = [];
  const fileTimes: number[] = [];
  for (let run = 0; run < cloneRuns; run++) {
    httpTimes.push(await timed(() => git(home, ['clone', '-q', remote, join(workDir, `http-${run}`)])));
    fileTimes.push(await timed(() => git(home, ['clone', '-q', '--no-local', pathToFileURL(bare).href, join(workDir, `file-${run}`)])));
  }

  // push to visible
  const work = join(workDir, 'http-0');
  const file = join(work, target.documentPath);
  const page = origin + documentUrl(project, target.documentPath);
  const original = readFileSync(file, 'utf8');
  const times: number[] = [];
  for (let i = 0; i < pushes; i++) {
    const marker = `bench-push-marker-${i}-${Date.now()}`;
    writeFileSync(file, `${original}\n${marker}\n`);
    await git(home, ['commit', '-q', '-am', `Bench push ${i}`], work);
    times.push(
      await timed(async () => {
        await git(home, ['push', '-q', 'origin', 'HEAD:main'], work);
        for (let attempt = 0; ; attempt++) {
          const response = await fetch(page, { headers: { cookie } });
          const body = await response.text();
          if (response.status === 200 && body.includes(marker)) return;
          if (attempt > 500) throw new Error(`the pushed change never appeared at ${page} (status ${response.status})`);
          await new Promise((r) => setTimeout(r, 5));
        }
      }),
    );
  }
  const cloneHttpMedianMs = median(httpTimes);
  const cloneFileMedianMs = median(fileTimes);
  return {
    documents: context.publisher.snapshotOf(project.id)?.documents.size ?? 0,
    pushes,
    pushToVisibleMedianMs: median(times),
    pushToVisibleMaxMs: Math.max(...times),
    cloneHttpMedianMs,
    cloneFileMedianMs,
    cloneRatio: cloneHttpMedianMs / cloneFileMedianMs,
    loadAverage: loadavg()[0]!,
    cpus: availableParallelism(),
  };
}

/** Runs both measurements on a fresh data directory (its own import and server) and returns the figures. */
export async function runGitPushBench(options: GitPushBenchOptions = {}): Promise<GitPushBenchFigures> {
  const documents = options.documents ?? 10_000;
  const dataDir = mkdtempSync(join(tmpdir(), 'docucommit-bench-git-'));
  const context = await createAppContext(testConfig(dataDir));
  try {
    const corpus = generateCorpus(join(dataDir, 'corpus'), { documents, seed: options.seed ?? 1 });
    const { project } = await importFolder(context, {
      folder: corpus.dir,
      orgSlug: 'bench',
      projectSlug: 'handbook',
      projectName: 'Bench Handbook',
      author: { name: 'Bench', email: 'bench@example.com' },
    });
    const { app } = await buildApp(context);
    await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const origin = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
      const password = 'bench member password long enough';
      await upsertAccount(context.db, { email: 'bench-member@example.com', orgSlug: 'bench', role: 'member', password, name: 'Bench Member' });
      const cookie = await login(app, 'bench-member@example.com', password);
      return await measureGitPush(
        { context, origin, project, documentPath: corpus.internalDocument.path, workDir: dataDir, cookie },
        { ...(options.pushes !== undefined ? { pushes: options.pushes } : {}), ...(options.cloneRuns !== undefined ? { cloneRuns: options.cloneRuns } : {}) },
      );
    } finally {
      await app.close();
    }
  } finally {
    await context.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Table rows: figure, measured, target. */
export function gitPushBenchRows(f: GitPushBenchFigures): [string, string, string][] {
  return [
    [`git push → page visible (${f.documents} docs, median of ${f.pushes})`, `${f.pushToVisibleMedianMs.toFixed(0)} ms (max ${f.pushToVisibleMaxMs.toFixed(0)})`, '< 500 ms'],
    ['git clone over HTTP / file:// (median of 3)', `${f.cloneRatio.toFixed(2)} (${f.cloneHttpMedianMs.toFixed(0)} / ${f.cloneFileMedianMs.toFixed(0)} ms)`, '≤ 1.5'],
  ];
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const documents = Number(process.env.BENCH_DOCUMENTS ?? 10_000);
  // alone under `node --import tsx`, render workers need tsx registered inside them (see worker-shim.ts)
  installWorkerShim();
  const figures = await runGitPushBench({ documents });
  for (const [name, value, target] of gitPushBenchRows(figures)) console.log(`${name.padEnd(60)} ${value.padEnd(28)} ${target}`);
  console.log(`load average ${figures.loadAverage.toFixed(1)} on ${figures.cpus} CPUs`);
  console.log(JSON.stringify(figures));
}
