import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { NotFoundError } from '../../src/errors.ts';
import { readRefFromFiles } from '../../src/git/ref-read.ts';
import { Repository } from '../../src/git/repository.ts';
import { gitSpawnCounts, startGitSpawner, stopGitSpawner } from '../../src/git/spawner-client.ts';
import { gitOk, tempDir } from './helpers.ts';

const author = { name: 'Ada Lovelace', email: 'ada@acme.test' };

/** How many git processes `fn` started (through the spawner or directly). */
async function processes(fn: () => Promise<unknown>): Promise<number> {
  const before = gitSpawnCounts.viaSpawner + gitSpawnCounts.direct;
  await fn();
  return gitSpawnCounts.viaSpawner + gitSpawnCounts.direct - before;
}

describe('git hot paths without extra processes (ref files, tree walks)', () => {
  let dir: string;
  let cleanup: () => void;
  let repo: Repository;
  let c1: string;
  let c2: string;

  before(async () => {
    ({ dir, cleanup } = tempDir('dc-fast-'));
    startGitSpawner();
    repo = await Repository.create(join(dir, 'r.git'));
    c1 = (await repo.commitFiles({
      branch: 'main',
      expectedOld: null,
      mode: 'patch',
      changes: [
        { path: 'index.md', content: '# Home\n' },
        { path: 'policies/security/access.md', content: '# Access\n' },
        { path: 'notes', content: 'a file, not a folder\n' },
      ],
      author,
      message: 'first',
    })).commit!;
    c2 = (await repo.commitFiles({
      branch: 'main',
      expectedOld: c1,
      mode: 'patch',
      changes: [{ path: 'index.md', content: '# Home v2\n' }],
      author,
      message: 'second',
    })).commit!;
  });
  after(async () => {
    await repo.close();
    await stopGitSpawner();
    cleanup();
  });

  test('a branch is read from its loose ref file, then from packed-refs, as git reads it', async () => {
    assert.equal(await readRefFromFiles(repo.path, 'refs/heads/main'), c2);
    assert.equal(await readRefFromFiles(repo.path, 'refs/heads/nope'), null);
    gitOk(repo.path, ['pack-refs', '--all', '--prune']);
    assert.equal(await readRefFromFiles(repo.path, 'refs/heads/main'), c2, 'from packed-refs');
    assert.equal(await repo.headOf('main'), c2);
    assert.equal(await repo.resolveCommit('refs/heads/main'), c2);
    // a loose ref written after packing wins over the packed line
    gitOk(repo.path, ['update-ref', 'refs/heads/main', c1, c2]);
    assert.equal(await repo.headOf('main'), c1);
    gitOk(repo.path, ['update-ref', 'refs/heads/main', c2, c1]);
    assert.equal(await repo.headOf('main'), c2);
    assert.equal(await repo.headOf('nope'), null);
  });

  test('what the files do not say plainly is left to git', async () => {
    gitOk(repo.path, ['symbolic-ref', 'refs/heads/alias', 'refs/heads/main']);
    assert.equal(await readRefFromFiles(repo.path, 'refs/heads/alias'), undefined);
    assert.equal(await repo.headOf('alias'), c2, 'git follows the symbolic ref');
    // a branch file pointing at a tag object (git itself refuses to write one) is peeled by git, as before
    const tag = gitOk(repo.path, ['mktag'], `object ${c1}\ntype commit\ntag v1\ntagger T <t@t.test> 0 +0000\n\nv1\n`);
    writeFileSync(join(repo.path, 'refs', 'heads', 'tagged'), `${tag}\n`);
    assert.equal(await repo.headOf('tagged'), c1);
    assert.equal(await repo.resolveCommit('refs/heads/tagged'), c1);
    rmSync(join(repo.path, 'refs', 'heads', 'tagged'));
    gitOk(repo.path, ['symbolic-ref', '-d', 'refs/heads/alias']);
  });

  test('entryAt finds a path by reading the trees along it', async () => {
    const tree = (await repo.readCommit(c1)).tree;
    for (const at of [c1, tree]) {
      const entry = await repo.entryAt(at, 'policies/security/access.md');
      assert.equal(entry?.type, 'blob');
      assert.equal(entry?.mode, '100644');
      assert.equal((await repo.readBlob(entry.oid)).toString(), '# Access\n');
    }
    assert.deepEqual(await repo.entryAt(c1, 'policies/security'), {
      mode: '040000',
      type: 'tree',
      oid: gitOk(repo.path, ['rev-parse', `${c1}:policies/security`]),
      path: 'policies/security',
    });
    assert.equal(await repo.entryAt(c1, 'policies/missing.md'), null);
    assert.equal(await repo.entryAt(c1, 'notes/inside.md'), null, 'a file is not a folder');
    assert.equal(await repo.entryAt(c1, 'index.md').then((e) => e?.oid), gitOk(repo.path, ['rev-parse', `${c1}:index.md`]));
    await assert.rejects(repo.entryAt('3'.repeat(40), 'index.md'), NotFoundError);
  });

  test('reading heads, entries, commits and a publish diff starts no git; a one-file commit four', async () => {
    await repo.readCommit(c2); // the long-lived cat-file reader is running
    assert.equal(await processes(() => repo.headOf('main')), 0);
    assert.equal(await processes(() => repo.resolveCommit('refs/heads/main')), 0);
    assert.equal(await processes(() => repo.resolveCommit(c1)), 0);
    assert.equal(await processes(() => repo.entryAt(c2, 'policies/security/access.md')), 0);
    const diff = await processes(async () => {
      const changes = await repo.diffTrees((await repo.readCommit(c1)).tree, (await repo.readCommit(c2)).tree);
      assert.deepEqual(changes.map((c) => `${c.status} ${c.path}`), ['M index.md']);
    });
    assert.equal(diff, 0, 'the trees are read through cat-file');
    const commit = await processes(() =>
      repo.commitFiles({ branch: 'main', expectedOld: c2, mode: 'patch', changes: [{ path: 'policies/new.md', content: '# New\n' }], author, message: 'third' }),
    );
    // hash-object (the one blob; fast-import would start unpack-objects as well), mktree (the changed folders),
    // commit-tree, update-ref
    assert.ok(commit <= 4, `${commit} processes`);
    assert.equal(gitOk(repo.path, ['show', 'main:policies/new.md']), '# New', 'the blob holds what was saved');
    gitOk(repo.path, ['fsck', '--strict']);
  });

  test('a patch commit rewrites only the changed folders and gives the tree that git\'s own index gives', async () => {
    const base = (await repo.headOf('main'))!;
    // names around git's ordering rule (a folder sorts as if its name ended in "/"), non-ASCII
    const names = ['a', 'a-b', 'a.b', 'a0', 'a/x.md', 'é.md', 'Z.md', 'x/y/z/deep.md', 'tools/run.sh'];
    const setup = await repo.commitFiles({
      branch: 'main',
      expectedOld: base,
      mode: 'patch',
      changes: names.filter((n) => n !== 'a').map((path) => ({ path: `mix/${path}`, content: `${path}\n` })),
      author,
      message: 'mix',
    });
    const changes = [
      { path: 'mix/a.b', content: 'changed\n' },
      { path: 'mix/a/y.md', content: 'new in a folder\n' },
      { path: 'mix/x/y/z/deep.md', delete: true as const },
      { path: 'mix/new/inner/file.md', content: 'new folders\n' },
      { path: 'index.md', content: '# Home v3\n' },
    ];
    const result = await repo.commitFiles({ branch: 'main', expectedOld: setup.commit!, mode: 'patch', changes, author, message: 'edit' });
    const records: string[] = [];
    for (const change of changes) {
      if ('delete' in change) records.push(`0 ${'0'.repeat(40)}\t${change.path}\0`);
      else records.push(`100644 ${gitOk(repo.path, ['hash-object', '--stdin'], change.content)}\t${change.path}\0`);
    }
    const setupTree = (await repo.readCommit(setup.commit!)).tree;
    // what git's own index gives for the same change
    const expected = gitIndexTree(repo.path, join(dir, 'check-index'), setupTree, records.join(''));
    assert.equal(result.tree, expected);
    assert.equal(gitOk(repo.path, ['ls-tree', '-r', '--name-only', result.tree]).split('\n').includes('mix/x/y/z/deep.md'), false);
    assert.equal(gitOk(repo.path, ['ls-tree', result.tree, 'mix/x']), '', 'an emptied folder disappears');
    // an unchanged folder keeps its tree id
    assert.equal(gitOk(repo.path, ['rev-parse', `${result.tree}:policies`]), gitOk(repo.path, ['rev-parse', `${setupTree}:policies`]));
    gitOk(repo.path, ['fsck', '--strict']);
  });
});

/** The tree git's own index gives for `records` (update-index --index-info) applied to `tree`. */
function gitIndexTree(gitDir: string, index: string, tree: string, records: string): string {
  const env = { ...process.env, GIT_INDEX_FILE: index };
  const run = (args: string[], input?: string): string => {
    const result = spawnSync('git', ['--git-dir', gitDir, ...args], { input, env, encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`git ${args.join(' ')}: ${result.stderr}`);
    return result.stdout.trim();
  };
  run(['read-tree', tree]);
  run(['update-index', '-z', '--index-info'], records);
  return run(['write-tree']);
}
