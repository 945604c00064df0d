/**
 * Benchmark preparation, run by bench/run.ts in a child process so that none of it counts against the measured
 * server process (memory or CPU):
 *   - generate the corpus (bench/corpus.ts);
 *   - create and migrate the embedded PGlite database in DATA/db (a one-time cost of a first start; PGlite's
 *     initdb alone peaks far above the steady state) — skipped with BENCH_DATABASE_URL or --db-in-process;
 *   - check that the product's render worker threads start (renderMany over more files than the parallel
 *     threshold), so run.ts knows whether it needs bench/worker-shim.ts.
 *
 * Input: one JSON argument `{ dataDir, corpusDir, documents, seed, createDatabase }`. Output: JSON over IPC.
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { generateCorpus, type Corpus } from './corpus.ts';

export interface SetupRequest {
  dataDir: string;
  corpusDir: string;
  documents: number;
  seed: number;
  createDatabase: boolean;
}

export interface SetupResult {
  corpus: Omit<Corpus, 'paths'> & { files: number };
  corpusSeconds: number;
  database: { seconds: number; peakRssMb: number } | null;
  /** null when the product's render workers start; else the error they fail with. */
  renderWorkerError: string | null;
}

async function main(): Promise<void> {
  const request = JSON.parse(process.argv[2] ?? '{}') as SetupRequest;
  let peak = process.memoryUsage.rss();
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 50);
  sampler.unref();

  let t = performance.now();
  const { paths, ...corpus } = generateCorpus(request.corpusDir, { documents: request.documents, seed: request.seed });
  const corpusSeconds = (performance.now() - t) / 1000;

  let database: SetupResult['database'] = null;
  if (request.createDatabase) {
    const { openDatabase } = await import('../src/db/connection.ts');
    const before = peak;
    t = performance.now();
    const db = await openDatabase({ kind: 'pglite', dataDir: join(request.dataDir, 'db') });
    await db.destroy();
    peak = Math.max(peak, process.memoryUsage.rss());
    database = { seconds: (performance.now() - t) / 1000, peakRssMb: Math.max(peak, before) / 1024 / 1024 };
  }

  let renderWorkerError: string | null = null;
  try {
    const { renderMany } = await import('../src/projects/render-pool.ts');
    const items = Array.from({ length: 400 }, (_, i) => ({ path: `check/${i}.md`, source: `---\ntitle: Check ${i}\n---\nBody ${i}.\n` }));
    const rendered = await renderMany(items);
    if (rendered.length !== items.length || rendered[7]?.title !== 'Check 7') throw new Error('renderMany returned wrong results');
  } catch (error) {
    renderWorkerError = error instanceof Error ? `${(error as NodeJS.ErrnoException).code ?? error.name}: ${error.message}` : String(error);
  }

  const result: SetupResult = { corpus: { ...corpus, files: paths.length }, corpusSeconds, database, renderWorkerError };
  clearInterval(sampler);
  if (process.send) {
    await new Promise<void>((resolve, reject) => process.send!(result, (error: Error | null) => (error ? reject(error) : resolve())));
    process.disconnect?.();
  } else {
    console.log(JSON.stringify(result));
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exit(1);
});
