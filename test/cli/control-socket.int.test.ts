import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { fixtureProject } from '../helpers/test-app.ts';

const BIN = fileURLToPath(new URL('../../bin/docucommit.mjs', import.meta.url));
const PASSPHRASE = 'a long passphrase for ada';

/** The databases a server is started on: embedded PGlite, and PostgreSQL when TEST_DATABASE_URL is set. */
const targets: { name: string; create(): Promise<{ url: string; drop(): Promise<void> }> }[] = [
  { name: 'pglite', create: async () => ({ url: '', drop: async () => {} }) },
];
if (process.env.TEST_DATABASE_URL) {
  const adminUrl = process.env.TEST_DATABASE_URL;
  targets.push({
    name: 'postgres',
    async create() {
      const name = `docucommit_test_${randomBytes(6).toString('hex')}`;
      const admin = new pg.Client({ connectionString: adminUrl });
      await admin.connect();
      await admin.query(`CREATE DATABASE ${name}`);
      const url = new URL(adminUrl);
      url.pathname = `/${name}`;
      return {
        url: url.toString(),
        async drop() {
          await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
          await admin.end();
        },
      };
    },
  });
}

for (const target of targets) {
  describe(`commands against a running server (${target.name})`, () => {
    let dataDir: string;
    let server: ChildProcess;
    let url: string;
    let database: { url: string; drop(): Promise<void> };
    let output = '';

    const cli = (args: string[], options: { input?: string; cwd?: string } = {}) => {
      const result = spawnSync(process.execPath, [BIN, ...args, '--data', dataDir], {
        input: options.input ?? '',
        cwd: options.cwd ?? tmpdir(),
        encoding: 'utf8',
        env: { ...process.env, DATABASE_URL: database.url },
        timeout: 120_000,
      });
      return { code: result.status, stdout: result.stdout, stderr: result.stderr };
    };

    before(async () => {
      database = await target.create();
      dataDir = mkdtempSync(join(tmpdir(), 'dc-control-'));
      // Left over from a crash: a stale file where the socket goes is replaced at start.
      writeFileSync(join(dataDir, 'control.sock'), 'stale');
      server = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--data', dataDir], {
        env: { ...process.env, DATABASE_URL: database.url, DOCUCOMMIT_SECURITY_CONTACT: '' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      server.stdout!.on('data', (d) => (output += d));
      server.stderr!.on('data', (d) => (output += d));
      await waitFor(() => /DocuCommit is running at (\S+)/.test(output), 90_000, () => output);
      url = /DocuCommit is running at (\S+)/.exec(output)![1]!;
    });

    after(async () => {
      if (server.exitCode === null && server.signalCode === null) {
        server.kill('SIGTERM');
        await new Promise((resolve) => server.once('exit', resolve));
      }
      rmSync(dataDir, { recursive: true, force: true });
      await database.drop();
    });

    test('the server listens on an owner-only control socket and warns that no security contact is set', async () => {
      // The warning goes to stderr, which may arrive after stdout's "running at".
      await waitFor(() => /Warning: DOCUCOMMIT_SECURITY_CONTACT/.test(output), 10_000, () => output);
      const socket = statSync(join(dataDir, 'control.sock'));
      assert.ok(socket.isSocket());
      assert.equal(socket.mode & 0o777, 0o600);
      assert.match(output, /Warning: DOCUCOMMIT_SECURITY_CONTACT is not set/);
    });

    test('user add works while the server runs; the account signs in at once, and no secret reaches the log', async () => {
      const created = cli(['user', 'add', 'ada@acme.test', '--org', 'acme', '--role', 'admin', '--password-stdin'], { input: PASSPHRASE });
      assert.equal(created.code, 0, created.stderr);
      assert.match(created.stdout, /Created ada@acme.test: admin of acme/);
      assert.ok(await signIn(url, 'ada@acme.test', PASSPHRASE), 'signs in with the password sent over the socket');

      const generated = cli(['user', 'add', 'grace@acme.test', '--org', 'acme', '--role', 'member']);
      assert.equal(generated.code, 0, generated.stderr);
      const oneTime = /One-time password \(shown only now\): (\S+)/.exec(generated.stdout)?.[1];
      assert.ok(oneTime, generated.stdout);
      assert.ok(await signIn(url, 'grace@acme.test', oneTime));
      assert.ok(!output.includes(oneTime) && !output.includes(PASSPHRASE), 'passwords are not in the server output');
    });

    test('token create works while the server runs; the token opens git over HTTP, and the event is audited', async () => {
      const before = cli(['audit', 'verify', '--org', 'acme']);
      assert.equal(before.code, 0, before.stderr);
      const created = cli(['token', 'create', 'ada@acme.test', '--scopes', 'read', '--name', 'CI']);
      assert.equal(created.code, 0, created.stderr);
      const token = created.stdout.trim();
      assert.match(token, /^\S{30,}$/);
      assert.ok(!output.includes(token), 'the token is not in the server output');
      const afterwards = cli(['audit', 'verify', '--org', 'acme']);
      assert.equal(afterwards.code, 0, afterwards.stderr);
      const count = (text: string) => Number(/OK: (\d+) events/.exec(text)?.[1]);
      assert.ok(count(afterwards.stdout) > count(before.stdout), `${before.stdout} → ${afterwards.stdout}`);

      const imported = cli(['import', fixtureProject('acme-handbook'), '--org', 'acme', '--project', 'handbook']);
      assert.equal(imported.code, 0, imported.stderr);
      const basic = `Basic ${Buffer.from(`x-token:${token}`).toString('base64')}`;
      const refs = await fetch(`${url}/acme/handbook.git/info/refs?service=git-upload-pack`, { headers: { authorization: basic } });
      assert.equal(refs.status, 200);
      const wrong = await fetch(`${url}/acme/handbook.git/info/refs?service=git-upload-pack`, {
        headers: { authorization: `Basic ${Buffer.from('x-token:dcpat_wrong').toString('base64')}` },
      });
      assert.equal(wrong.status, 401);
    });

    test('a project imported while the server runs is served at once, relative folders resolved from the caller', async () => {
      const parent = join(fixtureProject('globex-wiki'), '..');
      // ada is in acme only: her role in globex is given while she is signed in, and applies at once.
      const cookie = await signIn(url, 'ada@acme.test', PASSPHRASE);
      assert.ok(cookie);
      assert.equal(cli(['user', 'add', 'ada@acme.test', '--org', 'globex', '--role', 'viewer']).code, 0);
      const page = () => fetch(`${url}/globex/wiki/`, { headers: { cookie }, redirect: 'manual' });
      assert.equal((await page()).status, 404);
      const imported = cli(['import', 'globex-wiki', '--org', 'globex', '--project', 'wiki', '--name', 'Globex Wiki'], { cwd: parent });
      assert.equal(imported.code, 0, imported.stderr);
      assert.match(imported.stdout, /Imported \d+ files into globex\/wiki/);
      const served = await page();
      assert.equal(served.status, 200);
      assert.match(await served.text(), /GLOBEX-INTERNAL-MARKER/);
    });

    test('user disable while the server runs ends the account\'s sessions at once', async () => {
      const cookie = await signIn(url, 'ada@acme.test', PASSPHRASE);
      assert.ok(cookie);
      const page = async () => (await fetch(`${url}/globex/wiki/`, { headers: { cookie }, redirect: 'manual' })).text();
      assert.match(await page(), /GLOBEX-INTERNAL-MARKER/);
      const disabled = cli(['user', 'disable', 'ada@acme.test', '--reason', 'left']);
      assert.equal(disabled.code, 0, disabled.stderr);
      const after = await page();
      assert.doesNotMatch(after, /GLOBEX-INTERNAL-MARKER/);
      assert.match(after, /topbar-signin/, 'the page is the signed-out one');
      assert.equal(cli(['user', 'enable', 'ada@acme.test']).code, 0);
    });

    test('a command that must not run inside the server is refused by the CLI, and by the server when sent straight over the socket', async () => {
      const rotate = cli(['mfa-key', 'rotate']);
      assert.equal(rotate.code, 1);
      assert.match(rotate.stderr, /in use by a DocuCommit server/);
      const reply = await rawCommand(dataDir, ['mfa-key', 'rotate', '--data', dataDir]);
      assert.match(reply.stderr, /cannot run inside the server/);
      assert.equal(reply.code, 1);
      const serve = await rawCommand(dataDir, ['serve', '--port', '0']);
      assert.equal(serve.code, 1);
      const elsewhere = await rawCommand(dataDir, ['token', 'list', 'ada@acme.test', '--data', tmpdir()]);
      assert.equal(elsewhere.code, 1);
      assert.match(elsewhere.stderr, /this server runs on .*, not /);
    });

    test('a program that cannot read DATA/control.key runs nothing, even on a socket opened to everyone', async () => {
      assert.equal(statSync(join(dataDir, 'control.key')).mode & 0o777, 0o600);
      chmodSync(join(dataDir, 'control.sock'), 0o666);
      try {
        for (const key of ['', Buffer.alloc(32).toString('base64')]) {
          const reply = await rawCommand(dataDir, ['token', 'create', 'ada@acme.test', '--scopes', 'read,write', '--data', dataDir], key);
          assert.equal(reply.code, 1);
          assert.match(reply.stderr, /refused: the request does not carry the key/);
          assert.equal(reply.stdout, '');
        }
      } finally {
        chmodSync(join(dataDir, 'control.sock'), 0o600);
      }
      const tokens = cli(['token', 'list', 'ada@acme.test']);
      assert.equal(tokens.stdout.trim().split('\n').length, 1, 'only the token created by the owner exists');
    });

    test('a control socket other users could reach is refused, and nothing is sent over it', () => {
      const socket = join(dataDir, 'control.sock');
      chmodSync(socket, 0o666);
      try {
        const refused = cli(['user', 'add', 'eve@acme.test', '--org', 'acme', '--role', 'owner']);
        assert.equal(refused.code, 1);
        assert.match(refused.stderr, /refusing to use the server's control socket: .*open to other users \(mode 0666\)/);
        assert.doesNotMatch(refused.stdout, /password/i);
      } finally {
        chmodSync(socket, 0o600);
      }
      chmodSync(dataDir, 0o777);
      try {
        const refused = cli(['token', 'create', 'ada@acme.test', '--scopes', 'read']);
        assert.equal(refused.code, 1);
        assert.match(refused.stderr, /refusing to use the server's control socket: the data directory .* is writable by other users/);
        assert.equal(refused.stdout, '');
      } finally {
        chmodSync(dataDir, 0o700);
      }
      const eve = cli(['token', 'list', 'eve@acme.test']);
      assert.equal(eve.code, 1, 'the refused user add created nothing');
      assert.match(eve.stderr, /No account with email eve@acme.test/);
    });

    test('the socket is removed when the server stops', async () => {
      assert.ok(existsSync(join(dataDir, 'control.sock')));
      server.kill('SIGTERM');
      await new Promise((resolve) => server.once('exit', resolve));
      assert.ok(!existsSync(join(dataDir, 'control.sock')));
      assert.ok(!existsSync(join(dataDir, 'control.key')));
    });
  });
}

/** Send a command over the control socket as any local program could; its stderr and exit code. */
async function rawCommand(dataDir: string, argv: string[], key = readFileSync(join(dataDir, 'control.key'), 'utf8').trim()) {
  const socket = createConnection(join(dataDir, 'control.sock'));
  socket.write(JSON.stringify({ type: 'run', argv, cwd: '/', key }) + '\n');
  let text = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => (text += chunk));
  await new Promise((resolve) => socket.once('close', resolve));
  const messages = text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as { type: string; data?: string; code?: number });
  return {
    stdout: messages.filter((m) => m.type === 'stdout').map((m) => m.data).join(''),
    stderr: messages.filter((m) => m.type === 'stderr').map((m) => m.data).join(''),
    code: messages.find((m) => m.type === 'exit')?.code ?? null,
  };
}

/** Sign in through the login form; the session cookie, or null when refused. */
async function signIn(url: string, email: string, password: string): Promise<string | null> {
  const form = await fetch(`${url}/login`);
  const cookies = form.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await form.text())?.[1] ?? '';
  const response = await fetch(`${url}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie: cookies, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ email, password, _csrf: csrf, next: '/' }).toString(),
  });
  const session = response.headers.getSetCookie().find((c) => c.startsWith('dc_session='));
  return response.status === 303 && session ? session.split(';')[0]! : null;
}

async function waitFor(check: () => boolean, timeoutMs: number, describe: () => string) {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out; output so far:\n${describe()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
