import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ConflictError, InvalidInputError, NotFoundError } from '../../src/errors.ts';
import { EMPTY_TREE, Repository } from '../../src/git/repository.ts';
import { ensureRepositorySetup, preReceiveHookScript, settingsAsConfigText } from '../../src/git/repository-setup.ts';
import { gitSpawnCounts } from '../../src/git/spawner-client.ts';
import { RepositoryRegistry } from '../../src/projects/repositories.ts';
import { git, gitIn, gitOk, tempDir } from './helpers.ts';

/** The durability, gc and reflog settings every repository carries. */
function assertSettings(path: string): void {
  const expected: Record<string, string> = {
    'receive.autogc': 'false',
    'receive.maxInputSize': String(100 * 1024 * 1024),
    'core.fsync': 'objects,derived-metadata,reference',
    'core.fsyncMethod': 'fsync',
    'core.logAllRefUpdates': 'always',
    'gc.auto': '6700',
    'gc.autoDetach': 'false',
    'gc.reflogExpire': 'never',
    'gc.reflogExpireUnreachable': 'never',
  };
  for (const [key, value] of Object.entries(expected)) assert.equal(gitOk(path, ['config', '--get', key]), value, key);
  // git itself accepts every core.fsync component (an unknown one would print a warning)
  assert.equal(git(path, ['count-objects']).stderr, '');
}

const author = { name: 'Ada Lovelace', email: 'ada@acme.test' };

/** Builds a commit with plain git plumbing: `entries` are mktree lines, nested trees built from "dir/name" paths. */
function plumbingCommit(gitDir: string, files: Record<string, { mode: string; content?: string; oid?: string }>, parent?: string): string {
  type Node = { files: string[]; dirs: Map<string, Node> };
  const root: Node = { files: [], dirs: new Map() };
  for (const [path, spec] of Object.entries(files)) {
    const parts = path.split('/');
    let node = root;
    for (const dir of parts.slice(0, -1)) {
      if (!node.dirs.has(dir)) node.dirs.set(dir, { files: [], dirs: new Map() });
      node = node.dirs.get(dir)!;
    }
    const type = spec.mode === '160000' ? 'commit' : 'blob';
    const oid = spec.oid ?? gitOk(gitDir, ['hash-object', '-w', '--stdin'], spec.content ?? '');
    node.files.push(`${spec.mode} ${type} ${oid}\t${parts.at(-1)}`);
  }
  const write = (node: Node): string => {
    const lines = [...node.files];
    for (const [name, child] of node.dirs) lines.push(`040000 tree ${write(child)}\t${name}`);
    return gitOk(gitDir, ['mktree', '--missing'], lines.join('\n') + '\n');
  };
  const tree = write(root);
  return gitOk(gitDir, ['commit-tree', tree, ...(parent ? ['-p', parent] : []), '-m', 'plumbing commit']);
}

describe('Repository.create (real git)', () => {
  let dir: string;
  let cleanup: () => void;
  before(() => ({ dir, cleanup } = tempDir('dc-create-')));
  after(() => cleanup());

  test('creates a bare repository on main with its settings and the pre-receive hook, and no sample hooks', async () => {
    const repo = await Repository.create(join(dir, 'nested', 'p.git'));
    try {
      assert.equal(gitOk(repo.path, ['rev-parse', '--is-bare-repository']), 'true');
      assert.equal(gitOk(repo.path, ['symbolic-ref', 'HEAD']), 'refs/heads/main');
      for (const key of ['receive.fsckObjects', 'fetch.fsckObjects', 'transfer.fsckObjects', 'receive.denyNonFastForwards', 'receive.denyDeletes']) {
        assert.equal(gitOk(repo.path, ['config', '--get', key]), 'true', key);
      }
      assert.equal(gitOk(repo.path, ['config', '--get', 'core.hooksPath']), join(repo.path, 'hooks'));
      assertSettings(repo.path);
      // exactly our hook, executable, running our checker: pushes are checked from the repository's first moment
      assert.deepEqual(readdirSync(join(repo.path, 'hooks')), ['pre-receive']);
      const hook = join(repo.path, 'hooks', 'pre-receive');
      assert.equal(statSync(hook).mode & 0o777, 0o755);
      assert.equal(readFileSync(hook, 'utf8'), preReceiveHookScript());
      assert.match(readFileSync(hook, 'utf8'), /hooks\/pre-receive\.mjs'$/m);
      assert.deepEqual(readdirSync(join(dir, 'nested')), ['p.git'], 'no staging folder left behind');
    } finally {
      await repo.close();
    }
  });

  test('settings are written as config text that git reads back exactly, even in a folder named with quotes, backslashes and tabs', async () => {
    const odd = join(dir, 'we"ird\\ fol\tder; #x', 'p.git');
    const spawned = gitSpawnCounts.viaSpawner + gitSpawnCounts.direct;
    const repo = await Repository.create(odd);
    try {
      // init, one read-back of the config: not one process per setting
      assert.ok(gitSpawnCounts.viaSpawner + gitSpawnCounts.direct - spawned <= 2, 'git processes to create a repository');
      assert.equal(gitOk(repo.path, ['config', '--get', 'core.hooksPath']), join(odd, 'hooks'));
      assertSettings(repo.path);
      assert.deepEqual(await ensureRepositorySetup(repo.path), [], 'nothing left for git config to fix');
      assert.equal(settingsAsConfigText([['core.hooksPath', 'a"b\\c\nd']]), '[core]\n\thooksPath = "a\\"b\\\\c\\nd"\n');
      assert.throws(() => settingsAsConfigText([['core.hooks]path', 'x']]), /unexpected setting name/);
    } finally {
      await repo.close();
    }
  });

  test('an existing repository of an older version is upgraded on open: settings repaired, hook installed', async () => {
    const path = join(dir, 'old.git');
    // what an older DocuCommit made: fsck settings only, an empty hooks folder, receive-pack's own gc on
    assert.equal(gitIn(dir, ['init', '--quiet', '--bare', '--template=', '--initial-branch=main', path]).status, 0);
    mkdirSync(join(path, 'hooks'));
    gitOk(path, ['config', 'receive.fsckObjects', 'true']);
    gitOk(path, ['config', 'receive.autogc', 'true']);
    gitOk(path, ['config', 'core.hooksPath', '/somewhere/else/hooks']);
    writeFileSync(join(path, 'hooks', 'pre-receive'), '#!/bin/sh\nexit 0\n', { mode: 0o644 });
    const changed = await ensureRepositorySetup(path);
    assert.ok(changed.includes('receive.autogc') && changed.includes('core.hooksPath') && changed.includes('hooks/pre-receive'), changed.join());
    assertSettings(path);
    assert.equal(gitOk(path, ['config', '--get', 'core.hooksPath']), join(path, 'hooks'));
    assert.equal(readFileSync(join(path, 'hooks', 'pre-receive'), 'utf8'), preReceiveHookScript());
    assert.equal(statSync(join(path, 'hooks', 'pre-receive')).mode & 0o777, 0o755);
    // the second check finds nothing to do
    assert.deepEqual(await ensureRepositorySetup(path), []);

    // the registry runs the same check when it first opens an existing repository in a process
    gitOk(path, ['config', 'receive.denyDeletes', 'false']);
    rmSync(join(path, 'hooks', 'pre-receive'));
    const registry = new RepositoryRegistry(dir);
    await registry.get({ id: 'p1', repoDir: 'old.git' });
    await registry.closeAll();
    assert.equal(gitOk(path, ['config', '--get', 'receive.denyDeletes']), 'true');
    assert.ok(existsSync(join(path, 'hooks', 'pre-receive')));
  });

  test('refuses to create over an existing repository', async () => {
    const path = join(dir, 'twice.git');
    await (await Repository.create(path)).close();
    await assert.rejects(Repository.create(path), ConflictError);
    assert.equal(readdirSync(dir).filter((n) => n.includes('creating')).length, 0);
  });

  test('pushes cannot rewrite or delete history, nor bring in a ".GIT" tree entry (hook and git settings alike)', async () => {
    const repo = await Repository.create(join(dir, 'push.git'));
    const work = join(dir, 'work');
    try {
      const first = await repo.commitFiles({ branch: 'main', expectedOld: null, mode: 'replace-all', changes: [{ path: 'a.md', content: 'a' }], author, message: 'first' });
      await repo.commitFiles({ branch: 'main', expectedOld: first.commit, mode: 'patch', changes: [{ path: 'b.md', content: 'b' }], author, message: 'second' });
      assert.equal(gitIn(dir, ['clone', '--quiet', repo.path, work]).status, 0);
      const workGit = join(work, '.git');
      const head = await repo.headOf('main');

      const rewritten = plumbingCommit(workGit, { 'a.md': { mode: '100644', content: 'rewritten' } }, first.commit!);
      // a push that does not come through the DocuCommit server has nobody to check it: the hook refuses it
      const direct = git(workGit, ['push', repo.path, `${plumbingCommit(workGit, { 'c.md': { mode: '100644', content: 'c' } }, head!)}:refs/heads/main`]);
      assert.notEqual(direct.status, 0);
      assert.match(direct.stderr, /could not be checked, so it was refused/);

      // underneath the hook, git's own settings refuse too (checked here with the hook switched off)
      const noHook = '--receive-pack=git -c core.hooksPath=/nonexistent receive-pack';
      const forced = git(workGit, ['push', noHook, '--force', repo.path, `${rewritten}:refs/heads/main`]);
      assert.notEqual(forced.status, 0);
      assert.match(forced.stderr, /non-fast-forward|denying/);

      const deleted = git(workGit, ['push', noHook, repo.path, ':refs/heads/main']);
      assert.notEqual(deleted.status, 0);

      const hostile = plumbingCommit(workGit, { '.GIT/hooks/post-update': { mode: '100755', content: '#!/bin/sh\ntouch pwned\n' } }, head!);
      const pushed = git(workGit, ['push', noHook, repo.path, `${hostile}:refs/heads/main`]);
      assert.notEqual(pushed.status, 0);
      assert.match(pushed.stderr, /hasDotgit/);

      assert.equal(await repo.headOf('main'), head);
    } finally {
      await repo.close();
    }
  });
});

describe('Repository reads (real git)', () => {
  let cleanup: () => void;
  let repo: Repository;
  let c1: string;
  let c2: string;
  let c3: string;

  before(async () => {
    let dir: string;
    ({ dir, cleanup } = tempDir('dc-read-'));
    repo = await Repository.create(join(dir, 'r.git'));
    c1 = plumbingCommit(repo.path, {
      'index.md': { mode: '100644', content: '# Home\n' },
      'policies/security/access.md': { mode: '100644', content: '# Access\n' },
      'policies/data.md': { mode: '100644', content: '# Data\n' },
      'passwd.md': { mode: '120000', content: '/etc/passwd' },
      'vendor/lib': { mode: '160000', oid: '1'.repeat(40) },
    });
    c2 = plumbingCommit(
      repo.path,
      {
        'index.md': { mode: '100644', content: '# Home v2\n' },
        'policies/security/access.md': { mode: '100644', content: '# Access\n' },
        'policies/new.md': { mode: '100644', content: '# New\n' },
        'passwd.md': { mode: '120000', content: '/etc/passwd' },
      },
      c1,
    );
    c3 = plumbingCommit(
      repo.path,
      {
        'index.md': { mode: '100644', content: '# Home v2\n' },
        'policies/security/access.md': { mode: '100644', content: '# Access v2\n' },
        'policies/new.md': { mode: '100644', content: '# New\n' },
        'passwd.md': { mode: '120000', content: '/etc/passwd' },
      },
      c2,
    );
    gitOk(repo.path, ['update-ref', 'refs/heads/main', c3]);
  });
  after(async () => {
    await repo.close();
    cleanup();
  });

  test('resolveCommit resolves branches, full refs and ids; unknown is null', async () => {
    assert.equal(await repo.resolveCommit('main'), c3);
    assert.equal(await repo.resolveCommit('refs/heads/main'), c3);
    assert.equal(await repo.resolveCommit(c1), c1);
    assert.equal(await repo.resolveCommit('nope'), null);
    assert.equal(await repo.resolveCommit(EMPTY_TREE), null, 'a tree is not a commit');
    assert.equal(await repo.headOf('main'), c3);
    assert.equal(await repo.headOf('other'), null);
  });

  test('refs from users are validated before git starts', async () => {
    for (const bad of ['-x', '--output=/tmp/x', 'main~1', 'main^{tree}', 'HEAD:passwd.md', 'main@{1}', 'a..b', '']) {
      await assert.rejects(repo.resolveCommit(bad), InvalidInputError, bad);
    }
    await assert.rejects(repo.headOf('-main'), InvalidInputError);
    await assert.rejects(repo.listTree('--all'), InvalidInputError);
  });

  test('readCommit returns tree, parents, author, committer and message', async () => {
    const info = await repo.readCommit(c2);
    assert.equal(info.oid, c2);
    assert.equal(info.tree, gitOk(repo.path, ['rev-parse', `${c2}^{tree}`]));
    assert.deepEqual(info.parents, [c1]);
    assert.equal(info.author.name, 'Test');
    assert.equal(info.committer.email, 'test@example.test');
    assert.ok(info.author.time instanceof Date && info.author.time.getTime() > 0);
    assert.equal(info.message, 'plumbing commit\n');
  });

  test('readBlob returns content; a missing id or a non-blob is NotFound, a malformed id InvalidInput', async () => {
    const entries = await repo.listTree('main');
    const index = entries.find((e) => e.path === 'index.md')!;
    assert.equal((await repo.readBlob(index.oid)).toString(), '# Home v2\n');
    await assert.rejects(repo.readBlob('2'.repeat(40)), NotFoundError);
    await assert.rejects(repo.readBlob(c1), NotFoundError);
    await assert.rejects(repo.readBlob('main'), InvalidInputError);
    await assert.rejects(repo.readCommit(index.oid), NotFoundError);
  });

  test('listTree is recursive with nested paths and sizes; symlinks and submodules keep their modes', async () => {
    const entries = await repo.listTree(c1);
    const byPath = new Map(entries.map((e) => [e.path, e]));
    assert.deepEqual([...byPath.keys()].sort(), ['index.md', 'passwd.md', 'policies/data.md', 'policies/security/access.md', 'vendor/lib']);
    assert.equal(byPath.get('policies/security/access.md')?.size, '# Access\n'.length);
    assert.equal(byPath.get('policies/security/access.md')?.type, 'blob');
    assert.equal(byPath.get('passwd.md')?.mode, '120000');
    // the symlink's blob is its target text; nothing is followed
    assert.equal((await repo.readBlob(byPath.get('passwd.md')!.oid)).toString(), '/etc/passwd');
    assert.deepEqual({ ...byPath.get('vendor/lib') }, { mode: '160000', type: 'commit', oid: '1'.repeat(40), size: null, path: 'vendor/lib' });
    const treeOid = (await repo.readCommit(c1)).tree;
    assert.deepEqual(await repo.listTree(treeOid), entries, 'a tree id lists the same');
    await assert.rejects(repo.listTree('3'.repeat(40)), NotFoundError);
  });

  test('diffTrees reports added, modified and deleted files; null means the empty tree', async () => {
    const changes = await repo.diffTrees(c1, c2);
    assert.deepEqual(
      changes.map((c) => `${c.status} ${c.path}`).sort(),
      ['A policies/new.md', 'D policies/data.md', 'D vendor/lib', 'M index.md'],
    );
    const modified = changes.find((c) => c.path === 'index.md')!;
    assert.equal(modified.oldMode, '100644');
    assert.equal(modified.newMode, '100644');
    assert.notEqual(modified.oldOid, modified.newOid);
    const added = changes.find((c) => c.path === 'policies/new.md')!;
    assert.equal(added.oldOid, '0'.repeat(40));
    const fromNothing = await repo.diffTrees(null, (await repo.readCommit(c1)).tree);
    assert.equal(fromNothing.length, 5);
    assert.ok(fromNothing.every((c) => c.status === 'A'));
  });

  test('log lists commits newest first, optionally only those touching a path', async () => {
    const all = await repo.log('main');
    assert.deepEqual(all.map((e) => e.oid), [c3, c2, c1]);
    assert.deepEqual(all[0]!.parents, [c2]);
    assert.deepEqual(all[2]!.parents, []);
    assert.equal(all[0]!.subject, 'plumbing commit');
    assert.equal(all[0]!.author.email, 'test@example.test');
    assert.ok(all[0]!.authorDate instanceof Date);
    const touching = await repo.log('main', { path: 'policies/security/access.md' });
    assert.deepEqual(touching.map((e) => e.oid), [c3, c1]);
    const paged = await repo.log('main', { limit: 1, skip: 1 });
    assert.deepEqual(paged.map((e) => e.oid), [c2]);
    const followed = await repo.log('main', { path: 'index.md', follow: true });
    assert.deepEqual(followed.map((e) => e.oid), [c2, c1]);
    await assert.rejects(repo.log('main', { path: '../x' }), InvalidInputError);
    await assert.rejects(repo.log('main', { limit: 0 }), InvalidInputError);
    await assert.rejects(repo.log('nope'), NotFoundError);
  });

  test('pathspec magic in a path is just a file name', async () => {
    assert.deepEqual(await repo.log('main', { path: ':(glob)**' }), []);
  });

  test('the background reader does not outlive close()', async () => {
    const other = new Repository(repo.path);
    await other.readCommit(c1);
    await other.close();
    await assert.rejects(other.readCommit(c1));
    assert.ok(existsSync(repo.path));
  });
});
