import assert from 'node:assert/strict';
import { test } from 'node:test';
import { redline, sourceDiff, splitBlocks, summaryText, wordDiff } from '../../src/changes/redline.ts';
import { renderDocument } from '../../src/content/render-document.ts';

const html = (markdown: string) => renderDocument('policies/x.md', `---\ntitle: X\n---\n\n${markdown}\n`).html;

const BASE = [
  'Opening paragraph.',
  '## Access requests',
  'Ask your manager first.',
  '- one item\n- two items',
  '## Audits',
  'We audit yearly.',
  '## Storage',
  ...Array.from({ length: 12 }, (_, i) => `Unchanged paragraph number ${i}.`),
].join('\n\n');

test('a changed paragraph keeps its tag and marks deleted and inserted words', () => {
  const result = redline(html(BASE), html(BASE.replace('We audit yearly.', 'We audit every quarter.')));
  assert.equal(result.changed, true);
  assert.match(result.html, /<p class="rl-changed">We audit <del>yearly<\/del><ins>every quarter<\/ins>\.<\/p>/);
  assert.deepEqual(result.counts, { added: 0, removed: 0, changed: 1 });
});

test('a changed list item stays a list item inside its list', () => {
  const result = redline(html(BASE), html(BASE.replace('- two items', '- three items')));
  assert.match(result.html, /<ul>\s*<li>one item<\/li>\s*<li class="rl-changed"><del>two<\/del><ins>three<\/ins> items<\/li>\s*<\/ul>/);
});

test('long unchanged runs are collapsed and context is kept around changes', () => {
  const result = redline(html(BASE), html(BASE.replace('Opening paragraph.', 'Opening paragraph, revised.')));
  assert.match(result.html, /<p class="rl-collapsed">… \d+ unchanged blocks …<\/p>/);
  assert.match(result.html, /Ask your manager first/); // within two blocks of the change
  assert.doesNotMatch(result.html, /Unchanged paragraph number 11/);
});

test('the summary names changed, added and removed sections', () => {
  const changed = redline(html(BASE), html(BASE.replace('Ask your manager first.', 'Ask your lead first.').replace('yearly', 'monthly')));
  assert.deepEqual(changed.summary, { changed: ['Access requests', 'Audits'], added: [], removed: [] });
  assert.equal(summaryText(changed.summary), 'Changed: Access requests, Audits');

  const reshaped = redline(html(BASE), html(BASE.replace('## Audits\n\nWe audit yearly.', '') + '\n\n## Retention\n\nKeep it.'));
  assert.deepEqual(reshaped.summary.added, ['Retention']);
  assert.deepEqual(reshaped.summary.removed, ['Audits']);
  assert.match(summaryText(reshaped.summary)!, /Added: Retention · Removed: Audits/);
});

test('whole added and removed blocks are wrapped in ins and del', () => {
  const result = redline(html(BASE), html(BASE.replace('Opening paragraph.', 'Opening paragraph.\n\n> A new quote.')));
  assert.match(result.html, /<blockquote class="rl-added"><ins>[\s\S]*A new quote\.[\s\S]*<\/ins><\/blockquote>/);
  const removed = redline(html(BASE), html(BASE.replace('We audit yearly.', '')));
  assert.match(removed.html, /<p class="rl-removed"><del>We audit yearly\.<\/del><\/p>/);
});

test('hostile text in a changed block comes out escaped, never as markup', () => {
  const before = html('Use `safe` code.');
  const after = html('Use `<script>alert(1)</script>` and `<img src=x onerror=alert(1)>` code.');
  const result = redline(before, after);
  assert.doesNotMatch(result.html, /<script|<img|onerror=alert\(1\)>/i);
  assert.match(result.html, /&lt;script&gt;/);
  // raw HTML in the Markdown is already dropped by the renderer, and the redline is sanitized again
  const raw = redline(html('Plain.'), html('Plain. <script>alert(1)</script><a href="javascript:x">x</a>'));
  assert.doesNotMatch(raw.html, /<script|javascript:/i);
});

test('word diffs escape what they mark', () => {
  assert.equal(wordDiff('a <b>', 'a <i>'), 'a &lt;<del>b</del><ins>i</ins>&gt;');
});

test('identical bodies have no changes and no summary', () => {
  const result = redline(html(BASE), html(BASE));
  assert.equal(result.changed, false);
  assert.equal(summaryText(result.summary), null);
});

test('tables are compared as whole blocks by their text', () => {
  const table = (cell: string) => html(`| a | b |\n|---|---|\n| ${cell} | 2 |`);
  const result = redline(table('1'), table('3'));
  assert.match(result.html, /<div class="rl-changed rl-text">[\s\S]*<del>1<\/del><ins>3<\/ins>/);
});

test('blocks split at the top level, list items one by one, each with its section', () => {
  const blocks = splitBlocks(html(BASE));
  assert.deepEqual(
    blocks.slice(0, 6).map((b) => [b.tag, b.list, b.section]),
    [
      ['p', null, null],
      ['h2', null, 'Access requests'],
      ['p', null, 'Access requests'],
      ['li', 'ul', 'Access requests'],
      ['li', 'ul', 'Access requests'],
      ['h2', null, 'Audits'],
    ],
  );
});

test('the source diff is line based with context and skipped runs', () => {
  const before = Array.from({ length: 20 }, (_, i) => `line ${i}`).join('\n');
  const after = before.replace('line 10', 'line ten');
  const lines = sourceDiff(before, after);
  assert.deepEqual(lines[0], { kind: 'skip', count: 7 });
  assert.deepEqual(
    lines.filter((l) => l.kind === 'added' || l.kind === 'removed'),
    [
      { kind: 'removed', oldNumber: 11, newNumber: null, text: 'line 10' },
      { kind: 'added', oldNumber: null, newNumber: 11, text: 'line ten' },
    ],
  );
  assert.deepEqual(lines.at(-1), { kind: 'skip', count: 6 });
});
