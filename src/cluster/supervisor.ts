/**
 * `docucommit serve --workers N`: the primary process holds the data directory and the listening socket
 * (node:cluster hands connections to the workers in turn) and keeps N worker processes running. Each worker is a
 * whole server on the shared PostgreSQL database (cluster/join.ts coordinates them). Worker 0 is started first
 * and alone (it runs the migrations and, on a fresh data directory, the demo import) and runs the control
 * socket and the daily purge; the others start once it listens.
 *
 * A worker that dies after it was ready is started again (same index) after a pause; one that dies before it
 * was ever ready stops the whole server (a configuration or database problem that a restart would not cure).
 * SIGTERM or SIGINT: every worker is asked to stop (it stops accepting, finishes requests and branch moves in
 * flight, closes the database), and the primary exits once they all have, 0 when they all stopped cleanly.
 */
import cluster, { type Worker } from 'node:cluster';
import { say, type CliIO } from '../cli/command.ts';

/** The environment variable that tells a worker its index (0 … N-1). */
export const WORKER_INDEX_ENV = 'DOCUCOMMIT_WORKER_INDEX';
/** How long the primary waits for its workers to stop before it kills them. */
const STOP_TIMEOUT_MS = 40_000;
/** Pause before a dead worker is started again. */
const RESTART_DELAY_MS = 500;
/** More restarts than this within a minute: something is wrong; the server stops. */
const MAX_RESTARTS_PER_MINUTE = 20;

/** What a worker tells the primary once it listens. */
export interface WorkerReady {
  type: 'docucommit-worker-ready';
  address: string;
}

/** The index of this worker process, or null in a process that is not a cluster worker. */
export function workerIndex(): number | null {
  if (!cluster.isWorker) return null;
  const index = Number(process.env[WORKER_INDEX_ENV]);
  return Number.isInteger(index) && index >= 0 ? index : 0;
}

/** A worker: tell the primary it listens at `address`. */
export function announceReady(address: string): void {
  process.send?.({ type: 'docucommit-worker-ready', address } satisfies WorkerReady);
}

/**
 * Run N workers until SIGTERM/SIGINT. `onReady` runs once, when every worker of the first start listens, with
 * the address they listen at. Resolves with the exit code.
 */
export async function superviseWorkers(count: number, io: CliIO, onReady: (address: string) => void): Promise<number> {
  const workers = new Map<number, Worker>();
  const everReady = new Set<number>();
  const restarts: number[] = [];
  let stopping = false;
  let failed = false;
  let resolveDone!: (code: number) => void;
  const done = new Promise<number>((resolve) => (resolveDone = resolve));

  const start = (index: number): Promise<string> =>
    new Promise((resolveReady, rejectReady) => {
      const worker = cluster.fork({ [WORKER_INDEX_ENV]: String(index) });
      workers.set(index, worker);
      let ready = false;
      worker.on('message', (message: unknown) => {
        if ((message as WorkerReady | null)?.type !== 'docucommit-worker-ready') return;
        ready = true;
        if (everReady.has(index)) say(io.stdout, `DocuCommit worker ${index} (pid ${worker.process.pid}) is running again.`);
        everReady.add(index);
        resolveReady((message as WorkerReady).address);
      });
      worker.on('exit', (code, signal) => {
        if (workers.get(index) === worker) workers.delete(index);
        rejectReady(new Error(`worker ${index} exited before it was ready (${signal ?? `code ${code}`})`));
        if (stopping) {
          // a worker still starting when told to stop had nothing in flight: ended by the signal, it is fine
          if (code !== 0 && !(signal === 'SIGTERM' && !ready)) failed = true;
          if (workers.size === 0) resolveDone(failed ? 1 : 0);
          return;
        }
        if (!everReady.has(index)) {
          say(io.stderr, `DocuCommit worker ${index} stopped before it was ready (${signal ?? `exit code ${code}`}); stopping.`);
          failed = true;
          stopAll();
          return;
        }
        const now = Date.now();
        restarts.push(now);
        while (restarts.length > 0 && restarts[0]! < now - 60_000) restarts.shift();
        if (restarts.length > MAX_RESTARTS_PER_MINUTE) {
          say(io.stderr, `DocuCommit workers died ${restarts.length} times within a minute; stopping.`);
          failed = true;
          stopAll();
          return;
        }
        say(io.stderr, `DocuCommit worker ${index} (pid ${worker.process.pid}) died (${signal ?? `exit code ${code}`}); starting it again.`);
        setTimeout(() => {
          if (!stopping) start(index).catch(() => {});
        }, RESTART_DELAY_MS).unref();
      });
    });

  const stopAll = () => {
    if (stopping) return;
    stopping = true;
    if (workers.size === 0) resolveDone(failed ? 1 : 0);
    for (const worker of workers.values()) worker.process.kill('SIGTERM');
    const killer = setTimeout(() => {
      for (const worker of workers.values()) worker.process.kill('SIGKILL');
    }, STOP_TIMEOUT_MS);
    killer.unref();
  };
  const onSignal = () => stopAll();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    // worker 0 first, alone: migrations, the demo import of a fresh data directory
    const address = await start(0);
    const others: Promise<string>[] = [];
    for (let index = 1; index < count && !stopping; index++) others.push(start(index));
    await Promise.all(others);
    if (!stopping) onReady(address);
  } catch {
    // a worker that never became ready has stopped everything (above)
  }
  const code = await done;
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  return code;
}
