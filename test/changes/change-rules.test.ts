import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { effectiveSettings } from '../../src/changes/approval-rules.ts';
import { changeProblems, fileProblem, problemLines, reviewProblems, type ChangeRights } from '../../src/changes/change-rules.ts';
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

  it('protected main: on the published branch a document needing review (old or new version) is refused; elsewhere not', () => {
    const reviewed: ChangeRights = { ...rights('restricted', true), review: effectiveSettings() };
    const review = (before: string | null, after: string | null, publishedBranch = true) =>
      reviewProblems(changeProblems(reviewed, [{ path: 'a.md', before, after }], { publishedBranch })).map((p) => p.message);
    assert.deepEqual(review(doc('internal'), doc('internal')), []);
    assert.deepEqual(review(doc('public'), null), []);
    assert.deepEqual(review(doc('confidential'), doc('confidential')), ['needs review before it is published: it is confidential and needs 1 approval by a manager or above']);
    assert.deepEqual(review(doc('confidential'), doc('internal')).length, 1, 'the old version decides too');
    assert.deepEqual(review(doc('internal'), doc('restricted')), ['needs review before it is published: it is restricted and needs 2 approvals by an admin or above']);
    assert.deepEqual(review(null, doc('confidential')).length, 1, 'creating');
    assert.deepEqual(review(doc('confidential'), null).length, 1, 'deleting');
    assert.deepEqual(review(doc('internal'), '---\ntitle: T\nclassification: internal\napprovers: [legal@acme.test]\n---\n'), [
      'needs review before it is published: its front matter names approvers (legal@acme.test)',
    ]);
    assert.deepEqual(review(doc('restricted'), doc('restricted'), false), [], 'a draft branch is not protected');
    assert.deepEqual(review(doc('internal'), '---\ntitle: [unclosed\n---\n').length, 1, 'unreadable front matter counts as restricted');
    // not a document: no rule
    assert.deepEqual(reviewProblems(changeProblems(reviewed, [{ path: 'logo.png', before: null, after: 'x' }], { publishedBranch: true })), []);
    // without settings (the merge of an approved change request, an import): not checked here
    assert.deepEqual(reviewProblems(changeProblems(manager, [{ path: 'a.md', before: doc('restricted'), after: doc('restricted') }], { publishedBranch: true })), []);
    // review turned on for internal documents by the organization
    const internalOn: ChangeRights = { ...manager, review: effectiveSettings({ internal: { approvals: 1, minimumRole: 'member' } }) };
    assert.equal(reviewProblems(changeProblems(internalOn, [{ path: 'a.md', before: doc('internal'), after: doc('internal') }], { publishedBranch: true })).length, 1);
  });
});
