import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { humanizeName, titleFromPath } from '../../src/content/humanize.ts';
import { RENDERER_VERSION, renderDocument } from '../../src/content/render-document.ts';

describe('renderDocument: title', () => {
  it('prefers the front matter title', () => {
    const doc = renderDocument('policies/data-handling.md', '---\ntitle: Handling data\n---\n# Something else\n\nText');
    assert.equal(doc.title, 'Handling data');
    assert.match(doc.html, /<h1 id="something-else">Something else<\/h1>/);
  });

  it('removes a leading H1 that repeats the front matter title', () => {
    const doc = renderDocument('policies/data-handling.md', '---\ntitle: Data handling\n---\n\n# Data handling\n\nText');
    assert.equal(doc.title, 'Data handling');
    assert.equal(doc.html, '<p>Text</p>\n');
  });

  it('falls back to the first H1, removed from the body', () => {
    const doc = renderDocument('policies/data-handling.md', 'Intro line.\n\n# Retention rules\n\n## Scope\n');
    assert.equal(doc.title, 'Retention rules');
    assert.doesNotMatch(doc.html, /Retention rules/);
    assert.match(doc.html, /<p>Intro line\.<\/p>\s*<h2 id="scope">Scope<\/h2>/);
  });

  it('falls back to the de-slugged file name', () => {
    assert.equal(renderDocument('policies/data-handling.md', 'No heading here.').title, 'Data handling');
    assert.equal(renderDocument('team_handbook.md', '').title, 'Team handbook');
  });

  it('titles a folder index without a heading after its folder', () => {
    assert.equal(renderDocument('team-handbook/index.md', 'Welcome.').title, 'Team handbook');
    assert.equal(renderDocument('index.md', 'Welcome.').title, 'Home');
  });

  it('humanizes names', () => {
    assert.equal(humanizeName('data-handling'), 'Data handling');
    assert.equal(humanizeName('2024-05-15-all-hands.md'), '2024 05 15 all hands');
    assert.equal(titleFromPath('news/launch-day.md'), 'Launch day');
  });
});

describe('renderDocument: metadata', () => {
  it('copies validated front matter into the result', () => {
    const doc = renderDocument(
      'news/launch.md',
      '---\ntitle: Launch\nsort: 3\ntags: launch\nclassification: Public\ndate: 2024-05-15\nowner: Comms\neffective: 2024-05-16\nreview_by: 2025-05-16\n---\nText',
    );
    assert.deepEqual(
      { ...doc, html: undefined, toc: undefined, links: undefined, anchors: undefined },
      {
        path: 'news/launch.md',
        title: 'Launch',
        sort: 3,
        tags: ['launch'],
        classification: 'public',
        date: '2024-05-15',
        owner: 'Comms',
        effective: '2024-05-16',
        review_by: '2025-05-16',
        html: undefined,
        toc: undefined,
        links: undefined,
        anchors: undefined,
        errors: [],
      },
    );
  });

  it('defaults to internal and nulls without front matter', () => {
    const doc = renderDocument('a.md', 'Text');
    assert.equal(doc.classification, 'internal');
    assert.deepEqual([doc.sort, doc.date, doc.owner, doc.effective, doc.review_by], [null, null, null, null, null]);
    assert.deepEqual(doc.tags, []);
  });

  it('fails closed with invalid front matter: restricted, errors filled, body still rendered', () => {
    const doc = renderDocument('policies/secret.md', '---\ntitle: Salaries\nclassification: public-ish\n---\n# Salary bands\n\nBody text.');
    assert.equal(doc.classification, 'restricted');
    assert.deepEqual(doc.errors, [
      {
        file: 'policies/secret.md',
        line: 3,
        column: 1,
        message: 'classification must be one of public, internal, confidential, restricted',
      },
    ]);
    // The header cannot be trusted, so neither is its title.
    assert.equal(doc.title, 'Salary bands');
    assert.equal(doc.html, '<p>Body text.</p>\n');
    assert.deepEqual(doc.tags, []);
  });

  it('fails closed for a header after a blank line: restricted, with the error at the line of "---"', () => {
    const doc = renderDocument('policies/secret.md', '\n---\ntitle: Salaries\nclassification: restricted\n---\n# Salary bands\n');
    assert.equal(doc.classification, 'restricted');
    assert.equal(doc.errors[0]?.file, 'policies/secret.md');
    assert.equal(doc.errors[0]?.line, 2);
  });

  it('fails closed for an unterminated block', () => {
    const doc = renderDocument('a.md', '---\nclassification: public\n\nText');
    assert.equal(doc.classification, 'restricted');
    assert.equal(doc.errors[0]?.line, 1);
  });

  it('exports a renderer version string for cache keys', () => {
    assert.equal(typeof RENDERER_VERSION, 'string');
    assert.ok(RENDERER_VERSION.length > 0);
  });
});

describe('renderDocument: never throws', () => {
  const nasty: [string, string][] = [
    ['deep quotes', '>'.repeat(20_000) + ' x'],
    ['deep lists', Array.from({ length: 2000 }, (_, i) => ' '.repeat(i * 2) + '- x').join('\n')],
    ['brackets', '['.repeat(20_000) + ']'.repeat(20_000)],
    ['emphasis', '*a'.repeat(20_000)],
    ['nul and lone surrogates', 'a\u0000b\uD800c\uDFFF'],
    ['only front matter markers', '---'],
    ['huge table', '|a|b|\n|-|-|\n' + '|1|2|\n'.repeat(5000)],
    ['unclosed html', '<div><span><table><tr><td>'.repeat(500)],
  ];
  for (const [name, source] of nasty) {
    it(`renders ${name} without throwing`, () => {
      const doc = renderDocument('x.md', source);
      assert.equal(typeof doc.html, 'string');
    });
  }

  it('reports an unexpected failure as an error at line 1 instead of throwing', () => {
    const doc = renderDocument('x.md', { toString: () => { throw new Error('boom'); } } as unknown as string);
    assert.equal(doc.classification, 'restricted');
    assert.equal(doc.html, '');
    assert.deepEqual(doc.errors, [{ file: 'x.md', line: 1, message: 'could not render this document: boom' }]);
  });
});
