/**
 * Checklist items 30, 32 and 34 over real smart HTTP pushes that test/web/git-http.int.test.ts does not cover:
 * dash-prefixed tags, tree entries "..", ".GIT" and a hostile ".gitmodules", an oversized request and a gzip
 * bomb. Each refusal leaves the repository's refs unchanged, records no accepted push and leaves no ref journal.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGzip } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import type { AddressInfo } from 'node:net';
import { createToken } from '../../src/auth/tokens.ts';
import { findProject } from '../../src/projects/projects.ts';
import { asDatabaseOwner, databaseTargets } from '../helpers/databases.ts';
import { gitClient, gitClientEnv } from '../helpers/git-client.ts';
import { createTestApp, type TestApp } from '../helpers/test-app.ts';

/** gzip of `megabytes` MB of zero bytes, built in a stream (never holding the expanded data). */
async function gzipOfZeros(megabytes: number): Promise<Buffer> {
  const gzip = createGzip({ level: 9 });
  const out: Buffer[] = [];
  gzip.on('data', (d: Buffer) => out.push(d));
  const finished = new Promise((resolveDone) => gzip.on('end', resolveDone));
  const zeros = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < megabytes; i++) if (!gzip.write(zeros)) await new Promise((r) => gzip.once('drain', r));
  gzip.end();
  await finished;
  return Buffer.concat(out);
}

function gitSync(home: string, cwd: string, args: string[], input = ''): string {
  const result = spawnSync('git', args, { cwd, input, env: gitClientEnv(home), encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`git ${args.join(' ')}: ${result.stderr}`);
  return result.stdout.trim();
}

for (const target of databaseTargets()) {
  describe(`push safety (${target.name})`, () => {
    let t: TestApp;
    let dispose: () => Promise<void>;
    let base: string;
    let home: string;
    let token: string;
    let repoPath: string;
    let work: string;
    const remote = () => `${base.replace('http://', `http://x:${token}@`)}/acme/handbook.git`;
    // read in the repository itself (a synchronous HTTP request would block the server in this same process)
    const refs = () => gitSync(home, repoPath, ['--git-dir', repoPath, 'for-each-ref', '--format=%(objectname) %(refname)']);
    const acceptedPushes = async () =>
      (await asDatabaseOwner(t.context.db, (owner) => owner.selectFrom('audit_events').select('seq').where('action', '=', 'git.push').where('outcome', '=', 'success').execute())).length;
    const journal = () => {
      const dir = join(repoPath, 'docucommit', 'journal');
      return existsSync(dir) ? readdirSync(dir) : [];
    };

    before(async () => {
      const opened = await target.open();
      dispose = opened.dispose;
      t = await createTestApp(opened.db);
      await t.app.listen({ port: 0, host: '127.0.0.1' });
      base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
      home = mkdtempSync(join(tmpdir(), 'docucommit-push-safety-'));
      const admin = await t.context.db.selectFrom('users').select('id').where('email', '=', 'admin@acme.test').executeTakeFirstOrThrow();
      token = (await createToken(t.context.db, { userId: admin.id, name: 'push safety', scopes: ['write'] })).token;
      repoPath = t.context.repositories.pathOf((await findProject(t.context.db, 'acme', 'handbook'))!);
      work = join(home, 'work');
      const clone = await gitClient(home, ['clone', '--quiet', remote(), work]);
      assert.equal(clone.code, 0, clone.stderr);
    });

    after(async () => {
      await t.close();
      await dispose();
      rmSync(home, { recursive: true, force: true });
    });

    /** A commit on top of HEAD whose tree also holds `extra` (mktree lines), built with plumbing. */
    function commitWithEntries(extra: string[], message: string): string {
      const listing = gitSync(home, work, ['ls-tree', 'HEAD']);
      const tree = gitSync(home, work, ['mktree'], `${listing}\n${extra.join('\n')}\n`);
      return gitSync(home, work, ['commit-tree', tree, '-p', 'HEAD', '-m', message]);
    }

    test('30: dash-prefixed branches and tags are refused, with no side effects', async () => {
      const before = refs();
      const pushes = await acceptedPushes();
      for (const ref of ['refs/heads/-x', 'refs/tags/-v1', 'refs/heads/ok/-nested']) {
        const push = await gitClient(home, ['push', remote(), `HEAD:${ref}`], work);
        assert.notEqual(push.code, 0, ref);
        assert.match(push.stderr, /must not start with "-"|refusing|not a valid|bad ref/i, ref);
      }
      assert.equal(refs(), before);
      assert.equal(await acceptedPushes(), pushes);
      assert.deepEqual(journal(), []);
    });

    test('32: tree entries "..", ".GIT" and a hostile .gitmodules are refused', async () => {
      const before = refs();
      const blob = gitSync(home, work, ['hash-object', '-w', '--stdin'], 'x\n');
      const inner = gitSync(home, work, ['mktree'], `100644 blob ${blob}\tconfig\n`);
      const gitmodules = gitSync(home, work, ['hash-object', '-w', '--stdin'], '[submodule "x"]\n\tpath = x\n\turl = --upload-pack=touch /tmp/pwned\n');
      const cases: [string, string[], RegExp][] = [
        ['dotdot', [`040000 tree ${inner}\t..`], /\.\.|hasDotdot|bad tree|invalid/i],
        ['.GIT', [`040000 tree ${inner}\t.GIT`], /hasDotgit|\.GIT|names git's own directory/i],
        ['.gitmodules', [`100644 blob ${gitmodules}\t.gitmodules`], /gitmodules/i],
      ];
      for (const [name, entries, expected] of cases) {
        const commit = commitWithEntries(entries, name);
        const push = await gitClient(home, ['push', remote(), `${commit}:refs/heads/main`], work);
        assert.notEqual(push.code, 0, name);
        assert.match(push.stderr, expected, name);
      }
      assert.equal(refs(), before);
      assert.deepEqual(journal(), []);
    });

    test('34: an oversized request and a gzip bomb are refused, the repository unchanged, memory bounded', async () => {
      const before = refs();
      const pushes = await acceptedPushes();
      const auth = { authorization: `Basic ${Buffer.from(`x:${token}`).toString('base64')}`, 'content-type': 'application/x-git-receive-pack-request' };
      const url = `${base}/acme/handbook.git/git-receive-pack`;

      // declared larger than the cap: refused before git starts
      const declared = await fetch(url, { method: 'POST', headers: { ...auth, 'content-length': String(101 * 1024 * 1024) }, body: '0000' }).catch(() => null);
      assert.ok(declared === null || declared.status === 413, `declared oversize → ${declared?.status}`);

      // 1 GB of zeros compressed to about 1 MB: the cap applies after decompression, so it never grows past 100 MB
      const bomb = await gzipOfZeros(1024);
      assert.ok(bomb.length < 2 * 1024 * 1024);
      const rssBefore = process.memoryUsage().rss;
      const response = await fetch(url, { method: 'POST', headers: { ...auth, 'content-encoding': 'gzip' }, body: new Uint8Array(bomb) }).catch(() => null);
      if (response) await response.arrayBuffer().catch(() => null);
      const growth = process.memoryUsage().rss - rssBefore;
      assert.ok(growth < 400 * 1024 * 1024, `RSS grew by ${Math.round(growth / 1048576)} MB`);

      assert.equal(refs(), before);
      assert.equal(await acceptedPushes(), pushes);
      assert.deepEqual(journal(), []);
      // the server still works
      const ok = await gitClient(home, ['fetch', '--quiet', remote()], work);
      assert.equal(ok.code, 0, ok.stderr);
    });
  });
}
