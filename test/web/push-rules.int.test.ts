import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { upsertAccount } from '../../src/auth/accounts.ts';
import { createToken } from '../../src/auth/tokens.ts';
import { buildApp } from '../../src/web/app.ts';
import { asDatabaseOwner, databaseTargets } from '../helpers/databases.ts';
import { gitClient } from '../helpers/git-client.ts';
import { createTestApp, PASSWORD, type TestApp } from '../helpers/test-app.ts';

// Attacks on the push checks (issue #10 items 9, 10, 14 and 15), against globex/wiki, a project whose documents
// are all internal or public, so its members can clone it.
for (const target of databaseTargets()) {
  describe(`push rules (${target.name})`, () => {
    let t: TestApp;
    let dispose: () => Promise<void>;
    let base: string;
    let home: string;
    const tokens: Record<string, string> = {};
    const url = (token: string, repo = 'globex/wiki', at = base) => `${at.replace('http://', `http://x-token:${token}@`)}/${repo}.git`;
    let work = 0;
    const workDir = () => join(home, `w${++work}`);
    const git = (args: string[], dir?: string) => gitClient(home, args, dir);
    const mainOf = async (token: string) => (await git(['ls-remote', url(token), 'refs/heads/main'])).stdout;
    const refsOf = async (token: string) => (await git(['ls-remote', url(token)])).stdout;

    before(async () => {
      const opened = await target.open();
      dispose = opened.dispose;
      t = await createTestApp(opened.db);
      await t.app.listen({ port: 0, host: '127.0.0.1' });
      base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
      home = mkdtempSync(join(tmpdir(), 'docucommit-push-rules-'));
      for (const [name, role] of [['other', 'member'], ['owner', 'owner'], ['admin', 'admin']] as const) {
        await upsertAccount(t.context.db, { email: `${name}@globex.test`, orgSlug: 'globex', role, password: PASSWORD, name: `Globex ${name}` });
      }
      for (const name of ['member', 'other', 'owner', 'admin']) {
        const user = await t.context.db.selectFrom('users').select('id').where('email', '=', `${name}@globex.test`).executeTakeFirstOrThrow();
        tokens[name] = (await createToken(t.context.db, { userId: user.id, name, scopes: ['write'] })).token;
      }
    });

    after(async () => {
      await t.close();
      await dispose();
      rmSync(home, { recursive: true, force: true });
    });

    async function cloneAs(who: string): Promise<string> {
      const dir = workDir();
      const clone = await git(['clone', '-q', url(tokens[who]!), dir]);
      assert.equal(clone.code, 0, clone.stderr);
      return dir;
    }

    async function commitFile(dir: string, path: string, content: string, message = path): Promise<void> {
      writeFileSync(join(dir, path), content);
      assert.equal((await git(['add', path], dir)).code, 0);
      assert.equal((await git(['commit', '-qm', message], dir)).code, 0);
    }

    test('a member cannot push a restricted (or unreadable) document on any branch, even in an intermediate commit; members still clone', async () => {
      const dir = await cloneAs('member');
      const refsBefore = await refsOf(tokens.owner!);
      await git(['checkout', '-qb', 'throwaway'], dir);
      await commitFile(dir, 'salaries.md', '---\ntitle: Salaries\nclassification: restricted\n---\nSecret.\n');
      let push = await git(['push', 'origin', 'HEAD:refs/heads/throwaway'], dir);
      assert.notEqual(push.code, 0);
      assert.match(push.stderr, /remote: +salaries\.md: your role may not change a document classified restricted/);

      // added, then removed again: the net change is nothing, but the history would hold it
      assert.equal((await git(['rm', '-q', 'salaries.md'], dir)).code, 0);
      assert.equal((await git(['commit', '-qm', 'gone'], dir)).code, 0);
      push = await git(['push', 'origin', 'HEAD:refs/heads/throwaway'], dir);
      assert.notEqual(push.code, 0);
      assert.match(push.stderr, /salaries\.md: your role may not change a document classified restricted/);

      // an unreadable front matter counts as restricted, on a side branch too
      await git(['reset', '-q', '--hard', 'origin/main'], dir);
      await commitFile(dir, 'broken.md', '---\nclassification: [nope\n---\nText.\n');
      push = await git(['push', 'origin', 'HEAD:refs/tags/v-broken'], dir);
      assert.notEqual(push.code, 0);
      assert.match(push.stderr, /broken\.md: your role may not change a document classified restricted/);

      assert.equal(await refsOf(tokens.owner!), refsBefore);
      await cloneAs('other');
    });

    test('the pusher and owners delete branches; another member cannot; nobody deletes main', async () => {
      const dir = await cloneAs('member');
      await commitFile(dir, 'draft.md', '---\ntitle: Draft\n---\nDraft.\n');
      for (const branch of ['mine', 'for-owner']) {
        const push = await git(['push', 'origin', `HEAD:refs/heads/${branch}`], dir);
        assert.equal(push.code, 0, push.stderr);
      }
      const other = await cloneAs('other');
      let push = await git(['push', 'origin', ':refs/heads/mine'], other);
      assert.notEqual(push.code, 0);
      assert.match(push.stderr, /refs\/heads\/mine: only the person who pushed this branch and owners may delete it/);
      push = await git(['push', url(tokens.admin!), ':refs/heads/mine'], other);
      assert.notEqual(push.code, 0, 'an admin is not an owner');
      assert.match(await refsOf(tokens.owner!), /refs\/heads\/mine/);

      push = await git(['push', 'origin', ':refs/heads/mine'], dir);
      assert.equal(push.code, 0, push.stderr);
      const events = await asDatabaseOwner(t.context.db, (owner) =>
        owner.selectFrom('audit_events').select('details').where('action', '=', 'git.push').where('outcome', '=', 'success').execute(),
      );
      const deletions = events
        .map((e) => (typeof e.details === 'string' ? JSON.parse(e.details) : e.details) as Record<string, unknown>)
        .filter((d) => d.ref === 'refs/heads/mine' && d.new === '0'.repeat(40));
      assert.equal(deletions.length, 1, 'the deletion is audited');
      push = await git(['push', url(tokens.owner!), ':refs/heads/for-owner'], dir);
      assert.equal(push.code, 0, push.stderr);
      const refs = await refsOf(tokens.owner!);
      assert.doesNotMatch(refs, /refs\/heads\/(mine|for-owner)/);
      assert.match(refs, /refs\/heads\/main/);

      const mainBefore = await mainOf(tokens.owner!);
      push = await git(['push', url(tokens.owner!), ':refs/heads/main'], dir);
      assert.notEqual(push.code, 0);
      assert.match(push.stderr, /refs\/heads\/main: the main branch cannot be deleted/);
      assert.equal(await mainOf(tokens.owner!), mainBefore);
    });

    test('a tag of a tree or a blob is refused, whatever it holds', async () => {
      const dir = await cloneAs('member');
      writeFileSync(join(dir, 'big.bin'), Buffer.alloc(7 * 1024 * 1024, 1));
      assert.equal((await git(['add', 'big.bin'], dir)).code, 0);
      const tree = runGit(dir, ['write-tree']);
      const blob = runGit(dir, ['rev-parse', ':big.bin']);
      for (const [oid, tag] of [[tree, 'tree-tag'], [blob, 'blob-tag']] as const) {
        const push = await git(['push', 'origin', `${oid}:refs/tags/${tag}`], dir);
        assert.notEqual(push.code, 0);
        assert.match(push.stderr, new RegExp(`refs/tags/${tag}: tags must point at a commit`));
      }
      assert.doesNotMatch(await refsOf(tokens.owner!), /tree-tag|blob-tag/);
    });

    test('front matter after a blank line is refused on main with the file and line', async () => {
      const dir = await cloneAs('member');
      await commitFile(dir, 'index.md', '\n---\ntitle: Globex wiki\n---\nText.\n');
      const push = await git(['push', 'origin', 'HEAD:main'], dir);
      assert.notEqual(push.code, 0);
      assert.match(push.stderr, /remote: +index\.md:2: front matter must start on the first line/);
    });

    test('the clone refusal names no classification', async () => {
      const viewer = await t.context.db.selectFrom('users').select('id').where('email', '=', 'viewer@acme.test').executeTakeFirstOrThrow();
      const token = (await createToken(t.context.db, { userId: viewer.id, name: 'v', scopes: ['read'] })).token;
      const response = await fetch(`${base}/acme/handbook.git/info/refs?service=git-upload-pack`, {
        headers: { authorization: `Basic ${Buffer.from(`x:${token}`).toString('base64')}` },
      });
      assert.equal(response.status, 403);
      assert.doesNotMatch(await response.text(), /public|internal|confidential|restricted/i);
    });

    test('object bombs are refused before their history is walked, and nothing changes', async () => {
      const { app } = await buildApp(t.context, { pushLimits: { maxObjects: 40, maxInflatedBytes: 1024 * 1024 } });
      await app.listen({ port: 0, host: '127.0.0.1' });
      const small = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
      try {
        const dir = await cloneAs('member');
        const mainBefore = await mainOf(tokens.owner!);
        // many objects: the pack is cut off at its header, before git indexes it (the client sees the connection fail)
        for (let i = 0; i < 50; i++) writeFileSync(join(dir, `note-${i}.md`), `---\ntitle: Note ${i}\n---\nText ${i}.\n`);
        await git(['add', '.'], dir);
        await git(['commit', '-qm', 'many'], dir);
        let push = await git(['push', url(tokens.member!, 'globex/wiki', small), 'HEAD:main'], dir);
        assert.notEqual(push.code, 0);
        assert.equal(await mainOf(tokens.owner!), mainBefore);

        // a small pack that inflates (2 MB of one byte compresses to a few kB)
        await git(['reset', '-q', '--hard', 'origin/main'], dir);
        writeFileSync(join(dir, 'zeros.txt'), Buffer.alloc(2 * 1024 * 1024, 0x30));
        await git(['add', '.'], dir);
        await git(['commit', '-qm', 'zeros'], dir);
        push = await git(['push', url(tokens.member!, 'globex/wiki', small), 'HEAD:main'], dir);
        assert.notEqual(push.code, 0);
        assert.match(push.stderr, /this push inflates to 2 MB, over the limit of 1 MB/);

        // a tree bomb: ten folders, each listing the next level ten times, expand to 10^9 paths from 11 trees
        await git(['reset', '-q', '--hard', 'origin/main'], dir);
        const leaf = runGit(dir, ['hash-object', '-w', '--stdin'], '---\ntitle: x\n---\n');
        let tree = runGit(dir, ['mktree'], `100644 blob ${leaf}\tx.md\n`);
        for (let level = 0; level < 9; level++) {
          tree = runGit(dir, ['mktree'], Array.from({ length: 10 }, (_, i) => `040000 tree ${tree}\td${i}\n`).join(''));
        }
        const bomb = runGit(dir, ['commit-tree', tree, '-p', 'HEAD', '-m', 'bomb']);
        push = await git(['push', 'origin', `${bomb}:refs/heads/bomb`], dir);
        assert.notEqual(push.code, 0);
        assert.match(push.stderr, new RegExp(`commit ${bomb} lists more than 200000 files`));

        assert.equal(await mainOf(tokens.owner!), mainBefore);
        assert.doesNotMatch(await refsOf(tokens.owner!), /refs\/heads\/bomb/);
      } finally {
        await app.close();
      }
    });

    test('a pushed reclassification on main is audited as document.classification_changed with the old and new value', async () => {
      const dir = await cloneAs('admin');
      await commitFile(dir, 'about.md', '---\ntitle: About Globex\nclassification: internal\n---\n\nGlobex is a company.\n', 'About is internal now');
      const push = await git(['push', 'origin', 'HEAD:refs/heads/main'], dir);
      assert.equal(push.code, 0, push.stderr);
      const events = await asDatabaseOwner(t.context.db, (owner) =>
        owner.selectFrom('audit_events').select(['action', 'target_label', 'details', 'actor_label']).where('action', '=', 'document.classification_changed').execute(),
      );
      assert.equal(events.length, 1);
      const details = (typeof events[0]!.details === 'string' ? JSON.parse(events[0]!.details) : events[0]!.details) as Record<string, unknown>;
      assert.equal(events[0]!.target_label, 'about.md');
      assert.equal(events[0]!.actor_label, 'admin@globex.test');
      assert.equal(details.from, 'public');
      assert.equal(details.to, 'internal');
    });
  });
}

function runGit(cwd: string, args: string[], input = ''): string {
  const env = { PATH: process.env.PATH, HOME: cwd, GIT_CONFIG_NOSYSTEM: '1', GIT_AUTHOR_NAME: 'P', GIT_AUTHOR_EMAIL: 'p@a.test', GIT_COMMITTER_NAME: 'P', GIT_COMMITTER_EMAIL: 'p@a.test' };
  const result = spawnSync('git', args, { cwd, input, env, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`git ${args.join(' ')}: ${result.stderr}`);
  return String(result.stdout).trim();
}
