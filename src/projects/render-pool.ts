import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { renderDocument } from '../content/render-document.ts';
import type { RenderedDocument } from '../content/types.ts';

/** Below this many files, rendering inline beats handing them to worker threads. */
export const PARALLEL_THRESHOLD = 200;
const BATCH_SIZE = 50;
/** Workers exit after this long without work: each holds tsx, the content modules and its heap (~80 MB), and a
 * large process makes every git spawn slower (fork copies its page tables). */
const IDLE_MS = 2_000;

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
  const results: RenderedDocument[] = new Array(items.length);
  const batches: Promise<void>[] = [];
  for (let start = 0; start < items.length; start += BATCH_SIZE) {
    const batch = items.slice(start, start + BATCH_SIZE);
    batches.push(pool.render(batch).then((rendered) => rendered.forEach((r, i) => (results[start + i] = r))));
  }
  await Promise.all(batches);
  return results;
}

/** Render one batch in the worker pool (any size; callers stream batches to keep every core busy). */
export function renderInWorkers(items: RenderInput[]): Promise<RenderedDocument[]> {
  return pool.render(items);
}

interface Job {
  items: RenderInput[];
  resolve(results: RenderedDocument[]): void;
  reject(error: Error): void;
}

interface PoolWorker {
  worker: Worker;
  job: Job | null;
}

/**
 * One pool per process, started on first use and kept while there is work (starting a worker loads tsx and
 * compiles the content modules, ~1 s), stopped after IDLE_MS without any. Workers never keep the process alive.
 */
class RenderPool {
  private readonly workers: PoolWorker[] = [];
  private readonly queue: Job[] = [];
  private idleTimer: NodeJS.Timeout | null = null;
  private nextId = 0;

  constructor(private readonly size: number) {}

  render(items: RenderInput[]): Promise<RenderedDocument[]> {
    return new Promise((resolve, reject) => {
      this.queue.push({ items, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    if (this.idleTimer) {
      clearTimeout(this.idleTimer);
      this.idleTimer = null;
    }
    while (this.queue.length > 0) {
      let free = this.workers.find((w) => w.job === null);
      if (!free && this.workers.length < this.size) free = this.start();
      if (!free) return;
      this.run(free, this.queue.shift()!);
    }
    if (this.workers.every((w) => w.job === null) && this.workers.length > 0) {
      this.idleTimer = setTimeout(() => this.stopAll(), IDLE_MS);
      this.idleTimer.unref();
    }
  }

  private start(): PoolWorker {
    const entry: PoolWorker = { worker: new Worker(new URL('./render-worker-boot.mjs', import.meta.url)), job: null };
    entry.worker.unref();
    const fail = (error: Error) => {
      this.remove(entry);
      entry.job?.reject(error);
      entry.job = null;
      this.pump();
    };
    entry.worker.on('error', fail);
    entry.worker.on('exit', (code) => {
      if (this.workers.includes(entry)) fail(new Error(`render worker exited with code ${code}`));
    });
    entry.worker.on('message', (message: { id: number; results: RenderedDocument[] }) => {
      const job = entry.job;
      entry.job = null;
      job?.resolve(message.results);
      this.pump();
    });
    this.workers.push(entry);
    return entry;
  }

  private run(entry: PoolWorker, job: Job): void {
    entry.job = job;
    // Only a worker with a job keeps the process alive.
    entry.worker.ref();
    entry.worker.postMessage({ id: this.nextId++, items: job.items });
    const release = () => entry.worker.unref();
    const resolve = job.resolve;
    const reject = job.reject;
    job.resolve = (results) => {
      release();
      resolve(results);
    };
    job.reject = (error) => {
      release();
      reject(error);
    };
  }

  private remove(entry: PoolWorker): void {
    const i = this.workers.indexOf(entry);
    if (i !== -1) this.workers.splice(i, 1);
  }

  private stopAll(): void {
    this.idleTimer = null;
    const idle = this.workers.filter((w) => w.job === null);
    for (const entry of idle) {
      this.remove(entry);
      void entry.worker.terminate();
    }
  }
}

const pool = new RenderPool(Math.max(1, availableParallelism()));
