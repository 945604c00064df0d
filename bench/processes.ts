/**
 * `npm run bench:processes`: DocuCommit on PostgreSQL with one and with two server processes (`serve --workers`),
 * on this machine. Measures (bench/load.ts: wrk when installed, else autocannon; 64 connections, 10 s after 2 s of
 * warm-up): the cached public page (anonymous) and a signed-in page; then, with two separate servers on one
 * database and data directory, how long a push through one takes to be served by the other.
 *
 * Needs a PostgreSQL server: BENCH_DATABASE_URL, else TEST_DATABASE_URL (a user that may create databases).
 * The load generator shares the cores with the servers, and other work on the machine counts too: the load
 * average is printed with the figures, which are indicative. So each run also prints where the machine's CPU
 * went during the measured seconds (from /proc): the server processes' CPU per request, wrk's, PostgreSQL's and
 * the rest: equal CPU per request with one and two processes and the cores all busy means the machine, not the
 * server, is the limit.
 *
 * Then nginx (when installed) serves the exact bytes and headers of the cached public page, fetched from the
 * two-process server, with `worker_processes 2` under the same wrk settings: the reference for "identical bytes".
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { runChild } from './child.ts';
import { cpuBetween, cpuSnapshot, processTree, type CpuSnapshot } from './cpu-accounting.ts';
import type { LoadResult } from './load.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin/docucommit.mjs');
const PUBLIC_PAGE = '/zephyrcart/intranet/policies/code-of-conduct';
// pushed to main directly: a news item publishes without review (the policies name approvers: protected main)
const PUSH_PAGE = '/zephyrcart/intranet/news/2026-04-09-eu-frankfurt-ga';
const PUSH_DOC = 'news/2026-04-09-eu-frankfurt-ga.md';
const PASSWORD = 'the bench owner passphrase';
const DURATION = Number(process.env.BENCH_DURATION ?? 10);
/** Which process counts to measure (comma-separated; default 1,2; the 2-vs-1 and nginx lines need both). */
const PROCESS_COUNTS = (process.env.BENCH_PROCESSES ?? '1,2').split(',').map(Number);
// BENCH_SKIP_PUSH=1: no push round (e.g. while profiling).
/** A folder: the servers of the throughput runs write a V8 CPU profile there (`--cpu-prof`) when they stop. */
const CPU_PROFILE_DIR = process.env.BENCH_CPU_PROF;

interface Server {
  child: ChildProcess;
  url: string;
  output: string;
}

/**
 * Start `docucommit serve`; resolves once it listens and, on a first start (`firstStart`: an empty database), once
 * it has printed the owner's sign-in (the lines may arrive after the "running at" line, in another chunk).
 */
function startServer(dataDir: string, databaseUrl: string, workers: number, options: { firstStart: boolean; profile?: string }): Promise<Server> {
  const profile = options.profile;
  // (not allowed in NODE_OPTIONS; cluster workers inherit the flags)
  const flags = profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : [];
  const child = spawn(process.execPath, [...flags, BIN, 'serve', '--data', dataDir, '--port', '0', '--workers', String(workers)], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      TMPDIR: process.env.TMPDIR,
      DATABASE_URL: databaseUrl,
      DOCUCOMMIT_SECURITY_CONTACT: 'mailto:security@example.test',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const server: Server = { child, url: '', output: '' };
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      server.output += chunk.toString('utf8');
      const match = /running at (http:\/\/\S+)/.exec(server.output);
      // a first start prints the owner's sign-in after that line (a whole line: the password may be split across chunks)
      const complete = !options.firstStart || /with password \S+\n/.test(server.output);
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
    if (![...this.cookies.keys()].some((name) => name.endsWith('dc_session'))) throw new Error(`signing in as ${email} gave no session (answer ${response.status} ${location})`);
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

/** A load run with where the CPU went during its measured seconds. */
export interface MeasuredLoad extends LoadResult {
  /** Server processes' CPU (all of them) per completed request, µs. */
  server_cpu_us_per_request: number;
  /** In % of one core, over the measured run: the server processes, PostgreSQL, and the whole machine. */
  server_cpu_percent: number;
  postgres_cpu_percent: number;
  machine_cpu_percent: number;
  /** Bytes per response as wrk counted them (head and body). */
  bytes_per_response: number;
}

/** Load `url` (64 connections, DURATION s after 2 s of warm-up) while measuring the CPU of `serverPid`'s tree. */
async function load(url: string, serverPid: number, headers?: Record<string, string>): Promise<MeasuredLoad> {
  const pids = processTree(serverPid);
  let before: CpuSnapshot | undefined;
  const result = await runChild<LoadResult>('./load.ts', [JSON.stringify({ url, connections: 64, duration: DURATION, warmup: 2, headers })], (event) => {
    if (event === 'measure-start') before = cpuSnapshot(pids);
  });
  const after = cpuSnapshot(pids);
  if (!before) throw new Error('the load generator did not say when it started measuring');
  const seconds = (after.at - before.at) / 1000;
  const percent = (cpu: number) => (cpu / seconds) * 100;
  const server = cpuBetween(before.server, after.server);
  return {
    ...result,
    server_cpu_us_per_request: (server / result.requests) * 1e6,
    server_cpu_percent: percent(server),
    postgres_cpu_percent: percent(cpuBetween(before.postgres, after.postgres)),
    machine_cpu_percent: percent(after.machine - before.machine),
    bytes_per_response: result.bytes_per_second / result.rps,
  };
}

/** One line: throughput, latency, and where the CPU went (server per request, wrk, PostgreSQL, the rest). */
function describe(run: MeasuredLoad): string {
  const cores = availableParallelism() * 100;
  const other = Math.max(0, run.machine_cpu_percent - run.server_cpu_percent - run.loader_cpu_percent - run.postgres_cpu_percent);
  return (
    `${Math.round(run.rps)} req/s (p99 ${run.p99_ms} ms, non-2xx ${run.non_2xx}, ${Math.round(run.bytes_per_response)} B/response); ` +
    `CPU: server ${Math.round(run.server_cpu_us_per_request)} µs/request (${Math.round(run.server_cpu_percent)} % of a core), ` +
    `wrk ${Math.round(run.loader_cpu_percent)} %, PostgreSQL ${Math.round(run.postgres_cpu_percent)} %, other ${Math.round(other)} %; ` +
    `machine ${Math.round(run.machine_cpu_percent)} of ${cores} % (wrk's share ${Math.round((run.loader_cpu_percent / Math.max(1, run.machine_cpu_percent)) * 100)} %)`
  );
}

/** The cached public page exactly as wrk gets it (no Accept-Encoding): status, headers and body bytes. */
function fetchRaw(url: string): Promise<{ status: number; headers: [string, string][]; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers: { host: new URL(url).host } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const headers: [string, string][] = [];
        for (let i = 0; i < res.rawHeaders.length; i += 2) headers.push([res.rawHeaders[i]!, res.rawHeaders[i + 1]!]);
        resolve({ status: res.statusCode ?? 0, headers, body: Buffer.concat(chunks) });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

type RawPage = Awaited<ReturnType<typeof fetchRaw>>;

async function throughput(adminUrl: string, workers: number): Promise<{ workers: number; publicPage: MeasuredLoad; signedIn: MeasuredLoad; page: RawPage }> {
  return withDatabase(adminUrl, async (databaseUrl) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'dc-bench-processes-'));
    const server = await startServer(dataDir, databaseUrl, workers, { firstStart: true, profile: CPU_PROFILE_DIR });
    try {
      const [, email, password] = /as (\S+@\S+) with password (\S+)/.exec(server.output) ?? [];
      const browser = new Browser();
      await browser.login(server.url, email!, password!);
      const page = await fetchRaw(`${server.url}${PUBLIC_PAGE}`);
      if (page.status !== 200) throw new Error(`the public page answered ${page.status}`);
      // the signed-in run must load a signed-in page (the frame names the user), not the anonymous one
      const signedInPage = await (await browser.request(`${server.url}${PUBLIC_PAGE}`)).text();
      if (!signedInPage.includes(email!)) throw new Error(`the signed-in page does not name ${email} (cookies: ${[...browser.cookies.keys()].join(', ')})`);
      const pid = server.child.pid!;
      const publicPage = await load(`${server.url}${PUBLIC_PAGE}`, pid);
      const signedIn = await load(`${server.url}${PUBLIC_PAGE}`, pid, { cookie: browser.header() });
      return { workers, publicPage, signedIn, page };
    } finally {
      await stop(server);
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
}

/** A free TCP port on the loopback interface. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Headers nginx writes itself (or that describe the connection), not copied from DocuCommit's answer. */
const NGINX_OWN_HEADERS = new Set(['date', 'connection', 'keep-alive', 'content-length', 'transfer-encoding', 'content-type', 'server']);

/** A double-quoted nginx string (a `$` would be a variable: such a header is left out, and said). */
const nginxString = (value: string) => `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/**
 * nginx (`worker_processes 2`, no access log) serving `page`'s body with its headers, loaded like DocuCommit was;
 * null when nginx is not installed.
 */
async function nginxOnIdenticalBytes(page: RawPage): Promise<{ run: MeasuredLoad; left: string[] } | null> {
  if (spawnSync('nginx', ['-v'], { stdio: 'ignore' }).error !== undefined) return null;
  const dir = mkdtempSync(join(tmpdir(), 'dc-bench-nginx-'));
  // nginx's workers run as nobody when started by root: the page and its folder must be readable by them
  chmodSync(dir, 0o755);
  const port = await freePort();
  const contentType = page.headers.find(([name]) => name.toLowerCase() === 'content-type')?.[1] ?? 'text/html; charset=utf-8';
  const left: string[] = [];
  const headerLines = page.headers
    .filter(([name, value]) => {
      if (NGINX_OWN_HEADERS.has(name.toLowerCase())) return false;
      if (value.includes('$')) left.push(name);
      return !value.includes('$');
    })
    .map(([name, value]) => `      add_header ${name} ${nginxString(value)} always;`);
  writeFileSync(join(dir, 'page.html'), page.body);
  chmodSync(join(dir, 'page.html'), 0o644);
  const conf = [
    'worker_processes 2;',
    `pid ${join(dir, 'nginx.pid')};`,
    `error_log ${join(dir, 'error.log')} warn;`,
    'events { worker_connections 1024; }',
    'http {',
    '  access_log off;',
    '  server_tokens off;',
    '  sendfile on;',
    '  tcp_nopush on;',
    '  tcp_nodelay on;',
    '  etag off;',
    '  keepalive_requests 100000000;',
    '  keepalive_timeout 75s;',
    `  client_body_temp_path ${join(dir, 'body')};`,
    `  proxy_temp_path ${join(dir, 'proxy')};`,
    `  fastcgi_temp_path ${join(dir, 'fastcgi')};`,
    `  uwsgi_temp_path ${join(dir, 'uwsgi')};`,
    `  scgi_temp_path ${join(dir, 'scgi')};`,
    '  types { }',
    `  default_type ${nginxString(contentType)};`,
    '  server {',
    `    listen 127.0.0.1:${port};`,
    `    root ${dir};`,
    '    location / {',
    '      try_files /page.html =404;',
    ...headerLines,
    '    }',
    '  }',
    '}',
    '',
  ].join('\n');
  writeFileSync(join(dir, 'nginx.conf'), conf);
  const child = spawn('nginx', ['-p', dir, '-e', join(dir, 'error.log'), '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  try {
    const url = `http://127.0.0.1:${port}${PUBLIC_PAGE}`;
    for (let tries = 0; ; tries++) {
      if (child.exitCode !== null) throw new Error(`nginx exited (${child.exitCode}): ${output}${existsSync(join(dir, 'error.log')) ? readFileSync(join(dir, 'error.log'), 'utf8') : ''}`);
      try {
        const served = await fetchRaw(url);
        if (served.status !== 200 || !served.body.equals(page.body)) throw new Error(`nginx answered ${served.status} with other bytes`);
        break;
      } catch (error) {
        if (tries > 100 || (error instanceof Error && error.message.startsWith('nginx answered'))) throw error;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    return { run: await load(url, child.pid!), left };
  } finally {
    await new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGQUIT');
    });
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Two servers on one database and data directory: push through B, poll A until it serves the push. */
async function pushVisibleAcross(adminUrl: string, rounds = 5): Promise<number[]> {
  return withDatabase(adminUrl, async (databaseUrl) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'dc-bench-push-'));
    const a = await startServer(dataDir, databaseUrl, 1, { firstStart: true });
    const b = await startServer(dataDir, databaseUrl, 1, { firstStart: false });
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
  for (const workers of PROCESS_COUNTS) {
    const run = await throughput(adminUrl, workers);
    runs.push(run);
    const name = `${workers} process${workers > 1 ? 'es' : ''}`;
    console.log(`${name}, public page [${run.publicPage.generator}]: ${describe(run.publicPage)}  (load ${loadavg()[0]!.toFixed(2)})`);
    console.log(`${name}, signed-in page: ${describe(run.signedIn)}`);
  }
  const one = runs.find((r) => r.workers === 1);
  const two = runs.find((r) => r.workers === 2);
  if (one && two) {
    console.log(`2 vs 1 process: public page ×${(two.publicPage.rps / one.publicPage.rps).toFixed(2)}, signed-in page ×${(two.signedIn.rps / one.signedIn.rps).toFixed(2)} (goal ≥ 1.7)`);
    const cpuRatio = (page: 'publicPage' | 'signedIn') => (two[page].server_cpu_us_per_request / one[page].server_cpu_us_per_request).toFixed(2);
    console.log(
      `server CPU per request, 2 vs 1 process: public ×${cpuRatio('publicPage')}, signed-in ×${cpuRatio('signedIn')} ` +
        `(×1 with the machine's cores all busy: the cores, shared with wrk and other work, are the limit; above ×1: each process costs more per request)`,
    );
  }
  // compared with the most processes measured (two by default)
  const widest = runs.at(-1)!;
  const nginx = await nginxOnIdenticalBytes(widest.page);
  if (!nginx) console.log('nginx is not installed: no comparison with nginx on identical bytes (apt-get install nginx-light)');
  else {
    console.log(`nginx (2 workers), the same bytes and headers: ${describe(nginx.run)}${nginx.left.length ? `  [headers left out: ${nginx.left.join(', ')}]` : ''}`);
    console.log(`DocuCommit (${widest.workers} process${widest.workers > 1 ? 'es' : ''}) / nginx, public page: ${(widest.publicPage.rps / nginx.run.rps).toFixed(2)} (goal ≥ 0.5 with 2)`);
  }
  const push = process.env.BENCH_SKIP_PUSH ? [] : await pushVisibleAcross(adminUrl);
  if (push.length > 0) console.log(`push through B → served by A: ${push.join(', ')} ms (median ${[...push].sort((x, y) => x - y)[Math.floor(push.length / 2)]} ms)`);
  const loadAfter = loadavg();
  console.log(`load average after: ${loadAfter.map((l) => l.toFixed(2)).join(' ')} (other work on this machine counts: figures are indicative)`);
  const figures = (run: MeasuredLoad) => ({
    rps: run.rps,
    server_cpu_us_per_request: run.server_cpu_us_per_request,
    server_cpu_percent: run.server_cpu_percent,
    wrk_cpu_percent: run.loader_cpu_percent,
    postgres_cpu_percent: run.postgres_cpu_percent,
    machine_cpu_percent: run.machine_cpu_percent,
  });
  console.log(
    JSON.stringify({
      processes: runs.map((r) => ({ workers: r.workers, public_rps: r.publicPage.rps, signed_in_rps: r.signedIn.rps, public: figures(r.publicPage), signed_in: figures(r.signedIn) })),
      nginx: nginx ? figures(nginx.run) : null,
      push_visible_ms: push,
      load_before: loadBefore,
      load_after: loadAfter,
    }),
  );
}

await main();
