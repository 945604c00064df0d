/**
 * Crash safety of the editor's save path, with the real server process: `docucommit serve` is started in a child
 * process, saves are fired at it, and it is killed with SIGKILL while a save is in flight (at a different point
 * each round). After every kill the server is started again on the same data folder and we check that
 * `git fsck` is clean, the branch points at a complete commit whose document is exactly one of the texts sent,
 * every acknowledged save is on the branch, the published page shows the branch head, and the database works.
 * At the end (server stopped), the database is opened directly: every editor commit on the branch has exactly
 * one audit event, the snapshot is the branch head, and the ref journal is empty (checklist 47, 48).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { openDatabase } from '../../src/db/connection.ts';
import { asDatabaseOwner } from '../helpers/databases.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
// a handbook page: it publishes directly (the demo's policies name approvers, so saving them is a change request)
const DOC = 'team-handbook/working-hours.md';
const ORIGINAL = readFileSync(join(ROOT, 'examples/zephyrcart-intranet', DOC), 'utf8').replace(/\r\n?/g, '\n');
const ROUNDS = 2;

interface Server {
  child: ChildProcess;
  url: string;
  output: string;
}

/** Starts `docucommit serve` on a free port; resolves once it listens (with its output so far). */
function startServer(dataDir: string): Promise<Server> {
  const child = spawn(process.execPath, [join(ROOT, 'bin/docucommit.mjs'), 'serve', '--data', dataDir, '--port', '0'], {
    cwd: ROOT,
    // its own process group, so SIGKILL reaches everything it started
    detached: true,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: process.env.TMPDIR, NODE_ENV: 'test' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  return new Promise((resolvePromise, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const match = /running at (http:\/\/\S+)/.exec(output);
      if (match) {
        child.stdout.off('data', onData);
        child.stdout.on('data', (more: Buffer) => (server.output += more.toString('utf8')));
        const server: Server = { child, url: match[1]!.replace('://localhost', '://127.0.0.1'), output };
        resolvePromise(server);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.once('exit', (code) => reject(new Error(`server exited (${code}) before listening:\n${output}`)));
  });
}

/** Waits until the server's output matches `pattern`. */
async function waitForOutput(server: Server, pattern: RegExp): Promise<RegExpExecArray | null> {
  for (let i = 0; i < 100; i++) {
    const match = pattern.exec(server.output);
    if (match) return match;
    await new Promise((resolveWait) => setTimeout(resolveWait, 50));
  }
  return null;
}

function kill(server: Server, signal: NodeJS.Signals): Promise<void> {
  return new Promise((resolvePromise) => {
    if (server.child.exitCode !== null || server.child.signalCode !== null) return resolvePromise();
    server.child.once('exit', () => resolvePromise());
    try {
      process.kill(-server.child.pid!, signal);
    } catch {
      resolvePromise();
    }
  });
}

/** A tiny cookie jar over fetch. */
class Browser {
  private readonly cookies = new Map<string, string>();
  constructor(private readonly base: string) {}
  async request(path: string, init: { method?: string; form?: Record<string, string> } = {}): Promise<Response> {
    const headers: Record<string, string> = { cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ') };
    let body: string | undefined;
    if (init.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      headers.origin = this.base;
      body = new URLSearchParams(init.form).toString();
    }
    const response = await fetch(`${this.base}${path}`, { method: init.method ?? (body ? 'POST' : 'GET'), headers, body, redirect: 'manual' });
    for (const cookie of response.headers.getSetCookie()) {
      const [pair] = cookie.split(';');
      const eq = pair!.indexOf('=');
      this.cookies.set(pair!.slice(0, eq), pair!.slice(eq + 1));
    }
    return response;
  }
  /** Sign in; a one-time password (the first start's) is replaced by `replacement` when asked. */
  async login(email: string, password: string, replacement: string): Promise<void> {
    const form = await (await this.request('/login')).text();
    const response = await this.request('/login', { form: { email, password, _csrf: csrfOf(form), next: '/' } });
    assert.equal(response.status, 303, 'sign-in');
    const location = response.headers.get('location') ?? '';
    if (!location.startsWith('/login/password')) return;
    const change = await (await this.request(location)).text();
    const changed = await this.request('/login/password', { form: { _csrf: csrfOf(change), password: replacement, next: '/' } });
    assert.equal(changed.status, 303, 'the one-time password replaced');
  }
}

const csrfOf = (html: string): string => /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? assert.fail('no CSRF field');
const baseOf = (html: string): string => /name="base" value="([0-9a-f]{40})"/.exec(html)?.[1] ?? assert.fail('no base field');

function git(gitDir: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync('git', ['--git-dir', gitDir, ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME: tmpdir(), GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', LC_ALL: 'C' },
  });
  return { status: result.status, stdout: result.stdout.trim(), stderr: result.stderr };
}

/** The one bare repository under `dir`. */
function findRepository(dir: string): string {
  for (const name of readdirSync(dir, { recursive: true }) as string[]) {
    if (name.endsWith('.git') && existsSync(join(dir, name, 'HEAD'))) return join(dir, name);
  }
  throw new Error(`no repository under ${dir}`);
}

const OWN_PASSWORD = 'the owner chose this passphrase';
const textOf = (round: number, n: number) => `${ORIGINAL}\nCrash round ${round}, save ${n}: ${'complete line. '.repeat(40)}end-${round}-${n}.\n`;

test('kill -9 during editor saves: the repository and the database stay consistent and catch up on restart', { timeout: 300_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'docucommit-crash-'));
  let server: Server | null = null;
  try {
    let started = Date.now();
    server = await startServer(dataDir);
    const credentials = await waitForOutput(server, /as (\S+@\S+) with password (\S+)/);
    console.log(`first start: ${Date.now() - started} ms`);
    assert.ok(credentials, `the first start prints the owner's sign-in:\n${server.output}`);
    const [, email] = credentials;
    let password = credentials[2];
    const gitDir = findRepository(join(dataDir, 'repos'));
    const firstHead = git(gitDir, ['rev-parse', 'refs/heads/main']).stdout;
    assert.match(firstHead, /^[0-9a-f]{40}$/, `repository at ${gitDir}`);

    /** Every text the branch may legitimately hold for the document. */
    const sent = new Set<string>([ORIGINAL]);
    const acknowledged: string[] = [];

    for (let round = 1; round <= ROUNDS; round++) {
      const browser = new Browser(server.url);
      await browser.login(email!, password!, OWN_PASSWORD);
      password = OWN_PASSWORD; // the first start's password works once
      const save = async (n: number): Promise<number> => {
        const form = await (await browser.request(`/zephyrcart/intranet/-/edit/${DOC}`)).text();
        const content = textOf(round, n);
        sent.add(content);
        const response = await browser.request(`/zephyrcart/intranet/-/edit/${DOC}`, {
          form: { _csrf: csrfOf(form), base: baseOf(form), path: DOC, content, message: `Crash round ${round}, save ${n}` },
        });
        return response.status;
      };
      // a few saves that complete...
      for (let n = 1; n <= 2; n++) {
        assert.equal(await save(n), 303);
        acknowledged.push(textOf(round, n));
      }
      // ...then several in flight at once, and the process is killed while they run (a different moment each round)
      const inFlight = [3, 4, 5, 6].map((n) => save(n).catch(() => 0));
      await new Promise((resolveWait) => setTimeout(resolveWait, round === 1 ? 10 : 60));
      await kill(server, 'SIGKILL');
      const statuses = await Promise.all(inFlight);
      statuses.forEach((status, i) => {
        if (status === 303) acknowledged.push(textOf(round, i + 3));
      });

      // while it is down: the repository is intact and the branch holds a complete, sent text
      const fsck = git(gitDir, ['fsck', '--full', '--strict', '--no-progress', '--no-dangling']);
      assert.equal(fsck.status, 0, fsck.stderr);
      const head = git(gitDir, ['rev-parse', 'refs/heads/main']).stdout;
      const atHead = git(gitDir, ['cat-file', 'blob', `${head}:${DOC}`]);
      assert.equal(atHead.status, 0);
      assert.ok(sent.has(`${atHead.stdout}\n`) || sent.has(atHead.stdout), 'the document at the branch head is exactly one of the texts sent');
      // every acknowledged save is a commit on the branch
      const history = new Set(
        git(gitDir, ['rev-list', head, '--', DOC]).stdout.split('\n').filter(Boolean).map((c) => `${git(gitDir, ['cat-file', 'blob', `${c}:${DOC}`]).stdout}\n`),
      );
      for (const text of acknowledged) assert.ok(history.has(text), `acknowledged save ${/end-\d+-\d+/.exec(text)?.[0]} is on the branch`);

      // restart on the same data: the reconciler catches up, and the server works
      started = Date.now();
      server = await startServer(dataDir);
      console.log(`restart ${round}: ${Date.now() - started} ms`);
      const after = new Browser(server.url);
      await after.login(email!, password!, OWN_PASSWORD);
      const page = await (await after.request(`/zephyrcart/intranet/${DOC.replace(/\.md$/, '')}`)).text();
      const marker = /end-(\d+)-(\d+)\./.exec(`${atHead.stdout}`);
      if (marker) assert.match(page, new RegExp(`end-${marker[1]}-${marker[2]}\\.`), 'the published page shows the branch head');
    }

    // one more save on the recovered server, then a clean stop
    const browser = new Browser(server.url);
    await browser.login(email!, password!, OWN_PASSWORD);
    const form = await (await browser.request(`/zephyrcart/intranet/-/edit/${DOC}`)).text();
    const final = await browser.request(`/zephyrcart/intranet/-/edit/${DOC}`, {
      form: { _csrf: csrfOf(form), base: baseOf(form), path: DOC, content: textOf(99, 1), message: 'After the crashes' },
    });
    assert.equal(final.status, 303);
    await kill(server, 'SIGTERM');
    server = null;

    // the database, opened directly: snapshot = branch head; every editor commit audited exactly once
    const head = git(gitDir, ['rev-parse', 'refs/heads/main']).stdout;
    const commits = git(gitDir, ['rev-list', `${firstHead}..${head}`]).stdout.split('\n').filter(Boolean);
    assert.ok(commits.length >= ROUNDS * 2 + 1);
    const db = await openDatabase({ kind: 'pglite', dataDir: join(dataDir, 'db') });
    try {
      const project = await asDatabaseOwner(db, (owner) => owner.selectFrom('projects').select(['id', 'published_commit']).executeTakeFirstOrThrow());
      assert.equal(project.published_commit, head);
      const saved = await asDatabaseOwner(db, (owner) => owner.selectFrom('audit_events').select('details').where('action', '=', 'document.saved').execute());
      const byCommit = new Map<string, number>();
      for (const row of saved) {
        const details = (typeof row.details === 'string' ? JSON.parse(row.details) : row.details) as { commit?: string };
        if (details.commit) byCommit.set(details.commit, (byCommit.get(details.commit) ?? 0) + 1);
      }
      for (const commit of commits) assert.equal(byCommit.get(commit), 1, `commit ${commit} has exactly one document.saved event`);
      assert.equal(saved.length, commits.length, 'no event for a commit that is not on the branch');
      const pushes = await asDatabaseOwner(db, (owner) => owner.selectFrom('audit_events').select('seq').where('action', '=', 'git.push').execute());
      assert.equal(pushes.length, 0, 'no save was mistaken for an unknown move');
    } finally {
      await db.destroy();
    }
    const journal = join(gitDir, 'docucommit', 'journal');
    assert.deepEqual(existsSync(journal) ? readdirSync(journal) : [], []);
    assert.equal(git(gitDir, ['fsck', '--full', '--strict', '--no-progress', '--no-dangling']).status, 0);
  } finally {
    if (server) await kill(server, 'SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  }
});
