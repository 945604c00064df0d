import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, withAuditChain } from '../../src/db/connection.ts';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { fixtureProject } from '../helpers/test-app.ts';

const BIN = fileURLToPath(new URL('../../bin/docucommit.mjs', import.meta.url));

function cli(args: string[], options: { input?: string; env?: NodeJS.ProcessEnv } = {}) {
  const result = spawnSync(process.execPath, [BIN, ...args], {
    input: options.input ?? '',
    encoding: 'utf8',
    env: { ...process.env, DATABASE_URL: '', ...options.env },
    timeout: 120_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** git log of a bare repository (the first one under DATA/repos). */
function gitLog(dataDir: string, ...args: string[]) {
  const repos = spawnSync('ls', [join(dataDir, 'repos')], { encoding: 'utf8' }).stdout.trim().split('\n');
  return spawnSync('git', ['--git-dir', join(dataDir, 'repos', repos[0]!), ...args], { encoding: 'utf8' }).stdout;
}

describe('docucommit commands', () => {
  let dataDir: string;
  let folder: string;
  before(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'dc-cli-'));
    folder = mkdtempSync(join(tmpdir(), 'dc-cli-src-'));
    cpSync(fixtureProject('acme-handbook'), folder, { recursive: true });
  });
  after(() => {
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(folder, { recursive: true, force: true });
  });

  test('every subcommand has --help and unknown commands exit non-zero', () => {
    for (const name of ['serve', 'import', 'user', 'render']) {
      const help = cli([name, '--help']);
      assert.equal(help.code, 0, name);
      assert.match(help.stdout, /Usage: docucommit/);
    }
    assert.equal(cli(['frobnicate']).code, 2);
    assert.equal(cli(['import']).code, 2, 'missing arguments are a usage error');
  });

  test('import commits the folder once with the given author; re-import commits only what changed', () => {
    const first = cli(['import', folder, '--org', 'acme', '--project', 'handbook', '--name', 'Acme Handbook', '--author', 'Ada Lovelace <ada@acme.test>', '--data', dataDir]);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /Imported \d+ files into acme\/handbook/);
    assert.match(gitLog(dataDir, 'log', '--format=%an <%ae>', 'main'), /^Ada Lovelace <ada@acme.test>\n$/);

    const again = cli(['import', folder, '--org', 'acme', '--project', 'handbook', '--data', dataDir]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /Nothing changed/);
    assert.equal(gitLog(dataDir, 'rev-list', '--count', 'main').trim(), '1');

    writeFileSync(join(folder, 'security.md'), '---\ntitle: Security overview\nclassification: public\n---\n\nUpdated.\n');
    unlinkSync(join(folder, 'news/launch.md'));
    const third = cli(['import', folder, '--org', 'acme', '--project', 'handbook', '--data', dataDir]);
    assert.equal(third.code, 0, third.stderr);
    const changed = gitLog(dataDir, 'show', '--name-status', '--format=', 'main').trim().split('\n').sort();
    assert.deepEqual(changed, ['D\tnews/launch.md', 'M\tsecurity.md']);
  });

  test('user add creates an account with a one-time password, or reads one from stdin, and the audit log records it', async () => {
    const created = cli(['user', 'add', 'Grace@Acme.test', '--org', 'acme', '--role', 'manager', '--data', dataDir]);
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /Created grace@acme.test: manager of acme/);
    assert.match(created.stdout, /One-time password \(shown only now\): \S{20}/);
    const updated = cli(['user', 'add', 'grace@acme.test', '--org', 'acme', '--role', 'admin', '--password-stdin', '--data', dataDir], {
      input: 'a brand new passphrase\n',
    });
    assert.equal(updated.code, 0, updated.stderr);
    assert.doesNotMatch(updated.stdout, /password/i);
    assert.equal(cli(['user', 'add', 'x@acme.test', '--org', 'acme', '--role', 'emperor', '--data', dataDir]).code, 2);
    // the account, its membership and the role change are in the audit log, without the password
    const db = await openDatabase({ kind: 'pglite', dataDir: join(dataDir, 'db') });
    try {
      const org = await db.selectFrom('organizations').select('id').where('slug', '=', 'acme').executeTakeFirstOrThrow();
      const events = await withAuditChain(db, org.id, (trx) =>
        trx.selectFrom('audit_events').selectAll().where('org_id', '=', org.id).where('target_label', '=', 'grace@acme.test').orderBy('seq').execute());
      assert.deepEqual(events.map((e) => e.action), ['auth.account_created', 'member.added', 'member.role_changed']);
      assert.deepEqual(events.map((e) => e.actor_label), ['docucommit user add', 'docucommit user add', 'docucommit user add']);
      assert.doesNotMatch(JSON.stringify(events), /a brand new passphrase/);
    } finally {
      await db.destroy();
    }
    const short = cli(['user', 'add', 'y@acme.test', '--org', 'acme', '--role', 'member', '--password-stdin', '--data', dataDir], { input: 'short' });
    assert.equal(short.code, 1);
    assert.match(short.stderr, /12 to 128 characters/);
  });

  test('serve imports the demo on first start, says how to sign in once, and a second server is refused', async () => {
    const fresh = mkdtempSync(join(tmpdir(), 'dc-serve-'));
    // Started from another directory, as an installed command would be: the views must still render.
    const server = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--data', fresh], {
      cwd: tmpdir(),
      env: { ...process.env, DATABASE_URL: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    server.stdout.on('data', (d) => (output += d));
    server.stderr.on('data', (d) => (output += d));
    try {
      await waitFor(() => /DocuCommit is running at (\S+)/.test(output) && /password \S+/.test(output), 90_000, () => output);
      assert.match(output, /Sign in at \S+\/login as owner@zephyrcart\.example with password \S{20}/);
      const url = /DocuCommit is running at (\S+)/.exec(output)![1]!;
      const page = await fetch(`${url}/zephyrcart/intranet/policies/code-of-conduct`);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /<h1[^>]*>Code of conduct/i);

      const second = cli(['serve', '--port', '0', '--data', fresh]);
      assert.equal(second.code, 1);
      assert.match(second.stderr, /in use by a DocuCommit server \(pid \d+\)/);
      // A command that changes data runs inside the server (test/cli/control-socket.int.test.ts); one that
      // must not (it rewrites the server's key files) is still refused.
      const rotating = cli(['mfa-key', 'rotate', '--data', fresh]);
      assert.equal(rotating.code, 1);
      assert.match(rotating.stderr, /in use by a DocuCommit server/);
    } finally {
      server.kill('SIGTERM');
      await new Promise((resolve) => server.once('exit', resolve));
    }
    // The second start is not a first start: no new password is printed.
    const restart = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--data', fresh], { env: { ...process.env, DATABASE_URL: '' } });
    let again = '';
    restart.stdout.on('data', (d) => (again += d));
    try {
      await waitFor(() => /DocuCommit is running/.test(again), 90_000, () => again);
      assert.doesNotMatch(again, /password/);
    } finally {
      restart.kill('SIGTERM');
      await new Promise((resolve) => restart.once('exit', resolve));
      rmSync(fresh, { recursive: true, force: true });
    }
  });
});

async function waitFor(check: () => boolean, timeoutMs: number, describe: () => string) {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out; output so far:\n${describe()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
