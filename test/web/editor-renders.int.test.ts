import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { singleRenderCount } from '../../src/projects/budget-pool.ts';
import { databaseTargets } from '../helpers/databases.ts';
import { createTestApp, csrfFrom, type TestApp } from '../helpers/test-app.ts';

const DOC_URL = '/acme/handbook/policies/data-handling';
const EDIT_URL = '/acme/handbook/-/edit/policies/data-handling.md';

/** Renders (renderWithinBudget) that `work` caused. Tests in a file run one at a time, so nothing else renders meanwhile. */
async function rendersOf<T>(work: () => Promise<T>): Promise<{ result: T; renders: number }> {
  const before = singleRenderCount();
  const result = await work();
  return { result, renders: singleRenderCount() - before };
}

// One database is enough: what is counted is rendering, not SQL.
const target = databaseTargets()[0]!;
describe(`renders of a browser edit (${target.name})`, () => {
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

  const open = () => t.app.inject({ method: 'GET', url: EDIT_URL, headers: { cookie } });
  const save = (body: string, fields: Record<string, string>) =>
    t.app.inject({
      method: 'POST',
      url: EDIT_URL,
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ _csrf: csrfFrom(body), message: 'm', ...fields }).toString(),
    });
  const baseOf = (body: string) => /name="base" value="([0-9a-f]{40})"/.exec(body)![1]!;

  test('opening the editor renders the document once (its preview); the title comes from the published snapshot', async () => {
    const { result, renders } = await rendersOf(open);
    assert.equal(result.statusCode, 200);
    assert.match(result.body, /<title>Edit: Data handling · /);
    assert.equal(renders, 1);
  });

  test('a save renders the changed document once (to publish it), and its page after the save renders nothing', async () => {
    const page = await open();
    const content = '---\ntitle: Data handling\n---\n# Data handling\n\nRendered once.\n';
    const { result, renders } = await rendersOf(() => save(page.body, { base: baseOf(page.body), content }));
    assert.equal(result.statusCode, 303);
    assert.equal(renders, 1);
    const shown = await rendersOf(() => t.app.inject({ method: 'GET', url: DOC_URL, headers: { cookie } }));
    assert.match(shown.result.body, /Rendered once\./);
    assert.equal(shown.renders, 0);
  });

  test('a save sent back (stale base) renders the author\'s text once, for its preview and title', async () => {
    const page = await open();
    const stale = 'f'.repeat(40);
    const content = '---\ntitle: Mine\n---\nMy text.\n';
    const { result, renders } = await rendersOf(() => save(page.body, { base: stale, content }));
    assert.equal(result.statusCode, 409);
    assert.match(result.body, /<title>Conflict: Mine · /);
    assert.equal(renders, 1);
  });
});
