import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { renderDocument } from '../content/render-document.ts';
import type { RenderedDocument } from '../content/types.ts';

/** Below this many files, rendering inline beats starting worker threads. */
export const PARALLEL_THRESHOLD = 200;
const BATCH_SIZE = 100;

export interface RenderInput {
  path: string;
  source: string;
}

/**
 * Render Markdown files, in worker threads when there are many (a full import uses every core),
 * inline otherwise. Results come back in input order.
 */
export async function renderMany(items: RenderInput[]): Promise<RenderedDocument[]> {
  if (items.length < PARALLEL_THRESHOLD) return items.map((i) => renderDocument(i.path, i.source));
  const workerCount = Math.max(1, Math.min(availableParallelism(), Math.ceil(items.length / BATCH_SIZE)));
  const workers = Array.from({ length: workerCount }, startWorker);
  try {
    const results: RenderedDocument[] = new Array(items.length);
    let next = 0;
    await Promise.all(
      workers.map(async (worker) => {
        while (next < items.length) {
          const start = next;
          next += BATCH_SIZE;
          const batch = items.slice(start, start + BATCH_SIZE);
          const rendered = await send(worker, start, batch);
          rendered.forEach((r, i) => (results[start + i] = r));
        }
      }),
    );
    return results;
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

function startWorker(): Worker {
  return new Worker(new URL('./render-worker-boot.mjs', import.meta.url));
}

function send(worker: Worker, id: number, items: RenderInput[]): Promise<RenderedDocument[]> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: { id: number; results: RenderedDocument[] }) => {
      if (message.id !== id) return;
      cleanup();
      resolve(message.results);
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    const cleanup = () => {
      worker.off('message', onMessage);
      worker.off('error', onError);
    };
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.postMessage({ id, items });
  });
}
