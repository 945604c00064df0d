import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { findProject, type ProjectRecord } from '../../src/projects/projects.ts';
import { databaseTargets } from '../helpers/databases.ts';
import { createTestApp, csrfFrom, type TestApp } from '../helpers/test-app.ts';

// Issue #10 item 4 (and 14 in the editor): the editor, restore and move obey the rules of the push checks
// (changes/change-rules.ts). A member may not make a document public, by any of them.
const doc = (title: string, classification: string, body: string) => `---\ntitle: ${title}\nclassification: ${classification}\n---\n\n${body}\n`;

for (const target of databaseTargets()) {
  describe(`change rules in the browser (${target.name})`, () => {
    let t: TestApp;
    let dispose: () => Promise<void>;
    let project: ProjectRecord;
    const cookies: Record<string, string> = {};

    async function commit(changes: { path: string; content: string }[], message: string): Promise<string> {
      const repository = await t.context.repositories.get(project);
      const result = await repository.commitFiles({
        branch: 'main',
        expectedOld: await repository.headOf('main'),
        mode: 'patch',
        changes,
        author: { name: 'Manager', email: 'manager@acme.test' },
        message,
      });
      await t.context.publisher.publish(project);
      return result.commit!;
    }

    before(async () => {
      const opened = await target.open();
      dispose = opened.dispose;
      t = await createTestApp(opened.db);
      for (const role of ['manager', 'member']) cookies[role] = await t.login(`${role}@acme.test`);
      project = (await findProject(opened.db, 'acme', 'handbook'))!;
    });
    after(async () => {
      await t.close();
      await dispose();
    });

    const get = (url: string, cookie?: string) => t.app.inject({ method: 'GET', url, headers: cookie ? { cookie } : {} });
    const post = (url: string, cookie: string, fields: Record<string, string>) =>
      t.app.inject({
        method: 'POST',
        url,
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams(fields).toString(),
      });
    const head = async () => (await t.context.repositories.get(project)).headOf('main');
    const editForm = async (path: string, cookie: string) => {
      const page = await get(`/acme/handbook/-/edit/${path}`, cookie);
      assert.equal(page.statusCode, 200);
      return { csrf: csrfFrom(page.body), base: /name="base" value="([0-9a-f]{40})"/.exec(page.body)![1]! };
    };

    test('a member saving "classification: public" is refused with the text kept; the document stays unreadable anonymously', async () => {
      const path = 'policies/data-handling.md';
      const { csrf, base } = await editForm(path, cookies.member!);
      const res = await post(`/acme/handbook/-/edit/${path}`, cookies.member!, {
        _csrf: csrf,
        base,
        content: doc('Data handling', 'public', 'MEMBER-MADE-PUBLIC'),
        message: '',
      });
      assert.equal(res.statusCode, 403);
      assert.match(res.body, /your role may not lower the classification from internal to public/);
      assert.match(res.body, /MEMBER-MADE-PUBLIC/);
      assert.equal(await head(), base);
      assert.equal((await get('/acme/handbook/policies/data-handling')).statusCode !== 200, true);

      // a manager may declassify
      const manager = await editForm(path, cookies.manager!);
      const ok = await post(`/acme/handbook/-/edit/${path}`, cookies.manager!, {
        _csrf: manager.csrf,
        base: manager.base,
        content: doc('Data handling', 'public', 'MANAGER-MADE-PUBLIC'),
        message: '',
      });
      assert.equal(ok.statusCode, 303);
      assert.match((await get('/acme/handbook/policies/data-handling')).body, /MANAGER-MADE-PUBLIC/);
    });

    test('a member restoring an old public version of an internal document is refused', async () => {
      const path = 'news/launch-plan.md';
      const open = await commit([{ path, content: doc('Launch plan', 'public', 'OLD-PUBLIC-TEXT') }], 'Add launch plan');
      await commit([{ path, content: doc('Launch plan', 'internal', 'NOW-INTERNAL-TEXT') }], 'Make launch plan internal');
      const before = await head();
      const history = await get(`/acme/handbook/-/history/${path}`, cookies.member);
      assert.equal(history.statusCode, 200);
      const res = await post(`/acme/handbook/-/restore/${open}/${path}`, cookies.member!, { _csrf: csrfFrom(history.body), reason: 'Go back to the public text' });
      assert.equal(res.statusCode, 403);
      assert.equal(await head(), before);
      assert.notEqual((await get('/acme/handbook/news/launch-plan')).statusCode, 200);
    });

    test('a move obeys the same rules: a document whose front matter a push would refuse cannot be moved either', async () => {
      // a header after a blank line: an error at its line, and the document fails closed (restricted)
      const path = 'guides/spaced.md';
      await commit([{ path, content: `\n${doc('Spaced', 'internal', 'SPACED-TEXT')}` }], 'Add spaced');
      assert.notEqual((await get('/acme/handbook/guides/spaced', cookies.manager)).statusCode, 200);
      const admin = await t.login('admin@acme.test');
      const form = await get(`/acme/handbook/-/rename/${path}`, admin);
      assert.equal(form.statusCode, 200);
      const before = await head();
      const res = await post(`/acme/handbook/-/rename/${path}`, admin, {
        _csrf: csrfFrom(form.body),
        base: before!,
        newPath: 'guides/moved.md',
        message: '',
      });
      assert.equal(res.statusCode, 400);
      assert.match(res.body, /guides\/moved\.md:2: front matter must start on the first line/);
      assert.equal(await head(), before);
    });

    test('saving front matter after a blank line is refused, naming the file and line', async () => {
      const path = 'policies/data-handling.md';
      const { csrf, base } = await editForm(path, cookies.manager!);
      const res = await post(`/acme/handbook/-/edit/${path}`, cookies.manager!, {
        _csrf: csrf,
        base,
        content: `\n\n${doc('Data handling', 'restricted', 'Text.')}`,
        message: '',
      });
      assert.equal(res.statusCode, 400);
      assert.match(res.body, /policies\/data-handling\.md:3<\/code>: front matter must start on the first line/);
      assert.equal(await head(), base);
    });
  });
}
