import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createToken } from '../../src/auth/tokens.ts';
import { withOrg } from '../../src/db/connection.ts';
import { databaseTargets } from '../helpers/databases.ts';
import { gitClient } from '../helpers/git-client.ts';
import { createTestApp, csrfFrom, type TestApp } from '../helpers/test-app.ts';

const EDIT_URL = '/acme/handbook/-/edit/policies/data-handling.md';
const SETTINGS = { require_mfa: 'none', session_idle_minutes: '', session_absolute_minutes: '', access_grant_max_minutes: '1440', ack_due_days: '14', image_hosts: '' };

/** The textarea's text as the browser would read it. */
function textareaFrom(html: string): string {
  const match = /<textarea[^>]*name="content"[^>]*>([\s\S]*?)<\/textarea>/.exec(html);
  if (!match) throw new Error('no textarea in page');
  return match[1]!.replace(/^\n/, '').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');
}

for (const target of databaseTargets()) {
  describe(`refusing changes that add broken links, by organization setting (${target.name})`, () => {
    let t: TestApp;
    let dispose: () => Promise<void>;
    let home: string;
    let dir: string;
    let acmeId: string;
    const cookies: Record<string, string> = {};

    before(async () => {
      const opened = await target.open();
      dispose = opened.dispose;
      t = await createTestApp(opened.db);
      await t.app.listen({ port: 0, host: '127.0.0.1' });
      const port = (t.app.server.address() as AddressInfo).port;
      acmeId = (await t.context.db.selectFrom('organizations').select('id').where('slug', '=', 'acme').executeTakeFirstOrThrow()).id;
      const user = await t.context.db.selectFrom('users').select('id').where('email', '=', 'admin@acme.test').executeTakeFirstOrThrow();
      const { token } = await createToken(t.context.db, { userId: user.id, name: 'push', scopes: ['write'] });
      home = mkdtempSync(join(tmpdir(), 'docucommit-link-refusal-'));
      dir = join(home, 'work');
      const clone = await gitClient(home, ['clone', `http://x-token:${token}@127.0.0.1:${port}/acme/handbook.git`, dir]);
      assert.equal(clone.code, 0, clone.stderr);
      for (const role of ['owner', 'admin', 'member']) cookies[role] = await t.login(`${role}@acme.test`);
    });
    after(async () => {
      await t.close();
      await dispose();
      rmSync(home, { recursive: true, force: true });
    });

    const get = (url: string, cookie: string) => t.app.inject({ method: 'GET', url, headers: { cookie } });
    const post = (url: string, cookie: string, fields: Record<string, string>) =>
      t.app.inject({ method: 'POST', url, headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams(fields).toString() });
    const setRefusal = async (on: boolean) => {
      const csrf = csrfFrom((await get('/', cookies.owner!)).body);
      const res = await post('/acme/-/settings', cookies.owner!, { ...SETTINGS, ...(on ? { refuse_broken_links: 'yes' } : {}), _csrf: csrf });
      assert.equal(res.statusCode, 303, res.body.slice(0, 400));
    };
    const head = async () => (await gitClient(home, ['ls-remote', 'origin', 'refs/heads/main'], dir)).stdout.split('\t')[0];
    const commitAndPush = async (message: string) => {
      assert.equal((await gitClient(home, ['add', '-A'], dir)).code, 0);
      assert.equal((await gitClient(home, ['commit', '-qm', message], dir)).code, 0);
      return gitClient(home, ['push', 'origin', 'HEAD:main'], dir);
    };
    /** Open the editor of data-handling.md as `role`, append `extra` to its text and save. */
    async function saveWith(role: string, extra: string) {
      const page = await get(EDIT_URL, cookies[role]!);
      assert.equal(page.statusCode, 200);
      const base = /name="base" value="([0-9a-f]{40})"/.exec(page.body)![1]!;
      const content = `${textareaFrom(page.body)}\n${extra}\n`;
      const res = await post(EDIT_URL, cookies[role]!, { _csrf: csrfFrom(page.body), base, content, message: 'Edit' });
      return { res, content };
    }

    test('the setting is off by default, shown on the settings page, and its change is audited', async () => {
      const page = await get('/acme/-/settings', cookies.owner!);
      assert.match(page.body, /<input type="checkbox" name="refuse_broken_links" value="yes"(?![^>]*checked)/);
      await setRefusal(true);
      assert.match((await get('/acme/-/settings', cookies.owner!)).body, /name="refuse_broken_links" value="yes" checked/);
      const row = await t.context.db.selectFrom('organizations').select('refuse_broken_links').where('id', '=', acmeId).executeTakeFirstOrThrow();
      assert.equal(row.refuse_broken_links, true);
      const events = await withOrg(t.context.db, acmeId, (trx) =>
        trx.selectFrom('audit_events').select('details').where('org_id', '=', acmeId).where('action', '=', 'settings.changed').execute(),
      );
      const details = events.map((e) => (typeof e.details === 'string' ? JSON.parse(e.details) : e.details) as Record<string, unknown>);
      assert.ok(details.some((d) => d.refuse_broken_links_from === 'off' && d.refuse_broken_links_to === 'on'), JSON.stringify(details));
    });

    test('on: a push adding a broken link is refused with file:line: message lines, and nothing moves', async () => {
      await setRefusal(true);
      const before = await head();
      writeFileSync(join(dir, 'policies/new-policy.md'), '# New policy\n\nSee [gone](gone.md).\n\n![Chart](chart.png)\n');
      const push = await commitAndPush('Add a policy with broken links');
      assert.notEqual(push.code, 0, 'push refused');
      assert.match(push.stderr, /remote: DocuCommit refused this push: this organization refuses changes that add broken links, and it adds 2 problems:/);
      assert.match(push.stderr, /remote: +policies\/new-policy\.md:3: link gone\.md leads to a page that does not exist/);
      assert.match(push.stderr, /remote: +policies\/new-policy\.md:5: image chart\.png does not exist/);
      assert.equal(await head(), before, 'the branch did not move');
      const page = await get('/acme/handbook/policies/new-policy', cookies.admin!);
      assert.equal(page.statusCode, 404);
      // the project's existing problems (data-handling.md's missing-page.md) do not refuse a push that adds none
      writeFileSync(join(dir, 'policies/new-policy.md'), '# New policy\n\nSee [data handling](data-handling.md).\n');
      const fixed = await commitAndPush('Fix the links');
      assert.equal(fixed.code, 0, fixed.stderr);
      assert.doesNotMatch(fixed.stderr, /refused|link check/);
    });

    test('off: the same kind of push is accepted, with the problems as warnings', async () => {
      await setRefusal(false);
      writeFileSync(join(dir, 'policies/other.md'), '# Other\n\nSee [gone](gone.md).\n');
      const push = await commitAndPush('Another page with a broken link');
      assert.equal(push.code, 0, push.stderr);
      assert.match(push.stderr, /remote: DocuCommit link check: 1 problem in this push \(it was accepted\):/);
      assert.match(push.stderr, /remote: +policies\/other\.md:3: link gone\.md leads to a page that does not exist/);
    });

    test('on: an editor save adding a broken link is refused with the same message, the text kept; without one it saves', async () => {
      await setRefusal(true);
      const { res, content } = await saveWith('admin', 'Also see [the archive](archive/old.md).');
      assert.equal(res.statusCode, 403);
      assert.match(res.body, /this organization refuses changes that add broken links/);
      assert.match(res.body, /policies\/data-handling\.md:\d+: link archive\/old\.md leads to a page that does not exist/);
      assert.equal(textareaFrom(res.body), content, 'the author keeps their text');
      const page = await get('/acme/handbook/policies/data-handling', cookies.admin!);
      assert.doesNotMatch(page.body, /the archive/, 'nothing was saved');
      // the document's own old problem (missing-page.md) is not new: a save that adds nothing broken goes through
      const ok = await saveWith('admin', 'Also see [the runbook](incident-response.md).');
      assert.equal(ok.res.statusCode, 303, ok.res.body.slice(0, 400));
    });

    test('on: a document the editor may not read is missing for them, with the answer of a page that does not exist', async () => {
      await setRefusal(true);
      // incident-response.md is confidential: a member's link to it is refused exactly like one to nothing
      // (written ./…: the same href as a problem the document already has is that problem, not a new one)
      const hidden = await saveWith('member', 'Member link to [the runbook](./incident-response.md).');
      const missing = await saveWith('member', 'Member link to [the runbook](./no-such-runbook.md).');
      assert.equal(hidden.res.statusCode, 403);
      assert.equal(missing.res.statusCode, 403);
      const message = (body: string) => /<div class="form-error editor-errors"[\s\S]*?<\/div>/.exec(body)![0];
      assert.equal(message(hidden.res.body).replace('incident-response.md', 'X'), message(missing.res.body).replace('no-such-runbook.md', 'X'));
      assert.doesNotMatch(hidden.res.body, /Incident response runbook|has no heading/);
    });

    test('on: moving or deleting a document others link to is refused (the same rule), and it stays', async () => {
      await setRefusal(true);
      const target = 'policies/incident-response.md';
      for (const kind of ['delete', 'rename'] as const) {
        const form = await get(`/acme/handbook/-/${kind}/${target}`, cookies.admin!);
        assert.equal(form.statusCode, 200);
        const base = /name="base" value="([0-9a-f]{40})"/.exec(form.body)![1]!;
        const fields = { _csrf: csrfFrom(form.body), base, message: `${kind} it`, ...(kind === 'rename' ? { newPath: 'policies/runbook.md' } : {}) };
        const res = await post(`/acme/handbook/-/${kind}/${target}`, cookies.admin!, fields);
        assert.equal(res.statusCode, 403, `${kind}: ${res.statusCode}`);
        assert.match(res.body, /this organization refuses changes that add broken links/);
        assert.match(res.body, /policies\/data-handling\.md:\d+: link incident-response\.md#triage leads to a page that does not exist/);
        assert.equal((await get('/acme/handbook/policies/incident-response', cookies.admin!)).statusCode, 200, `${kind}: still there`);
      }
    });

    test('off: the editor saves a broken link (the problems page lists it)', async () => {
      await setRefusal(false);
      const { res } = await saveWith('admin', 'And [the archive](archive/old.md).');
      assert.equal(res.statusCode, 303);
    });
  });
}
