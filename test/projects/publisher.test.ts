import { BranchMoves } from '../../src/changes/branch-moves.ts';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CLASSIFICATIONS, type Classification } from '../../src/content/types.ts';
import type { Db } from '../../src/db/connection.ts';
import { ensureOrganization } from '../../src/organizations/organizations.ts';
import { projectHtmlDir } from '../../src/projects/html-packs.ts';
import { importFolder } from '../../src/projects/import-folder.ts';
import { ensureProject, type ProjectRecord } from '../../src/projects/projects.ts';
import { gitBlobId, PUBLISHED_BRANCH, Publisher } from '../../src/projects/publisher.ts';
import { PARALLEL_THRESHOLD } from '../../src/projects/render-pool.ts';
import { RepositoryRegistry } from '../../src/projects/repositories.ts';
import type { Snapshot } from '../../src/projects/snapshot.ts';
import { asDatabaseOwner, databaseTargets } from '../helpers/databases.ts';

const author = { name: 'Test', email: 'test@example.test' };

const doc = (title: string, options: { classification?: Classification; tags?: string[]; body?: string; sort?: number } = {}) =>
  `---\ntitle: ${title}\nclassification: ${options.classification ?? 'internal'}\n` +
  (options.tags ? `tags: [${options.tags.join(', ')}]\n` : '') +
  (options.sort !== undefined ? `sort: ${options.sort}\n` : '') +
  `---\n\n${options.body ?? `Text of ${title}. See [other](other.md).`}\n`;

/** Everything a reader can observe of a snapshot, per clearance, in a comparable form. */
function observable(snapshot: Snapshot) {
  const views = Object.fromEntries(
    CLASSIFICATIONS.map((clearance) => {
      const view = snapshot.viewFor(clearance);
      return [
        clearance,
        {
          nav: view.nav,
          documents: [...view.documents.values()].map((d) => [d.path, d.blobId, d.meta]),
          tags: [...view.tags.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([tag, docs]) => [tag, docs.map((d) => d.path)]),
          folders: [...view.folders].sort(),
        },
      ];
    }),
  );
  return {
    commit: snapshot.commit,
    tree: snapshot.tree,
    documents: [...snapshot.documents.entries()].map(([path, d]) => [path, d.blobId, d.meta]),
    brokenLinks: [...snapshot.brokenLinks.entries()].sort(([a], [b]) => (a < b ? -1 : 1)),
    views,
  };
}

for (const target of databaseTargets()) {
  describe(`publisher (${target.name})`, () => {
    let db: Db;
    let dispose: () => Promise<void>;
    let dir: string;
    let repositories: RepositoryRegistry;
    let publisher: Publisher;
    let project: ProjectRecord;

    before(async () => {
      ({ db, dispose } = await target.open());
      dir = mkdtempSync(join(tmpdir(), 'docucommit-publisher-'));
      repositories = new RepositoryRegistry(join(dir, 'repos'));
      publisher = new Publisher(db, repositories, join(dir, 'rendered'));
      const org = await ensureOrganization(db, 'acme');
      ({ project } = await ensureProject(db, { orgId: org.id, slug: 'handbook' }));
    });
    after(async () => {
      await repositories.closeAll();
      await dispose();
      rmSync(dir, { recursive: true, force: true });
    });

    async function commit(changes: ({ path: string; content: string } | { path: string; delete: true })[]) {
      const repository = await repositories.get(project);
      const head = await repository.resolveCommit(`refs/heads/${PUBLISHED_BRANCH}`);
      await repository.commitFiles({
        branch: PUBLISHED_BRANCH,
        expectedOld: head,
        mode: head ? 'patch' : 'replace-all',
        changes: changes.map((c) => ('delete' in c ? c : { path: c.path, content: Buffer.from(c.content) })),
        author,
        message: 'change',
      });
    }

    /** Publish incrementally, then check the result against a full build by a fresh publisher (a restart). */
    async function publishAndCompare(): Promise<Snapshot> {
      const before = publisher.snapshotOf(project.id);
      // Build some views on the previous snapshot, as readers would, so they are carried over.
      before?.viewFor('internal');
      before?.viewFor('public');
      void before?.brokenLinks;
      const incremental = await publisher.publish(project);
      const fresh = new Publisher(db, repositories, join(dir, 'rendered'));
      const full = await fresh.publish(project);
      assert.deepEqual(observable(incremental), observable(full));
      return incremental;
    }

    test('an incremental publish equals a full build after edits, additions, deletions and reclassifications', async () => {
      await commit([
        { path: 'index.md', content: doc('Home', { classification: 'public' }) },
        { path: 'other.md', content: doc('Other', { tags: ['a', 'b'] }) },
        { path: 'policies/index.md', content: doc('Policies', { sort: 1 }) },
        { path: 'policies/one.md', content: doc('One', { tags: ['a'] }) },
        { path: 'policies/two.md', content: doc('Two', { classification: 'confidential', tags: ['b'] }) },
        { path: 'news/2024/post.md', content: '---\ntitle: Post\ndate: 2024-05-01\n---\n\n[missing](gone.md)\n' },
        { path: 'notes.txt', content: 'not a document' },
      ]);
      const first = await publisher.publish(project);
      assert.equal(first.documents.size, 6);

      // body edit only: views are carried over
      await commit([{ path: 'policies/one.md', content: doc('One', { tags: ['a'], body: 'New text, [broken](nowhere.md).' }) }]);
      const edited = await publishAndCompare();
      assert.match(JSON.stringify(edited.brokenLinks.get('policies/one.md')), /nowhere\.md/);

      // title and tag change
      await commit([{ path: 'policies/one.md', content: doc('One renamed', { tags: ['c'] }) }]);
      await publishAndCompare();

      // reclassification down and up
      await commit([{ path: 'policies/two.md', content: doc('Two', { classification: 'public', tags: ['b'] }) }]);
      await publishAndCompare();
      await commit([{ path: 'policies/two.md', content: doc('Two', { classification: 'restricted', tags: ['b'] }) }]);
      await publishAndCompare();

      // addition (fixes a broken link), deletion, a non-document change
      await commit([
        { path: 'news/2024/gone.md', content: doc('Gone no more') },
        { path: 'other.md', delete: true },
        { path: 'notes.txt', content: 'still not a document' },
      ]);
      const changed = await publishAndCompare();
      assert.equal(changed.documents.has('other.md'), false);
      assert.equal(changed.brokenLinks.get('news/2024/post.md'), undefined);

      // invalid front matter fails closed
      await commit([{ path: 'policies/one.md', content: '---\ntitle: [unclosed\n---\n\nBody\n' }]);
      const invalid = await publishAndCompare();
      assert.equal(invalid.documents.get('policies/one.md')!.meta.classification, 'restricted');
      assert.equal(invalid.viewFor('internal').documents.has('policies/one.md'), false);

      // same tree again (an empty commit): nothing to do but a new commit id
      const repository = await repositories.get(project);
      const head = (await repository.resolveCommit(`refs/heads/${PUBLISHED_BRANCH}`))!;
      assert.equal((await publisher.publish(project)).commit, head);
    });

    test('HTML lives in packs; a pack lost, cut short or never written is rendered again from git', async () => {
      await commit([
        { path: 'packs/a.md', content: doc('Pack A', { body: 'Alpha text.' }) },
        { path: 'packs/b.md', content: doc('Pack B', { body: 'Bravo text.' }) },
      ]);
      const snapshot = await publisher.publish(project);
      const a = snapshot.documents.get('packs/a.md')!;
      const b = snapshot.documents.get('packs/b.md')!;
      const rowOf = (d: typeof a) =>
        asDatabaseOwner(db, (trx) =>
          trx
            .selectFrom('rendered_documents')
            .select(['html_pack', 'html_offset', 'html_length'])
            .where('project_id', '=', project.id)
            .where('path', '=', d.path)
            .where('blob_id', '=', d.blobId)
            .executeTakeFirstOrThrow(),
        );
      const packPath = (pack: string) => join(projectHtmlDir(join(dir, 'rendered'), project.id), pack.slice(0, 2), `${pack.slice(2)}.pack`);
      const rowA = await rowOf(a);
      assert.equal(rowA.html_pack, (await rowOf(b)).html_pack, 'one pack for the documents of one publish');
      assert.ok(existsSync(packPath(rowA.html_pack!)));

      // A fresh publisher (a restart: nothing in memory) reads the HTML from the pack.
      const expected = await new Publisher(db, repositories, join(dir, 'rendered')).loadHtml(project, a);
      assert.match(expected, /Alpha text\./);

      // The pack cut short (a crash before the data reached the disk): both documents are rendered again.
      truncateSync(packPath(rowA.html_pack!), rowA.html_offset! + 20);
      const afterCrash = new Publisher(db, repositories, join(dir, 'rendered'));
      assert.equal(await afterCrash.loadHtml(project, a), expected);
      assert.match(await afterCrash.loadHtml(project, b), /Bravo text\./);
      const repaired = await rowOf(a);
      assert.notEqual(repaired.html_pack, rowA.html_pack, 'the row points at the new copy');
      assert.equal(await new Publisher(db, repositories, join(dir, 'rendered')).loadHtml(project, a), expected);

      // The whole cache removed, and a row from before HTML packs (no location): rendered again as well.
      rmSync(join(dir, 'rendered'), { recursive: true, force: true });
      await asDatabaseOwner(db, (trx) =>
        trx.updateTable('rendered_documents').set({ html_pack: null, html_offset: null, html_length: null }).where('path', '=', 'packs/b.md').execute(),
      );
      const afterWipe = new Publisher(db, repositories, join(dir, 'rendered'));
      assert.equal(await afterWipe.loadHtml(project, a), expected);
      assert.match(await afterWipe.loadHtml(project, b), /Bravo text\./);
      assert.ok((await rowOf(b)).html_pack, 'the old row gained a location');
    });

    test('a large import renders ahead of its commit, in the worker pool, and publishes every document', async () => {
      const folder = join(dir, 'import');
      const count = PARALLEL_THRESHOLD + 60;
      for (let i = 0; i < count; i++) {
        const path = join(folder, `section-${i % 5}`, `doc-${i}.md`);
        mkdirSync(dirname(path), { recursive: true });
        writeFileSync(path, doc(`Document ${i}`, { classification: i % 4 === 0 ? 'public' : 'internal', tags: [`t${i % 3}`] }));
      }
      const result = await importFolder({ db, repositories, publisher, branchMoves: new BranchMoves({ db, repositories, publisher }) }, { folder, orgSlug: 'acme', projectSlug: 'imported', author });
      const snapshot = publisher.snapshotOf(result.project.id)!;
      assert.equal(snapshot.documents.size, count);
      const repository = await repositories.get(result.project);
      for (const entry of (await repository.listTree(snapshot.tree!)).slice(0, 20)) {
        assert.equal(gitBlobId(await repository.readBlob(entry.oid)), entry.oid);
      }
      const fresh = new Publisher(db, repositories, join(dir, 'rendered'));
      assert.deepEqual(observable(await fresh.publish(result.project)), observable(snapshot));
      const html = await publisher.loadHtml(result.project, snapshot.documents.get('section-1/doc-1.md')!);
      assert.match(html, /Text of Document 1/);
      // the workers wrote the HTML in packs of a batch each, not a file per document
      const packs = readdirSync(projectHtmlDir(join(dir, 'rendered'), result.project.id), { recursive: true }).filter((f) => String(f).endsWith('.pack'));
      assert.ok(packs.length > 1 && packs.length <= Math.ceil(count / 20), `${packs.length} packs for ${count} documents`);
      const fromPack = await new Publisher(db, repositories, join(dir, 'rendered')).loadHtml(result.project, snapshot.documents.get('section-4/doc-259.md')!);
      assert.match(fromPack, /Text of Document 259/);
    });
  });
}
