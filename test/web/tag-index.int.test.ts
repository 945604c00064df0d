import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { databaseTargets } from '../helpers/databases.ts';
import { createTestApp, type TestApp } from '../helpers/test-app.ts';

/** `tag (n documents)` pairs of a tag index page, in page order. */
const tagsOf = (html: string) => [...html.matchAll(/<a class="tag" href="[^"]*">([^<]*)<\/a> <span class="entry-meta">(\d+) documents?<\/span>/g)].map((m) => `${m[1]} ${m[2]}`);

for (const target of databaseTargets()) {
  describe(`the tag index (${target.name})`, () => {
    let t: TestApp;
    let dispose: () => Promise<void>;
    before(async () => {
      const opened = await target.open();
      dispose = opened.dispose;
      t = await createTestApp(opened.db);
    });
    after(async () => {
      await t.close();
      await dispose();
    });
    const get = async (cookie?: string) => t.app.inject({ method: 'GET', url: '/acme/handbook/-/tags', headers: cookie ? { cookie } : {} });

    test('lists every tag with the number of documents the reader may read, and no tag of hidden ones', async () => {
      const viewer = await get(await t.login('viewer@acme.test'));
      assert.equal(viewer.statusCode, 200);
      assert.deepEqual(tagsOf(viewer.body), ['compliance 1', 'news 2', 'policy 1', 'trust 1']);
      const admin = await get(await t.login('admin@acme.test'));
      assert.deepEqual(tagsOf(admin.body), ['compliance 1', 'hr 2', 'news 2', 'policy 3', 'trust 1']);
    });

    test('an anonymous reader, like a member of another organization, sees the public documents’ tags only', async () => {
      assert.deepEqual(tagsOf((await get()).body), ['trust 1']);
      assert.deepEqual(tagsOf((await get(await t.login('member@globex.test'))).body), ['trust 1']);
    });
  });
}
