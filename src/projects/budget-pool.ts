/**
 * Work that could hold the event loop for long runs here, in a worker thread with a deadline: rendering a large
 * document (a viewer's version, a pushed document) and the redline and source diff of two large versions. Small
 * inputs are worked on inline (a few milliseconds, byte-identical results). A task still running at its deadline
 * has its worker terminated, so the CPU is freed at once, and the caller gets "too large" instead: the pages say
 * so and offer the versions and a download. The next task starts a fresh worker.
 *
 * The workers evaluate the same bundle as the render pool (render-pool.ts, render-worker.ts): one bundle, cached
 * on disk. A few workers at most (one per core), kept for IDLE_MS after their last task.
 */
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { redline, type Redline } from '../content/redline/redline.ts';
import { sourceDiff, type SourceDiffLine } from '../content/redline/source-diff.ts';
import { parseFrontMatter } from '../content/front-matter.ts';
import { renderDocument, unrenderedDocument } from '../content/render-document.ts';
import { renderMarkdownFragment } from '../content/markdown.ts';
import type { TrustedHtml } from '../content/trusted-html.ts';
import type { FrontMatter, RenderedDocument } from '../content/types.ts';
import { renderWorkerSource, type RenderWorkerSource } from './render-pool.ts';

export type BudgetedTask =
  | { kind: 'render'; path: string; source: string }
  | { kind: 'compare'; beforeHtml: string; afterHtml: string; beforeSource: string; afterSource: string }
  | { kind: 'fragments'; items: MarkdownFragment[] };

/** A text shown on a page that is not a document (a change request's description, a comment): see renderMarkdownFragment. */
export interface MarkdownFragment {
  text: string;
  idPrefix: string;
  linkBase: string;
}

/** The redline and source diff of two versions. */
export interface ComparedVersions {
  redline: Redline;
  source: SourceDiffLine[];
}

/** Inputs up to this many characters in all are worked on inline (milliseconds, even for the worst shapes). */
export const INLINE_CHARS = 32 * 1024;
export interface Budgets {
  /** Time a reader's render of one version may take (worker start included). */
  viewRenderMs: number;
  /** Time a compare may take in all: rendering both versions, the redline and the source diff. */
  compareMs: number;
  /** Time the render of one pushed document may take, once a worker has it, before it is published as too large. */
  publishRenderMs: number;
}
const DEFAULT_BUDGETS: Budgets = { viewRenderMs: 4_000, compareMs: 1_500, publishRenderMs: 10_000 };
/** The budgets in force (tests shorten them to reach "too large" without building huge documents' worth of CPU). */
export const budgets: Budgets = { ...DEFAULT_BUDGETS };

/** Change the budgets (tests); with no argument, back to the defaults. */
export function setBudgets(changes: Partial<Budgets> = DEFAULT_BUDGETS): void {
  Object.assign(budgets, changes);
}
const IDLE_MS = 10_000;
/** A task that needs more heap than this is too large too (the worker runs out of memory and ends). */
const OLD_GENERATION_MB = 512;
const YOUNG_GENERATION_MB = 32;

/** A task did not finish by its deadline (or ran out of its worker's memory); its worker was terminated. */
export class BudgetExceededError extends Error {
  constructor(
    /** A render's front matter when it had arrived (null: invalid), undefined otherwise. */
    readonly frontMatter?: FrontMatter | null,
  ) {
    super('the work took longer than its budget');
    this.name = 'BudgetExceededError';
  }
}

/**
 * When a task must be done: by a deadline (ms on the performance clock, see deadlineIn; waiting for a worker
 * counts), or within `runMs` of a worker taking it (a publish of many large documents queues them fairly); for a
 * render, `runMs` again once its front matter is read, so that a slow worker start does not cost the document
 * its classification.
 */
export type Limit = { deadline: number } | { runMs: number };

let singleRenders = 0;

/** Documents rendered one at a time so far (renderWithinBudget): what a save or a page costs in renders. */
export function singleRenderCount(): number {
  return singleRenders;
}

/**
 * The rendered document, or, when rendering it takes longer than its limit, a placeholder that says it is too
 * large to render (unrenderedDocument), with its front matter (classification included).
 */
export async function renderWithinBudget(path: string, source: string, limit: Limit): Promise<RenderedDocument> {
  singleRenders++;
  if (source.length <= INLINE_CHARS) return renderDocument(path, source);
  try {
    return await pool.run<RenderedDocument>({ kind: 'render', path, source }, limit);
  } catch (error) {
    // its front matter as the worker read it, else read here (as history's classifier does): never unclassified
    if (error instanceof BudgetExceededError) {
      return unrenderedDocument(path, error.frontMatter !== undefined ? error.frontMatter : parseFrontMatter(path, source).data);
    }
    throw error;
  }
}

/**
 * The redline and source diff of two versions, or null when working them out takes longer than the time left,
 * or when they are too large to show (redline.ts, tooLargeToShow).
 */
export async function compareWithinBudget(
  before: { html: string; source: string },
  after: { html: string; source: string },
  { deadline }: { deadline: number },
): Promise<ComparedVersions | null> {
  const size = before.html.length + after.html.length + before.source.length + after.source.length;
  if (size <= INLINE_CHARS) return { redline: redline(before.html, after.html), source: sourceDiff(before.source, after.source) };
  try {
    return await pool.run<ComparedVersions | null>(
      { kind: 'compare', beforeHtml: before.html, afterHtml: after.html, beforeSource: before.source, afterSource: after.source },
      { deadline },
    );
  } catch (error) {
    if (error instanceof BudgetExceededError) return null;
    throw error;
  }
}

/**
 * Markdown fragments rendered with the documents' pipeline (renderMarkdownFragment), in a worker when there is
 * much of it; null in place of all of them when that takes longer than the time left (the page then shows the
 * texts as plain text).
 */
export async function renderFragmentsWithinBudget(items: MarkdownFragment[], { deadline }: { deadline: number }): Promise<(TrustedHtml | null)[]> {
  const size = items.reduce((sum, item) => sum + item.text.length, 0);
  // lower than documents' inline size: a comment of 20,000 characters of `*a` keeps markdown-it busy for long
  if (size <= FRAGMENTS_INLINE_CHARS) return items.map((item) => renderMarkdownFragment(item.text, item));
  try {
    return await pool.run<TrustedHtml[]>({ kind: 'fragments', items }, { deadline });
  } catch (error) {
    if (error instanceof BudgetExceededError) return items.map(() => null);
    throw error;
  }
}

/** Description and comments up to this many characters in all are rendered inline. */
export const FRAGMENTS_INLINE_CHARS = 4 * 1024;

/** A deadline `ms` from now, on the clock the budgeted functions use. */
export function deadlineIn(ms: number): { deadline: number } {
  return { deadline: performance.now() + ms };
}

interface Job {
  id: number;
  task: BudgetedTask;
  resolve(result: unknown): void;
  reject(error: Error): void;
  frontMatter?: FrontMatter | null;
  timer: NodeJS.Timeout | null;
  /** For a `runMs` limit: the time a worker has for it, the timer starting when one takes it. */
  runMs: number | null;
}

type WorkerMessage = { id: number; frontMatter: FrontMatter | null } | { id: number; result: unknown } | { id: number; error: string };

class BudgetPool {
  private readonly idle: Worker[] = [];
  private readonly running = new Map<Worker, Job>();
  private readonly queue: Job[] = [];
  private idleTimer: NodeJS.Timeout | null = null;
  private nextId = 0;
  /** Workers terminated at their deadline, for tests and the benchmark. */
  terminated = 0;

  constructor(private readonly maxSize: number) {}

  run<T>(task: BudgetedTask, limit: Limit): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const job: Job = { id: this.nextId++, task, resolve: resolve, reject, timer: null, runMs: null };
      if ('deadline' in limit) {
        const remaining = limit.deadline - performance.now();
        if (remaining <= 0) return reject(new BudgetExceededError());
        job.timer = setTimeout(() => this.expire(job), remaining);
      } else {
        job.runMs = limit.runMs;
      }
      this.queue.push(job);
      void renderWorkerSource().then((source) => this.pump(source));
    });
  }

  private pump(source: RenderWorkerSource): void {
    while (this.queue.length > 0) {
      let worker = this.idle.pop();
      if (!worker) {
        if (this.running.size >= this.maxSize) return;
        worker = this.start(source);
      }
      const job = this.queue.shift()!;
      if (job.runMs !== null) job.timer = setTimeout(() => this.expire(job), job.runMs);
      this.running.set(worker, job);
      worker.ref();
      worker.postMessage({ id: job.id, task: job.task });
    }
    if (this.idle.length > 0 && this.running.size === 0 && this.idleTimer === null) {
      this.idleTimer = setTimeout(() => this.stopIdle(), IDLE_MS);
      this.idleTimer.unref();
    }
  }

  private start(source: RenderWorkerSource): Worker {
    const resourceLimits = { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB, maxOldGenerationSizeMb: OLD_GENERATION_MB };
    const worker = source.kind === 'bundle' ? new Worker(source.code, { eval: true, resourceLimits }) : new Worker(source.url, { resourceLimits });
    worker.unref();
    worker.on('message', (message: WorkerMessage) => {
      const job = this.running.get(worker);
      if (!job || message.id !== job.id) return;
      if ('frontMatter' in message) {
        job.frontMatter = message.frontMatter;
        // a `runMs` limit covers the worker's start and the front matter, then the render itself
        if (job.runMs !== null && job.timer) {
          clearTimeout(job.timer);
          job.timer = setTimeout(() => this.expire(job), job.runMs);
        }
        return;
      }
      this.finish(worker, job);
      this.idle.push(worker);
      worker.unref();
      if ('error' in message) job.reject(new Error(`budgeted worker: ${message.error}`));
      else job.resolve(message.result);
      void renderWorkerSource().then((s) => this.pump(s));
    });
    const fail = (error: Error) => {
      this.forget(worker);
      const job = this.running.get(worker);
      if (!job) return;
      this.finish(worker, job);
      // out of memory: as much too large as too slow
      job.reject((error as NodeJS.ErrnoException).code === 'ERR_WORKER_OUT_OF_MEMORY' ? new BudgetExceededError(job.frontMatter) : error);
      void renderWorkerSource().then((s) => this.pump(s));
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`budgeted worker exited with code ${code}`)));
    return worker;
  }

  /** The deadline passed: a queued job is dropped; a running one's worker is terminated (the CPU is freed now). */
  private expire(job: Job): void {
    job.timer = null;
    const queued = this.queue.indexOf(job);
    if (queued !== -1) {
      this.queue.splice(queued, 1);
    } else {
      const worker = [...this.running].find(([, j]) => j === job)?.[0];
      if (!worker) return;
      this.finish(worker, job);
      this.forget(worker);
      this.terminated++;
      void worker.terminate();
      void renderWorkerSource().then((s) => this.pump(s));
    }
    job.reject(new BudgetExceededError(job.frontMatter));
  }

  private finish(worker: Worker, job: Job): void {
    this.running.delete(worker);
    if (job.timer) clearTimeout(job.timer);
    job.timer = null;
  }

  private forget(worker: Worker): void {
    const i = this.idle.indexOf(worker);
    if (i !== -1) this.idle.splice(i, 1);
  }

  private stopIdle(): void {
    this.idleTimer = null;
    if (this.running.size > 0) return;
    for (const worker of this.idle.splice(0)) void worker.terminate();
  }
}

const pool = new BudgetPool(Math.max(1, availableParallelism()));

/** Workers terminated at a deadline since the process started. */
export function terminatedWorkers(): number {
  return pool.terminated;
}
