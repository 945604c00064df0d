import assert from 'node:assert/strict';
import { test } from 'node:test';
import { restoreMessage } from '../../src/changes/restore.ts';
import { classificationOf } from '../../src/content/classification.ts';
import { isDocumentPath } from '../../src/content/document-path.ts';
import { parseLogWithFiles } from '../../src/git/file-history.ts';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const T = 'c'.repeat(40);
const Z = '0'.repeat(40);
const header = (oid: string, subject: string, parents = '') => [oid, T, parents, 'Ann', 'ann@x.test', '1700000000', '+0100', subject];

test('git log records are parsed by position, so a subject starting with ":" is not a file record', () => {
  const parts = [
    ...header(A, ':looks like a record', B),
    `\n:100644 100644 ${B} ${A} R087`, 'old/name.md', 'new/name.md',
    ...header(B, 'first'),
    `\n:000000 100644 ${Z} ${B} A`, 'old/name.md',
  ];
  const commits = parseLogWithFiles(Buffer.from(parts.join('\0') + '\0'));
  assert.equal(commits.length, 2);
  assert.equal(commits[0]!.subject, ':looks like a record');
  assert.deepEqual(commits[0]!.files, [{ status: 'R', path: 'new/name.md', oldPath: 'old/name.md', oldBlob: B, newBlob: A, mode: '100644' }]);
  assert.deepEqual(commits[1]!.files, [{ status: 'A', path: 'old/name.md', oldPath: null, oldBlob: null, newBlob: B, mode: '100644' }]);
  assert.deepEqual(commits[0]!.parents, [B]);
});

test('a commit without file records (an empty commit) is parsed too', () => {
  const commits = parseLogWithFiles(Buffer.from([...header(A, 'empty'), ...header(B, 'next')].join('\0') + '\0'));
  assert.deepEqual(commits.map((c) => [c.subject, c.files.length]), [['empty', 0], ['next', 0]]);
});

test('a version counts as restricted when its front matter cannot be read', () => {
  assert.equal(classificationOf('---\nclassification: confidential\n---\n'), 'confidential');
  assert.equal(classificationOf('no front matter'), 'internal');
  assert.equal(classificationOf('---\nclassification: [\n---\n'), 'restricted');
});

test('only regular Markdown files are documents', () => {
  assert.equal(isDocumentPath('a/b.md'), true);
  assert.equal(isDocumentPath('a/b.md', '120000'), false);
  assert.equal(isDocumentPath('a/b.png'), false);
});

test('a restore names the date and author of the version brought back', () => {
  assert.equal(restoreMessage(new Date('2026-05-15T14:03:59Z'), 'Alice'), 'Restore version of 2026-05-15 14:03 UTC by Alice');
});
