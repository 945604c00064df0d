/**
 * `npm run bench:processes`: DocuCommit on PostgreSQL with one and with two server processes (`serve --workers`),
 * on this machine. Measures (bench/load.ts: wrk when installed, else autocannon; 64 connections, 10 s after 2 s of
 * warm-up): the cached public page (anonymous) and a signed-in page; then, with two separate servers on one
 * database and data directory, how long a push through one takes to be served by the other.
 *
 * Needs a PostgreSQL server: BENCH_DATABASE_URL, else TEST_DATABASE_URL (a user that may create databases).
 * The load generator shares the cores with the servers, and other work on the machine counts too: the load
 * average is printed with the figures, which are indicative.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { runChild } from './child.ts';
import type { LoadResult } from './load.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin/docucommit.mjs');
const PUBLIC_PAGE = '/zephyrcart/intranet/policies/code-of-conduct';
// pushed to main directly: a news item publishes without review (the policies name approvers: protected main)
const PUSH_PAGE = '/zephyrcart/intranet/news/2026-04-09-eu-frankfurt-ga';
const PUSH_DOC = 'news/2026-04-09-eu-frankfurt-ga.md';
const PASSWORD = 'the bench owner passphrase';
const DURATION = Number(process.env.BENCH_DURATION ?? 10);

interface Server {
  child: ChildProcess;
  url: string;
  output: string;
}

function startServer(dataDir: string, databaseUrl: string, workers: number): Promise<Server> {
  const child = spawn(process.execPath, [BIN, 'serve', '--data', dataDir, '--port', '0', '--workers', String(workers)], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: process.env.TMPDIR, DATABASE_URL: databaseUrl, DOCUCOMMIT_SECURITY_CONTACT: 'mailto:security@example.test' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const server: Server = { child, url: '', output: '' };
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      server.output += chunk.toString('utf8');
      const match = /running at (http:\/\/\S+)/.exec(server.output);
      // a first start prints the owner's sign-in after that line
      const complete = !/First start/.test(server.output) || /with password \S+/.test(server.output);
      if (match && complete && !server.url) {
        server.url = match[1]!.replace('://localhost', '://127.0.0.1');
        resolve(server);
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => (server.output += chunk.toString('utf8')));
    child.once('exit', (code) => !server.url && reject(new Error(`server exited (${code}):\n${server.output}`)));
  });
}

function stop(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (server.child.exitCode !== null || server.child.signalCode !== null) return resolve();
    server.child.once('exit', () => resolve());
    server.child.kill('SIGTERM');
  });
}

class Browser {
  readonly cookies = new Map<string, string>();
  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
  async request(url: string, form?: Record<string, string>): Promise<Response> {
    const headers: Record<string, string> = { cookie: this.header() };
    if (form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      headers.origin = new URL(url).origin;
    }
    const response = await fetch(url, { method: form ? 'POST' : 'GET', headers, body: form ? new URLSearchParams(form).toString() : undefined, redirect: 'manual' });
    for (const cookie of response.headers.getSetCookie()) {
      const [pair] = cookie.split(';');
      const eq = pair!.indexOf('=');
      this.cookies.set(pair!.slice(0, eq), pair!.slice(eq + 1));
    }
    return response;
  }
  async login(base: string, email: string, password: string): Promise<void> {
    const csrf = (html: string) => /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? '';
    const response = await this.request(`${base}/login`, { email, password, _csrf: csrf(await (await this.request(`${base}/login`)).text()), next: '/' });
    const location = response.headers.get('location') ?? '';
    if (location.startsWith('/login/password')) {
      const html = await (await this.request(`${base}${location}`)).text();
      await this.request(`${base}/login/password`, { _csrf: csrf(html), password: PASSWORD, next: '/' });
    }
  }
}

async function withDatabase<T>(adminUrl: string, fn: (url: string) => Promise<T>): Promise<T> {
  const name = `docucommit_bench_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  try {
    return await fn(url.toString());
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

const load = (url: string, headers?: Record<string, string>) =>
  runChild<LoadResult>('./load.ts', [JSON.stringify({ url, connections: 64, duration: DURATION, warmup: 2, headers })]);

async function throughput(adminUrl: string, workers: number): Promise<{ workers: number; publicPage: LoadResult; signedIn: LoadResult }> {
  return withDatabase(adminUrl, async (databaseUrl) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'dc-bench-processes-'));
    const server = await startServer(dataDir, databaseUrl, workers);
    try {
      const [, email, password] = /as (\S+@\S+) with password (\S+)/.exec(server.output) ?? [];
      const browser = new Browser();
      await browser.login(server.url, email!, password!);
      const publicPage = await load(`${server.url}${PUBLIC_PAGE}`);
      const signedIn = await load(`${server.url}${PUBLIC_PAGE}`, { cookie: browser.header() });
      return { workers, publicPage, signedIn };
    } finally {
      await stop(server);
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
}

/** Two servers on one database and data directory: push through B, poll A until it serves the push. */
async function pushVisibleAcross(adminUrl: string, rounds = 5): Promise<number[]> {
  return withDatabase(adminUrl, async (databaseUrl) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'dc-bench-push-'));
    const a = await startServer(dataDir, databaseUrl, 1);
    const b = await startServer(dataDir, databaseUrl, 1);
    const home = mkdtempSync(join(tmpdir(), 'dc-bench-home-'));
    try {
      const [, email, password] = /as (\S+@\S+) with password (\S+)/.exec(a.output) ?? [];
      const browser = new Browser();
      await browser.login(a.url, email!, password!);
      const created = spawnSync(process.execPath, [BIN, 'token', 'create', email!, '--scopes', 'read,write', '--expires', '1d', '--data', dataDir], {
        encoding: 'utf8',
        env: { ...process.env, DATABASE_URL: databaseUrl },
      });
      const token = created.stdout.trim();
      const env = { PATH: process.env.PATH, HOME: home, GIT_CONFIG_NOSYSTEM: '1', GIT_TERMINAL_PROMPT: '0', GIT_AUTHOR_NAME: 'Bench', GIT_AUTHOR_EMAIL: 'bench@example.test', GIT_COMMITTER_NAME: 'Bench', GIT_COMMITTER_EMAIL: 'bench@example.test' };
      const git = (args: string[], cwd?: string) => spawnSync('git', ['-c', 'credential.helper=', ...args], { cwd, env, encoding: 'utf8' });
      const work = join(home, 'work');
      git(['clone', `${b.url.replace('http://', `http://x-token:${token}@`)}/zephyrcart/intranet.git`, work]);
      const original = readFileSync(join(work, PUSH_DOC), 'utf8');
      const times: number[] = [];
      for (let round = 1; round <= rounds; round++) {
        const marker = `BENCH-PUSH-${round}-${randomBytes(4).toString('hex')}`;
        writeFileSync(join(work, PUSH_DOC), `${original}\n${marker}\n`);
        git(['commit', '-qam', `Bench push ${round}`], work);
        const pushed = git(['push', '-q', 'origin', 'HEAD:main'], work);
        if (pushed.status !== 0) throw new Error(`push failed: ${pushed.stderr}`);
        const start = performance.now();
        for (;;) {
          const page = await (await browser.request(`${a.url}${PUSH_PAGE}`)).text();
          if (page.includes(marker)) break;
          if (performance.now() - start > 10_000) throw new Error('A did not serve the push within 10 s');
          await new Promise((r) => setTimeout(r, 5));
        }
        times.push(Math.round(performance.now() - start));
      }
      return times;
    } finally {
      await stop(b);
      await stop(a);
      rmSync(home, { recursive: true, force: true });
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
}

async function main(): Promise<void> {
  const adminUrl = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL;
  if (!adminUrl) {
    console.log('bench:processes needs PostgreSQL: set BENCH_DATABASE_URL (or TEST_DATABASE_URL).');
    return;
  }
  const loadBefore = loadavg();
  console.log(`cores: ${availableParallelism()}  load average before: ${loadBefore.map((l) => l.toFixed(2)).join(' ')}`);
  const runs = [];
  for (const workers of [1, 2]) {
    const run = await throughput(adminUrl, workers);
    runs.push(run);
    console.log(
      `${workers} process${workers > 1 ? 'es' : ''}: public page ${Math.round(run.publicPage.rps)} req/s (p99 ${run.publicPage.p99_ms} ms, non-2xx ${run.publicPage.non_2xx}), ` +
        `signed-in page ${Math.round(run.signedIn.rps)} req/s (p99 ${run.signedIn.p99_ms} ms, non-2xx ${run.signedIn.non_2xx})  [${run.publicPage.generator}]`,
    );
  }
  const [one, two] = runs;
  console.log(`2 vs 1 process: public page ×${(two!.publicPage.rps / one!.publicPage.rps).toFixed(2)}, signed-in page ×${(two!.signedIn.rps / one!.signedIn.rps).toFixed(2)} (goal ≥ 1.7)`);
  const nginx = spawnSync('nginx', ['-v'], { stdio: 'ignore' }).error === undefined;
  console.log(nginx ? 'nginx is installed but not compared by this script' : 'nginx is not installed: no comparison with nginx on identical bytes');
  const push = await pushVisibleAcross(adminUrl);
  console.log(`push through B → served by A: ${push.join(', ')} ms (median ${[...push].sort((x, y) => x - y)[Math.floor(push.length / 2)]} ms)`);
  const loadAfter = loadavg();
  console.log(`load average after: ${loadAfter.map((l) => l.toFixed(2)).join(' ')} (other work on this machine counts: figures are indicative)`);
  console.log(JSON.stringify({ processes: runs.map((r) => ({ workers: r.workers, public_rps: r.publicPage.rps, signed_in_rps: r.signedIn.rps })), push_visible_ms: push, load_before: loadBefore, load_after: loadAfter }));
}

await main();
