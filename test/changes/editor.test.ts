import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { diffLines, foldDiff, splitLines } from '../../src/changes/conflicts.ts';
import { assertDocumentPath, assertValidFrontMatter, FrontMatterRejectedError, normalizeDocumentSource } from '../../src/changes/editor.ts';
import { documentPathFromUrl } from '../../src/content/document-path.ts';
import { InvalidInputError } from '../../src/errors.ts';

describe('conflict diff', () => {
  test('marks lines only in the current version as removed and lines only in the author\'s text as added', () => {
    const diff = diffLines('a\nb\nc\nd\n', 'a\nB\nc\nd\ne\n');
    assert.deepEqual(diff, [
      { kind: 'same', text: 'a' },
      { kind: 'removed', text: 'b' },
      { kind: 'added', text: 'B' },
      { kind: 'same', text: 'c' },
      { kind: 'same', text: 'd' },
      { kind: 'added', text: 'e' },
    ]);
  });

  test('treats CRLF and LF alike and ignores a missing final newline', () => {
    assert.deepEqual(splitLines('x\r\ny\r\n'), ['x', 'y']);
    assert.ok(diffLines('x\r\ny\r\n', 'x\ny').every((l) => l.kind === 'same'));
    assert.deepEqual(diffLines('', ''), []);
  });

  test('keeps the longest common subsequence in the middle', () => {
    const diff = diffLines('1\n2\n3\n4\n5\n', '1\n3\n2\n4\n5\n');
    assert.equal(diff.filter((l) => l.kind === 'same').length, 4);
    assert.equal(diff.filter((l) => l.kind !== 'same').length, 2);
  });

  test('a huge rewrite falls back to removed-then-added instead of a giant table', () => {
    const a = Array.from({ length: 3000 }, (_, i) => `a${i}`).join('\n');
    const b = Array.from({ length: 3000 }, (_, i) => `b${i}`).join('\n');
    const diff = diffLines(a, b);
    assert.equal(diff.length, 6000);
    assert.equal(diff[0]!.kind, 'removed');
    assert.equal(diff[5999]!.kind, 'added');
  });

  test('folding keeps three lines of context around each change', () => {
    const current = Array.from({ length: 20 }, (_, i) => `line ${i}`).join('\n');
    const mine = current.replace('line 10', 'LINE TEN');
    const folded = foldDiff(diffLines(current, mine));
    assert.deepEqual(folded[0], { kind: 'skip', count: 7 });
    assert.deepEqual(folded.at(-1), { kind: 'skip', count: 6 });
    assert.equal(folded.filter((l) => l.kind === 'same').length, 6);
  });
});

describe('editor input checks', () => {
  test('document paths: Markdown files inside the project only', () => {
    assert.equal(assertDocumentPath('policies/new.md'), 'policies/new.md');
    for (const bad of ['../x.md', 'a/../x.md', '.git/config.md', 'a/.GIT/x.md', '-x.md', 'a/-b/c.md', '/abs.md', 'x.txt', '.md', 'a\\b.md', 'a//b.md', '', '.gitmodules']) {
      assert.throws(() => assertDocumentPath(bad), InvalidInputError, bad);
    }
  });

  test('editor URLs name documents with or without .md', () => {
    assert.equal(documentPathFromUrl('policies/data-handling'), 'policies/data-handling.md');
    assert.equal(documentPathFromUrl('policies/data-handling.md'), 'policies/data-handling.md');
  });

  test('browser text is stored with LF line ends', () => {
    assert.equal(normalizeDocumentSource('a\r\nb\rc\n'), 'a\nb\nc\n');
    assert.throws(() => normalizeDocumentSource(undefined), InvalidInputError);
  });

  test('invalid front matter is refused with file:line errors', () => {
    assert.doesNotThrow(() => assertValidFrontMatter('a.md', '---\ntitle: A\n---\nbody\n'));
    assert.throws(
      () => assertValidFrontMatter('a.md', '---\ntitle: A\nclassification: nope\n---\n'),
      (error: unknown) => error instanceof FrontMatterRejectedError && error.errors[0]!.line === 3 && error.status === 400,
    );
  });
});
