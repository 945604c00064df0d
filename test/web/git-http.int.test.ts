import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { AddressInfo } from 'node:net';
import { createToken, revokeToken } from '../../src/auth/tokens.ts';
import { buildApp } from '../../src/web/app.ts';
import { asDatabaseOwner, databaseTargets } from '../helpers/databases.ts';
import { gitClient } from '../helpers/git-client.ts';
import { createTestApp, PASSWORD, type TestApp } from '../helpers/test-app.ts';

async function userId(t: TestApp, email: string): Promise<string> {
  const row = await t.context.db.selectFrom('users').select('id').where('email', '=', email).executeTakeFirstOrThrow();
  return row.id;
}

for (const target of databaseTargets()) {
  describe(`git smart HTTP (${target.name})`, () => {
    let t: TestApp;
    let dispose: () => Promise<void>;
    let base: string;
    let home: string;
    const tokens: Record<string, string> = {};
    const url = (token: string | null, repo = 'acme/handbook') =>
      token === null ? `${base}/${repo}.git` : `${base.replace('http://', `http://x-token:${token}@`)}/${repo}.git`;
    let work = 0;
    const workDir = () => join(home, `w${++work}`);

    before(async () => {
      const opened = await target.open();
      dispose = opened.dispose;
      t = await createTestApp(opened.db);
      await t.app.listen({ port: 0, host: '127.0.0.1' });
      base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
      home = mkdtempSync(join(tmpdir(), 'docucommit-git-client-'));
      const make = async (name: string, email: string, scopes: string[]) => {
        tokens[name] = (await createToken(t.context.db, { userId: await userId(t, email), name, scopes })).token;
      };
      await make('admin', 'admin@acme.test', ['write']);
      await make('adminRead', 'admin@acme.test', ['read']);
      await make('member', 'member@acme.test', ['write']);
      await make('viewer', 'viewer@acme.test', ['read']);
      await make('globex', 'member@globex.test', ['write']);
    });

    after(async () => {
      await t.close();
      await dispose();
      rmSync(home, { recursive: true, force: true });
    });

    test('clone, edit, commit, push: the page changes and the push is audited', async () => {
      const dir = workDir();
      const clone = await gitClient(home, ['clone', url(tokens.admin!), dir]);
      assert.equal(clone.code, 0, clone.stderr);
      const file = join(dir, 'security.md');
      writeFileSync(file, `${readFileSync(file, 'utf8')}\nPushed paragraph marker-4711.\n`);
      assert.equal((await gitClient(home, ['commit', '-qam', 'Edit security over git'], dir)).code, 0);
      const push = await gitClient(home, ['push', 'origin', 'HEAD:main'], dir);
      assert.equal(push.code, 0, push.stderr);

      const page = await t.app.inject({ method: 'GET', url: '/acme/handbook/security', headers: { cookie: await t.login('admin@acme.test') } });
      assert.equal(page.statusCode, 200);
      assert.match(page.body, /marker-4711/);

      const events = await asDatabaseOwner(t.context.db, (owner) => owner.selectFrom('audit_events').selectAll().where('action', '=', 'git.push').where('outcome', '=', 'success').execute());
      assert.equal(events.length, 1);
      const details = (typeof events[0]!.details === 'string' ? JSON.parse(events[0]!.details) : events[0]!.details) as Record<string, unknown>;
      assert.equal(details.ref, 'refs/heads/main');
      assert.equal(details.files, 1);
      assert.match(String(details.new), /^[0-9a-f]{40}$/);
      assert.equal(events[0]!.actor_type, 'token');

      // fetch and pull see it too (protocol v2 negotiation over POST)
      const pull = await gitClient(home, ['pull', '--ff-only'], dir);
      assert.equal(pull.code, 0, pull.stderr);
    });

    test('rejected pushes name the file and the problem in remote: lines', async () => {
      const dir = workDir();
      assert.equal((await gitClient(home, ['clone', url(tokens.admin!), dir])).code, 0);
      const before = await gitClient(home, ['ls-remote', url(tokens.admin!), 'refs/heads/main']);

      writeFileSync(join(dir, 'index.md'), '---\ntitle: Home\nclassification: topsecret\n---\n# Home\n');
      await gitClient(home, ['commit', '-qam', 'bad front matter'], dir);
      let push = await gitClient(home, ['push', 'origin', 'HEAD:main'], dir);
      assert.notEqual(push.code, 0);
      assert.match(push.stderr, /remote: +index\.md:3: classification must be one of/);
      await gitClient(home, ['reset', '-q', '--hard', 'HEAD~1'], dir);

      symlinkSync('/etc/passwd', join(dir, 'passwd.md'));
      await gitClient(home, ['add', 'passwd.md'], dir);
      await gitClient(home, ['commit', '-qm', 'symlink'], dir);
      push = await gitClient(home, ['push', 'origin', 'HEAD:main'], dir);
      assert.notEqual(push.code, 0);
      assert.match(push.stderr, /remote: +passwd\.md: symbolic links are not allowed/);
      await gitClient(home, ['reset', '-q', '--hard', 'HEAD~1'], dir);

      // random bytes do not compress, so the pack really carries 6 MB
      writeFileSync(join(dir, 'big.bin'), Buffer.from(Array.from({ length: 6 * 1024 * 1024 }, () => Math.floor(Math.random() * 256))));
      await gitClient(home, ['add', 'big.bin'], dir);
      await gitClient(home, ['commit', '-qm', 'big file'], dir);
      push = await gitClient(home, ['push', 'origin', 'HEAD:main'], dir);
      assert.notEqual(push.code, 0);
      assert.match(push.stderr, /remote: +big\.bin: file is 6 MB, over the 5 MB limit/);
      await gitClient(home, ['reset', '-q', '--hard', 'HEAD~1'], dir);

      push = await gitClient(home, ['push', 'origin', 'HEAD:refs/heads/-x'], dir);
      assert.notEqual(push.code, 0);
      assert.match(push.stderr, /refs\/heads\/-x: ref names must not start with "-"/);

      await gitClient(home, ['commit', '-q', '--amend', '-m', 'rewritten'], dir);
      push = await gitClient(home, ['push', '--force', 'origin', 'HEAD:main'], dir);
      assert.notEqual(push.code, 0);
      assert.match(push.stderr, /refs\/heads\/main: non-fast-forward update refused/);

      push = await gitClient(home, ['push', 'origin', ':main'], dir);
      assert.notEqual(push.code, 0);
      assert.match(push.stderr, /refs\/heads\/main: the main branch cannot be deleted/);

      // nothing moved, and the refusals are audited without content
      const afterAll = await gitClient(home, ['ls-remote', url(tokens.admin!), 'refs/heads/main']);
      assert.equal(afterAll.stdout, before.stdout);
      const denied = await asDatabaseOwner(t.context.db, (owner) => owner.selectFrom('audit_events').select('details').where('action', '=', 'git.push').where('outcome', '=', 'denied').execute());
      assert.ok(denied.length >= 4);
    });

    test('a tree entry named .git is refused with a message naming it', async () => {
      const dir = workDir();
      assert.equal((await gitClient(home, ['clone', url(tokens.admin!), dir])).code, 0);
      const blob = (await gitClient(home, ['hash-object', '-w', '--stdin'], dir)).stdout.trim();
      // git mktree reads "mode type oid\tname" lines; build a tree holding a ".git" folder by hand
      const inner = spawnSyncGit(home, dir, ['mktree'], `100644 blob ${blob}\tconfig\n`);
      const head = spawnSyncGit(home, dir, ['rev-parse', 'HEAD^{tree}'], '');
      const listing = spawnSyncGit(home, dir, ['ls-tree', head], '');
      const tree = spawnSyncGit(home, dir, ['mktree'], `${listing}\n040000 tree ${inner}\t.git\n`);
      const commit = spawnSyncGit(home, dir, ['commit-tree', tree, '-p', 'HEAD', '-m', 'dotgit'], '');
      const push = await gitClient(home, ['push', 'origin', `${commit}:refs/heads/main`], dir);
      assert.notEqual(push.code, 0);
      assert.match(push.stderr, /\.git/);
      assert.match(push.stderr, /hasDotgit|names git's own directory/);
    });

    test('a read-only token cannot push (403); a member token can push to an internal document', async () => {
      const dir = workDir();
      assert.equal((await gitClient(home, ['clone', url(tokens.adminRead!), dir])).code, 0);
      writeFileSync(join(dir, 'news', 'note.md'), '---\ntitle: Note\n---\nA note.\n');
      await gitClient(home, ['add', '.'], dir);
      await gitClient(home, ['commit', '-qm', 'note'], dir);
      const push = await gitClient(home, ['push', 'origin', 'HEAD:main'], dir);
      assert.notEqual(push.code, 0);
      assert.match(push.stderr, /403/);

      await gitClient(home, ['remote', 'set-url', 'origin', url(tokens.member!)], dir);
      const memberPush = await gitClient(home, ['push', 'origin', 'HEAD:main'], dir);
      assert.equal(memberPush.code, 0, memberPush.stderr);
    });

    test('a member cannot push a change to a restricted document or lower a classification', async () => {
      const dir = workDir();
      assert.equal((await gitClient(home, ['clone', url(tokens.admin!), dir])).code, 0);
      await gitClient(home, ['remote', 'set-url', 'origin', url(tokens.member!)], dir);
      const file = join(dir, 'policies', 'salary-bands.md');
      writeFileSync(file, readFileSync(file, 'utf8').replace(/classification: \w+/, 'classification: internal'));
      await gitClient(home, ['commit', '-qam', 'declassify'], dir);
      const push = await gitClient(home, ['push', 'origin', 'HEAD:main'], dir);
      assert.notEqual(push.code, 0);
      assert.match(push.stderr, /policies\/salary-bands\.md: your role may not (change a document classified|lower the classification)/);
    });

    test('clone needs clearance for every document: a viewer gets 403, an admin clones', async () => {
      const viewer = await gitClient(home, ['clone', url(tokens.viewer!), workDir()]);
      assert.notEqual(viewer.code, 0);
      assert.match(viewer.stderr, /403/);
      const admin = await gitClient(home, ['clone', url(tokens.admin!), workDir()]);
      assert.equal(admin.code, 0, admin.stderr);
    });

    test("a token of another organization gets 404, like a missing project", async () => {
      const other = await gitClient(home, ['clone', url(tokens.globex!), workDir()]);
      assert.notEqual(other.code, 0);
      assert.match(other.stderr, /not found/i);
      const missing = await gitClient(home, ['clone', url(tokens.admin!, 'acme/nothing'), workDir()]);
      assert.match(missing.stderr, /not found/i);
    });

    test('no credentials: the same 401 with a Basic challenge for an existing and a missing repository', async () => {
      const existing = await fetch(`${url(null)}/info/refs?service=git-upload-pack`);
      const missing = await fetch(`${url(null, 'acme/no-such-project')}/info/refs?service=git-upload-pack`);
      const otherOrg = await fetch(`${url(null, 'nope/nothing')}/info/refs?service=git-receive-pack`);
      for (const response of [existing, missing, otherOrg]) {
        assert.equal(response.status, 401);
        assert.match(response.headers.get('www-authenticate') ?? '', /^Basic realm=/);
      }
      const bodies = await Promise.all([existing.text(), missing.text(), otherOrg.text()]);
      assert.equal(bodies[0], bodies[1]);
      assert.equal(bodies[0], bodies[2]);
      const clone = await gitClient(home, ['clone', url(null), workDir()]);
      assert.notEqual(clone.code, 0);
      assert.match(clone.stderr, /Authentication failed|could not read Username|terminal prompts disabled/);
    });

    test('revoked tokens and account passwords get 401; a session cookie alone never authenticates git', async () => {
      const id = await userId(t, 'admin@acme.test');
      const { token, summary } = await createToken(t.context.db, { userId: id, name: 'soon revoked', scopes: ['write'] });
      const basic = (secret: string) => `Basic ${Buffer.from(`x-token:${secret}`).toString('base64')}`;
      const ok = await fetch(`${url(null)}/info/refs?service=git-upload-pack`, { headers: { authorization: basic(token) } });
      assert.equal(ok.status, 200);
      assert.equal(ok.headers.get('content-type'), 'application/x-git-upload-pack-advertisement');
      await revokeToken(t.context.db, { id: summary.id, userId: id });
      const revoked = await fetch(`${url(null)}/info/refs?service=git-upload-pack`, { headers: { authorization: basic(token) } });
      assert.equal(revoked.status, 401);
      const password = await fetch(`${url(null)}/info/refs?service=git-upload-pack`, {
        headers: { authorization: `Basic ${Buffer.from('admin@acme.test:correct horse battery staple').toString('base64')}` },
      });
      assert.equal(password.status, 401);

      const cookie = await t.login('admin@acme.test');
      const crossSite = await fetch(`${url(null)}/git-receive-pack`, {
        method: 'POST',
        headers: { cookie, origin: 'https://evil.example', 'content-type': 'application/x-git-receive-pack-request' },
        body: '0000',
      });
      assert.equal(crossSite.status, 401);
      const withCookieGet = await fetch(`${url(null)}/info/refs?service=git-receive-pack`, { headers: { cookie } });
      assert.equal(withCookieGet.status, 401);
      const queryToken = await fetch(`${url(null)}/info/refs?service=git-upload-pack&access_token=${tokens.admin}`);
      assert.equal(queryToken.status, 401);
    });

    test('31 bad credentials in 3 minutes block the address (429, even with a valid token); probes without credentials are not counted', async () => {
      // The same context with a clock this test moves; requests come from documentation addresses (RFC 5737).
      let clock = Date.now();
      const { app } = await buildApp(t.context, { now: () => clock });
      try {
        const attacker = '203.0.113.50';
        const bystander = '198.51.100.7';
        const refs = '/acme/handbook.git/info/refs?service=git-upload-pack';
        const basic = (user: string, secret: string) => `Basic ${Buffer.from(`${user}:${secret}`).toString('base64')}`;
        const ask = (authorization: string | null, remoteAddress = attacker, url = refs) =>
          app.inject({ method: 'GET', url, remoteAddress, headers: authorization === null ? {} : { authorization } });
        // failures counted against the attacker's address (the throttle stores a SHA-256 of scope and subject)
        const subject = createHash('sha256').update(`git-address:${attacker}`).digest('base64url');
        const counted = async () =>
          (await t.context.db.selectFrom('auth_failures').select('failed_at').where('scope', '=', 'git-address').where('subject_hash', '=', subject).execute()).length;
        const blockEvents = () => asDatabaseOwner(t.context.db, (owner) => owner.selectFrom('audit_events').selectAll().where('action', '=', 'git.auth_throttled').execute());

        // git's first request of every clone carries no credentials: answered 401, never counted
        for (let i = 0; i < 40; i++) {
          const probe = await ask(null, attacker, i % 2 ? refs : '/acme/no-such-project.git/info/refs?service=git-receive-pack');
          assert.equal(probe.statusCode, 401);
          assert.match(String(probe.headers['www-authenticate']), /^Basic realm=/);
        }
        assert.equal(await counted(), 0, 'probes are not counted');
        assert.equal((await ask(basic('x', tokens.admin!))).statusCode, 200);

        // every kind of bad credential counts: unknown or malformed tokens, a revoked token, an account password, Bearer
        const id = await userId(t, 'admin@acme.test');
        const { token: revoked, summary } = await createToken(t.context.db, { userId: id, name: 'revoked for throttle', scopes: ['read'] });
        await revokeToken(t.context.db, { id: summary.id, userId: id });
        const bad = [
          basic('x', `${tokens.admin!.slice(0, -1)}${tokens.admin!.endsWith('A') ? 'B' : 'A'}`),
          basic('x', revoked),
          basic('admin@acme.test', PASSWORD),
          `Bearer ${'dcpat_'.padEnd(55, 'z')}`,
          'Basic !!!not-base64',
          basic('x', ''),
        ];
        const first = clock;
        for (let i = 0; i < 30; i++) {
          const res = await ask(bad[i % bad.length]!);
          assert.equal(res.statusCode, 401, `attempt ${i + 1}`);
          assert.match(String(res.headers['www-authenticate']), /^Basic realm=/);
          clock += 5000; // 30 failures within 150 seconds
        }
        assert.equal(await counted(), 30);
        const events = await blockEvents();
        assert.equal(events.length, 1, 'the block is audited once, when it starts');

        // the 31st attempt, and every one after it, is refused: bad, valid, or no credentials at all
        for (const authorization of [bad[0]!, basic('x', tokens.admin!), `Bearer ${tokens.admin!}`, null]) {
          const res = await ask(authorization);
          assert.equal(res.statusCode, 429, String(authorization));
          assert.ok(Number(res.headers['retry-after']) > 0 && Number(res.headers['retry-after']) <= 180);
          assert.match(res.body, /Too many failed authentication attempts/);
        }
        const push = await app.inject({
          method: 'POST',
          url: '/acme/handbook.git/git-receive-pack',
          remoteAddress: attacker,
          headers: { authorization: basic('x', tokens.admin!), 'content-type': 'application/x-git-receive-pack-request' },
          payload: '0000',
        });
        assert.equal(push.statusCode, 429);
        assert.equal(await counted(), 30, 'refused attempts do not extend the block');
        assert.equal((await blockEvents()).length, 1);

        // another address is unaffected
        assert.equal((await ask(basic('x', tokens.admin!), bystander)).statusCode, 200);
        assert.equal((await ask(bad[0]!, bystander)).statusCode, 401);

        // the audit event names the address and the repository asked for, never a credential
        const event = events[0]!;
        const org = await t.context.db.selectFrom('organizations').select('id').where('slug', '=', 'acme').executeTakeFirstOrThrow();
        assert.equal(event.org_id, org.id);
        assert.equal(event.outcome, 'denied');
        assert.equal(event.ip, attacker);
        assert.match(JSON.stringify(event.details), /acme\/handbook/);
        const stored = JSON.stringify(event);
        for (const secret of [tokens.admin!, revoked, PASSWORD, tokens.admin!.slice(6, 20)]) assert.ok(!stored.includes(secret));

        // once the window has passed (3 minutes after the first counted failure) the address may try again
        clock = first + 3 * 60 * 1000 - 1000;
        assert.equal((await ask(basic('x', tokens.admin!))).statusCode, 429, 'still inside the window');
        clock = first + 3 * 60 * 1000 + 1;
        assert.equal((await ask(basic('x', tokens.admin!))).statusCode, 200);
      } finally {
        await app.close();
      }
    });

    test('nothing but upload-pack and receive-pack is reachable under the repository path', async () => {
      const headers = { authorization: `Basic ${Buffer.from(`x:${tokens.admin}`).toString('base64')}` };
      for (const path of [
        '/acme/handbook.git/objects/info/alternates',
        '/acme/handbook.git/HEAD',
        '/acme/handbook.git/config',
        '/acme/handbook.git/info/refs',
        '/acme/handbook.git/info/refs?service=git-upload-archive',
        '/acme/handbook.git/hooks/pre-receive',
        '/acme/handbook.git/objects/info/packs',
        '/acme/handbook.git/%2e%2e/%2e%2e/config',
        '/acme/handbook.git/..%5c..%5cconfig',
        '/acme/handbook.git/info%5crefs?service=git-upload-pack',
      ]) {
        const response = await fetch(`${base}${path}`, { headers, redirect: 'manual' });
        // a path that normalizes to one segment (`/config`) is an organization's address: an unknown one sends an
        // anonymous reader to sign in, as every missing organization does
        const toSignIn = response.status === 303 && (response.headers.get('location') ?? '').startsWith('/login');
        assert.ok(response.status === 404 || response.status === 400 || toSignIn, `${path} → ${response.status}`);
        const body = await response.text();
        assert.doesNotMatch(body, /\[core\]|repositoryformatversion|objects\/|#!\/bin\/sh/);
      }
      // a backslash in the project name is another (missing) project: never the repository's files
      for (const path of ['/acme/handbook.git%5cconfig', '/acme/handbook.git%5c..%5cconfig', '/acme/handbook%5c..%5c..%5cconfig']) {
        const response = await fetch(`${base}${path}`, { headers });
        assert.doesNotMatch(await response.text(), /\[core\]|repositoryformatversion/);
      }
      const clone = await gitClient(home, ['clone', `${url(tokens.admin!)}/objects/info/alternates`, workDir()]);
      assert.notEqual(clone.code, 0);
    });
  });
}

function spawnSyncGit(home: string, cwd: string, args: string[], input: string): string {
  const env = { PATH: process.env.PATH, HOME: home, GIT_CONFIG_NOSYSTEM: '1', GIT_AUTHOR_NAME: 'P', GIT_AUTHOR_EMAIL: 'p@a.test', GIT_COMMITTER_NAME: 'P', GIT_COMMITTER_EMAIL: 'p@a.test' };
  const result = spawnSync('git', args, { cwd, input, env, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`git ${args.join(' ')}: ${result.stderr}`);
  return String(result.stdout).trim();
}
