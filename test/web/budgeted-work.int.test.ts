import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Repository } from '../../src/git/repository.ts';
import { setBudgets } from '../../src/projects/budget-pool.ts';
import { findProject, type ProjectRecord } from '../../src/projects/projects.ts';
import { databaseTargets } from '../helpers/databases.ts';
import { createTestApp, type TestApp } from '../helpers/test-app.ts';

const BASE = '/acme/handbook/-';
const LINES = 20_000;

const header = (title: string) => `---\ntitle: ${title}\nclassification: internal\n---\n\n`;
/** 20,000 lines (list items), every one different in the two versions. */
const bigVersion = (word: string) => header('Big') + Array.from({ length: LINES }, (_, i) => `- Item ${i} ${word} ${i * 7}`).join('\n') + '\n';
/** ~5 MB: a table of 20,000 columns (rendering it takes more than a second). */
function wideTable(): string {
  const row = (cell: (column: number) => string) => `|${Array.from({ length: 20_000 }, (_, c) => ` ${cell(c)} `).join('|')}|`;
  const lines = [row((c) => `h${c}`), row(() => '---')];
  for (let r = 0; r < 23; r++) lines.push(row((c) => `${r}x${c}`));
  return `${header('Wide table')}${lines.join('\n')}\n`;
}

for (const target of databaseTargets()) {
  describe(`large documents never hold the server (${target.name})`, () => {
    let t: TestApp;
    let dispose: () => Promise<void>;
    let project: ProjectRecord;
    let repository: Repository;
    let viewer: string;
    let origin: string;

    async function commit(path: string, content: string, message: string): Promise<string> {
      const head = await repository.headOf('main');
      const result = await repository.commitFiles({
        branch: 'main',
        expectedOld: head,
        mode: 'patch',
        changes: [{ path, content }],
        author: { name: 'Bob', email: 'bob@acme.test' },
        message,
      });
      return result.commit!;
    }

    /**
     * Runs `work`; the moment git hands over the blob `oid` (the work's heavy part comes next), another request
     * goes to the server over a real socket. With `doneAt`, the heavy part counts as done when git is next asked
     * for a commit (the version page reads its commit after rendering the version); otherwise when `work` is.
     * Returns the order in which the heavy part and the other request finished.
     */
    async function raceAgainstOtherRequest<T>(oid: string, work: () => Promise<T>, doneAt?: 'next-commit-read'): Promise<{ order: string[]; result: T; other: number }> {
      const order: string[] = [];
      let other: Promise<number> | null = null;
      const readBlob = repository.readBlob.bind(repository);
      const readCommit = repository.readCommit.bind(repository);
      repository.readCommit = (id: string) => {
        if (doneAt === 'next-commit-read' && other !== null && !order.includes('work')) order.push('work');
        return readCommit(id);
      };
      repository.readBlob = async (id: string) => {
        const blob = await readBlob(id);
        if (id === oid && other === null) {
          other = fetch(`${origin}/favicon.ico`).then(async (res) => {
            await res.arrayBuffer();
            order.push('other');
            return res.status;
          });
        }
        return blob;
      };
      try {
        const result = await work();
        if (!order.includes('work')) order.push('work');
        // assigned inside the callback above, which the type checker does not follow
        const otherRequest = other as Promise<number> | null;
        assert.ok(otherRequest, 'the heavy part was reached');
        return { order, result, other: await otherRequest };
      } finally {
        repository.readBlob = readBlob;
        repository.readCommit = readCommit;
      }
    }

    before(async () => {
      const opened = await target.open();
      dispose = opened.dispose;
      t = await createTestApp(opened.db);
      viewer = await t.login('viewer@acme.test');
      project = (await findProject(opened.db, 'acme', 'handbook'))!;
      repository = await t.context.repositories.get(project);
      await t.app.listen({ port: 0, host: '127.0.0.1' });
      origin = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    });
    after(async () => {
      setBudgets();
      await t.close();
      await dispose();
    });

    const get = (url: string) => t.app.inject({ method: 'GET', url, headers: { cookie: viewer } });

    test('a compare of two 20,000-line versions, every line changed, lets another request through first', async () => {
      const v1 = await commit('big.md', bigVersion('before'), 'Big v1');
      await t.context.publisher.publish(project);
      const v2 = await commit('big.md', bigVersion('after'), 'Big v2');
      await t.context.publisher.publish(project);
      const oldBlob = (await repository.listTree((await repository.readCommit(v1)).tree)).find((e) => e.path === 'big.md')!.oid;

      const { order, result: res, other } = await raceAgainstOtherRequest(oldBlob, () => get(`${BASE}/compare/${v1}..${v2}/big.md`));
      assert.equal(other, 200);
      assert.deepEqual(order, ['other', 'work'], 'the other request answered while the compare was being worked out');
      assert.equal(res.statusCode, 200);
      // the diff, or the page saying it is too large, with the versions and their sources
      if (/Too large to compare/.test(res.body)) {
        for (const [commit, marker] of [[v1, 'Item 19999 before'], [v2, 'Item 19999 after']] as const) {
          assert.match(res.body, new RegExp(`href="/acme/handbook/-/blob/${commit}/big.md"`));
          assert.match(res.body, new RegExp(`href="/acme/handbook/-/raw/${commit}/big.md" download`));
          const raw = await get(`${BASE}/raw/${commit}/big.md`);
          assert.equal(raw.statusCode, 200);
          assert.ok(raw.body.includes(marker));
        }
      } else {
        assert.match(res.body, /class="diff-line diff-added"/);
        assert.match(res.body, /Item 19999 after/);
      }
    });

    test('when the compare takes longer than its budget, the page offers both versions and their sources', async () => {
      setBudgets({ compareMs: 1 });
      try {
        const v1 = await commit('big2.md', bigVersion('one'), 'Big2 v1');
        const v2 = await commit('big2.md', bigVersion('two'), 'Big2 v2');
        await t.context.publisher.publish(project);
        const res = await get(`${BASE}/compare/${v1}..${v2}/big2.md`);
        assert.equal(res.statusCode, 200);
        assert.match(res.body, /Too large to compare/);
        assert.doesNotMatch(res.body, /diff-line/);
        for (const [commit, source] of [[v1, bigVersion('one')], [v2, bigVersion('two')]] as const) {
          const version = res.body.match(new RegExp(`href="(/acme/handbook/-/blob/${commit}/big2.md)"`))?.[1];
          const download = res.body.match(new RegExp(`href="(/acme/handbook/-/raw/${commit}/big2.md)" download`))?.[1];
          assert.ok(version && download);
          assert.equal((await get(version)).statusCode, 200);
          const raw = await get(download);
          assert.equal(raw.statusCode, 200);
          assert.match(String(raw.headers['content-disposition']), /^attachment; filename="big2-[0-9a-f]{8}\.md"/);
          assert.equal(raw.body, source);
        }
      } finally {
        setBudgets();
      }
    });

    test('a pushed 5 MB table of 20,000 columns is published and viewed as too large to render, with its source', async () => {
      // The table takes ~1.3 s to render on a fast machine (and more elsewhere): a budget well under that, so the
      // test does not depend on the machine's speed (1.5 s passed on slower machines and not on a faster one).
      setBudgets({ publishRenderMs: 400, viewRenderMs: 400 });
      try {
        const source = wideTable();
        const pushed = await commit('wide.md', source, 'Add the wide table');
        const blob = (await repository.listTree((await repository.readCommit(pushed)).tree)).find((e) => e.path === 'wide.md')!.oid;

        await t.context.publisher.publish(project);

        // the reading page: the notice, the front matter's title and a download of the source
        const page = await get('/acme/handbook/wide');
        assert.equal(page.statusCode, 200);
        assert.match(page.body, /Wide table/);
        assert.match(page.body, /too large to render/);
        assert.match(page.body, new RegExp(`href="/acme/handbook/-/raw/${pushed}/wide.md" download`));

        // its version page (rendered by the history, in a worker, within the viewer's budget)
        const view = await raceAgainstOtherRequest(blob, () => get(`${BASE}/blob/${pushed}/wide.md`), 'next-commit-read');
        assert.deepEqual(view.order, ['other', 'work'], 'another request answered while the version was rendered');
        assert.equal(view.result.statusCode, 200);
        assert.match(view.result.body, /too large to render/);
        const download = view.result.body.match(/href="([^"]*\/-\/raw\/[0-9a-f]{40}\/wide\.md)" download/)?.[1];
        assert.ok(download);
        const raw = await get(download);
        assert.equal(raw.statusCode, 200);
        assert.equal(raw.headers['content-type'], 'text/markdown; charset=utf-8');
        assert.equal(raw.body, source);
      } finally {
        setBudgets();
      }
    });

    test('a version download follows the version page: 404 for a reader who may not read it, sign-in for anonymous', async () => {
      const open = '---\ntitle: Open\nclassification: internal\n---\n\nOPEN-TEXT\n';
      const opened = await commit('plans/open.md', open, 'Add an open plan');
      const secret = await commit('plans/secret.md', '---\ntitle: Secret\nclassification: restricted\n---\n\nSECRET-TEXT\n', 'Add a secret');
      await t.context.publisher.publish(project);
      const readable = await get(`${BASE}/raw/${opened}/plans/open.md`);
      assert.equal(readable.statusCode, 200);
      assert.equal(readable.body, open);
      const res = await get(`${BASE}/raw/${secret}/plans/secret.md`);
      assert.equal(res.statusCode, 404);
      assert.doesNotMatch(res.body, /SECRET-TEXT/);
      assert.equal((await get(`${BASE}/raw/${secret}/plans/missing.md`)).statusCode, 404);
      const anonymous = await t.app.inject({ method: 'GET', url: `${BASE}/raw/${secret}/big.md` });
      assert.notEqual(anonymous.statusCode, 200);
    });
  });
}
