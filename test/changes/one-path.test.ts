/**
 * Guard: the branch-move protocol (src/changes/branch-moves.ts) is the only code outside src/git/ that moves a
 * ref of a project's repository. Commits of files and merges (the repository's `commitFiles` and `mergeInto`,
 * which end in a compare-and-swap `update-ref`) are called there only; a push moves refs inside receive-pack, and
 * is noted and settled through the protocol too (changes/git-remote.ts). Nothing else runs `update-ref`.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { filesMatching } from '../helpers/source-files.ts';

const outsideGit = (path: string) => !path.startsWith('src/git/');

test('only the branch-move protocol commits or merges into a branch', () => {
  assert.deepEqual(filesMatching(/\.(commitFiles|mergeInto)\(/, ['src/changes/branch-moves.ts']).filter(outsideGit), []);
});

test('nothing outside src/git/ runs update-ref', () => {
  assert.deepEqual(filesMatching(/['"]update-ref['"]/, []).filter(outsideGit), []);
});

test('an accepted push is noted and settled through the protocol', () => {
  assert.deepEqual(filesMatching(/\.(notePush|settlePush)\(/, ['src/changes/git-remote.ts', 'src/changes/branch-moves.ts']), []);
});
