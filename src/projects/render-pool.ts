import { buildOnce } from '../bundling/esbuild-once.ts';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { renderDocument } from '../content/render-document.ts';
import type { RenderedDocument } from '../content/types.ts';
import type { HtmlLocation } from './html-packs.ts';
import { cachedWorkerBundle, type CachedBundle, type WorkerBundle } from './render-worker-cache.ts';
import type { DocumentMeta } from './snapshot.ts';

/** Below this many files, rendering inline beats handing them to worker threads. */
export const PARALLEL_THRESHOLD = 200;
const BATCH_SIZE = 50;
/** Workers exit after this long without work: each holds the content modules and its heap (~25 MB bundled, ~80 MB
 * through tsx), and a large process makes every git spawn slower (fork copies its page tables). */
const IDLE_MS = 2_000;
/** Documents per worker below which fewer workers are started (each one costs memory and a start). */
const DOCUMENTS_PER_WORKER = 1_000;
/**
 * A render allocates many short-lived objects (tokens, strings); V8's default young generation (~48 MB) lets
 * each worker's memory climb by that much between collections. 32 MB spends ~0.5 s less CPU collecting over a
 * 10,000-document import than 16 MB did, for ~35 MB more at the peak (affordable since the database's wasm stays
 * on the baseline compiler, db/wasm-tiering.ts); 8 MB doubled the workers' time in the collector.
 */
const YOUNG_GENERATION_MB = 32;
/**
 * With a cap on its old generation, V8 grows a worker's heap more frugally (~20 MB less per worker over a full
 * import than with the default cap of several GB). Ordinary documents need a few MB; a batch that runs out (a
 * multi-MB document of dense tables can take over 1 GB) is rendered again in a worker of its own without the
 * cap, so nothing fails that rendered before.
 */
let oldGenerationCapMb = 1024;

/** Change the old-generation cap of render workers started from now on (tests force the fallback with it). */
export function setWorkerHeapCap(megabytes: number): void {
  oldGenerationCapMb = megabytes;
  pool.stopIdle();
}

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
  pool.want(Math.ceil(items.length / DOCUMENTS_PER_WORKER));
  const results = new Array<RenderedDocument>(items.length);
  const batches: Promise<void>[] = [];
  for (let start = 0; start < items.length; start += BATCH_SIZE) {
    const batch = items.slice(start, start + BATCH_SIZE);
    batches.push(pool.render(batch).then((rendered) => rendered.forEach((r, i) => (results[start + i] = r as RenderedDocument))));
  }
  await Promise.all(batches);
  return results;
}

/** A document rendered by a worker that wrote its HTML into a pack (html-packs.ts). */
export interface RenderedToPack {
  meta: DocumentMeta;
  html: HtmlLocation;
}

/**
 * Render one batch in the worker pool (callers stream batches to keep every core busy); the worker writes the
 * batch's HTML into a pack in `htmlDir` itself and sends back only metadata and locations: the HTML never crosses
 * to the main thread (a full import renders ~70 MB of it). `total`, the number of documents the caller is about
 * to send in all, sizes the pool: one worker per DOCUMENTS_PER_WORKER, at most one per core.
 */
export function renderToPacksInWorkers(items: RenderInput[], htmlDir: string, total = Infinity): Promise<RenderedToPack[]> {
  pool.want(Math.ceil(total / DOCUMENTS_PER_WORKER));
  return pool.render(items, htmlDir) as Promise<RenderedToPack[]>;
}

/**
 * A render of `total` documents is coming (a folder import, before it reads the folder): bundle the worker source
 * and start the workers now, so that the first batches find them ready. Below the parallel threshold, nothing.
 */
export function prepareWorkers(total: number): void {
  if (total < PARALLEL_THRESHOLD) return;
  pool.want(Math.ceil(total / DOCUMENTS_PER_WORKER));
  pool.prepare();
}

/** A large render is over: stop the idle workers now rather than after IDLE_MS (their memory goes back at once). */
export function releaseWorkers(): void {
  pool.stopIdle();
}

/**
 * How render workers start. Worker threads do not get the main thread's TypeScript loader, so the worker body
 * (render-worker.ts and the content modules it imports) is bundled with esbuild into one plain CommonJS script
 * that each worker evaluates: no tsx, no TypeScript compile and no module graph per worker (~25 MB each instead
 * of ~80 MB). The bundle is kept on disk until its sources change (render-worker-cache.ts). Should bundling fail
 * (esbuild missing), workers start through the tsx bootstrap (render-worker-boot.mjs) instead.
 */
export type RenderWorkerSource = { kind: 'bundle'; code: string; cached: boolean } | { kind: 'tsx'; url: URL; reason: string };

/** Where the bundle is kept between processes (see render-worker-cache.ts). */
const BUNDLE_CACHE_DIR = fileURLToPath(new URL('../../node_modules/.cache/docucommit/', import.meta.url));

let workerSource: Promise<RenderWorkerSource> | null = null;

/**
 * The worker source, on first call from the on-disk cache or bundled (~0.5 s), then kept for the life of the
 * process. Never rejects.
 */
export function renderWorkerSource(): Promise<RenderWorkerSource> {
  workerSource ??= loadRenderWorkerBundle().then(
    ({ code, fromCache }): RenderWorkerSource => ({ kind: 'bundle', code, cached: fromCache }),
    (error: unknown): RenderWorkerSource => ({
      kind: 'tsx',
      url: new URL('./render-worker-boot.mjs', import.meta.url),
      reason: error instanceof Error ? error.message : String(error),
    }),
  );
  return workerSource;
}

async function loadRenderWorkerBundle(): Promise<CachedBundle> {
  const { version } = await import('esbuild').catch(() => ({ version: 'none' }));
  // The source tree is part of the key: two checkouts sharing one node_modules (a symlink) must never take each
  // other's bundle, whose inputs are the other checkout's files, unchanged there.
  return cachedWorkerBundle(BUNDLE_CACHE_DIR, `esbuild ${version} ${fileURLToPath(import.meta.url)}`, bundleRenderWorker);
}

/**
 * markdown-it's published build initializes every field of its classes through Babel's `_defineProperty(this,
 * "name", value)` helper: a generic keyed store per field of every Token, which took ~12 % of a render worker's
 * time. In the bundle those calls in constructors become plain assignments (`this.name = (value)`), the same
 * thing for a fresh object whose prototype chain has no such property. Left as it is when the pattern is absent.
 * test/projects/render-pool.test.ts checks that the workers' output equals inline rendering.
 */
export function plainFieldAssignments(source: string): string {
  return source.replace(/_defineProperty\(\s*this,\s*(?:\/\*\*[\s\S]*?\*\/\s*)?"([A-Za-z_$][\w$]*)",/g, (_match, name: string) => `this.${name} = (`);
}

/**
 * Bundle render-worker.ts and everything it imports into one CommonJS script (Node built-ins stay external);
 * also names every file that went into it.
 */
export async function bundleRenderWorker(): Promise<WorkerBundle> {
  const markdownIt: import('esbuild').Plugin = {
    name: 'markdown-it-plain-fields',
    setup(build) {
      build.onLoad({ filter: /[\\/]markdown-it[\\/]dist[\\/]markdown-it\.mjs$/ }, (args) => ({
        contents: plainFieldAssignments(readFileSync(args.path, 'utf8')),
        loader: 'js',
      }));
    },
  };
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const result = await buildOnce({
    entryPoints: [fileURLToPath(new URL('./render-worker.ts', import.meta.url))],
    absWorkingDir: root,
    bundle: true,
    write: false,
    metafile: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    charset: 'utf8',
    logLevel: 'silent',
    plugins: [markdownIt],
  });
  const output = result.outputFiles[0];
  if (!output) throw new Error('esbuild produced no output');
  const inputs = Object.keys(result.metafile.inputs).map((input) => resolve(root, input));
  // this file too: the settings above are part of what the bundle is
  return { code: output.text, inputs: [...inputs, fileURLToPath(import.meta.url)] };
}

interface Job {
  items: RenderInput[];
  htmlDir: string | undefined;
  resolve(results: (RenderedDocument | RenderedToPack)[]): void;
  reject(error: Error): void;
}

interface PoolWorker {
  worker: Worker;
  /** Jobs sent to this worker, oldest (the one it is rendering) first; it answers them in order. */
  jobs: Job[];
}

/**
 * Jobs sent to a worker ahead of the one it renders. The main thread hands out work only between its own tasks,
 * and a database transaction of the import runs for ~100 ms without a break: with the next batch already in
 * its message queue, a worker that finishes goes straight on instead of waiting for the main thread.
 */
const JOBS_PER_WORKER = 3;

/**
 * One pool per process, started on first use and kept while there is work (starting a worker evaluates the
 * bundled content modules), stopped after IDLE_MS without any. Workers never keep the process alive.
 */
class RenderPool {
  private readonly workers: PoolWorker[] = [];
  private readonly queue: Job[] = [];
  private idleTimer: NodeJS.Timeout | null = null;
  private nextId = 0;
  private source: RenderWorkerSource | null = null;
  /** Workers wanted by the work at hand (1..maxSize); the pool grows to it, never shrinks below what runs. */
  private wanted: number;

  constructor(private readonly maxSize: number) {
    this.wanted = maxSize;
  }

  /** Size the pool for the work about to come (renderMany: every core). */
  want(workers: number): void {
    this.wanted = Math.max(1, Math.min(this.maxSize, Number.isFinite(workers) ? workers : this.maxSize));
  }

  /** Start the wanted workers ahead of their first job (they stop again after IDLE_MS without one). */
  prepare(): void {
    void renderWorkerSource().then((source) => {
      this.source = source;
      while (this.workers.length < this.wanted) this.start();
      this.pump();
    });
  }

  render(items: RenderInput[], htmlDir?: string): Promise<(RenderedDocument | RenderedToPack)[]> {
    return new Promise((resolve, reject) => {
      this.queue.push({ items, htmlDir, resolve, reject });
      if (this.source) this.pump();
      else
        void renderWorkerSource().then((source) => {
          this.source = source;
          this.pump();
        });
    });
  }

  /** Hand queued jobs out: first to idle workers (starting new ones up to `wanted`), then ahead to busy ones. */
  private pump(): void {
    if (this.idleTimer) {
      clearTimeout(this.idleTimer);
      this.idleTimer = null;
    }
    while (this.queue.length > 0) {
      let target = this.workers.find((w) => w.jobs.length === 0);
      if (!target && this.workers.length < this.wanted) target = this.start();
      target ??= this.workers.reduce<PoolWorker | undefined>((least, w) => (w.jobs.length < JOBS_PER_WORKER && (!least || w.jobs.length < least.jobs.length) ? w : least), undefined);
      if (!target) return;
      this.send(target, this.queue.shift()!);
    }
    if (this.workers.length > 0 && this.workers.every((w) => w.jobs.length === 0)) {
      this.idleTimer = setTimeout(() => this.stopAll(), IDLE_MS);
      this.idleTimer.unref();
    }
  }

  private newWorker(capped: boolean): Worker {
    const source = this.source!;
    const resourceLimits = { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB, ...(capped ? { maxOldGenerationSizeMb: oldGenerationCapMb } : {}) };
    return source.kind === 'bundle' ? new Worker(source.code, { eval: true, resourceLimits }) : new Worker(source.url, { resourceLimits });
  }

  /** A job whose batch outgrew the capped heap: once more, in a worker of its own without the cap. */
  private runUncapped(job: Job): void {
    const worker = this.newWorker(false);
    const finish = () => void worker.terminate();
    worker.once('message', (message: { results?: (RenderedDocument | RenderedToPack)[]; error?: string }) => {
      finish();
      if (message.results) job.resolve(message.results);
      else job.reject(new Error(`render worker: ${message.error ?? 'no results'}`));
    });
    worker.once('error', (error) => {
      finish();
      job.reject(error);
    });
    worker.postMessage({ id: this.nextId++, items: job.items, htmlDir: job.htmlDir });
  }

  private start(): PoolWorker {
    const worker = this.newWorker(true);
    const entry: PoolWorker = { worker, jobs: [] };
    entry.worker.unref();
    const fail = (error: Error) => {
      this.remove(entry);
      const [current, ...waiting] = entry.jobs;
      entry.jobs = [];
      // the jobs sent ahead never started: back to the front of the queue, for another worker
      this.queue.unshift(...waiting);
      if (current && (error as NodeJS.ErrnoException).code === 'ERR_WORKER_OUT_OF_MEMORY') this.runUncapped(current);
      else current?.reject(error);
      this.pump();
    };
    entry.worker.on('error', fail);
    entry.worker.on('exit', (code) => {
      if (this.workers.includes(entry)) fail(new Error(`render worker exited with code ${code}`));
    });
    entry.worker.on('message', (message: { id: number; results?: (RenderedDocument | RenderedToPack)[]; error?: string }) => {
      const job = entry.jobs.shift();
      // Only a worker with jobs keeps the process alive.
      if (entry.jobs.length === 0) entry.worker.unref();
      if (message.results) job?.resolve(message.results);
      else job?.reject(new Error(`render worker: ${message.error ?? 'no results'}`));
      this.pump();
    });
    this.workers.push(entry);
    return entry;
  }

  private send(entry: PoolWorker, job: Job): void {
    entry.jobs.push(job);
    entry.worker.ref();
    entry.worker.postMessage({ id: this.nextId++, items: job.items, htmlDir: job.htmlDir });
  }

  private remove(entry: PoolWorker): void {
    const i = this.workers.indexOf(entry);
    if (i !== -1) this.workers.splice(i, 1);
  }

  stopIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.stopAll();
  }

  private stopAll(): void {
    this.idleTimer = null;
    const idle = this.workers.filter((w) => w.jobs.length === 0);
    for (const entry of idle) {
      this.remove(entry);
      void entry.worker.terminate();
    }
  }
}

const pool = new RenderPool(Math.max(1, availableParallelism()));
