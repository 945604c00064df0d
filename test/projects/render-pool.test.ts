import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderDocument } from '../../src/content/render-document.ts';
import { PARALLEL_THRESHOLD, renderMany } from '../../src/projects/render-pool.ts';

test('many documents render in worker threads, identically to rendering them inline, in input order', async () => {
  const count = PARALLEL_THRESHOLD + 50;
  const items = Array.from({ length: count }, (_, i) => ({
    path: `section-${i % 7}/doc-${i}.md`,
    source: `---\ntitle: Document ${i}\nclassification: ${i % 3 === 0 ? 'confidential' : 'internal'}\n---\n\n## Part ${i}\n\nSee [next](doc-${i + 1}.md) and <div class="text-muted">note ${i}</div>\n`,
  }));
  const rendered = await renderMany(items);
  assert.equal(rendered.length, count);
  rendered.forEach((doc, i) => assert.deepEqual(doc, renderDocument(items[i]!.path, items[i]!.source)));
});
