/**
 * The pure parts of the change request pages (src/changes/change-request-pages.ts): page addresses of previews,
 * conflicts cut to where the versions differ; and descriptions and comments rendered in the budget pool, shown
 * as plain (escaped) text when that overruns its time.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { documentPathOfPage, focusOnDifferences, type ConflictSide } from '../../src/changes/change-request-pages.ts';
import { NotFoundError } from '../../src/errors.ts';
import { FRAGMENTS_INLINE_CHARS, renderFragmentsWithinBudget } from '../../src/projects/budget-pool.ts';
import { renderChangeRequestBody, type ChangeRequestPageView } from '../../src/web/views/change-requests.tsx';

describe('preview addresses', () => {
  it('name documents as reading pages do', () => {
    assert.equal(documentPathOfPage(''), 'index.md');
    assert.equal(documentPathOfPage('policies/'), 'policies/index.md');
    assert.equal(documentPathOfPage('policies/data-handling'), 'policies/data-handling.md');
    assert.equal(documentPathOfPage('policies/data-handling.md'), 'policies/data-handling.md');
  });

  it('refuse anything that cannot be a document with the one 404', () => {
    for (const address of ['-/settings', 'a/-x', '../x', 'a/../b', './a', 'a\\b', 'a\u0000b', '/etc/passwd', 'x'.repeat(5000)]) {
      assert.throws(() => documentPathOfPage(address), NotFoundError, address);
    }
  });
});

describe('conflicts cut to where the versions differ', () => {
  const text = (lines: string[]): ConflictSide => ({ kind: 'text', text: lines.join('\n'), before: 0, after: 0 });
  const lines = (n: number, prefix = 'same') => Array.from({ length: n }, (_, i) => `${prefix} ${i}`);

  it('leaves out the lines every version shares at the start and end, but three around the difference', () => {
    const [base, ours, theirs] = focusOnDifferences([
      text([...lines(10), 'base line', ...lines(8, 'tail')]),
      text([...lines(10), 'main line', 'and another', ...lines(8, 'tail')]),
      text([...lines(10), 'draft line', ...lines(8, 'tail')]),
    ]);
    assert.deepEqual(base, { kind: 'text', text: ['same 7', 'same 8', 'same 9', 'base line', 'tail 0', 'tail 1', 'tail 2'].join('\n'), before: 7, after: 5 });
    assert.equal(ours!.kind === 'text' && ours!.text, ['same 7', 'same 8', 'same 9', 'main line', 'and another', 'tail 0', 'tail 1', 'tail 2'].join('\n'));
    assert.equal(theirs!.kind === 'text' && theirs!.before, 7);
  });

  it('keeps whole texts when they differ at once, and leaves sides without text alone', () => {
    const sides = focusOnDifferences([{ kind: 'absent' }, text(['a', 'b']), text(['c', 'b']), { kind: 'hidden' }]);
    assert.deepEqual(sides, [{ kind: 'absent' }, text(['a', 'b']), text(['c', 'b']), { kind: 'hidden' }]);
  });
});

describe('descriptions and comments in the budget pool', () => {
  const linkBase = '/acme/handbook/';

  it('small texts render inline; much text past its time comes back as null (shown as text)', async () => {
    const small = await renderFragmentsWithinBudget([{ text: '**hi**', idPrefix: 'a-', linkBase }], { deadline: performance.now() - 1 });
    assert.deepEqual(small, ['<p><strong>hi</strong></p>\n']);
    const big = 'word '.repeat(FRAGMENTS_INLINE_CHARS);
    const late = await renderFragmentsWithinBudget([{ text: big, idPrefix: 'a-', linkBase }, { text: '**x**', idPrefix: 'b-', linkBase }], { deadline: performance.now() - 1 });
    assert.deepEqual(late, [null, null]);
    const inWorker = await renderFragmentsWithinBudget([{ text: `${big}\n\n**end**`, idPrefix: 'a-', linkBase }], { deadline: performance.now() + 120_000 }); // generous: a loaded machine starts the worker slowly
    assert.match(inWorker[0] ?? '', /<strong>end<\/strong>/);
  });

  it('a text not rendered is written escaped', () => {
    const view = {
      project: { orgSlug: 'acme', orgName: 'Acme', slug: 'handbook', name: 'Handbook' },
      csrfToken: 't',
      number: 3,
      title: 'T',
      description: '<script>alert(1)</script> **not bold**',
      descriptionHtml: null,
      state: 'open',
      branch: 'b',
      head: 'a'.repeat(40),
      mergeCommit: null,
      author: 'A',
      createdAt: new Date(0).toISOString(),
      documents: [],
      reviews: [{ id: '1', who: 'B', verdict: 'comment', body: '<img src=x onerror=alert(2)>', bodyHtml: null, at: new Date(0).toISOString(), commit: 'a'.repeat(40), outdated: false, dismissed: null }],
      mergeable: false,
      needsReview: false,
      outstanding: [],
      approvals: [],
      may: { review: false, merge: false, close: false, dismiss: false, resolve: false },
      notice: null,
      error: null,
      mergeRefused: false,
      conflicts: null,
    } satisfies ChangeRequestPageView;
    const html = renderChangeRequestBody(view);
    assert.match(html, /&lt;script>alert\(1\)&lt;\/script> \*\*not bold\*\*/);
    assert.match(html, /&lt;img src=x onerror=alert\(2\)>/);
    assert.doesNotMatch(html, /<script|<img/);
  });
});
