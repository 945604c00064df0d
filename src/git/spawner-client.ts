/**
 * The server's side of the git spawner (spawner.mjs): one small node process, started early while this process
 * is still small, that starts short-lived git commands for us. A process start costs time proportional to the
 * RSS of the process that starts it (libuv forks it): 5–6 ms from ~40 MB, 30–60 ms from a 750 MB server.
 *
 * runGit (run.ts) sends it requests that are fully prepared here: argument array (user values checked, after
 * `--end-of-options`/`--`), complete environment, stdin bytes, deadline and output cap. The helper enforces the
 * deadline and the cap by killing git's process group; this side also keeps a backstop deadline.
 *
 * If the helper dies, it is restarted on the next request; requests it had not answered are run directly (unless
 * marked not to be re-run: a ref update that may already have happened), with a warning. If it keeps dying or
 * cannot start, runGit spawns directly for a while, with a warning.
 */
import { spawn } from 'node:child_process';
import type { ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';

const SPAWNER_PATH = fileURLToPath(new URL('./spawner.mjs', import.meta.url));
/** How much later than git's own deadline this side gives up on an answer. */
const BACKSTOP_MS = 5_000;
/** More restarts than this within RESTART_WINDOW_MS: spawn directly until the window has passed. */
const MAX_RESTARTS = 5;
const RESTART_WINDOW_MS = 60_000;

export interface SpawnerRequest {
  args: readonly string[];
  cwd: string | undefined;
  env: NodeJS.ProcessEnv;
  input: Buffer;
  timeoutMs: number;
  maxStdout: number;
  maxStderr: number;
  signal?: AbortSignal;
  /** Re-run directly if the helper dies after receiving the request (default true; false for ref updates). */
  rerunIfHelperDies?: boolean;
}

export interface SpawnerResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Why the helper killed git's process group, if it did. */
  killed: 'timeout' | 'output' | 'abort' | null;
  /** git could not be started. */
  error: string | null;
  stdout: Buffer;
  stderr: Buffer;
}

/** The helper cannot run this request: run it directly (`rerun` false: it may have run, do not). */
export class SpawnerUnavailableError extends Error {
  constructor(
    message: string,
    readonly rerun: boolean,
  ) {
    super(message);
    this.name = 'SpawnerUnavailableError';
  }
}

/** One helper process and what arrived from it. */
interface Helper {
  proc: SpawnerChild;
  ready: boolean;
  chunks: Buffer[];
  chunkBytes: number;
}

interface Pending {
  id: number;
  request: SpawnerRequest;
  frame: Buffer;
  /** The helper the request was sent to; null while it waits for a helper to be ready. */
  sentTo: Helper | null;
  resolve(result: SpawnerResult): void;
  reject(error: Error): void;
  cleanup(): void;
}

type SpawnerChild = ChildProcessByStdio<Writable, Readable, null>;

/** Counts of git processes started, for tests and diagnostics (never printed by the product). */
export const gitSpawnCounts = { viaSpawner: 0, direct: 0 };

function frame(header: object, payload: Buffer): Buffer {
  const head = Buffer.from(JSON.stringify(header), 'utf8');
  const prefix = Buffer.allocUnsafe(8);
  prefix.writeUInt32BE(4 + head.length + payload.length, 0);
  prefix.writeUInt32BE(head.length, 4);
  return Buffer.concat([prefix, head, payload]);
}

function warn(message: string): void {
  process.emitWarning(message, { code: 'DOCUCOMMIT_GIT_SPAWNER' });
}

/** The helper process (restarted when it dies) and the requests it is answering. */
export class GitSpawner {
  #helper: Helper | null = null;
  #pending = new Map<number, Pending>();
  #nextId = 1;
  #restarts: number[] = [];
  #disabledUntil = 0;
  #stopped = false;
  #everStarted = false;

  /** Process id of the current helper, if it runs (tests, diagnostics). */
  get pid(): number | undefined {
    return this.#helper?.proc.pid;
  }

  /** True when requests should go to the helper (it runs or may be (re)started). */
  get available(): boolean {
    return !this.#stopped && Date.now() >= this.#disabledUntil;
  }

  /** Starts the helper if it is not running. Cheap to call again. */
  start(): void {
    if (this.#helper || !this.available) return;
    if (this.#everStarted) {
      const now = Date.now();
      this.#restarts = this.#restarts.filter((t) => now - t < RESTART_WINDOW_MS);
      this.#restarts.push(now);
      if (this.#restarts.length > MAX_RESTARTS) {
        this.#disabledUntil = now + RESTART_WINDOW_MS;
        this.#restarts = [];
        warn(`the git spawner restarted ${MAX_RESTARTS} times within a minute; git is started directly for a minute`);
        return;
      }
    }
    this.#everStarted = true;
    let proc: SpawnerChild;
    try {
      // a plain node, without our loader (tsx) or NODE_OPTIONS: it starts fast and stays small
      proc = spawn(process.execPath, [SPAWNER_PATH], {
        stdio: ['pipe', 'pipe', 'inherit'],
        env: { PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin' },
        cwd: '/',
        windowsHide: true,
      });
    } catch (error) {
      warn(`the git spawner could not start (${(error as Error).message}); git is started directly`);
      this.#disabledUntil = Date.now() + RESTART_WINDOW_MS;
      return;
    }
    const helper: Helper = { proc, ready: false, chunks: [], chunkBytes: 0 };
    this.#helper = helper;
    proc.stdin.on('error', () => {});
    proc.stdout.on('data', (chunk: Buffer) => this.#onData(helper, chunk));
    proc.on('error', (error) => this.#onExit(helper, `could not run: ${error.message}`));
    proc.on('exit', (code, signal) => this.#onExit(helper, signal ? `was killed by ${signal}` : `exited (${code})`));
    keepAlive(helper, false);
  }

  /** Runs one git command through the helper. Rejects with SpawnerUnavailableError when it cannot. */
  run(request: SpawnerRequest): Promise<SpawnerResult> {
    if (!this.available) return Promise.reject(new SpawnerUnavailableError('git spawner disabled', true));
    this.start();
    const helper = this.#helper;
    if (!helper) return Promise.reject(new SpawnerUnavailableError('git spawner not running', true));
    const id = this.#nextId++;
    const header = {
      t: 'run',
      id,
      args: request.args,
      cwd: request.cwd,
      env: request.env,
      timeoutMs: request.timeoutMs,
      maxStdout: request.maxStdout,
      maxStderr: request.maxStderr,
    };
    return new Promise<SpawnerResult>((resolvePromise, reject) => {
      let backstop: NodeJS.Timeout | undefined;
      const onAbort = (): void => {
        if (!entry.sentTo) {
          this.#settle(id);
          resolvePromise({ code: null, signal: null, killed: 'abort', error: null, stdout: Buffer.alloc(0), stderr: Buffer.alloc(0) });
        } else {
          entry.sentTo.proc.stdin.write(frame({ t: 'kill', id }, Buffer.alloc(0)));
        }
      };
      const entry: Pending = {
        id,
        request,
        frame: frame(header, request.input),
        sentTo: null,
        resolve: resolvePromise,
        reject,
        cleanup: () => {
          if (backstop) clearTimeout(backstop);
          request.signal?.removeEventListener('abort', onAbort);
        },
      };
      this.#pending.set(id, entry);
      keepAlive(helper, true);
      if (request.timeoutMs > 0) {
        backstop = setTimeout(() => {
          // the helper did not answer in time: treat it as hung, so the next request gets a fresh one
          if (!this.#pending.has(id)) return;
          const stuck = entry.sentTo;
          this.#settle(id);
          resolvePromise({ code: null, signal: null, killed: 'timeout', error: null, stdout: Buffer.alloc(0), stderr: Buffer.alloc(0) });
          if (stuck) killProc(stuck.proc);
        }, request.timeoutMs + BACKSTOP_MS);
      }
      request.signal?.addEventListener('abort', onAbort, { once: true });
      if (helper.ready) this.#send(helper, entry);
    });
  }

  /**
   * Stops the helper: new requests start git directly, requests in flight are answered first (the helper is
   * killed after `graceMs`; what it had not answered then is re-run directly or fails if it must not be re-run).
   */
  async stop(graceMs = 10_000): Promise<void> {
    this.#stopped = true;
    const helper = this.#helper;
    // requests waiting for a helper have not been sent: they start directly
    for (const entry of [...this.#pending.values()]) {
      if (entry.sentTo) continue;
      this.#settle(entry.id);
      entry.reject(new SpawnerUnavailableError('the git spawner is stopping', true));
    }
    if (!helper) return;
    this.#helper = null; // a restart (reset, start) gets a new helper; this one finishes its requests
    const exited = new Promise<void>((resolveExit) => {
      if (helper.proc.exitCode !== null || helper.proc.signalCode !== null) resolveExit();
      else helper.proc.once('exit', () => resolveExit());
    });
    keepAlive(helper, true); // the exit is awaited
    helper.proc.stdin.end();
    killProc(helper.proc, graceMs);
    await exited;
  }

  /** Allows the helper to be started again after stop(). */
  reset(): void {
    this.#stopped = false;
    this.#disabledUntil = 0;
    this.#restarts = [];
  }

  #send(helper: Helper, entry: Pending): void {
    entry.sentTo = helper;
    helper.proc.stdin.write(entry.frame);
    entry.frame = Buffer.alloc(0);
  }

  #settle(id: number): Pending | undefined {
    const entry = this.#pending.get(id);
    if (!entry) return undefined;
    this.#pending.delete(id);
    entry.cleanup();
    if (this.#helper && ![...this.#pending.values()].some((p) => p.sentTo === this.#helper || p.sentTo === null)) keepAlive(this.#helper, false);
    return entry;
  }

  #onData(helper: Helper, chunk: Buffer): void {
    helper.chunks.push(chunk);
    helper.chunkBytes += chunk.length;
    for (;;) {
      // chunks are joined only once a whole frame has arrived (a large answer comes in many 64 KB chunks)
      if (helper.chunkBytes < 8) return;
      if (helper.chunks[0]!.length < 8) helper.chunks = [Buffer.concat(helper.chunks)];
      const length = helper.chunks[0]!.readUInt32BE(0);
      if (helper.chunkBytes < 4 + length) return;
      const all = helper.chunks.length === 1 ? helper.chunks[0]! : Buffer.concat(helper.chunks);
      const rest = all.subarray(4 + length);
      helper.chunks = rest.length > 0 ? [rest] : [];
      helper.chunkBytes = rest.length;
      this.#onFrame(helper, all.subarray(0, 4 + length));
    }
  }

  #onFrame(helper: Helper, frameBuffer: Buffer): void {
    const headLength = frameBuffer.readUInt32BE(4);
    const header = JSON.parse(frameBuffer.toString('utf8', 8, 8 + headLength)) as {
      t?: string;
      id: number;
      code: number | null;
      signal: NodeJS.Signals | null;
      killed: SpawnerResult['killed'];
      error: string | null;
      stdoutLength: number;
    };
    const payload = frameBuffer.subarray(8 + headLength);
    if (header.t === 'ready') {
      helper.ready = true;
      if (this.#helper === helper) for (const entry of this.#pending.values()) if (!entry.sentTo) this.#send(helper, entry);
      return;
    }
    const entry = this.#settle(header.id);
    if (!entry) return; // answered already (backstop, abort before it was sent)
    gitSpawnCounts.viaSpawner++;
    entry.resolve({
      code: header.code,
      signal: header.signal,
      killed: header.killed,
      error: header.error,
      // copies: a small slice must not keep a large joined buffer alive
      stdout: Buffer.from(payload.subarray(0, header.stdoutLength)),
      stderr: Buffer.from(payload.subarray(header.stdoutLength)),
    });
  }

  #onExit(helper: Helper, how: string): void {
    const current = this.#helper === helper;
    if (current) this.#helper = null;
    // its requests, and (if it was the current helper) those that waited for it to be ready
    const affected = [...this.#pending.values()].filter((p) => p.sentTo === helper || (current && p.sentTo === null));
    if (affected.length > 0 || (current && !this.#stopped)) warn(`the git spawner ${how}; it is restarted on the next git command`);
    for (const entry of affected) {
      this.#settle(entry.id);
      // not sent: it never ran. Sent: git may still be running or have finished; re-run only what is safe to repeat
      const rerun = entry.sentTo === null || entry.request.rerunIfHelperDies !== false;
      entry.reject(new SpawnerUnavailableError(`the git spawner ${how} before answering`, rerun));
    }
  }
}

function killProc(proc: SpawnerChild, afterMs = 0): void {
  const doKill = (): void => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  };
  if (afterMs > 0) setTimeout(doKill, afterMs).unref();
  else doKill();
}

// an idle helper must not keep this process running; one with requests in flight must
function keepAlive(helper: Helper, on: boolean): void {
  const proc = helper.proc;
  for (const handle of [proc, proc.stdin, proc.stdout] as unknown as { ref?(): void; unref?(): void }[]) {
    if (on) handle.ref?.();
    else handle.unref?.();
  }
}

let shared: GitSpawner | undefined;

/** The process-wide helper (created, not started). */
export function gitSpawner(): GitSpawner {
  shared ??= new GitSpawner();
  return shared;
}

/** Starts the process-wide helper now, while this process is small (app start-up). */
export function startGitSpawner(): void {
  const spawner = gitSpawner();
  spawner.reset();
  spawner.start();
}

/** Stops the process-wide helper (app shutdown). Later git commands restart it. */
export async function stopGitSpawner(): Promise<void> {
  const spawner = shared;
  if (!spawner) return;
  await spawner.stop();
  spawner.reset();
}
