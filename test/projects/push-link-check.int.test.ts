import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { newLinkProblems, newLinkProblemsOfTree } from '../../src/projects/push-link-check.ts';
import { findProject, type ProjectRecord } from '../../src/projects/projects.ts';
import { databaseTargets } from '../helpers/databases.ts';
import { createTestApp, type TestApp } from '../helpers/test-app.ts';

/**
 * Differential: the push's link check from the published snapshot (the tree diff, problems carried over) says
 * exactly what the check of the whole pushed tree says, for pushes that add, fix, remove and rename link targets,
 * anchors, attachments and folders.
 */
for (const target of databaseTargets().slice(0, 1)) {
  describe(`push link check: from the snapshot = from the whole tree (${target.name})`, () => {
    let t: TestApp;
    let dispose: () => Promise<void>;
    let project: ProjectRecord;

    before(async () => {
      const opened = await target.open();
      dispose = opened.dispose;
      t = await createTestApp(opened.db);
      project = (await findProject(t.context.db, 'acme', 'handbook'))!;
    });
    after(async () => {
      await t.context.branchMoves.idle();
      await t.close();
      await dispose();
    });

    const scenarios: [string, Record<string, string | null>][] = [
      ['a new broken link and a broken anchor', { 'notes/new.md': '# New\n\n[Gone](../nowhere.md) [Anchor](../index.md#no-such-heading)\n' }],
      ['a linked document removed', { 'index.md': null }],
      ['a document renamed (removed and added)', { 'notes/moved.md': '# Moved\n\nText.\n', 'notes/new.md': null }],
      ['an image added, then linked; a folder linked', { 'img/logo.png': 'PNG', 'notes/pic.md': '# Pic\n\n![Logo](../img/logo.png) [Folder](../img/) [Missing](../img/none.png)\n' }],
      ['a heading renamed under links to it', { 'notes/pic.md': '# Picture\n\n## Other\n\n[Self](#pic)\n' }],
    ];

    test('every scenario, each pushed on top of the published tree', async () => {
      const repository = await t.context.repositories.get(project);
      let head = await repository.headOf('main');
      for (const [name, files] of scenarios) {
        const previous = t.context.publisher.snapshotOf(project.id);
        assert.ok(previous?.tree, 'a published snapshot');
        // a commit on a side branch: what a push brings before the refs move
        const result = await repository.commitFiles({
          branch: `push-check-${scenarios.findIndex(([n]) => n === name)}`,
          expectedOld: null,
          startFrom: head!,
          mode: 'patch',
          changes: Object.entries(files).map(([path, content]) => (content === null ? { path, delete: true as const } : { path, content })),
          author: { name: 'T', email: 't@acme.test' },
          message: name,
        });
        const input = { repoPath: repository.path, env: {}, newCommit: result.commit!, previous, refuse: true };
        const incremental = await newLinkProblems(input, 5000);
        const whole = await newLinkProblemsOfTree(input, 5000);
        const keys = (problems: typeof incremental) => (problems === 'too-many' ? problems : problems.map((p) => `${p.from}:${p.line}:${p.kind}:${p.href}`).sort());
        assert.deepEqual(keys(incremental), keys(whole), name);
        if (name === scenarios[0]![0]) assert.ok(keys(incremental).length >= 2, `the first push adds problems: ${JSON.stringify(keys(incremental))}`);
        // publish it, so the next scenario starts from it
        await t.context.branchMoves.commit(project, repository, {
          branch: 'main',
          expectedOld: head,
          mode: 'patch',
          changes: Object.entries(files).map(([path, content]) => (content === null ? { path, delete: true as const } : { path, content })),
          author: { name: 'T', email: 't@acme.test' },
          message: name,
        }, { kind: 'import', actor: { type: 'system', id: 'test', label: 'test' }, events: () => [] });
        head = await repository.headOf('main');
      }
    });
  });
}
