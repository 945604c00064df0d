import { parentPort } from 'node:worker_threads';
import { renderDocument } from '../content/render-document.ts';
import { writeHtmlPackSync } from './html-packs.ts';

/**
 * Worker thread body: render batches of Markdown files sent by render-pool.ts. With `htmlDir`, the batch's HTML
 * is written here as one pack (html-packs.ts) and only each document's metadata and HTML location go back.
 */
parentPort?.on('message', (batch: { id: number; items: { path: string; source: string }[]; htmlDir?: string }) => {
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
