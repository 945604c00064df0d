import assert from 'node:assert/strict';
import { test } from 'node:test';
import { redline } from '../../src/content/redline/redline.ts';
import { sourceDiff } from '../../src/content/redline/source-diff.ts';
import { renderDocument } from '../../src/content/render-document.ts';
import { compareWithinBudget, deadlineIn, INLINE_CHARS, renderWithinBudget, terminatedWorkers } from '../../src/projects/budget-pool.ts';

/** A document of about `bytes` characters: sections of paragraphs, lists and a table. */
function document(bytes: number, word: string): string {
  const parts = ['---\ntitle: Medium\nclassification: confidential\n---\n\n# Medium\n'];
  for (let section = 0; parts.join('').length < bytes; section++) {
    parts.push(`## Section ${section}\n\nParagraph of section ${section}, ${word} <b>bold</b> and [a link](other.md).\n\n- one ${word}\n- two\n\n| a | b |\n|---|---|\n| ${section} | ${word} |\n`);
  }
  return parts.join('\n');
}

test('large inputs render and compare in a worker exactly as inline', async () => {
  const before = document(INLINE_CHARS * 2, 'alpha');
  const after = before.replace('Section 3\n', 'Section three\n').replace('Paragraph of section 9, alpha', 'Paragraph of section 9, beta');
  assert.ok(before.length > INLINE_CHARS);
  const rendered = await renderWithinBudget('medium.md', before, { runMs: 60_000 });
  assert.deepEqual(rendered, renderDocument('medium.md', before));
  const afterHtml = renderDocument('medium.md', after).html;
  const compared = await compareWithinBudget({ html: rendered.html, source: before }, { html: afterHtml, source: after }, deadlineIn(60_000));
  assert.ok(compared?.redline.changed);
  assert.deepEqual(compared, { redline: redline(rendered.html, afterHtml), source: sourceDiff(before, after) });
});

test('a render past its budget has its worker terminated, keeps its front matter, and the next task gets a fresh worker', async () => {
  const row = (cell: (column: number) => string) => `|${Array.from({ length: 20_000 }, (_, c) => ` ${cell(c)} `).join('|')}|`;
  const rows = [row((c) => `h${c}`), row(() => '---')];
  for (let r = 0; r < 23; r++) rows.push(row((c) => `${r}x${c}`));
  const wide = `---\ntitle: Wide\nclassification: confidential\ntags: [big]\n---\n\n${rows.join('\n')}\n`;
  const terminated = terminatedWorkers();
  const placeholder = await renderWithinBudget('wide.md', wide, { runMs: 300 });
  assert.equal(placeholder.tooLarge, true);
  assert.equal(placeholder.title, 'Wide');
  assert.equal(placeholder.classification, 'confidential');
  assert.deepEqual(placeholder.tags, ['big']);
  assert.match(placeholder.html, /too large to render/);
  assert.equal(terminatedWorkers(), terminated + 1);
  // a comparison too large to show comes back as none
  const everyLine = (word: string) => Array.from({ length: 6_000 }, (_, i) => `line ${i} ${word}`).join('\n');
  assert.equal(await compareWithinBudget({ html: '', source: everyLine('a') }, { html: '', source: everyLine('b') }, deadlineIn(60_000)), null);
  // a past deadline: too large at once, nothing started
  const late = await compareWithinBudget({ html: wide, source: wide }, { html: wide, source: '' }, { deadline: 0 });
  assert.equal(late, null);
  const medium = document(INLINE_CHARS * 2, 'gamma');
  assert.deepEqual(await renderWithinBudget('medium.md', medium, { runMs: 60_000 }), renderDocument('medium.md', medium));
});

test('a document whose front matter is invalid stays restricted when too large', async () => {
  const source = `---\nclassification: [oops\n---\n\n${'x'.repeat(INLINE_CHARS)}\n`;
  const placeholder = await renderWithinBudget('bad.md', source, { deadline: 0 });
  assert.equal(placeholder.tooLarge, true);
  assert.equal(placeholder.classification, 'restricted');
});
