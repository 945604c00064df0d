import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { renderDocument } from '../../src/content/render-document.ts';
import type { RenderedDocument } from '../../src/content/types.ts';
import { PARALLEL_THRESHOLD, plainFieldAssignments, renderMany, renderWorkerSource, setWorkerHeapCap } from '../../src/projects/render-pool.ts';
import { XSS_PAYLOADS } from '../content/xss-payloads.ts';

const fixtures = new URL('../content/fixtures/', import.meta.url);

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

test('the workers run the esbuild bundle (no TypeScript loader), which renders the fixtures and XSS payloads like inline rendering', async () => {
  const source = await renderWorkerSource();
  assert.equal(source.kind, 'bundle', source.kind === 'tsx' ? source.reason : '');
  const items = [
    ...readdirSync(fixtures).map((name) => ({ path: `policies/${name}`, source: readFileSync(new URL(name, fixtures), 'utf8') })),
    ...XSS_PAYLOADS.map((payload, i) => ({ path: `xss/${i}.md`, source: `---\ntitle: Payload ${i}\n---\n\n${payload}\n` })),
  ];
  // Pad to the parallel threshold so the batch really goes to the workers.
  while (items.length < PARALLEL_THRESHOLD) items.push({ ...items[items.length % 7]!, path: `pad/${items.length}.md` });
  const rendered = await renderMany(items);
  rendered.forEach((doc, i) => assert.deepEqual(doc, renderDocument(items[i]!.path, items[i]!.source), items[i]!.path));
});

test('a batch that outgrows the workers\' capped heap is rendered again without the cap, with the same result', async () => {
  // a table of a few thousand rows needs far more than this cap; the ordinary documents around it do not
  setWorkerHeapCap(24);
  try {
    const table = `| a | b | c |\n|---|:-:|--:|\n${Array.from({ length: 4000 }, (_, i) => `| ${i} | **b${i}** | [c](c${i}.md) |`).join('\n')}\n`;
    const items = Array.from({ length: PARALLEL_THRESHOLD + 10 }, (_, i) => ({
      path: `docs/${i}.md`,
      source: i === 7 ? `---\ntitle: Big table\n---\n\n${table}` : `---\ntitle: Doc ${i}\n---\n\nText ${i}.\n`,
    }));
    const rendered = await renderMany(items);
    rendered.forEach((doc, i) => assert.deepEqual(doc, renderDocument(items[i]!.path, items[i]!.source), items[i]!.path));
    assert.equal(rendered[7]!.title, 'Big table');
  } finally {
    setWorkerHeapCap(1024);
  }
});

test('the tsx bootstrap (the fallback when bundling fails) still starts a render worker', async () => {
  const worker = new Worker(new URL('../../src/projects/render-worker-boot.mjs', import.meta.url));
  try {
    const results = await new Promise<RenderedDocument[]>((resolve, reject) => {
      worker.once('message', (message: { results: RenderedDocument[] }) => resolve(message.results));
      worker.once('error', reject);
      worker.postMessage({ id: 1, items: [{ path: 'a/b.md', source: '---\ntitle: Boot\n---\n\nSee [c](c.md).\n' }] });
    });
    assert.deepEqual(results, [renderDocument('a/b.md', '---\ntitle: Boot\n---\n\nSee [c](c.md).\n')]);
  } finally {
    await worker.terminate();
  }
});

test("markdown-it's field helper calls become plain assignments; anything else is left alone", () => {
  const source = [
    'class Token {',
    '\tconstructor(type) {',
    '\t\t_defineProperty(this, "type", type);',
    '\t\t_defineProperty(',
    '\t\t\tthis,',
    '\t\t\t/**',
    '\t\t\t* Source map info.',
    '\t\t\t*/',
    '\t\t\t"map",',
    '\t\t\tnull',
    '\t\t);',
    '\t\t_defineProperty(other, "x", 1);',
    '\t}',
    '}',
  ].join('\n');
  const out = plainFieldAssignments(source);
  assert.match(out, /this\.type = \( type\);/);
  assert.match(out, /this\.map = \(\n\t\t\tnull\n\t\t\);/);
  assert.match(out, /_defineProperty\(other, "x", 1\);/);
  const token = new Function('_defineProperty', 'other', `${out}\nreturn new Token('inline');`)(() => {}, {}) as object;
  assert.deepEqual({ ...token }, { type: 'inline', map: null });
});
