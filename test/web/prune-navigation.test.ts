import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildNavigation } from '../../src/content/navigation.ts';
import type { NavNode, NavSection } from '../../src/content/types.ts';
import { pruneNavigation } from '../../src/web/reading-pages.ts';
import { renderSectionBody } from '../../src/web/views/section.tsx';

const pad = (n: number) => String(n).padStart(4, '0');
const docs = (folder: string, count: number) =>
  Array.from({ length: count }, (_, i) => ({ path: `${folder}/doc-${pad(i)}.md`, title: `${folder} ${pad(i)}`, sort: null, date: null }));
const count = (nodes: NavNode[]): number => nodes.reduce((n, node) => n + 1 + (node.kind === 'section' ? count(node.children) : 0), 0);

test('a long navigation keeps the branch of the current page, a window of its siblings and a link for the rest', () => {
  const nav = buildNavigation([...docs('big/inner', 2000), ...docs('big', 40), ...docs('other', 300), ...docs('third', 5)]);
  const current = 'big/inner/doc-1000.md';
  const pruned = pruneNavigation(nav, current);
  const big = pruned.find((n) => n.path === 'big') as NavSection;
  const inner = big.children.find((n) => n.path === 'big/inner') as NavSection;
  // the current page among 30 of its 2,000 siblings, and one link standing for the 1,970 others
  assert.ok(inner.children.some((n) => n.path === current));
  assert.equal(inner.children.filter((n) => n.kind === 'document').length, 30);
  const more = inner.children.at(-1) as NavSection;
  assert.equal(more.more, 1970);
  assert.equal(more.path, 'big/inner');
  assert.equal(more.title, 'All 2000 in Inner');
  // other sections collapsed (their section pages list them)
  assert.deepEqual((pruned.find((n) => n.path === 'other') as NavSection).children, []);
  // bounded, whatever the project's size
  assert.ok(count(pruned) < 100, `${count(pruned)} entries`);
  const larger = pruneNavigation(buildNavigation([...docs('big/inner', 20000), ...docs('big', 40), ...docs('other', 300)]), current);
  assert.ok(Math.abs(count(larger) - count(pruned)) <= 2);
});

test('the stand-in renders as a plain link to the section page, never as the current page', () => {
  const nav = buildNavigation(docs('big', 200));
  const pruned = pruneNavigation(nav, 'big/doc-0100.md');
  const html = String(
    renderSectionBody({ project: { orgSlug: 'o', orgName: 'O', slug: 'p', name: 'P' }, nav: pruned, currentPath: 'big', breadcrumbs: [], title: 'Big', entries: [] }),
  );
  assert.match(html, /<li class="nav-item nav-more"><a class="nav-link nav-more-link" href="\/o\/p\/big\/">All 200 in Big<\/a><\/li>/);
  assert.doesNotMatch(html, /nav-more-link is-current/);
});

test('a small navigation is left whole', () => {
  const nav = buildNavigation([...docs('a', 50), ...docs('b', 50)]);
  assert.equal(pruneNavigation(nav, 'a/doc-0001.md'), nav);
});
