import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { changeProblems, fileProblem, problemLines, type ChangeRights } from '../../src/changes/change-rules.ts';
import type { Classification } from '../../src/content/types.ts';

const ORDER: Classification[] = ['public', 'internal', 'confidential', 'restricted'];
/** Rights of a role whose clearance is `clearance`, declassifying only when `declassify`. */
const rights = (clearance: Classification, declassify: boolean): ChangeRights => ({
  mayChange: (c) => ORDER.indexOf(c) <= ORDER.indexOf(clearance),
  mayDeclassify: (from) => declassify && ORDER.indexOf(from) <= ORDER.indexOf(clearance),
});
const member = rights('internal', false);
const manager = rights('confidential', true);
const doc = (classification: string) => `---\ntitle: T\nclassification: ${classification}\n---\nText.\n`;
const lines = (r: ChangeRights, before: string | null, after: string | null, publishedBranch = true) =>
  problemLines(changeProblems(r, [{ path: 'a.md', before, after }], { publishedBranch }));

describe('change rules', () => {
  it('refuses a member lowering a classification; a manager may', () => {
    assert.deepEqual(lines(member, doc('internal'), doc('public')), ['a.md: your role may not lower the classification from internal to public']);
    assert.deepEqual(lines(manager, doc('internal'), doc('public')), []);
  });

  it('refuses a classification the actor may not change, before or after (create, edit, delete)', () => {
    assert.deepEqual(lines(member, null, doc('restricted')), ['a.md: your role may not change a document classified restricted']);
    assert.deepEqual(lines(member, doc('confidential'), doc('internal')), ['a.md: your role may not change a document classified confidential']);
    assert.deepEqual(lines(member, doc('confidential'), null), ['a.md: your role may not change a document classified confidential']);
    assert.deepEqual(lines(member, doc('internal'), doc('internal')), []);
  });

  it('counts an unreadable front matter as restricted; reports its errors on the published branch only', () => {
    assert.deepEqual(lines(manager, doc('internal'), doc('topsecret'), false), ['a.md: your role may not change a document classified restricted']);
    const published = lines(rights('restricted', true), doc('internal'), '\n---\nclassification: public\n---\n');
    assert.deepEqual(published, ['a.md:2: front matter must start on the first line: remove the blank lines before "---"']);
  });

  it('leaves files that are not documents alone, and checks file names, types and sizes', () => {
    assert.deepEqual(changeProblems(member, [{ path: 'logo.svg', before: null, after: doc('restricted') }], { publishedBranch: true }), []);
    assert.equal(fileProblem({ path: 'a.md', mode: '120000' }), 'symbolic links are not allowed');
    assert.equal(fileProblem({ path: 'm', mode: '160000' }), 'submodules are not allowed');
    assert.match(fileProblem({ path: '.git/config', mode: '100644' }) ?? '', /invalid file name/);
    assert.equal(fileProblem({ path: 'big.bin', mode: '100644', size: 6 * 1024 * 1024 }), 'file is 6 MB, over the 5 MB limit');
    assert.equal(fileProblem({ path: 'ok.md', mode: '100644', size: 10 }), null);
  });
});
