import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { createAppContext, reconcileSnapshots } from '../../src/app-context.ts';
import { PUBLISHED_BRANCH } from '../../src/content/published-branch.ts';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { buildEditorIsland, editorIsland, editorPlainScript } from '../../src/web/assets.ts';
import { buildApp } from '../../src/web/app.ts';
import { CONTENT_SECURITY_POLICY } from '../../src/web/security-headers.ts';
import { asDatabaseOwner, databaseTargets } from '../helpers/databases.ts';
import { createTestApp, csrfFrom, login, testConfig, type TestApp } from '../helpers/test-app.ts';

const BASE = '/acme/handbook';
const DOC_PATH = 'policies/data-handling.md';
const DOC_URL = `${BASE}/policies/data-handling`;
const EDIT_URL = `${BASE}/-/edit/${DOC_PATH}`;

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

/** The hidden base commit of an editor form. */
function baseFrom(html: string): string {
  const match = /name="base" value="([0-9a-f]{40})"/.exec(html);
  if (!match) throw new Error('no base field in page');
  return match[1]!;
}

/** The textarea's text as the browser would read it (entities decoded, the one leading newline dropped). */
function textareaFrom(html: string): string {
  const match = /<textarea[^>]*name="content"[^>]*>([\s\S]*?)<\/textarea>/.exec(html);
  if (!match) throw new Error('no textarea in page');
  return match[1]!
    .replace(/^\n/, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');
}

for (const target of databaseTargets()) {
  describe(`browser editor (${target.name})`, () => {
    let t: TestApp;
    let dispose: () => Promise<void>;
    const cookies: Record<string, string> = {};

    before(async () => {
      const opened = await target.open();
      dispose = opened.dispose;
      t = await createTestApp(opened.db);
      for (const role of ['admin', 'manager', 'member', 'viewer']) cookies[role] = await t.login(`${role}@acme.test`);
      cookies.globex = await t.login('member@globex.test');
    });
    after(async () => {
      await t.close();
      await dispose();
    });

    const get = (url: string, cookie: string) => t.app.inject({ method: 'GET', url, headers: { cookie } });
    const post = (url: string, cookie: string, fields: Record<string, string>) =>
      t.app.inject({
        method: 'POST',
        url,
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
        payload: form(fields),
      });
    const repository = () => t.context.repositories.get({ id: projectId(), repoDir: projectRepoDir() });
    let project: { id: string; repoDir: string } | null = null;
    const projectId = () => project!.id;
    const projectRepoDir = () => project!.repoDir;

    /** Open the editor as `role` and return its CSRF token, base commit and text. */
    async function openEditor(role: string, url = EDIT_URL) {
      const res = await get(url, cookies[role]!);
      assert.equal(res.statusCode, 200, `editor of ${url} opens for ${role}`);
      return { csrf: csrfFrom(res.body), base: baseFrom(res.body), source: textareaFrom(res.body), body: res.body };
    }

    before(async () => {
      const row = await asDatabaseOwner(t.context.db, (owner) => owner.selectFrom('projects').select(['id', 'repo_dir']).where('slug', '=', 'handbook').executeTakeFirstOrThrow());
      project = { id: row.id, repoDir: row.repo_dir };
    });

    test('an editor sees an Edit link on the document; a viewer does not', async () => {
      const member = await get(DOC_URL, cookies.member!);
      assert.match(member.body, new RegExp(`href="${EDIT_URL}"`));
      const viewer = await get(DOC_URL, cookies.viewer!);
      assert.equal(viewer.statusCode, 200);
      assert.doesNotMatch(viewer.body, /-\/edit\//);
    });

    test('the editor shows the source, a rendered preview, the base commit and a default message', async () => {
      const { base, source, body } = await openEditor('member');
      const repo = await repository();
      assert.equal(base, await repo.headOf(PUBLISHED_BRANCH));
      assert.match(source, /^---\ntitle: Data handling\n/);
      assert.match(body, /class="editor-preview"/);
      assert.match(body, /<table/); // the preview is the rendered document
      assert.match(body, /name="message" maxLength="2000" value="Update policies\/data-handling\.md"|value="Update policies\/data-handling\.md"/);
      assert.match(body, /<script type="module" src="\/-\/assets\/editor\.[0-9a-f]{12}\.js" nonce="[A-Za-z0-9+/]+={0,2}" data-editor-island="true"><\/script>/);
    });

    test('a member saves: one new commit authored by them on top of the base, and the page shows the text', async () => {
      const { csrf, base, source } = await openEditor('member');
      const edited = source.replace('How data moves.', 'How data moves, edited in the browser.');
      const res = await post(EDIT_URL, cookies.member!, { _csrf: csrf, base, content: edited.replace(/\n/g, '\r\n'), message: 'Clarify data flows' });
      assert.equal(res.statusCode, 303);
      assert.equal(res.headers.location, DOC_URL);

      const repo = await repository();
      const head = (await repo.headOf(PUBLISHED_BRANCH))!;
      const commit = await repo.readCommit(head);
      assert.deepEqual(commit.parents, [base]);
      assert.equal(commit.author.name, 'Acme member');
      assert.equal(commit.author.email, 'member@acme.test');
      assert.equal(commit.message.trim(), 'Clarify data flows');
      const changes = await repo.diffTrees((await repo.readCommit(base)).tree, commit.tree);
      assert.deepEqual(changes.map((c) => c.path), [DOC_PATH]);
      const entry = (await repo.listTree(head)).find((e) => e.path === DOC_PATH)!;
      assert.equal((await repo.readBlob(entry.oid)).toString('utf8'), edited, 'CRLF from the browser is stored as LF');

      const page = await get(DOC_URL, cookies.viewer!);
      assert.match(page.body, /How data moves, edited in the browser\./);
    });

    test('a save is recorded in the audit log with author, path and commit, never the text', async () => {
      const { csrf, base, source } = await openEditor('member');
      const marker = 'AUDIT-MUST-NOT-CONTAIN-THIS-TEXT';
      const res = await post(EDIT_URL, cookies.member!, { _csrf: csrf, base, content: source + `\n${marker}\n`, message: 'Audited save' });
      assert.equal(res.statusCode, 303);
      const head = (await (await repository()).headOf(PUBLISHED_BRANCH))!;
      const events = await asDatabaseOwner(t.context.db, (owner) => owner.selectFrom('audit_events').selectAll().where('action', '=', 'document.saved').execute());
      const event = events.find((e) => JSON.stringify(e.details).includes(head));
      assert.ok(event, 'one document.saved event for the new commit');
      assert.equal(event.actor_label, 'member@acme.test');
      assert.equal(event.target_label, DOC_PATH);
      assert.equal(event.outcome, 'success');
      assert.doesNotMatch(JSON.stringify(events), new RegExp(marker));
    });

    test('an empty commit message gets the default "Update <path>" (never the title)', async () => {
      const { csrf, base, source } = await openEditor('member');
      const res = await post(EDIT_URL, cookies.member!, { _csrf: csrf, base, content: `${source}\nOne more line.\n`, message: '  ' });
      assert.equal(res.statusCode, 303);
      const repo = await repository();
      assert.equal((await repo.readCommit((await repo.headOf(PUBLISHED_BRANCH))!)).message.trim(), 'Update policies/data-handling.md');
    });

    test('two concurrent saves from the same base: one wins, the other gets the 409 conflict page with its text and a diff', async () => {
      const first = await openEditor('member');
      const second = await openEditor('manager');
      assert.equal(first.base, second.base);
      const mineA = first.source.replace('How data moves', 'How data moves (version A)');
      const mineB = second.source.replace('How data moves', 'How data moves (version B) <b>bold</b>');

      const [resA, resB] = await Promise.all([
        post(EDIT_URL, cookies.member!, { _csrf: first.csrf, base: first.base, content: mineA, message: 'A' }),
        post(EDIT_URL, cookies.manager!, { _csrf: second.csrf, base: second.base, content: mineB, message: 'B' }),
      ]);
      const statuses = [resA.statusCode, resB.statusCode].sort();
      assert.deepEqual(statuses, [303, 409]);
      const [winner, loser, loserText, winnerText] =
        resA.statusCode === 303 ? [resA, resB, mineB, mineA] : [resB, resA, mineA, mineB];
      assert.ok(winner);

      // The loser's text is preserved, re-submittable against the new head, with a diff.
      const repo = await repository();
      const head = (await repo.headOf(PUBLISHED_BRANCH))!;
      assert.match(loser.body, /Your text was not saved/);
      assert.equal(textareaFrom(loser.body), loserText);
      assert.equal(baseFrom(loser.body), head, 'the conflict form is based on the current head');
      assert.match(loser.body, new RegExp(head.slice(0, 12)));
      assert.match(loser.body, /class="diff-line diff-added">\+ How data moves \(version B\) &lt;b>bold&lt;\/b>|class="diff-line diff-added">\+ How data moves \(version A\)/);
      assert.match(loser.body, /class="diff-line diff-removed">− How data moves \(version [AB]\)/);
      const diffHtml = /<pre class="diff"[\s\S]*?<\/pre>/.exec(loser.body)![0];
      assert.doesNotMatch(diffHtml, /<b>/, 'diff lines are escaped');

      // Nothing lost: the winner is the head, the loser re-saves on top of it and both are in history.
      const winnerEntry = (await repo.listTree(head)).find((e) => e.path === DOC_PATH)!;
      assert.equal((await repo.readBlob(winnerEntry.oid)).toString('utf8'), winnerText);
      const loserCookie = loser === resA ? cookies.member! : cookies.manager!;
      const resave = await post(EDIT_URL, loserCookie, { _csrf: csrfFrom(loser.body), base: baseFrom(loser.body), content: loserText, message: 'merged' });
      assert.equal(resave.statusCode, 303);
      const newHead = (await repo.headOf(PUBLISHED_BRANCH))!;
      assert.deepEqual((await repo.readCommit(newHead)).parents, [head]);
      const log = await repo.log(newHead, { path: DOC_PATH, limit: 3 });
      assert.deepEqual(log.map((e) => e.oid).slice(0, 2), [newHead, head]);
    });

    test('a large document (over the default form limit) saves', async () => {
      const { csrf, base, source } = await openEditor('member');
      const big = `${source}\n${'Ünïcödé paragraph text. '.repeat(20_000)}\n`;
      const res = await post(EDIT_URL, cookies.member!, { _csrf: csrf, base, content: big, message: 'big' });
      assert.equal(res.statusCode, 303);
      const back = await openEditor('member');
      assert.equal(back.source, big);
      const restore = await post(EDIT_URL, cookies.member!, { _csrf: back.csrf, base: back.base, content: source, message: 'small again' });
      assert.equal(restore.statusCode, 303);
    });

    test('a viewer posting an edit gets 403 and nothing is committed', async () => {
      const { csrf, base, source } = await openEditor('member');
      const viewerCsrf = csrfFrom((await get(DOC_URL, cookies.viewer!)).body);
      assert.notEqual(viewerCsrf, csrf);
      const repo = await repository();
      const before = await repo.headOf(PUBLISHED_BRANCH);
      const res = await post(EDIT_URL, cookies.viewer!, { _csrf: viewerCsrf, base, content: `${source}\nviewer`, message: 'x' });
      assert.equal(res.statusCode, 403);
      assert.equal((await get(EDIT_URL, cookies.viewer!)).statusCode, 403);
      assert.equal(await repo.headOf(PUBLISHED_BRANCH), before);
    });

    test('another organization\'s member gets 404 for the editor, saves and the preview', async () => {
      const globexCsrf = csrfFrom((await get('/globex/wiki/', cookies.globex!)).body);
      assert.equal((await get(EDIT_URL, cookies.globex!)).statusCode, 404);
      const { base } = await openEditor('member');
      const res = await post(EDIT_URL, cookies.globex!, { _csrf: globexCsrf, base, content: 'x', message: 'x' });
      assert.equal(res.statusCode, 404);
      const preview = await t.app.inject({
        method: 'POST',
        url: `${BASE}/-/preview`,
        headers: { cookie: cookies.globex!, 'content-type': 'application/json', 'x-csrf-token': globexCsrf },
        payload: { source: '# hi' },
      });
      assert.equal(preview.statusCode, 404);
      assert.equal((await get(`${BASE}/-/new`, cookies.globex!)).statusCode, 404);
    });

    test('a member cannot open or save a document they cannot read (404, like a missing one)', async () => {
      const restricted = `${BASE}/-/edit/policies/salary-bands.md`;
      const missing = `${BASE}/-/edit/policies/no-such-thing.md`;
      assert.equal((await get(restricted, cookies.member!)).statusCode, 404);
      assert.equal((await get(missing, cookies.member!)).statusCode, 404);
      const { csrf, base } = await openEditor('member');
      const res = await post(restricted, cookies.member!, { _csrf: csrf, base, content: '---\ntitle: x\n---\n', message: 'x' });
      assert.equal(res.statusCode, 404);
      assert.doesNotMatch(res.body, /RESTRICTED-TITLE-MARKER/);
      assert.equal((await get(restricted, cookies.admin!)).statusCode, 200);
    });

    test('hostile paths are refused with 400 and a clear message', async () => {
      const { csrf } = await openEditor('member');
      for (const path of ['../x.md', '.git/config.md', 'policies/../../x.md', '-rf.md', 'policies/-x.md', '.GIT/x.md', 'notes.txt', '/etc/passwd.md']) {
        const res = await post(`${BASE}/-/new`, cookies.member!, { _csrf: csrf, path, content: '# x\n', message: '' });
        assert.equal(res.statusCode, 400, `new document at ${path}`);
        assert.match(res.body, /cannot be used/);
      }
      for (const url of [`${BASE}/-/edit/.git/config`, `${BASE}/-/edit/-x.md`, `${BASE}/-/edit/..%2Fx.md`, `${BASE}/-/edit/policies%2F%2E%2E%2F%2E%2E%2Fetc%2Fpasswd.md`]) {
        assert.equal((await get(url, cookies.member!)).statusCode, 400, url);
      }
    });

    test('the editor refuses to write through a symlink (400)', async () => {
      const repo = await repository();
      const head = (await repo.headOf(PUBLISHED_BRANCH))!;
      // Plant a symlink the way a push could (a 120000 entry), then try to edit and to write below it.
      const { runGit } = await import('../../src/git/run.ts');
      const blob = (await runGit({ gitDir: repo.path, args: ['hash-object', '-w', '--stdin'], input: '/etc/passwd' })).stdout.toString().trim();
      const env = { GIT_INDEX_FILE: `${t.dataDir}/symlink-index` };
      await runGit({ gitDir: repo.path, env, args: ['read-tree', head] });
      await runGit({ gitDir: repo.path, env, args: ['update-index', '--add', '--cacheinfo', `120000,${blob},link.md`] });
      await runGit({ gitDir: repo.path, env, args: ['update-index', '--add', '--cacheinfo', `120000,${blob},linkdir`] });
      const tree = (await runGit({ gitDir: repo.path, env, args: ['write-tree'] })).stdout.toString().trim();
      const commit = (
        await runGit({
          gitDir: repo.path,
          env: { GIT_AUTHOR_NAME: 'x', GIT_AUTHOR_EMAIL: 'x@x', GIT_COMMITTER_NAME: 'x', GIT_COMMITTER_EMAIL: 'x@x' },
          args: ['commit-tree', '-p', head, '-m', 'symlink', tree],
        })
      ).stdout.toString().trim();
      await runGit({ gitDir: repo.path, args: ['update-ref', `refs/heads/${PUBLISHED_BRANCH}`, commit, head] });

      const { csrf } = await openEditor('member');
      const open = await get(`${BASE}/-/edit/link.md`, cookies.member!);
      assert.equal(open.statusCode, 400);
      assert.match(open.body, /symbolic link/);
      const save = await post(`${BASE}/-/edit/link.md`, cookies.member!, { _csrf: csrf, base: commit, content: 'pwned', message: 'x' });
      assert.equal(save.statusCode, 400);
      assert.match(save.body, /symbolic link/);
      const below = await post(`${BASE}/-/new`, cookies.member!, { _csrf: csrf, path: 'linkdir/x.md', content: '# x\n', message: '' });
      assert.equal(below.statusCode, 400);
      assert.match(below.body, /symbolic link/);
      assert.equal(await repo.headOf(PUBLISHED_BRANCH), commit);
    });

    test('invalid front matter is refused with 400, file:line shown above the editor, nothing committed', async () => {
      const { csrf, base, source } = await openEditor('member');
      const broken = source.replace('classification: internal', 'classification: top-secret');
      const res = await post(EDIT_URL, cookies.member!, { _csrf: csrf, base, content: broken, message: 'x' });
      assert.equal(res.statusCode, 400);
      assert.match(res.body, new RegExp(`<code>${DOC_PATH.replace(/\./g, '\\.')}:\\d+(:\\d+)?</code>: classification must be one of`));
      assert.match(res.body, /Nothing was saved/);
      assert.equal(textareaFrom(res.body), broken, 'the text is kept');
      assert.equal(await (await repository()).headOf(PUBLISHED_BRANCH), base);
    });

    test('create, rename (old URL 404, new URL 200) and delete', async () => {
      const { csrf } = await openEditor('member');
      const created = await post(`${BASE}/-/new`, cookies.member!, {
        _csrf: csrf,
        path: 'guides/new-guide.md',
        content: '---\ntitle: New guide\n---\n\nGuide text.\n',
        message: '',
      });
      assert.equal(created.statusCode, 303);
      assert.equal(created.headers.location, `${BASE}/guides/new-guide`);
      assert.match((await get(`${BASE}/guides/new-guide`, cookies.viewer!)).body, /Guide text\./);
      const repo = await repository();
      const createCommit = await repo.readCommit((await repo.headOf(PUBLISHED_BRANCH))!);
      assert.equal(createCommit.message.trim(), 'Create guides/new-guide.md');
      assert.equal(createCommit.author.email, 'member@acme.test');

      const again = await post(`${BASE}/-/new`, cookies.member!, { _csrf: csrf, path: 'guides/new-guide.md', content: '# again\n', message: '' });
      assert.equal(again.statusCode, 409);
      assert.match(again.body, /already exists/);

      const renameForm = await get(`${BASE}/-/rename/guides/new-guide.md`, cookies.member!);
      assert.equal(renameForm.statusCode, 200);
      const renamed = await post(`${BASE}/-/rename/guides/new-guide.md`, cookies.member!, {
        _csrf: csrf,
        base: baseFrom(renameForm.body),
        newPath: 'guides/renamed-guide.md',
        message: '',
      });
      assert.equal(renamed.statusCode, 303);
      assert.equal(renamed.headers.location, `${BASE}/guides/renamed-guide`);
      assert.equal((await get(`${BASE}/guides/new-guide`, cookies.member!)).statusCode, 404);
      assert.match((await get(`${BASE}/guides/renamed-guide`, cookies.member!)).body, /Guide text\./);
      const badRename = await post(`${BASE}/-/rename/guides/renamed-guide.md`, cookies.member!, {
        _csrf: csrf,
        base: (await repo.headOf(PUBLISHED_BRANCH))!,
        newPath: '../escape.md',
        message: '',
      });
      assert.equal(badRename.statusCode, 400);

      const confirm = await get(`${BASE}/-/delete/guides/renamed-guide.md`, cookies.member!);
      assert.equal(confirm.statusCode, 200);
      assert.match(confirm.body, /Delete New guide\?/);
      const staleDelete = await post(`${BASE}/-/delete/guides/renamed-guide.md`, cookies.member!, { _csrf: csrf, base: createCommit.parents[0]!, message: '' });
      assert.equal(staleDelete.statusCode, 409);
      const deleted = await post(`${BASE}/-/delete/guides/renamed-guide.md`, cookies.member!, { _csrf: csrf, base: baseFrom(confirm.body), message: '' });
      assert.equal(deleted.statusCode, 303);
      assert.equal((await get(`${BASE}/guides/renamed-guide`, cookies.member!)).statusCode, 404);
      assert.equal((await repo.readCommit((await repo.headOf(PUBLISHED_BRANCH))!)).message.trim(), 'Delete guides/renamed-guide.md');
    });

    test('saving a classification the author cannot read is refused, as for a push; the text is kept', async () => {
      const { csrf } = await openEditor('member');
      const created = await post(`${BASE}/-/new`, cookies.member!, {
        _csrf: csrf,
        path: 'drafts/secret-plan.md',
        content: '---\ntitle: Secret plan\nclassification: restricted\n---\n\nShh.\n',
        message: '',
      });
      assert.equal(created.statusCode, 403);
      assert.match(created.body, /your role may not change a document classified restricted/);
      assert.match(created.body, /Shh\./);
      assert.equal((await get(`${BASE}/drafts/secret-plan`, cookies.admin!)).statusCode, 404);
    });

    test('the preview returns sanitized HTML from the publishing pipeline and requires the CSRF header', async () => {
      const { csrf } = await openEditor('member');
      const source = '---\ntitle: P\n---\n\n# Heading\n\nHello <script>alert(1)</script> **bold** <img src=x onerror=alert(2)>\n';
      const previewUrl = `${BASE}/-/preview`;
      const ok = await t.app.inject({
        method: 'POST',
        url: previewUrl,
        headers: { cookie: cookies.member!, 'content-type': 'application/json', accept: 'application/json', 'x-csrf-token': csrf },
        payload: { path: DOC_PATH, source },
      });
      assert.equal(ok.statusCode, 200);
      const body = ok.json() as { html: string; errors: unknown[]; title: string };
      assert.match(body.html, /<strong>bold<\/strong>/);
      assert.doesNotMatch(body.html, /<script/i);
      assert.doesNotMatch(body.html, /onerror/i);
      assert.equal(body.title, 'P');
      assert.deepEqual(body.errors, []);

      const noToken = await t.app.inject({
        method: 'POST',
        url: previewUrl,
        headers: { cookie: cookies.member!, 'content-type': 'application/json', accept: 'application/json' },
        payload: { source },
      });
      assert.equal(noToken.statusCode, 403);
      const crossSite = await t.app.inject({
        method: 'POST',
        url: previewUrl,
        headers: { cookie: cookies.member!, 'content-type': 'application/json', origin: 'https://evil.example', 'x-csrf-token': csrf },
        payload: { source },
      });
      assert.equal(crossSite.statusCode, 403);

      const broken = await t.app.inject({
        method: 'POST',
        url: previewUrl,
        headers: { cookie: cookies.member!, 'content-type': 'application/json', 'x-csrf-token': csrf },
        payload: { path: 'x.md', source: '---\nclassification: nope\n---\n' },
      });
      assert.equal((broken.json() as { errors: { line: number }[] }).errors[0]!.line, 2);
      const viewerCsrf = csrfFrom((await get(DOC_URL, cookies.viewer!)).body);
      const viewer = await t.app.inject({
        method: 'POST',
        url: previewUrl,
        headers: { cookie: cookies.viewer!, 'content-type': 'application/json', 'x-csrf-token': viewerCsrf },
        payload: { source },
      });
      assert.equal(viewer.statusCode, 404);
    });

    test('an acknowledged save survives a restart: a new app context on the same data shows it', async () => {
      const { csrf, base, source } = await openEditor('member');
      const res = await post(EDIT_URL, cookies.member!, { _csrf: csrf, base, content: source.replace('How data moves', 'Survives restart'), message: 'restart' });
      assert.equal(res.statusCode, 303);
      // A commit whose publish never ran (as after a crash between the ref update and indexing).
      const repo = await repository();
      const head = (await repo.headOf(PUBLISHED_BRANCH))!;
      const entry = (await repo.listTree(head)).find((e) => e.path === DOC_PATH)!;
      const text = (await repo.readBlob(entry.oid)).toString('utf8');
      await repo.commitFiles({
        branch: PUBLISHED_BRANCH,
        expectedOld: head,
        mode: 'patch',
        changes: [{ path: DOC_PATH, content: text.replace('Survives restart', 'Survives restart and a crash') }],
        author: { name: 'Crash', email: 'crash@acme.test' },
        message: 'unpublished',
      });

      const context = await createAppContext(testConfig(t.dataDir), t.context.db);
      try {
        await reconcileSnapshots(context);
        const { app } = await buildApp(context);
        try {
          const cookie = await login(app, 'viewer@acme.test', 'correct horse battery staple');
          const page: LightMyRequestResponse = await app.inject({ method: 'GET', url: DOC_URL, headers: { cookie } });
          assert.equal(page.statusCode, 200);
          assert.match(page.body, /Survives restart and a crash/);
        } finally {
          await app.close();
        }
      } finally {
        await context.repositories.closeAll();
      }
    });

    /** A page with its per-response ids (request ids, commit ids, CSRF-free) and one path replaced, to compare two answers. */
    const comparable = (res: LightMyRequestResponse, path = '') =>
      (path ? res.body.split(path).join('PATH') : res.body)
        .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, 'ID')
        .replace(/[0-9a-f]{40}/g, 'COMMIT')
        .replace(/nonce="[^"]*"|'nonce-[^']*'/g, 'NONCE');

    test('attack: a stale save answers the same whether the document was deleted or hidden from the author since', async () => {
      const path = 'guides/stale-oracle.md';
      const url = `${BASE}/-/edit/${path}`;
      const { csrf } = await openEditor('member');
      const internal = '---\ntitle: Stale oracle\nclassification: internal\n---\n\nText.\n';
      assert.equal((await post(`${BASE}/-/new`, cookies.member!, { _csrf: csrf, path, content: internal, message: '' })).statusCode, 303);
      const mine = await openEditor('member', url);
      const save = () => post(url, cookies.member!, { _csrf: mine.csrf, base: mine.base, content: `${mine.source}\nMine.\n`, message: 'mine' });
      // it becomes restricted (a restricted document changes on main only through an approved change request:
      // committed here as its merge would be): the member's stale save
      const repo = await repository();
      const commit = async (change: { path: string; content: string } | { path: string; delete: true }, message: string) =>
        repo.commitFiles({ branch: PUBLISHED_BRANCH, expectedOld: await repo.headOf(PUBLISHED_BRANCH), mode: 'patch', changes: [change], author: { name: 'Admin', email: 'admin@acme.test' }, message });
      await commit({ path, content: mine.source.replace('classification: internal', 'classification: restricted') }, 'restrict');
      const hidden = await save();
      // then it is deleted: the same stale save again
      await commit({ path, delete: true }, 'delete');
      const missing = await save();
      assert.equal(hidden.statusCode, 409);
      assert.equal(missing.statusCode, 409);
      assert.equal(comparable(hidden), comparable(missing));
      assert.doesNotMatch(hidden.body, /not visible to you/);
    });

    test('attack: creating a document where a hidden one is, or through it, answers like any other blocked path', async () => {
      const repo = await repository();
      const head = await repo.headOf(PUBLISHED_BRANCH);
      await repo.commitFiles({
        branch: PUBLISHED_BRANCH,
        expectedOld: head,
        mode: 'patch',
        changes: [{ path: 'assets/logo.png', content: Buffer.from('not a document') }],
        author: { name: 'Fixture Bot', email: 'bot@acme.test' },
        message: 'Add a logo',
      });
      const { csrf } = await openEditor('member');
      const create = (path: string) =>
        post(`${BASE}/-/new`, cookies.member!, { _csrf: csrf, path, content: '---\ntitle: Probe\n---\n\nProbe.\n', message: '' });
      const hiddenAt = await create('policies/salary-bands.md'); // restricted: the member may not read it
      const hiddenThrough = await create('policies/salary-bands.md/notes.md');
      const fileThrough = await create('assets/logo.png/notes.md'); // a file that is not a document
      for (const res of [hiddenAt, hiddenThrough, fileThrough]) assert.equal(res.statusCode, 409);
      assert.equal(comparable(hiddenAt, 'policies/salary-bands.md'), comparable(fileThrough, 'assets/logo.png/notes.md'));
      assert.equal(comparable(hiddenThrough, 'policies/salary-bands.md/notes.md'), comparable(fileThrough, 'assets/logo.png/notes.md'));
      assert.doesNotMatch(hiddenAt.body, /already exists|go through/);
      // a document the author may read is named, so the refusal stays useful
      assert.match((await create('policies/data-handling.md')).body, /A document already exists at/);
      assert.match((await create('policies/data-handling.md/notes.md')).body, /would go through the document/);
      // a move onto the hidden document answers like a move onto the file that is not a document
      const move = async (newPath: string) => {
        const renameForm = await get(`${BASE}/-/rename/${DOC_PATH}`, cookies.member!);
        return post(`${BASE}/-/rename/${DOC_PATH}`, cookies.member!, { _csrf: csrf, base: baseFrom(renameForm.body), newPath, message: '' });
      };
      const moveHidden = await move('policies/salary-bands.md');
      const moveFile = await move('assets/logo.png/notes.md');
      assert.equal(moveHidden.statusCode, 409);
      assert.equal(comparable(moveHidden, 'policies/salary-bands.md'), comparable(moveFile, 'assets/logo.png/notes.md'));
      // and an admin, who may read the restricted one, is told it is there
      const adminCsrf = (await openEditor('admin')).csrf;
      const admin = await post(`${BASE}/-/new`, cookies.admin!, { _csrf: adminCsrf, path: 'policies/salary-bands.md', content: '# x\n', message: '' });
      assert.match(admin.body, /A document already exists at/);
    });
  });
}

describe('editor island (CodeMirror bundle)', () => {
  const target = databaseTargets()[0]!;
  let t: TestApp;
  let dispose: () => Promise<void>;
  let cookie: string;

  before(async () => {
    const opened = await target.open();
    dispose = opened.dispose;
    t = await createTestApp(opened.db);
    cookie = await t.login('member@acme.test');
  });
  after(async () => {
    await t.close();
    await dispose();
  });

  const get = (url: string, headers: Record<string, string> = {}) => t.app.inject({ method: 'GET', url, headers: { cookie, ...headers } });
  const scriptOf = (html: string) => {
    const match = /<script type="module" src="([^"]+)" nonce="([^"]+)" data-editor-island="true"><\/script>/.exec(html);
    if (!match) throw new Error('no editor script in page');
    return { href: match[1]!, nonce: match[2]! };
  };

  test('the editor page loads the bundled island from a content-hashed URL, cached for a year', async () => {
    const page = await get(EDIT_URL);
    assert.equal(page.statusCode, 200);
    const { href } = scriptOf(page.body);
    const build = await editorIsland();
    assert.equal(build.bundled, true, `bundled (${build.error ?? ''})`);
    assert.equal(href, build.asset.href);
    assert.notEqual(href, editorPlainScript.href, 'not the plain fallback');

    const asset = await t.app.inject({ method: 'GET', url: href });
    assert.equal(asset.statusCode, 200);
    assert.equal(asset.headers['content-type'], 'text/javascript; charset=utf-8');
    assert.equal(asset.headers['cache-control'], 'public, max-age=31536000, immutable');
    assert.equal(asset.headers['x-content-type-options'], 'nosniff');
    const hash = createHash('sha256').update(asset.rawPayload).digest('hex').slice(0, 12);
    assert.equal(href, `/-/assets/editor.${hash}.js`, 'the URL names the hash of what it serves');
    // One self-contained ES module: CodeMirror inside, no bare imports left for the browser to resolve.
    assert.match(asset.body, /cm-content/);
    assert.doesNotMatch(asset.body, /from\s*["']@codemirror\//);
    assert.ok(asset.rawPayload.length < 600_000, `bundle size ${asset.rawPayload.length}`);
    // Browsers that accept gzip get it (same bytes once inflated); caches keep the two apart.
    assert.equal(asset.headers.vary, 'accept-encoding');
    const zipped = await t.app.inject({ method: 'GET', url: href, headers: { 'accept-encoding': 'gzip, deflate, br' } });
    assert.equal(zipped.headers['content-encoding'], 'gzip');
    assert.equal(zipped.headers['cache-control'], 'public, max-age=31536000, immutable');
    assert.ok(zipped.rawPayload.length < asset.rawPayload.length / 2);
    assert.ok(gunzipSync(zipped.rawPayload).equals(asset.rawPayload));
    const refused = await t.app.inject({ method: 'GET', url: href, headers: { 'accept-encoding': 'gzip;q=0, identity' } });
    assert.equal(refused.headers['content-encoding'], undefined);
    // Anything else under the assets path is a 404, and so is the right name with another hash.
    assert.equal((await t.app.inject({ method: 'GET', url: '/-/assets/editor.000000000000.js' })).statusCode, 404);
    // The plain script stays served (pages rendered before the bundle, or a failed bundle, point at it).
    const plain = await t.app.inject({ method: 'GET', url: editorPlainScript.href });
    assert.equal(plain.statusCode, 200);
    assert.equal(plain.headers['content-type'], 'text/javascript; charset=utf-8');
  });

  test('the editor page allows styles with a fresh nonce (for CodeMirror), never inline scripts; other pages stay strict', async () => {
    const first = await get(EDIT_URL);
    const second = await get(EDIT_URL);
    const policy = String(first.headers['content-security-policy']);
    const { nonce } = scriptOf(first.body);
    assert.match(policy, new RegExp(`(^|; )style-src 'self' 'nonce-${nonce.replace(/[+/]/g, '\\$&')}'(;|$)`));
    assert.match(policy, /(^|; )script-src 'self'(;|$)/);
    assert.doesNotMatch(policy, /unsafe-inline|unsafe-eval/);
    assert.equal(policy.replace(` 'nonce-${nonce}'`, ''), CONTENT_SECURITY_POLICY, 'only the style nonce differs');
    assert.notEqual(scriptOf(second.body).nonce, nonce, 'a new nonce per response');
    assert.ok(Buffer.from(nonce, 'base64').length >= 16, 'at least 128 random bits');

    const reading = await get(DOC_URL);
    assert.equal(reading.headers['content-security-policy'], CONTENT_SECURITY_POLICY);
    assert.doesNotMatch(reading.body, /nonce=/);
  });

  test('a bundle that fails falls back to the plain editor script', async () => {
    const missing = fileURLToPath(new URL('./no-such-island.js', import.meta.url));
    const build = await buildEditorIsland(missing);
    assert.equal(build.bundled, false);
    assert.equal(build.asset, editorPlainScript);
    assert.match(build.error ?? '', /no-such-island/);
  });
});
