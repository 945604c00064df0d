import { parentPort } from 'node:worker_threads';
import { redline, tooLargeToShow } from '../content/redline/redline.ts';
import { sourceDiff } from '../content/redline/source-diff.ts';
import { parseFrontMatter } from '../content/front-matter.ts';
import { renderDocument } from '../content/render-document.ts';
import { renderMarkdownFragment } from '../content/markdown.ts';
import { writeHtmlPackSync } from './html-packs.ts';
import type { BudgetedTask } from './budget-pool.ts';

/**
 * Worker thread body: render batches of Markdown files sent by render-pool.ts. With `htmlDir`, the batch's HTML
 * is written here as one pack (html-packs.ts) and only each document's metadata and HTML location go back.
 * Single tasks with a time budget (budget-pool.ts) come as `{ id, task }`; a render task first sends the
 * document's front matter, so that a render cut short still knows the document's classification.
 */
parentPort?.on('message', (message: { id: number; task: BudgetedTask } | { id: number; items: { path: string; source: string }[]; htmlDir?: string }) => {
  if ('task' in message) {
    runTask(message.id, message.task);
    return;
  }
  const batch = message;
  try {
    const rendered = batch.items.map((item) => renderDocument(item.path, item.source));
    if (batch.htmlDir === undefined) {
      parentPort?.postMessage({ id: batch.id, results: rendered });
      return;
    }
    const locations = writeHtmlPackSync(batch.htmlDir, rendered.map((doc) => doc.html));
    const results = rendered.map(({ html: _html, ...meta }, i) => ({ meta, html: locations[i]! }));
    parentPort?.postMessage({ id: batch.id, results });
  } catch (error) {
    parentPort?.postMessage({ id: batch.id, error: error instanceof Error ? error.message : String(error) });
  }
});

function runTask(id: number, task: BudgetedTask): void {
  try {
    if (task.kind === 'render') {
      const { data } = parseFrontMatter(task.path, task.source);
      parentPort?.postMessage({ id, frontMatter: data });
      parentPort?.postMessage({ id, result: renderDocument(task.path, task.source) });
    } else if (task.kind === 'fragments') {
      parentPort?.postMessage({ id, result: task.items.map((item) => renderMarkdownFragment(item.text, item)) });
    } else {
      const result = { redline: redline(task.beforeHtml, task.afterHtml), source: sourceDiff(task.beforeSource, task.afterSource) };
      // too large to show: not even sent back (the main thread would copy and lay out all of it)
      parentPort?.postMessage({ id, result: tooLargeToShow(result) ? null : result });
    }
  } catch (error) {
    parentPort?.postMessage({ id, error: error instanceof Error ? error.message : String(error) });
  }
}
