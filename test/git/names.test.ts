import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InvalidInputError } from '../../src/errors.ts';
import { cleanIdentityPart, gitDate, identityEnv } from '../../src/git/identity.ts';
import { assertSafeRepoPath, repoPathProblem } from '../../src/git/paths.ts';
import { assertBranchName, assertOid, assertRevision, refNameProblem } from '../../src/git/refs.ts';

describe('ref names', () => {
  test('ordinary branch and ref names are accepted', () => {
    for (const name of ['main', 'feature/new-policy', 'refs/heads/main', 'v1.2', 'review/ada_2024', 'a'.repeat(255)]) {
      assert.equal(refNameProblem(name), null, name);
    }
  });

  test('names git would refuse, or that could be read as options, are refused', () => {
    const hostile = [
      '', '-x', '--upload-pack=evil', '@', 'a..b', 'a b', 'a~1', 'a^', 'a:b', 'a?', 'a*', 'a[', 'a\\b', 'a@{1}',
      '/a', 'a/', 'a//b', 'a.', '.hidden', 'a/.b', 'x.lock', 'a/x.lock/b', 'tab\there', 'nl\nx', 'del\x7f', 'a'.repeat(256),
    ];
    for (const name of hostile) assert.notEqual(refNameProblem(name), null, JSON.stringify(name));
    assert.throws(() => assertBranchName('-main'), InvalidInputError);
    assert.throws(() => assertBranchName('HEAD'), InvalidInputError);
    assert.throws(() => assertRevision('main~1'), InvalidInputError);
  });

  test('object ids must be full lower-case SHA-1', () => {
    assertOid('4b825dc642cb6eb9a060e54bf8d69288fbee4904');
    for (const bad of ['4B825DC642CB6EB9A060E54BF8D69288FBEE4904', '4b825dc', `${'a'.repeat(40)}\n`, '-'.repeat(40)]) {
      assert.throws(() => assertOid(bad), InvalidInputError, bad);
    }
  });
});

describe('repository paths', () => {
  test('ordinary nested paths are accepted', () => {
    for (const path of ['index.md', 'policies/data/retention.md', 'a b/c-d_e.md', 'ünïcode/文件.md', '.github/x.md', 'git/x', '.gitignore']) {
      assert.equal(repoPathProblem(path), null, path);
    }
  });

  test('paths that escape the tree or reach git\'s files are refused, naming the path', () => {
    const hostile = [
      '', '../x.md', 'a/../../x', '.git/config', '.GIT/hooks/x', '.Git', 'a/.git/b', '.git.', '.git ', '.git. .', 'GIT~1/config',
      '.g\u200cit/config', 'a/./b', './a', '/abs', '/etc/passwd', 'a\\b', '..\\x', 'a//b', 'a/', 'nul\0byte', 'new\nline', 'tab\t',
      '.gitmodules', 'sub/.GITMODULES', 'x'.repeat(256), 'a/'.repeat(2100) + 'b',
    ];
    for (const path of hostile) {
      assert.notEqual(repoPathProblem(path), null, JSON.stringify(path));
      assert.throws(
        () => assertSafeRepoPath(path),
        (e: unknown) => e instanceof InvalidInputError && e.message.includes(JSON.stringify(path)),
      );
    }
  });
});

describe('identities', () => {
  test('names and emails cannot break out of the commit header', () => {
    assert.equal(cleanIdentityPart('Ada <evil@x>\nauthor Mallory'), 'Ada evil@xauthor Mallory');
    const env = identityEnv('AUTHOR', { name: ' Ada\r\n ', email: '<ada@acme.test>' }, new Date(1_700_000_000_000));
    assert.deepEqual(env, { GIT_AUTHOR_NAME: 'Ada', GIT_AUTHOR_EMAIL: 'ada@acme.test', GIT_AUTHOR_DATE: '@1700000000 +0000' });
  });

  test('an empty name or email, or an invalid date, is refused', () => {
    assert.throws(() => identityEnv('AUTHOR', { name: '<>', email: 'a@b' }, new Date()), InvalidInputError);
    assert.throws(() => identityEnv('COMMITTER', { name: 'A', email: '\n' }, new Date()), InvalidInputError);
    assert.throws(() => gitDate(new Date('nope')), InvalidInputError);
  });
});
