import assert from 'node:assert/strict';
import { test } from 'node:test';
import { documentPathFromUrl, isDocumentPath, isRegularFileMode, newDocumentPathProblem } from '../../src/content/document-path.ts';
import { filesMatching } from '../helpers/source-files.ts';

test('a document is a Markdown file outside the reserved -/ folder', () => {
  assert.equal(isDocumentPath('index.md'), true);
  assert.equal(isDocumentPath('policies/Data-Handling.MD'), true);
  assert.equal(isDocumentPath('policies/logo.png'), false);
  assert.equal(isDocumentPath('policies/notes.md.txt'), false);
  assert.equal(isDocumentPath('-/drafts/plan.md'), false);
  assert.equal(isDocumentPath('a/-/plan.md'), true, 'only the top-level -/ folder is reserved');
});

test('in a tree, only regular files are documents: never a link, a submodule or a folder', () => {
  assert.equal(isDocumentPath('a.md', '100644'), true);
  assert.equal(isDocumentPath('a.md', '100755'), true);
  for (const mode of ['120000', '160000', '040000']) {
    assert.equal(isDocumentPath('a.md', mode), false, mode);
    assert.equal(isRegularFileMode(mode), false, mode);
  }
});

test('a path the editor writes to has no name starting with "-" and a name before its .md', () => {
  assert.equal(newDocumentPathProblem('policies/leave.md'), null);
  assert.equal(newDocumentPathProblem('policies/-leave.md'), 'names must not start with "-"');
  assert.equal(newDocumentPathProblem('-/leave.md'), 'names must not start with "-"');
  assert.equal(newDocumentPathProblem('policies/.md'), 'documents are Markdown files ending in ".md"');
  assert.equal(newDocumentPathProblem('policies/leave.txt'), 'documents are Markdown files ending in ".md"');
});

test('a document URL names its path with or without .md', () => {
  assert.equal(documentPathFromUrl('policies/leave'), 'policies/leave.md');
  assert.equal(documentPathFromUrl('policies/leave.md'), 'policies/leave.md');
  assert.equal(documentPathFromUrl('policies/leave.MD'), 'policies/leave.MD');
});

test('what a document path is, is defined in content/document-path.ts only', () => {
  assert.deepEqual(filesMatching(/startsWith\('-\/'\)|=== '100644' \|\|/, ['src/content/document-path.ts']), []);
});
