import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { breadcrumbsFor, buildNavigation, findSection } from '../../src/content/navigation.ts';
import type { NavInput, NavNode, NavSection } from '../../src/content/types.ts';

const doc = (path: string, title: string, sort: number | null = null, date: string | null = null): NavInput => ({ path, title, sort, date });

/** A compact outline of the tree: titles, sections marked with their children. */
function outline(nodes: readonly NavNode[]): unknown[] {
  return nodes.map((node) => (node.kind === 'section' ? { [node.title]: outline(node.children) } : node.title));
}

const intranet: NavInput[] = [
  doc('index.md', 'ZephyrCart Intranet'),
  doc('news/index.md', 'News', 1),
  doc('news/2024-05-20-stripe-tax.md', 'Stripe Tax integration partnership', null, '2024-05-20'),
  doc('news/2024-05-15-all-hands.md', 'All-hands recap — May 15', null, '2024-05-15'),
  doc('news/2024-05-17-singapore.md', 'ap-singapore is now GA', null, '2024-05-17'),
  doc('news/2024-05-15-platform.md', 'Platform update — May rollups', null, '2024-05-15'),
  doc('policies/index.md', 'Policies', 2),
  doc('policies/code-of-conduct.md', 'Code of conduct', 1),
  doc('policies/data-handling.md', 'Data handling', 2),
  doc('policies/incident-response.md', 'Incident response', 3),
  doc('onboarding/first-week.md', 'First week'),
  doc('team-handbook/engineering/on-call.md', 'On-call'),
  doc('team-handbook/engineering/index.md', 'Engineering'),
  doc('team-handbook/values.md', 'Our values'),
  doc('glossary.md', 'Glossary'),
];

describe('buildNavigation', () => {
  it('builds the intranet tree: sections by folder, index titles and sorts, home page not listed', () => {
    assert.deepEqual(outline(buildNavigation(intranet)), [
      {
        News: [
          'Stripe Tax integration partnership',
          'ap-singapore is now GA',
          'All-hands recap — May 15',
          'Platform update — May rollups',
        ],
      },
      { Policies: ['Code of conduct', 'Data handling', 'Incident response'] },
      'Glossary',
      { Onboarding: ['First week'] },
      { 'Team handbook': [{ Engineering: ['On-call'] }, 'Our values'] },
    ]);
  });

  it('records index documents as the section’s indexPath, and dated sections as dated', () => {
    const nav = buildNavigation(intranet);
    const news = findSection(nav, 'news');
    assert.equal(news?.indexPath, 'news/index.md');
    assert.equal(news?.dated, true);
    assert.equal(news?.sort, 1);
    const onboarding = findSection(nav, 'onboarding');
    assert.equal(onboarding?.indexPath, null);
    assert.equal(onboarding?.dated, false);
    assert.equal(onboarding?.sort, null);
    const engineering = findSection(nav, 'team-handbook/engineering');
    assert.equal(engineering?.indexPath, 'team-handbook/engineering/index.md');
    assert.equal(engineering?.path, 'team-handbook/engineering');
  });

  it('orders sorted items first (ascending), then the rest by title with numbers in numeric order', () => {
    const nav = buildNavigation([
      doc('b.md', 'Bravo'),
      doc('z.md', 'Zulu', 2),
      doc('a.md', 'alpha'),
      doc('y.md', 'Yankee', 1),
      doc('step-10.md', 'Step 10'),
      doc('step-9.md', 'Step 9'),
      doc('x.md', 'X-ray', -1),
    ]);
    assert.deepEqual(outline(nav), ['X-ray', 'Yankee', 'Zulu', 'alpha', 'Bravo', 'Step 9', 'Step 10']);
  });

  it('sorts sections and documents together', () => {
    const nav = buildNavigation([doc('m.md', 'Middle'), doc('a/one.md', 'One'), doc('z/index.md', 'Zed section', 1), doc('z/two.md', 'Two')]);
    assert.deepEqual(outline(nav), [{ 'Zed section': ['Two'] }, { A: ['One'] }, 'Middle']);
  });

  it('lists dated sections newest first, ties by title, and ignores their sort', () => {
    const nav = buildNavigation([
      doc('news/a.md', 'Beta news', 1, '2024-01-01'),
      doc('news/b.md', 'Alpha news', null, '2024-03-01'),
      doc('news/c.md', 'Gamma news', null, '2024-03-01'),
      doc('news/d.md', 'Delta news', null, '2023-12-31'),
    ]);
    assert.deepEqual(outline(nav), [{ News: ['Alpha news', 'Gamma news', 'Beta news', 'Delta news'] }]);
  });

  it('is not dated when one document lacks a date', () => {
    const nav = buildNavigation([doc('news/a.md', 'A', null, '2024-01-01'), doc('news/b.md', 'B')]);
    assert.equal((nav[0] as NavSection).dated, false);
    assert.deepEqual(outline(nav), [{ News: ['A', 'B'] }]);
  });

  it('does not count the undated index.md against a dated section', () => {
    const nav = buildNavigation([doc('news/index.md', 'Company news'), doc('news/a.md', 'A', null, '2024-01-01')]);
    assert.equal((nav[0] as NavSection).dated, true);
    assert.equal((nav[0] as NavSection).title, 'Company news');
  });

  it('humanizes folder names without an index', () => {
    const nav = buildNavigation([doc('team-handbook/x.md', 'X'), doc('security_reviews/y.md', 'Y')]);
    assert.deepEqual(nav.map((n) => n.title), ['Security reviews', 'Team handbook']);
  });

  it('leaves out folders with no readable documents, and keeps a folder whose only readable document is its index', () => {
    // The reader may read nothing under hr/, so it is not in the input: it must not appear at all.
    const nav = buildNavigation([doc('policies/a.md', 'A'), doc('legal/index.md', 'Legal')]);
    assert.deepEqual(outline(nav), [{ Legal: [] }, { Policies: ['A'] }]);
    assert.equal(findSection(nav, 'hr'), null);
  });

  it('keeps a parent folder that only holds a readable subfolder', () => {
    const nav = buildNavigation([doc('handbook/eng/on-call.md', 'On-call')]);
    assert.deepEqual(outline(nav), [{ Handbook: [{ Eng: ['On-call'] }] }]);
  });

  it('uses sectionIndexes for folders without a readable index.md, but never creates a section from them', () => {
    const nav = buildNavigation(
      [doc('policies/a.md', 'A'), doc('news/index.md', 'News from index', 5)],
      new Map([
        ['policies', { title: 'Company policies', sort: 1 }],
        ['news', { title: 'Ignored: the index wins', sort: 9 }],
        ['secret', { title: 'Secret projects', sort: 0 }],
      ]),
    );
    assert.deepEqual(
      nav.map((n) => [n.title, n.sort]),
      [
        ['Company policies', 1],
        ['News from index', 5],
      ],
    );
  });

  it('returns an empty tree for no documents or only the home page', () => {
    assert.deepEqual(buildNavigation([]), []);
    assert.deepEqual(buildNavigation([doc('index.md', 'Home')]), []);
  });
});

describe('breadcrumbsFor and findSection', () => {
  const nav = buildNavigation(intranet);

  it('gives the chain of sections above a document', () => {
    assert.deepEqual(breadcrumbsFor(nav, 'team-handbook/engineering/on-call.md'), [
      { path: 'team-handbook', title: 'Team handbook' },
      { path: 'team-handbook/engineering', title: 'Engineering' },
    ]);
    assert.deepEqual(breadcrumbsFor(nav, 'policies/data-handling.md'), [{ path: 'policies', title: 'Policies' }]);
    assert.deepEqual(breadcrumbsFor(nav, 'glossary.md'), []);
  });

  it('gives the sections above a section (its own page shows its title), for its path or its index.md', () => {
    const expected = [{ path: 'team-handbook', title: 'Team handbook' }];
    assert.deepEqual(breadcrumbsFor(nav, 'team-handbook/engineering'), expected);
    assert.deepEqual(breadcrumbsFor(nav, 'team-handbook/engineering/'), expected);
    assert.deepEqual(breadcrumbsFor(nav, 'team-handbook/engineering/index.md'), expected);
    assert.deepEqual(breadcrumbsFor(nav, 'policies'), []);
  });

  it('finds nested sections and returns null for unknown or partial names', () => {
    assert.equal(findSection(nav, 'team-handbook/engineering')?.title, 'Engineering');
    assert.equal(findSection(nav, '/policies/')?.title, 'Policies');
    assert.equal(findSection(nav, 'team'), null);
    assert.equal(findSection(nav, 'policies/data-handling.md'), null);
    assert.equal(findSection(nav, ''), null);
  });
});

describe('buildNavigation: README.md as a folder page', () => {
  it('takes a folder README.md as the section page when there is no index.md, and the root one as home', () => {
    const nav = buildNavigation([
      { path: 'README.md', title: 'Home', sort: null, date: null },
      { path: 'eng/README.md', title: 'Engineering', sort: null, date: null },
      { path: 'eng/on-call.md', title: 'On-call', sort: null, date: null },
      { path: 'hr/README.md', title: 'Readme', sort: null, date: null },
      { path: 'hr/index.md', title: 'People', sort: null, date: null },
    ]);
    assert.deepEqual(
      nav.map((n) => (n.kind === 'section' ? { section: n.path, title: n.title, indexPath: n.indexPath, children: n.children.map((c) => c.path) } : n.path)),
      [
        { section: 'eng', title: 'Engineering', indexPath: 'eng/README.md', children: ['eng/on-call.md'] },
        { section: 'hr', title: 'People', indexPath: 'hr/index.md', children: ['hr/README.md'] },
      ],
    );
  });
});
