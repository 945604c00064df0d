import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Repository } from '../../src/git/repository.ts';
import { diffTreeObjects, parseDiffTree } from '../../src/git/tree-diff.ts';
import { seededRandom } from '../helpers/seeded-random.ts';
import { gitOk, tempDir } from './helpers.ts';

/** A file of a generated tree: its mode and content (a symlink's content is its target; a submodule's, a commit id). */
type Files = Map<string, { mode: string; content: string }>;

/** Random trees over a small alphabet of names, so that paths collide, turn into folders and back. */
function randomTree(random: () => number, previous: Files | null): Files {
  const names = ['a', 'a.md', 'a-b', 'a b', 'b', 'B', 'é.md', 'z', 'a0', 'a.b'];
  const pick = <T,>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;
  const files: Files = new Map(previous ?? []);
  // keep most of the previous tree (a realistic diff), change a few paths
  const changes = previous ? 1 + Math.floor(random() * 6) : 12;
  for (let n = 0; n < changes; n++) {
    const depth = 1 + Math.floor(random() * 3);
    const path = Array.from({ length: depth }, () => pick(names)).join('/');
    const roll = random();
    if (previous && roll < 0.25) {
      for (const existing of [...files.keys()]) if (existing === path || existing.startsWith(`${path}/`)) files.delete(existing);
      continue;
    }
    // the new path replaces whatever is in its way: files along it, and a folder at it
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) files.delete(parts.slice(0, i).join('/'));
    for (const existing of [...files.keys()]) if (existing.startsWith(`${path}/`)) files.delete(existing);
    const mode = roll < 0.7 ? '100644' : roll < 0.8 ? '100755' : roll < 0.9 ? '120000' : '160000';
    const content = mode === '160000' ? pick(['1', '2', '3']).repeat(40) : `content ${Math.floor(random() * 4)}\n`;
    files.set(path, { mode, content });
  }
  return files;
}

/** One fast-import stream: a commit per tree, each the whole tree (deleteall + every file). */
function fastImportStream(trees: Files[]): Buffer {
  const parts: Buffer[] = [];
  const push = (text: string | Buffer) => parts.push(typeof text === 'string' ? Buffer.from(text, 'utf8') : text);
  trees.forEach((files) => {
    push('commit refs/heads/t\ncommitter T <t@example.test> 0 +0000\ndata 0\ndeleteall\n');
    for (const [path, { mode, content }] of files) {
      if (mode === '160000') push(`M 160000 ${content} "${path}"\n`);
      else {
        const bytes = Buffer.from(content, 'utf8');
        push(`M ${mode} inline "${path}"\ndata ${bytes.length}\n`);
        push(bytes);
        push('\n');
      }
    }
  });
  push('done\n');
  return Buffer.concat(parts);
}

describe('diffTreeObjects', () => {
  let dir: string;
  let cleanup: () => void;
  let repo: Repository;
  const trees: string[] = [];

  before(async () => {
    ({ dir, cleanup } = tempDir('dc-tree-diff-'));
    repo = await Repository.create(join(dir, 'r.git'));
    const random = seededRandom(20261201);
    const states: Files[] = [];
    for (let i = 0; i < 60; i++) states.push(randomTree(random, states.at(-1) ?? null));
    const imported = spawnSync('git', ['fast-import', '--quiet', '--done'], { cwd: repo.path, env: { ...process.env, GIT_DIR: repo.path }, input: fastImportStream(states) });
    assert.equal(imported.status, 0, imported.stderr.toString());
    const commits = gitOk(repo.path, ['rev-list', '--reverse', 't']).split('\n');
    for (const commit of commits) trees.push(gitOk(repo.path, ['rev-parse', `${commit}^{tree}`]));
    assert.equal(trees.length, 60);
  });
  after(async () => {
    await repo.close();
    cleanup();
  });

  test('finds exactly what git diff-tree -r reports, in the same order (60 random trees: folders turning into files and back, modes, symlinks, submodules)', async () => {
    const readTree = async (oid: string) => spawnSync('git', ['cat-file', 'tree', oid], { env: { ...process.env, GIT_DIR: repo.path } }).stdout;
    const pairs: [string, string][] = [];
    for (let i = 1; i < trees.length; i++) pairs.push([trees[i - 1]!, trees[i]!]);
    for (let i = 0; i < 15; i++) pairs.push([trees[i]!, trees[trees.length - 1 - i]!]); // far-apart trees
    pairs.push(['4b825dc642cb6eb9a060e54bf8d69288fbee4904', trees[30]!], [trees[30]!, '4b825dc642cb6eb9a060e54bf8d69288fbee4904'], [trees[5]!, trees[5]!]);
    let compared = 0;
    for (const [from, to] of pairs) {
      const expected = parseDiffTree(
        spawnSync('git', ['diff-tree', '-r', '-z', '--raw', '--no-renames', '--no-abbrev', from, to], { env: { ...process.env, GIT_DIR: repo.path } }).stdout,
      );
      assert.deepEqual(await diffTreeObjects(readTree, from, to), expected, `${from}..${to}`);
      compared += expected.length;
    }
    assert.ok(compared > 200, `${compared} changes compared`);
  });

  test('Repository.diffTrees starts no git process (once the repository\'s cat-file reader runs)', async () => {
    const { gitSpawnCounts } = await import('../../src/git/spawner-client.ts');
    await repo.diffTrees(trees[0]!, trees[1]!); // starts the long-lived reader
    const before = gitSpawnCounts.viaSpawner + gitSpawnCounts.direct;
    const changes = await repo.diffTrees(trees[10]!, trees[11]!);
    assert.ok(changes.length > 0);
    assert.equal(gitSpawnCounts.viaSpawner + gitSpawnCounts.direct - before, 0);
  });
});
