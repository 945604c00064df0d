/**
 * One long-lived `git cat-file --batch` per repository. Requests are written as they arrive and git answers them
 * in order, so a FIFO of pending reads matches answers to requests. Only full object ids are accepted (never
 * `rev:path` expressions), so a read touches git's object database only: no work tree, no symlink is followed.
 */
import type { Socket } from 'node:net';
import { InvalidInputError } from '../errors.ts';
import { GitError } from './errors.ts';
import { spawnGit } from './run.ts';
import type { GitProcess } from './run.ts';

export type GitObjectType = 'blob' | 'tree' | 'commit' | 'tag';

export interface GitObject {
  oid: string;
  type: GitObjectType;
  size: number;
  content: Buffer;
}

export interface CatFileOptions {
  /** With reads pending, kill git when it sends nothing for this long. Default 30 s. */
  stallTimeoutMs?: number;
  /** Stop the idle process after this long; the next read starts a new one. Default 5 minutes. */
  idleTimeoutMs?: number;
  /** Refuse (without buffering them) objects larger than this. Default 256 MiB. */
  maxObjectBytes?: number;
}

const OID = /^[0-9a-f]{40}$/;
const OBJECT_TYPES: ReadonlySet<string> = new Set(['blob', 'tree', 'commit', 'tag']);
const MAX_HEADER_BYTES = 1024;
// a read in flight when git dies is sent to the next process this many more times
const RETRIES = 1;

interface Pending {
  oid: string;
  attempts: number;
  resolve(object: GitObject | null): void;
  reject(error: Error): void;
}

type ParseState =
  | { kind: 'header' }
  | { kind: 'body'; oid: string; type: GitObjectType; size: number; content: Buffer | null; filled: number }
  | { kind: 'trailer'; object: GitObject | null; error: Error | null };

/** A reader of one repository's objects through a reused `git cat-file --batch` process. */
export class CatFileBatch {
  readonly #gitDir: string;
  readonly #stallTimeoutMs: number;
  readonly #idleTimeoutMs: number;
  readonly #maxObjectBytes: number;
  #process: GitProcess | null = null;
  // reads written to the current process, oldest first
  #inFlight: Pending[] = [];
  #state: ParseState = { kind: 'header' };
  #header: Buffer[] = [];
  #headerBytes = 0;
  #stallTimer: NodeJS.Timeout | undefined;
  #idleTimer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(gitDir: string, options: CatFileOptions = {}) {
    this.#gitDir = gitDir;
    this.#stallTimeoutMs = options.stallTimeoutMs ?? 30_000;
    this.#idleTimeoutMs = options.idleTimeoutMs ?? 5 * 60_000;
    this.#maxObjectBytes = options.maxObjectBytes ?? 256 * 1024 * 1024;
  }

  /** Process id of the running git, if any (for diagnostics and tests). */
  get pid(): number | undefined {
    return this.#process?.pid;
  }

  /** Reads one object by full id; null when the repository does not have it. */
  read(oid: string): Promise<GitObject | null> {
    if (!OID.test(oid)) return Promise.reject(new InvalidInputError(`Not an object id: ${JSON.stringify(oid)}.`));
    if (this.#closed) return Promise.reject(new Error('cat-file reader is closed'));
    return new Promise((resolve, reject) => this.#send({ oid, attempts: 0, resolve, reject }));
  }

  /** Stops the git process; later reads are refused. */
  async close(): Promise<void> {
    this.#closed = true;
    const proc = this.#process;
    this.#stop(new Error('cat-file reader is closed'), true);
    if (proc) await proc.wait().catch(() => {});
  }

  #send(request: Pending): void {
    const proc = this.#ensureStarted();
    this.#inFlight.push(request);
    this.#keepAlive(proc, true);
    if (this.#inFlight.length === 1) this.#armStallTimer();
    clearTimeout(this.#idleTimer);
    proc.stdin.write(`${request.oid}\n`);
  }

  #ensureStarted(): GitProcess {
    if (this.#process) return this.#process;
    // no overall deadline for a process meant to live long: the stall timer below is its deadline
    const proc = spawnGit({ gitDir: this.#gitDir, args: ['cat-file', '--batch'], timeoutMs: 0 });
    this.#process = proc;
    this.#state = { kind: 'header' };
    this.#header = [];
    this.#headerBytes = 0;
    proc.stdout.on('data', (chunk: Buffer) => {
      if (this.#process !== proc) return;
      try {
        this.#onData(chunk);
      } catch (error) {
        this.#fail(proc, error as Error);
      }
    });
    proc.wait().then(
      () => this.#onExit(proc, new GitError('git cat-file --batch exited', ['cat-file', '--batch'], 0, '')),
      (error: Error) => this.#onExit(proc, error),
    );
    return proc;
  }

  // git died or was killed: answer nothing more from it, and give in-flight reads one more chance on a new process
  #onExit(proc: GitProcess, error: Error): void {
    if (this.#process !== proc) return;
    const pending = this.#inFlight;
    this.#stop(error, false);
    for (const request of pending) {
      if (this.#closed || request.attempts >= RETRIES) request.reject(error);
      else this.#send({ ...request, attempts: request.attempts + 1 });
    }
  }

  #fail(proc: GitProcess, error: Error): void {
    if (this.#process !== proc) return;
    this.#stop(error, true);
  }

  // detaches and kills the current process; its in-flight reads are rejected if `rejectAll`, else left to the caller
  #stop(error: Error, rejectAll: boolean): void {
    clearTimeout(this.#stallTimer);
    clearTimeout(this.#idleTimer);
    const proc = this.#process;
    const pending = this.#inFlight;
    this.#process = null;
    this.#inFlight = [];
    this.#state = { kind: 'header' };
    this.#header = [];
    this.#headerBytes = 0;
    if (rejectAll) for (const request of pending) request.reject(error);
    if (proc) {
      this.#keepAlive(proc, true); // so that close() can wait for the exit
      proc.stdin.end();
      proc.kill('cat-file reader stopped');
    }
  }

  #armStallTimer(): void {
    clearTimeout(this.#stallTimer);
    const proc = this.#process;
    if (!proc || this.#inFlight.length === 0) return;
    this.#stallTimer = setTimeout(() => {
      const error = new GitError(
        `git cat-file --batch timed out: no answer for ${this.#stallTimeoutMs} ms`,
        ['cat-file', '--batch'],
        null,
        '',
        true,
      );
      this.#fail(proc, error);
    }, this.#stallTimeoutMs);
  }

  #onIdle(): void {
    clearTimeout(this.#stallTimer);
    const proc = this.#process;
    if (!proc) return;
    this.#keepAlive(proc, false);
    this.#idleTimer = setTimeout(() => {
      if (this.#process === proc && this.#inFlight.length === 0) this.#stop(new Error('idle'), false);
    }, this.#idleTimeoutMs);
    this.#idleTimer.unref();
  }

  // an idle reader must not keep Node running; a pending read must
  #keepAlive(proc: GitProcess, on: boolean): void {
    const handles = [proc.child, proc.stdin, proc.stdout, proc.child.stderr] as unknown as Partial<Socket>[];
    for (const handle of handles) {
      if (on) handle.ref?.();
      else handle.unref?.();
    }
  }

  #onData(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length) {
      const state = this.#state;
      if (state.kind === 'header') {
        const newline = chunk.indexOf(0x0a, offset);
        const end = newline < 0 ? chunk.length : newline;
        this.#headerBytes += end - offset;
        if (this.#headerBytes > MAX_HEADER_BYTES) throw new Error('git cat-file sent an overlong header line');
        this.#header.push(chunk.subarray(offset, end));
        offset = end;
        if (newline < 0) break;
        offset += 1;
        const line = Buffer.concat(this.#header).toString('latin1');
        this.#header = [];
        this.#headerBytes = 0;
        this.#state = this.#parseHeader(line);
        continue;
      }
      if (state.kind === 'body') {
        const take = Math.min(state.size - state.filled, chunk.length - offset);
        state.content?.set(chunk.subarray(offset, offset + take), state.filled);
        state.filled += take;
        offset += take;
        if (state.filled === state.size) {
          this.#state = state.content
            ? { kind: 'trailer', object: { oid: state.oid, type: state.type, size: state.size, content: state.content }, error: null }
            : { kind: 'trailer', object: null, error: new InvalidInputError(`Object ${state.oid} is larger than ${this.#maxObjectBytes} bytes.`) };
        }
        continue;
      }
      // trailer: the single LF that follows every object's content
      if (chunk[offset] !== 0x0a) throw new Error('git cat-file output lost sync (no newline after content)');
      offset += 1;
      this.#state = { kind: 'header' };
      this.#answer(state.object, state.error);
    }
    if (this.#inFlight.length > 0) this.#armStallTimer();
  }

  #parseHeader(line: string): ParseState {
    const expected = this.#inFlight[0];
    if (!expected) throw new Error(`git cat-file answered a question nobody asked: ${JSON.stringify(line)}`);
    const parts = line.split(' ');
    if (parts.length === 2 && parts[1] === 'missing') {
      if (parts[0] !== expected.oid) throw new Error('git cat-file answers are out of order');
      this.#answer(null, null);
      return { kind: 'header' };
    }
    const [oid, type, sizeText] = parts;
    if (parts.length !== 3 || oid !== expected.oid || !OBJECT_TYPES.has(type!) || !/^\d+$/.test(sizeText!)) {
      throw new Error(`unexpected git cat-file header ${JSON.stringify(line.slice(0, 200))}`);
    }
    const size = Number(sizeText);
    const content = size <= this.#maxObjectBytes ? Buffer.allocUnsafe(size) : null;
    if (size === 0) {
      return { kind: 'trailer', object: { oid, type: type as GitObjectType, size, content: Buffer.alloc(0) }, error: null };
    }
    return { kind: 'body', oid, type: type as GitObjectType, size, content, filled: 0 };
  }

  #answer(object: GitObject | null, error: Error | null): void {
    const request = this.#inFlight.shift();
    if (!request) throw new Error('git cat-file answered a question nobody asked');
    if (error) request.reject(error);
    else request.resolve(object);
    if (this.#inFlight.length === 0) this.#onIdle();
    else this.#armStallTimer();
  }
}
