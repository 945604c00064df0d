import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ConflictError, InvalidInputError, NotFoundError } from '../../src/errors.ts';
import { Repository } from '../../src/git/repository.ts';

const author = { name: 'Ada Lovelace', email: 'ada@acme.test' };
const git = (dir: string, ...args: string[]) => spawnSync('git', ['--git-dir', dir, ...args], { encoding: 'utf8' });

describe('Repository (real git)', () => {
  let root: string;
  let repo: Repository;
  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'dc-repo-'));
    repo = await Repository.create(join(root, 'p.git'));
  });
  after(async () => {
    await repo.close();
    rmSync(root, { recursive: true, force: true });
  });

  test('a new repository is bare, on main, and checks objects it receives', () => {
    assert.equal(git(repo.path, 'rev-parse', '--is-bare-repository').stdout.trim(), 'true');
    assert.equal(git(repo.path, 'config', 'receive.fsckObjects').stdout.trim(), 'true');
    assert.equal(git(repo.path, 'symbolic-ref', 'HEAD').stdout.trim(), 'refs/heads/main');
  });

  let first: string;
  test('commitFiles makes an authored commit without a work tree', async () => {
    const result = await repo.commitFiles({
      branch: 'main',
      expectedOld: null,
      mode: 'replace-all',
      changes: [
        { path: 'index.md', content: '# Home\n' },
        { path: 'policies/data.md', content: Buffer.from('# Data\n') },
      ],
      author,
      message: 'First import\n\nWith a body.',
    });
    assert.equal(result.changed, true);
    first = result.commit!;
    assert.equal(await repo.headOf('main'), first);
    assert.equal(git(repo.path, 'log', '-1', '--format=%an <%ae>|%s', 'main').stdout.trim(), 'Ada Lovelace <ada@acme.test>|First import');
    assert.equal(git(repo.path, 'show', 'main:policies/data.md').stdout, '# Data\n');
    const info = await repo.readCommit(first);
    assert.equal(info.author.email, 'ada@acme.test');
    assert.deepEqual(info.parents, []);
  });

  test('patch mode changes and deletes on top of the parent; nothing changed means no commit', async () => {
    const result = await repo.commitFiles({
      branch: 'main',
      expectedOld: first,
      mode: 'patch',
      changes: [{ path: 'index.md', content: '# Home v2\n' }, { path: 'policies/data.md', delete: true }, { path: 'new.md', content: 'x' }],
      author,
      message: 'Edit',
    });
    assert.equal(result.changed, true);
    const paths = (await repo.listTree(result.commit!)).map((e) => e.path).sort();
    assert.deepEqual(paths, ['index.md', 'new.md']);
    const changes = await repo.diffTrees(first, result.commit!);
    assert.deepEqual(changes.map((c) => `${c.status} ${c.path}`).sort(), ['A new.md', 'D policies/data.md', 'M index.md']);
    const same = await repo.commitFiles({ branch: 'main', expectedOld: result.commit, mode: 'patch', changes: [{ path: 'new.md', content: 'x' }], author, message: 'No-op' });
    assert.equal(same.changed, false);
    assert.equal(await repo.headOf('main'), result.commit);
    first = result.commit!;
  });

  test('a commit based on a stale head is refused and the branch stays where it was', async () => {
    const head = await repo.headOf('main');
    const stale = (await repo.log('main', { limit: 5 })).at(-1)!.oid;
    await assert.rejects(
      repo.commitFiles({ branch: 'main', expectedOld: stale, mode: 'patch', changes: [{ path: 'index.md', content: 'overwrite' }], author, message: 'Stale' }),
      ConflictError,
    );
    assert.equal(await repo.headOf('main'), head);
  });

  test('two concurrent commits from the same base: exactly one wins', async () => {
    const base = await repo.headOf('main');
    const attempt = (text: string) =>
      repo.commitFiles({ branch: 'main', expectedOld: base, mode: 'patch', changes: [{ path: 'index.md', content: text }], author, message: text });
    const results = await Promise.allSettled([attempt('A wins'), attempt('B wins')]);
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    assert.ok(rejected.reason instanceof ConflictError);
  });

  test('hostile paths are refused and nothing reaches the branch', async () => {
    const head = await repo.headOf('main');
    for (const path of ['../x.md', '.git/config', '.GIT/hooks/pre-receive', 'a/./b.md', '/abs.md', 'a\\b.md', 'a//b.md', 'docs/.git. /x', 'x\0y']) {
      await assert.rejects(
        repo.commitFiles({ branch: 'main', expectedOld: head, mode: 'patch', changes: [{ path, content: 'x' }], author, message: 'evil' }),
        InvalidInputError,
        path,
      );
    }
    await assert.rejects(
      repo.commitFiles({ branch: '--upload-pack=x', expectedOld: head, mode: 'patch', changes: [], author, message: 'evil' }),
      InvalidInputError,
    );
    assert.equal(await repo.headOf('main'), head);
  });

  test('author names cannot inject headers', async () => {
    const head = await repo.headOf('main');
    const result = await repo.commitFiles({
      branch: 'main',
      expectedOld: head,
      mode: 'patch',
      changes: [{ path: 'inject.md', content: 'y' }],
      author: { name: 'Eve>\ncommitter Mallory <m@x>', email: 'eve@x.test>' },
      message: 'Injection attempt',
    });
    const raw = git(repo.path, 'cat-file', 'commit', result.commit!).stdout;
    assert.equal(raw.split('\n').filter((l) => l.startsWith('committer ')).length, 1);
    assert.match(raw, /^author Evecommitter Mallory m@x <eve@x.test> /m);
  });

  test('cat-file reads many objects concurrently, binary-safe, and reports missing ones', async () => {
    const binary = Buffer.from([0, 10, 255, 13, 10, 0, 1, 2]);
    const head = await repo.headOf('main');
    const many = Array.from({ length: 50 }, (_, i) => ({ path: `bulk/${i}.md`, content: `doc ${i}\n`.repeat(i + 1) }));
    const result = await repo.commitFiles({ branch: 'main', expectedOld: head, mode: 'patch', changes: [...many, { path: 'bin.dat', content: binary }], author, message: 'bulk' });
    const entries = await repo.listTree(result.commit!);
    const bulk = entries.filter((e) => e.path.startsWith('bulk/'));
    const contents = await Promise.all(bulk.map((e) => repo.readBlob(e.oid)));
    bulk.forEach((e, i) => assert.equal(contents[i]!.toString(), `doc ${e.path.slice(5, -3)}\n`.repeat(Number(e.path.slice(5, -3)) + 1)));
    const bin = entries.find((e) => e.path === 'bin.dat')!;
    assert.deepEqual(await repo.readBlob(bin.oid), binary);
    assert.equal(bin.size, binary.length);
    await assert.rejects(repo.readBlob('1'.repeat(40)), NotFoundError);
    await assert.rejects(repo.readBlob('HEAD:index.md'), NotFoundError, 'only object ids, never rev:path expressions');
  });

  test('symlinks are listed with their mode, never followed', async () => {
    const target = git(repo.path, 'hash-object', '-w', '--stdin');
    const blob = spawnSync('git', ['--git-dir', repo.path, 'hash-object', '-w', '--stdin'], { input: '/etc/passwd', encoding: 'utf8' }).stdout.trim();
    assert.ok(target);
    const tree = spawnSync('git', ['--git-dir', repo.path, 'mktree'], { input: `120000 blob ${blob}\tevil.md\n`, encoding: 'utf8' }).stdout.trim();
    const [entry] = await repo.listTree(tree);
    assert.equal(entry!.mode, '120000');
    assert.equal((await repo.readBlob(entry!.oid)).toString(), '/etc/passwd', 'the link text, not the file it names');
  });

  test('log lists commits touching a path, newest first; the repository is fsck-clean', async () => {
    const log = await repo.log('main', { path: 'index.md', limit: 10 });
    assert.ok(log.length >= 3);
    assert.ok(log[0]!.committer.time >= log.at(-1)!.committer.time);
    const fsck = git(repo.path, 'fsck', '--strict');
    assert.equal(fsck.status, 0, fsck.stderr);
  });
});
