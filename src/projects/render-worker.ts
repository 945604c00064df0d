import { parentPort } from 'node:worker_threads';
import { renderDocument } from '../content/render-document.ts';

/** Worker thread body: render batches of Markdown files sent by render-pool.ts. */
parentPort?.on('message', (batch: { id: number; items: { path: string; source: string }[] }) => {
  const results = batch.items.map((item) => renderDocument(item.path, item.source));
  parentPort?.postMessage({ id: batch.id, results });
});
