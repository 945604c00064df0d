import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import { ConflictError, InvalidInputError } from '../../src/errors.ts';
import { updateBranch } from '../../src/git/branch-update.ts';
import { BranchMovedError } from '../../src/git/errors.ts';
import { Repository } from '../../src/git/repository.ts';
import type { FileChange } from '../../src/git/repository.ts';
import { git, gitOk, tempDir } from './helpers.ts';

const author = { name: 'Ada Lovelace', email: 'ada@acme.test', date: new Date('2024-03-01T12:00:00Z') };

describe('Repository.commitFiles (real git)', () => {
  let dir: string;
  let cleanup: () => void;
  let repo: Repository;
  let n = 0;

  before(() => ({ dir, cleanup } = tempDir('dc-commit-')));
  after(() => cleanup());
  beforeEach(async () => {
    repo = await Repository.create(join(dir, `r${n++}.git`));
  });
  afterEach(async () => {
    await repo.close();
  });

  const commit = (expectedOld: string | null, changes: FileChange[], mode: 'patch' | 'replace-all' = 'patch', message = 'Change') =>
    repo.commitFiles({ branch: 'main', expectedOld, mode, changes, author, message });
  const show = (spec: string) => gitOk(repo.path, ['show', spec]);
  const files = (ref = 'main') => gitOk(repo.path, ['ls-tree', '-r', '--name-only', ref]).split('\n').filter(Boolean);

  test('creates an authored commit readable by git log and git show, without a work tree', async () => {
    const result = await commit(null, [
      { path: 'index.md', content: '# Home\n' },
      { path: 'policies/security/access.md', content: Buffer.from('# Access\n') },
    ], 'replace-all', 'First import\r\n\r\nWith a body.');
    assert.equal(result.changed, true);
    assert.equal(await repo.headOf('main'), result.commit);
    assert.equal(gitOk(repo.path, ['log', '-1', '--format=%an <%ae>|%ad|%s|%b', '--date=iso-strict', 'main']), 'Ada Lovelace <ada@acme.test>|2024-03-01T12:00:00+00:00|First import|With a body.');
    assert.equal(gitOk(repo.path, ['log', '-1', '--format=%cn <%ce>', 'main']), 'Ada Lovelace <ada@acme.test>');
    assert.equal(show('main:policies/security/access.md'), '# Access');
    assert.equal(result.tree, gitOk(repo.path, ['rev-parse', 'main^{tree}']));
    assert.deepEqual((await repo.readCommit(result.commit!)).parents, []);
    assert.equal(git(repo.path, ['rev-parse', '--is-bare-repository']).stdout.trim(), 'true');
  });

  test('patch mode changes and deletes on top of the parent, keeping everything else', async () => {
    const first = await commit(null, [{ path: 'a.md', content: 'a' }, { path: 'b/b.md', content: 'b' }, { path: 'c.md', content: 'c' }], 'replace-all');
    const second = await commit(first.commit, [{ path: 'a.md', content: 'a2' }, { path: 'b/b.md', delete: true }, { path: 'd/e/f.md', content: 'f' }]);
    assert.equal(second.changed, true);
    assert.deepEqual(files(), ['a.md', 'c.md', 'd/e/f.md']);
    assert.equal(show('main:a.md'), 'a2');
    assert.deepEqual((await repo.readCommit(second.commit!)).parents, [first.commit]);
    const diff = await repo.diffTrees(first.commit, second.commit!);
    assert.deepEqual(diff.map((c) => `${c.status} ${c.path}`).sort(), ['A d/e/f.md', 'D b/b.md', 'M a.md']);
  });

  test('a merge: with a second parent the commit merges it in; tryMerge gives the conflicted tree and paths', async () => {
    const base = await commit(null, [{ path: 'a.md', content: 'line\n' }, { path: 'b.md', content: 'b\n' }], 'replace-all');
    const draft = await repo.commitFiles({ branch: 'draft', expectedOld: null, startFrom: base.commit!, mode: 'patch', changes: [{ path: 'a.md', content: 'draft line\n' }], author, message: 'Draft' });
    const main = await commit(base.commit, [{ path: 'a.md', content: 'main line\n' }, { path: 'b.md', content: 'b from main\n' }]);
    const merge = await repo.tryMerge(main.commit!, draft.commit!);
    assert.equal(merge.clean, false);
    assert.ok(!merge.clean && merge.conflicts.includes('a.md'));
    assert.match(gitOk(repo.path, ['cat-file', '-p', `${merge.tree}:a.md`]), /^<{7} [0-9a-f]{40}\nmain line\n={7}\ndraft line\n>{7} [0-9a-f]{40}$/);
    const resolved = await repo.commitFiles({ branch: 'draft', expectedOld: draft.commit, mergeParent: main.commit!, mode: 'patch', changes: [{ path: 'a.md', content: 'both lines\n' }, { path: 'b.md', content: 'b from main\n' }], author, message: 'Merge main' });
    assert.deepEqual((await repo.readCommit(resolved.commit!)).parents, [draft.commit, main.commit]);
    assert.equal((await repo.mergeBase(main.commit!, resolved.commit!)), main.commit, 'main is now contained');
    assert.equal((await repo.tryMerge(main.commit!, resolved.commit!)).clean, true);
    await assert.rejects(repo.commitFiles({ branch: 'other', expectedOld: null, mergeParent: main.commit!, mode: 'patch', changes: [], author, message: 'x' }), InvalidInputError);
    await assert.rejects(repo.commitFiles({ branch: 'draft', expectedOld: resolved.commit, mergeParent: 'not-an-oid', mode: 'patch', changes: [], author, message: 'x' }), InvalidInputError);
  });

  test('replace-all mode makes the given files the whole tree', async () => {
    const first = await commit(null, [{ path: 'a.md', content: 'a' }, { path: 'old/x.md', content: 'x' }], 'replace-all');
    const second = await commit(first.commit, [{ path: 'a.md', content: 'a' }, { path: 'new.md', content: 'n' }], 'replace-all');
    assert.equal(second.changed, true);
    assert.deepEqual(files(), ['a.md', 'new.md']);
  });

  test('no commit is made when the tree would not change', async () => {
    const first = await commit(null, [{ path: 'a.md', content: 'a' }, { path: 'b.md', content: 'b' }], 'replace-all');
    const samePatch = await commit(first.commit, [{ path: 'a.md', content: 'a' }, { path: 'missing.md', delete: true }]);
    assert.deepEqual(samePatch, { commit: first.commit, tree: first.tree, changed: false });
    const sameAll = await commit(first.commit, [{ path: 'b.md', content: 'b' }, { path: 'a.md', content: Buffer.from('a') }], 'replace-all');
    assert.deepEqual(sameAll, { commit: first.commit, tree: first.tree, changed: false });
    assert.equal(gitOk(repo.path, ['rev-list', '--count', 'main']), '1');
    const nothing = await repo.commitFiles({ branch: 'empty', expectedOld: null, mode: 'replace-all', changes: [], author, message: 'Nothing' });
    assert.equal(nothing.changed, false);
    assert.equal(nothing.commit, null);
    assert.equal(await repo.headOf('empty'), null);
  });

  test('binary content round-trips, and other branches can be created', async () => {
    const bytes = randomBytes(100_000);
    const result = await repo.commitFiles({ branch: 'drafts/ada', expectedOld: null, mode: 'patch', changes: [{ path: 'img/logo.bin', content: bytes }], author, message: 'Logo' });
    const entry = (await repo.listTree('drafts/ada'))[0]!;
    assert.ok((await repo.readBlob(entry.oid)).equals(bytes));
    assert.equal(await repo.headOf('drafts/ada'), result.commit);
    assert.equal(await repo.headOf('main'), null);
  });

  test('a separate committer is recorded, and author fields cannot inject header lines', async () => {
    const result = await repo.commitFiles({
      branch: 'main',
      expectedOld: null,
      mode: 'patch',
      changes: [{ path: 'a.md', content: 'a' }],
      author: { name: 'Mallory>\ncommitter Eve <eve@evil.test> 0 +0000\n', email: 'm@x.test>\nparent 1111111111111111111111111111111111111111' },
      committer: { name: 'DocuCommit', email: 'noreply@docucommit.test' },
      message: 'Sneaky',
    });
    const raw = gitOk(repo.path, ['cat-file', 'commit', result.commit!]);
    const headers = raw.split('\n\n')[0]!.split('\n');
    assert.equal(headers.length, 3, raw);
    assert.match(headers[1]!, /^author Mallorycommitter Eve eve@evil.test 0 \+0000 <m@x.testparent 1{40}> \d+ \+0000$/);
    assert.match(headers[2]!, /^committer DocuCommit <noreply@docucommit.test> /);
    assert.equal(git(repo.path, ['fsck', '--strict']).status, 0);
  });

  test('a stale base commit is refused with the current head, and the branch stays where it was', async () => {
    const first = await commit(null, [{ path: 'a.md', content: 'a' }], 'replace-all');
    const second = await commit(first.commit, [{ path: 'a.md', content: 'b' }]);
    const error = await commit(first.commit, [{ path: 'a.md', content: 'overwrite' }]).then(
      () => assert.fail('should conflict'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof ConflictError);
    assert.ok(error instanceof BranchMovedError);
    assert.equal(error.currentHead, second.commit);
    assert.equal(error.status, 409);
    assert.equal(await repo.headOf('main'), second.commit);
    assert.equal(show('main:a.md'), 'b');
    await assert.rejects(commit(null, [{ path: 'x.md', content: 'x' }]), ConflictError, 'null base but the branch exists');
    await assert.rejects(
      repo.commitFiles({ branch: 'nope', expectedOld: first.commit, mode: 'patch', changes: [], author, message: 'x' }),
      ConflictError,
      'a base on a branch that does not exist',
    );
  });

  test('two concurrent commits on the same base: exactly one wins', async () => {
    const base = await commit(null, [{ path: 'a.md', content: 'a' }], 'replace-all');
    const other = new Repository(repo.path); // a second handle shares the per-path lock
    try {
      const results = await Promise.allSettled([
        commit(base.commit, [{ path: 'a.md', content: 'from one' }]),
        other.commitFiles({ branch: 'main', expectedOld: base.commit, mode: 'patch', changes: [{ path: 'a.md', content: 'from two' }], author, message: 'Two' }),
        commit(base.commit, [{ path: 'b.md', content: 'from three' }]),
      ]);
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r) => r.status === 'rejected');
      assert.equal(won.length, 1);
      assert.equal(lost.length, 2);
      for (const r of lost) assert.ok(r.status === 'rejected' && r.reason instanceof ConflictError);
      assert.equal(await repo.headOf('main'), won[0]!.status === 'fulfilled' ? won[0]!.value.commit : null);
      assert.equal(gitOk(repo.path, ['rev-list', '--count', 'main']), '2');
    } finally {
      await other.close();
    }
  });

  test('the final ref update is compare-and-swap, so a writer in another process cannot be overwritten', async () => {
    const base = await commit(null, [{ path: 'a.md', content: 'a' }], 'replace-all');
    const moved = await commit(base.commit, [{ path: 'a.md', content: 'b' }]);
    // what a push from another process would race with: our update still expects `base`
    const orphan = gitOk(repo.path, ['commit-tree', base.tree, '-p', base.commit!, '-m', 'late']);
    await assert.rejects(updateBranch(repo.path, 'main', orphan, base.commit, 'late'), BranchMovedError);
    await assert.rejects(updateBranch(repo.path, 'main', orphan, null, 'create'), BranchMovedError);
    assert.equal(await repo.headOf('main'), moved.commit);
  });

  test('hostile paths are refused, naming the path, and nothing reaches the branch', async () => {
    const base = await commit(null, [{ path: 'a.md', content: 'a' }], 'replace-all');
    const hostile = ['../x.md', '.git/config', '.GIT/hooks/x', 'a/./b', '/abs', 'a\\b', 'docs/../../x', '.git', 'x/.Git./y', 'a//b', 'nul\0.md', '.gitmodules'];
    for (const path of hostile) {
      for (const mode of ['patch', 'replace-all'] as const) {
        await assert.rejects(
          commit(base.commit, [{ path: 'ok.md', content: 'fine' }, { path, content: 'evil' }], mode),
          (e: unknown) => e instanceof InvalidInputError && e.message.includes(JSON.stringify(path)),
          `${mode} ${JSON.stringify(path)}`,
        );
      }
      await assert.rejects(commit(base.commit, [{ path, delete: true }]), InvalidInputError);
    }
    assert.equal(await repo.headOf('main'), base.commit);
    assert.deepEqual(files(), ['a.md']);
  });

  test('other malformed input is refused before anything is written', async () => {
    const base = await commit(null, [{ path: 'a.md', content: 'a' }], 'replace-all');
    const cases: [string, Partial<Parameters<Repository['commitFiles']>[0]>][] = [
      ['dash branch', { branch: '-f' }],
      ['bad branch', { branch: 'a..b' }],
      ['bad base', { expectedOld: 'main' }],
      ['empty message', { message: ' \n ' }],
      ['no author name', { author: { name: '<>', email: 'a@b' } }],
      ['duplicate path', { changes: [{ path: 'x.md', content: '1' }, { path: 'x.md', delete: true }] }],
      ['file and folder', { changes: [{ path: 'x', content: '1' }, { path: 'x/y.md', content: '2' }] }],
    ];
    for (const [name, override] of cases) {
      await assert.rejects(
        repo.commitFiles({ branch: 'main', expectedOld: base.commit, mode: 'patch', changes: [{ path: 'b.md', content: 'b' }], author, message: 'm', ...override }),
        InvalidInputError,
        name,
      );
    }
    assert.equal(await repo.headOf('main'), base.commit);
  });

  test('symlinks and submodules in the parent are never written through or replaced', async () => {
    const blob = gitOk(repo.path, ['hash-object', '-w', '--stdin'], '/etc/passwd');
    const doc = gitOk(repo.path, ['hash-object', '-w', '--stdin'], 'doc');
    const docs = gitOk(repo.path, ['mktree'], `100644 blob ${doc}\treadme.md\n`);
    const tree = gitOk(repo.path, ['mktree', '--missing'], [
      `120000 blob ${blob}\tpasswd.md`,
      `120000 blob ${blob}\tlinked`,
      `160000 commit ${'1'.repeat(40)}\tvendor`,
      `040000 tree ${docs}\tdocs`,
      `100755 blob ${doc}\trun.sh`,
    ].join('\n') + '\n');
    const base = gitOk(repo.path, ['commit-tree', tree, '-m', 'with links']);
    gitOk(repo.path, ['update-ref', 'refs/heads/main', base]);

    for (const path of ['passwd.md', 'linked/x.md', 'vendor', 'vendor/x.md', 'docs', 'run.sh/x']) {
      await assert.rejects(commit(base, [{ path, content: 'evil' }]), InvalidInputError, path);
    }
    await assert.rejects(commit(base, [{ path: 'docs', delete: true }]), InvalidInputError);
    assert.equal(await repo.headOf('main'), base);

    // deleting a link is fine (nothing is followed), and then the name is free
    const result = await commit(base, [{ path: 'linked', delete: true }, { path: 'linked/x.md', content: 'now a folder' }, { path: 'run.sh', content: 'echo hi' }]);
    const entries = new Map((await repo.listTree(result.commit!)).map((e) => [e.path, e.mode]));
    assert.equal(entries.get('linked/x.md'), '100644');
    assert.equal(entries.get('run.sh'), '100755', 'an executable stays executable');
    assert.equal(entries.get('passwd.md'), '120000', 'untouched link kept as a link');
  });

  test('git fsck is clean after a series of commits', async () => {
    let head: string | null = null;
    for (let i = 0; i < 12; i++) {
      const changes: FileChange[] = [{ path: `docs/${i % 4}.md`, content: `version ${i}\n` }];
      if (i % 3 === 2) changes.push({ path: `docs/${(i + 1) % 4}.md`, delete: true });
      const result = await commit(head, changes, i === 6 ? 'replace-all' : 'patch', `Step ${i}`);
      head = result.commit;
    }
    const fsck = git(repo.path, ['fsck', '--strict', '--full', '--no-dangling']);
    assert.equal(fsck.status, 0, fsck.stderr);
    assert.equal(fsck.stdout, '');
    assert.equal(gitOk(repo.path, ['rev-list', '--count', 'main']), '12');
    assert.deepEqual((await repo.log('main', { path: 'docs/0.md' })).map((e) => e.subject), ['Step 11', 'Step 8', 'Step 6', 'Step 4', 'Step 0']);
  });
});
