/**
 * Bench-only workaround, installed by bench/run.ts ONLY when bench/setup.ts found that the product's render
 * worker threads cannot start (Node 20: a Worker does not get the parent's `--import tsx` loader, so
 * `new Worker('render-worker.ts', { execArgv: ['--import', 'tsx'] })` fails with ERR_UNKNOWN_FILE_EXTENSION).
 *
 * It replaces `worker_threads.Worker` with a subclass that starts `.ts` entries through a tiny bootstrap which
 * registers tsx inside the worker (tsx/esm/api `register()`), then imports the entry. The benchmark prints a
 * loud warning and `"render_worker_shim": true` whenever this is in use: the product itself is broken then.
 */
import { syncBuiltinESMExports } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import workerThreads, { type WorkerOptions } from 'node:worker_threads';

let installed = false;

export function installWorkerShim(): void {
  if (installed) return;
  installed = true;
  const Original = workerThreads.Worker;
  const tsxApi = import.meta.resolve('tsx/esm/api');

  class TsWorker extends Original {
    constructor(filename: string | URL, options: WorkerOptions = {}) {
      const href = filename instanceof URL ? filename.href : /^file:/.test(filename) ? filename : pathToFileURL(filename).href;
      if (!/\.[cm]?ts$/.test(fileURLToPath(href)) || options.eval) {
        super(filename, options);
        return;
      }
      const boot = `import(${JSON.stringify(tsxApi)}).then((api) => { api.register(); return import(${JSON.stringify(href)}); });`;
      const execArgv = (options.execArgv ?? []).filter((a, i, all) => a !== '--import' && all[i - 1] !== '--import');
      super(boot, { ...options, eval: true, execArgv });
    }
  }

  (workerThreads as { Worker: typeof Original }).Worker = TsWorker;
  syncBuiltinESMExports();
}
