/**
 * Several real `docucommit serve` processes on one PostgreSQL database and one data directory (the
 * repositories on a volume they share): what one process changes, the others serve; what one ends, the others
 * refuse; a branch move is the same protocol whichever process makes it; a killed process loses no acknowledged
 * save. Needs the PostgreSQL server of TEST_DATABASE_URL (CI has one); skipped, saying so, when none answers.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { gitClient } from '../helpers/git-client.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'bin/docucommit.mjs');
// a page that publishes as it is saved (the demo's policies name approvers: protected main sends them to review)
const DOC = 'onboarding.md';
const PAGE = `/zephyrcart/intranet/${DOC.replace(/\.md$/, '')}`;
const EDIT = `/zephyrcart/intranet/-/edit/${DOC}`;
/** A public page: signed out, it is served with the sign-in link (how the tests tell a refused session). */
const PUBLIC_PAGE = '/zephyrcart/intranet/policies/code-of-conduct';
const ORIGINAL = readFileSync(join(ROOT, 'examples/zephyrcart-intranet', DOC), 'utf8').replace(/\r\n?/g, '\n');
const OWN_PASSWORD = 'the owner chose this passphrase';

/** Whether TEST_DATABASE_URL names a PostgreSQL server that answers; the reason to skip otherwise. */
async function postgresAvailable(): Promise<string | null> {
  const url = process.env.TEST_DATABASE_URL;
  if (!url) return 'no PostgreSQL: TEST_DATABASE_URL is not set';
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('select 1');
    return null;
  } catch (error) {
    return `no PostgreSQL reachable at TEST_DATABASE_URL (${(error as Error).message})`;
  } finally {
    await client.end().catch(() => {});
  }
}

const skipReason = await postgresAvailable();
if (skipReason) console.log(`# several-processes tests skipped: ${skipReason}`);

interface Server {
  child: ChildProcess;
  url: string;
  output: string;
}

/** Starts `docucommit serve` in its own process group; resolves once it listens. */
function startServer(dataDir: string, databaseUrl: string, args: string[] = ['--workers', '1']): Promise<Server> {
  const child = spawn(process.execPath, [BIN, 'serve', '--data', dataDir, '--port', '0', ...args], {
    cwd: ROOT,
    detached: true,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: process.env.TMPDIR, NODE_ENV: 'test', DATABASE_URL: databaseUrl, DOCUCOMMIT_SECURITY_CONTACT: 'mailto:security@example.test' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const server: Server = { child, url: '', output: '' };
  return new Promise((resolvePromise, reject) => {
    const onData = (chunk: Buffer) => {
      server.output += chunk.toString('utf8');
      const match = /running at (http:\/\/\S+)/.exec(server.output);
      if (match && !server.url) {
        server.url = match[1]!.replace('://localhost', '://127.0.0.1');
        resolvePromise(server);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (chunk: Buffer) => (server.output += chunk.toString('utf8')));
    child.once('exit', (code, signal) => {
      if (!server.url) reject(new Error(`server exited (${signal ?? code}) before listening:\n${server.output}`));
    });
  });
}

function stop(server: Server, signal: NodeJS.Signals = 'SIGTERM'): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolvePromise) => {
    const { child } = server;
    if (child.exitCode !== null || child.signalCode !== null) return resolvePromise({ code: child.exitCode, signal: child.signalCode });
    child.once('exit', (code, exitSignal) => resolvePromise({ code, signal: exitSignal }));
    try {
      // SIGKILL the whole group (a crash: the git spawner dies too); SIGTERM only the server, which stops its own children
      if (signal === 'SIGKILL') process.kill(-child.pid!, signal);
      else child.kill(signal);
    } catch {
      resolvePromise({ code: child.exitCode, signal: child.signalCode });
    }
  });
}

/** Resolves when the server has exited (it was told to stop already). */
function exited(server: Server): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  const { child } = server;
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolvePromise) => child.once('exit', (code, signal) => resolvePromise({ code, signal })));
}

/** A cookie jar over fetch that may talk to any of the servers (cookies do not depend on the port). */
class Browser {
  private readonly cookies = new Map<string, string>();
  async request(base: string, path: string, init: { form?: Record<string, string> } = {}): Promise<Response> {
    const headers: Record<string, string> = { cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ') };
    let body: string | undefined;
    if (init.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      headers.origin = base;
      body = new URLSearchParams(init.form).toString();
    }
    const response = await fetch(`${base}${path}`, { method: body ? 'POST' : 'GET', headers, body, redirect: 'manual' });
    for (const cookie of response.headers.getSetCookie()) {
      const [pair] = cookie.split(';');
      const eq = pair!.indexOf('=');
      this.cookies.set(pair!.slice(0, eq), pair!.slice(eq + 1));
    }
    return response;
  }
  cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
  async login(base: string, email: string, password: string): Promise<void> {
    const form = await (await this.request(base, '/login')).text();
    const response = await this.request(base, '/login', { form: { email, password, _csrf: csrfOf(form), next: '/' } });
    assert.equal(response.status, 303, 'sign-in');
    const location = response.headers.get('location') ?? '';
    if (!location.startsWith('/login/password')) return;
    const change = await (await this.request(base, location)).text();
    const changed = await this.request(base, '/login/password', { form: { _csrf: csrfOf(change), password: OWN_PASSWORD, next: '/' } });
    assert.equal(changed.status, 303, 'the one-time password replaced');
  }
  /** Whether this browser is signed in, asked of `base`. */
  async signedIn(base: string): Promise<boolean> {
    const html = await (await this.request(base, PUBLIC_PAGE)).text();
    return !/topbar-signin/.test(html);
  }
  /** The edit form of DOC at `base`: its CSRF token and base commit. */
  async editForm(base: string): Promise<{ csrf: string; base: string }> {
    const html = await (await this.request(base, EDIT)).text();
    return { csrf: csrfOf(html), base: /name="base" value="([0-9a-f]{40})"/.exec(html)?.[1] ?? assert.fail('no base field') };
  }
  save(base: string, form: { csrf: string; base: string }, content: string, message: string): Promise<Response> {
    return this.request(base, EDIT, { form: { _csrf: form.csrf, base: form.base, path: DOC, content, message } });
  }
}

const csrfOf = (html: string): string => /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? assert.fail('no CSRF field');

function git(gitDir: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync('git', ['--git-dir', gitDir, ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME: tmpdir(), GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', LC_ALL: 'C' },
  });
  return { status: result.status, stdout: result.stdout.trim(), stderr: result.stderr };
}

function findRepository(dir: string): string {
  for (const name of readdirSync(dir, { recursive: true }) as string[]) {
    if (name.endsWith('.git') && existsSync(join(dir, name, 'HEAD'))) return join(dir, name);
  }
  throw new Error(`no repository under ${dir}`);
}

/** Polls `check` every 20 ms; resolves with the milliseconds it took, or throws after `timeoutMs`. */
async function within(timeoutMs: number, what: string, check: () => Promise<boolean>): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (await check()) return Date.now() - start;
    if (Date.now() - start > timeoutMs) assert.fail(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const text = (marker: string) => `${ORIGINAL}\n${marker} ${'a complete line. '.repeat(20)}end.\n`;

describe('several server processes on one PostgreSQL database', { skip: skipReason ?? false, timeout: 600_000 }, () => {
  let adminUrl: string;
  let databaseName: string;
  let databaseUrl: string;
  let dataDir: string;
  let a: Server;
  let b: Server;
  let email: string;
  let gitDir: string;
  const owner = new Browser();
  const started: Server[] = [];
  /** Servers being started: each is stopped after the tests whether or not its test ran. */
  const starting: Array<Promise<Server>> = [];
  let startingC: Promise<Server>;
  let startingD: Promise<Server>;
  const spare = (server: Promise<Server>): Promise<Server> => {
    starting.push(server);
    server.then((s) => started.push(s), () => {});
    return server;
  };

  const cli = (args: string[], input = '') => {
    const result = spawnSync(process.execPath, [BIN, ...args, '--data', dataDir], {
      input,
      cwd: tmpdir(),
      encoding: 'utf8',
      env: { ...process.env, DATABASE_URL: databaseUrl },
      timeout: 120_000,
    });
    return { code: result.status, stdout: result.stdout, stderr: result.stderr };
  };

  before(async () => {
    adminUrl = process.env.TEST_DATABASE_URL!;
    databaseName = `docucommit_test_${randomBytes(6).toString('hex')}`;
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${databaseName}`);
    await admin.end();
    const url = new URL(adminUrl);
    url.pathname = `/${databaseName}`;
    databaseUrl = url.toString();
    dataDir = mkdtempSync(join(tmpdir(), 'dc-processes-'));
    a = await startServer(dataDir, databaseUrl);
    started.push(a);
    await within(10_000, 'the first start prints the owner\'s sign-in', async () => /as (\S+@\S+) with password (\S+)/.test(a.output));
    const credentials = /as (\S+@\S+) with password (\S+)/.exec(a.output)!;
    email = credentials[1]!;
    // B, and the servers of the kill and SIGTERM tests (C, D), start together: each start is seconds of loading
    const startingB = spare(startServer(dataDir, databaseUrl));
    startingC = spare(startServer(dataDir, databaseUrl));
    startingD = spare(startServer(dataDir, databaseUrl));
    b = await startingB;
    assert.match(b.output, /Sharing .* with the DocuCommit server pid \d+ through PostgreSQL/);
    await owner.login(a.url, email, credentials[2]!);
    gitDir = findRepository(join(dataDir, 'repos'));
  });

  after(async () => {
    await Promise.allSettled(starting);
    for (const server of started) await stop(server, 'SIGKILL');
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    if (databaseName) {
      const admin = new pg.Client({ connectionString: adminUrl });
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS ${databaseName} WITH (FORCE)`);
      await admin.end();
    }
  });

  test('/healthz and /readyz answer on each process, naming nothing but their state', async () => {
    for (const server of [a, b]) {
      const health = await fetch(`${server.url}/healthz`);
      assert.equal(health.status, 200);
      assert.deepEqual(await health.json(), { status: 'ok' });
      const ready = await fetch(`${server.url}/readyz`);
      assert.equal(ready.status, 200);
      assert.equal(ready.headers.get('cache-control'), 'no-store');
      assert.deepEqual(await ready.json(), { status: 'ok' });
    }
  });

  test('a save through A is served by B within one second', async () => {
    assert.ok(await owner.signedIn(b.url), 'the session made on A works on B');
    const before = await (await owner.request(b.url, PAGE)).text();
    assert.doesNotMatch(before, /SAVED-THROUGH-A/);
    const form = await owner.editForm(a.url);
    const saved = await owner.save(a.url, form, text('SAVED-THROUGH-A'), 'Saved through A');
    assert.equal(saved.status, 303);
    const ms = await within(1000, 'B serves the save made through A', async () => /SAVED-THROUGH-A/.test(await (await owner.request(b.url, PAGE)).text()));
    console.log(`# B served A's save after ${ms} ms`);
  });

  test('two saves of one document through A and B at once: one wins, the other gets the conflict page, nothing is lost', async () => {
    const second = new Browser();
    await second.login(b.url, email, OWN_PASSWORD);
    const formA = await owner.editForm(a.url);
    const formB = await second.editForm(b.url);
    assert.equal(formA.base, formB.base, 'both edit the same version');
    const [viaA, viaB] = await Promise.all([
      owner.save(a.url, formA, text('RACE-VIA-A'), 'Race via A'),
      second.save(b.url, formB, text('RACE-VIA-B'), 'Race via B'),
    ]);
    const statuses = [viaA.status, viaB.status].sort();
    assert.deepEqual(statuses, [303, 409], 'one save is committed, the other is a conflict');
    const [winner, loser, loserResponse] = viaA.status === 303 ? ['RACE-VIA-A', 'RACE-VIA-B', viaB] : ['RACE-VIA-B', 'RACE-VIA-A', viaA];
    const conflict = await loserResponse.text();
    assert.match(conflict, /Conflict:/, 'the conflict page');
    assert.match(conflict, new RegExp(loser), 'the losing author gets their text back');
    const head = git(gitDir, ['rev-parse', 'refs/heads/main']).stdout;
    const atHead = git(gitDir, ['cat-file', 'blob', `${head}:${DOC}`]).stdout;
    assert.match(atHead, new RegExp(winner));
    assert.doesNotMatch(atHead, new RegExp(loser));
    assert.equal(git(gitDir, ['rev-list', '--count', `${formA.base}..${head}`]).stdout, '1', 'exactly one commit was made');
    for (const server of [a, b]) {
      await within(1000, 'both serve the winner', async () => new RegExp(winner).test(await (await owner.request(server.url, PAGE)).text()));
    }
  });

  test('a session ended on A is refused by B at once; a user disabled on A is refused by B at once', async () => {
    const reader = new Browser();
    await reader.login(a.url, email, OWN_PASSWORD);
    assert.ok(await reader.signedIn(b.url), 'B knows the session (and remembers it)');
    const ended = reader.cookieHeader();
    const logout = await (await reader.request(a.url, '/logout')).text();
    const signedOut = await reader.request(a.url, '/logout', { form: { _csrf: csrfOf(logout) } });
    assert.equal(signedOut.status, 303);
    // the ended session's cookie, replayed on B right away
    const replayed = await (await fetch(`${b.url}${PUBLIC_PAGE}`, { headers: { cookie: ended }, redirect: 'manual' })).text();
    assert.match(replayed, /topbar-signin/, 'B refuses the session A ended');

    const added = cli(['user', 'add', 'reader@example.test', '--org', 'zephyrcart', '--role', 'member', '--password-stdin'], 'a reader passphrase of some length');
    assert.equal(added.code, 0, added.stderr);
    const other = new Browser();
    await other.login(b.url, 'reader@example.test', 'a reader passphrase of some length');
    assert.ok(await other.signedIn(b.url), 'B knows the reader (and remembers the session)');
    const disabled = cli(['user', 'disable', 'reader@example.test', '--reason', 'test']); // runs inside A, through its control socket
    assert.equal(disabled.code, 0, disabled.stderr);
    assert.ok(!(await other.signedIn(b.url)), 'B refuses the disabled user at once');
    assert.ok(await owner.signedIn(b.url), 'other users are not affected');
  });

  test('a push through B is served by A', async () => {
    const token = cli(['token', 'create', email, '--scopes', 'read,write', '--expires', '7d']);
    assert.equal(token.code, 0, token.stderr);
    const home = mkdtempSync(join(tmpdir(), 'dc-push-home-'));
    const work = join(home, 'work');
    const remote = `${b.url.replace('http://', `http://x-token:${token.stdout.trim()}@`)}/zephyrcart/intranet.git`;
    try {
      const cloned = await gitClient(home, ['clone', remote, work]);
      assert.equal(cloned.code, 0, cloned.stderr);
      writeFileSync(join(work, DOC), text('PUSHED-THROUGH-B'));
      assert.equal((await gitClient(home, ['commit', '-am', 'Pushed through B'], work)).code, 0);
      const pushed = await gitClient(home, ['push', 'origin', 'HEAD:main'], work);
      assert.equal(pushed.code, 0, pushed.stderr);
      const ms = await within(1000, 'A serves the push made through B', async () => /PUSHED-THROUGH-B/.test(await (await owner.request(a.url, PAGE)).text()));
      console.log(`# A served B's push after ${ms} ms`);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  test('a process killed mid-save loses no acknowledged save, and the others carry on', async () => {
    const c = await startingC;
    const writer = new Browser();
    await writer.login(c.url, email, OWN_PASSWORD);
    const acknowledged: string[] = [];
    const sent: string[] = [];
    const saveOnC = async (n: number): Promise<number> => {
      const form = await writer.editForm(c.url);
      const marker = `KILLED-ROUND-${n}`;
      sent.push(marker);
      const response = await writer.save(c.url, form, text(marker), `Save ${n} through C`);
      if (response.status === 303) acknowledged.push(marker);
      return response.status;
    };
    assert.equal(await saveOnC(1), 303);
    const inFlight = [2, 3, 4].map((n) => saveOnC(n).catch(() => 0));
    await new Promise((r) => setTimeout(r, 40));
    await stop(c, 'SIGKILL');
    await Promise.all(inFlight);
    // every acknowledged save is a commit on the branch
    const head = git(gitDir, ['rev-parse', 'refs/heads/main']).stdout;
    const history = git(gitDir, ['log', '--format=%s', head]).stdout;
    for (const marker of acknowledged) assert.match(history, new RegExp(`Save ${marker.replace('KILLED-ROUND-', '')} through C`));
    assert.equal(git(gitDir, ['fsck', '--no-progress', '--no-dangling']).status, 0);
    // A and B carry on: a save through A (after whatever C left) is served by B
    const form = await owner.editForm(a.url);
    const saved = await owner.save(a.url, form, text('AFTER-THE-KILL'), 'After the kill');
    assert.equal(saved.status, 303);
    await within(1000, 'B serves the save made after the kill', async () => /AFTER-THE-KILL/.test(await (await owner.request(b.url, PAGE)).text()));
    const afterHead = git(gitDir, ['rev-parse', 'refs/heads/main']).stdout;
    for (const marker of acknowledged) {
      assert.match(git(gitDir, ['log', '--format=%s', afterHead]).stdout, new RegExp(`Save ${marker.replace('KILLED-ROUND-', '')} through C`), 'still on the branch');
    }
  });

  test('SIGTERM: a request in flight completes, then the process exits 0', async () => {
    const d = await startingD;
    const browser = new Browser();
    await browser.login(d.url, email, OWN_PASSWORD);
    const form = await browser.editForm(d.url);
    const body = new URLSearchParams({ _csrf: form.csrf, base: form.base, path: DOC, content: text('SAVED-WHILE-STOPPING'), message: 'Saved while stopping' }).toString();
    const target = new URL(`${d.url}${EDIT}`);
    // the request's body arrives slowly: the first half, then SIGTERM, then the rest
    const response = new Promise<number>((resolvePromise, reject) => {
      const req = httpRequest(
        { host: target.hostname, port: target.port, path: target.pathname, method: 'POST', headers: { cookie: browser.cookieHeader(), origin: d.url, 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) } },
        (res) => {
          res.resume();
          res.on('end', () => resolvePromise(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.write(body.slice(0, 100));
      setTimeout(() => {
        d.child.kill('SIGTERM');
        setTimeout(() => req.end(body.slice(100)), 500);
      }, 200);
    });
    assert.equal(await response, 303, 'the request in flight was answered');
    const exit = await exited(d);
    assert.deepEqual(exit, { code: 0, signal: null }, `exited cleanly:\n${d.output}`);
    await within(1000, 'the save made while stopping is served by A', async () => /SAVED-WHILE-STOPPING/.test(await (await owner.request(a.url, PAGE)).text()));
  });

  test('serve --workers 2: the supervisor starts a killed worker again, the port keeps answering; SIGTERM stops all with 0', async () => {
    const pool = await startServer(dataDir, databaseUrl, ['--workers', '2']);
    started.push(pool);
    await within(10_000, 'the supervisor reports its workers', async () => /processes: 2 workers/.test(pool.output));
    const workers = () =>
      spawnSync('ps', ['-o', 'pid=', '--ppid', String(pool.child.pid)], { encoding: 'utf8' })
        .stdout.split('\n')
        .map((s) => Number(s.trim()))
        .filter((pid) => pid > 0 && spawnSync('ps', ['-o', 'args=', '-p', String(pid)], { encoding: 'utf8' }).stdout.includes('serve'));
    const before = workers();
    assert.equal(before.length, 2, 'two worker processes');
    process.kill(before[0]!, 'SIGKILL');
    await within(60_000, 'the killed worker is started again', async () => /died \(SIGKILL\); starting it again/.test(pool.output) && /is running again/.test(pool.output));
    assert.equal(workers().length, 2);
    assert.ok(!workers().includes(before[0]!), 'a new process');
    for (let i = 0; i < 6; i++) assert.ok(await owner.signedIn(pool.url), 'every request is answered, by either worker');
    const exit = await stop(pool);
    assert.deepEqual(exit, { code: 0, signal: null }, `exited cleanly:\n${pool.output}`);
  });
});
