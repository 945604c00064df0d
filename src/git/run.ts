/**
 * The only place that starts a git process. Every call gets an argument array (never a shell), a fixed environment
 * that ignores the host's git configuration, and a deadline that kills the whole process group. Short commands
 * (runGit) are started by the spawner process (spawner-client.ts), long-lived and streaming ones (spawnGit:
 * cat-file --batch, smart HTTP) from this process.
 */
import { spawn } from 'node:child_process';
import type { ChildProcessByStdio } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { InvalidInputError } from '../errors.ts';
import { GitError } from './errors.ts';
import { gitSpawnCounts, gitSpawner, SpawnerUnavailableError } from './spawner-client.ts';

export { GitError } from './errors.ts';

const GIT_BINARY = 'git';
/** Default deadline of a git call. */
export const DEFAULT_TIMEOUT_MS = 30_000;
/** Default cap on the stdout that runGit buffers. */
export const DEFAULT_MAX_STDOUT_BYTES = 64 * 1024 * 1024;
const MAX_STDERR_BYTES = 8 * 1024;

/** A value that came from a user (a ref, a path, a revision). Created only by `userArg`, which checks it. */
export class UserArg {
  readonly #value: string;
  private constructor(value: string) {
    this.#value = checkUserValue(value);
  }
  /** Same as userArg(value). */
  static of(value: string): UserArg {
    return new UserArg(value);
  }
  get value(): string {
    return this.#value;
  }
  toString(): string {
    return this.#value;
  }
}

// a leading '-' would make git read the value as an option; a line break could smuggle a second line into
// git's line-oriented inputs and outputs; NUL cannot be passed to a process at all
function checkUserValue(value: string): string {
  if (typeof value !== 'string') throw new InvalidInputError('Expected a text value.');
  if (value.startsWith('-')) throw new InvalidInputError(`Invalid value ${JSON.stringify(value)}: must not start with "-".`);
  if (/[\0\n\r]/.test(value)) throw new InvalidInputError(`Invalid value ${JSON.stringify(value)}: contains a line break or NUL.`);
  return value;
}

/**
 * An argument: a string literal written by us (trusted), or a user-derived value wrapped by `userArg`.
 * A user value must come after a literal `--end-of-options` (revisions, refs) or `--` (paths); spawnGit enforces it.
 */
export type GitArg = string | UserArg;

/**
 * Marks a user-derived argument. Throws InvalidInputError, before any process starts, if the value could be read
 * as an option (leading '-') or contains a line break or NUL.
 */
export function userArg(value: string): UserArg {
  return UserArg.of(value);
}

/**
 * Environment variables a caller may set. Everything else in the child's environment is fixed here, so a hostile
 * GIT_DIR, GIT_CONFIG_PARAMETERS, GIT_ASKPASS... in our own process never reaches git.
 */
export type GitEnvKey =
  | 'GIT_INDEX_FILE'
  | 'GIT_AUTHOR_NAME'
  | 'GIT_AUTHOR_EMAIL'
  | 'GIT_AUTHOR_DATE'
  | 'GIT_COMMITTER_NAME'
  | 'GIT_COMMITTER_EMAIL'
  | 'GIT_COMMITTER_DATE'
  | 'GIT_OBJECT_DIRECTORY'
  | 'GIT_ALTERNATE_OBJECT_DIRECTORIES'
  | 'GIT_QUARANTINE_PATH'
  | 'GIT_PROTOCOL'
  | 'GIT_REFLOG_ACTION'
  // CGI variables for `git http-backend`
  | 'GIT_PROJECT_ROOT'
  | 'GIT_HTTP_EXPORT_ALL'
  | 'GIT_HTTP_MAX_REQUEST_BUFFER'
  | 'PATH_INFO'
  | 'PATH_TRANSLATED'
  | 'REQUEST_METHOD'
  | 'QUERY_STRING'
  | 'CONTENT_TYPE'
  | 'CONTENT_LENGTH'
  | 'HTTP_CONTENT_ENCODING'
  | 'REMOTE_USER'
  | 'REMOTE_ADDR';

const ALLOWED_ENV_KEYS: ReadonlySet<string> = new Set<GitEnvKey>([
  'GIT_INDEX_FILE',
  'GIT_AUTHOR_NAME',
  'GIT_AUTHOR_EMAIL',
  'GIT_AUTHOR_DATE',
  'GIT_COMMITTER_NAME',
  'GIT_COMMITTER_EMAIL',
  'GIT_COMMITTER_DATE',
  'GIT_OBJECT_DIRECTORY',
  'GIT_ALTERNATE_OBJECT_DIRECTORIES',
  'GIT_QUARANTINE_PATH',
  'GIT_PROTOCOL',
  'GIT_REFLOG_ACTION',
  'GIT_PROJECT_ROOT',
  'GIT_HTTP_EXPORT_ALL',
  'GIT_HTTP_MAX_REQUEST_BUFFER',
  'PATH_INFO',
  'PATH_TRANSLATED',
  'REQUEST_METHOD',
  'QUERY_STRING',
  'CONTENT_TYPE',
  'CONTENT_LENGTH',
  'HTTP_CONTENT_ENCODING',
  'REMOTE_USER',
  'REMOTE_ADDR',
]);

export interface SpawnGitOptions {
  args: readonly GitArg[];
  /** The repository (GIT_DIR); also the working directory unless `cwd` is given. */
  gitDir?: string;
  cwd?: string;
  env?: Partial<Record<GitEnvKey, string>>;
  /** Kill the process group after this long. Default 30 s. 0 = no deadline: only for a caller with its own watchdog. */
  timeoutMs?: number;
  /** Exit codes that are not failures (default [0]). */
  okExitCodes?: readonly number[];
  /** Aborting kills the process group. */
  signal?: AbortSignal;
}

/** Input for git produced piece by piece (see RunGitOptions.input). */
export interface GitInputPieces {
  pieces: Iterable<Buffer>;
}

/** Pieces per write to git's stdin: one `writev` for a few dozen, instead of a system call (and a wakeup of git) each. */
const PIECES_PER_WRITE = 32;

export interface RunGitOptions extends SpawnGitOptions {
  /**
   * A string or Buffer goes through the spawner (spawner-client.ts); a stream is piped to a directly started git;
   * pieces (a generator of Buffers, e.g. a large fast-import stream) are written to a directly started git, many
   * per system call, produced only as fast as git reads them.
   */
  input?: Buffer | string | Readable | GitInputPieces;
  /** Fail (and kill git) if stdout grows beyond this. Default 64 MiB. */
  maxStdoutBytes?: number;
  /**
   * Whether the command may be run again (directly) when the spawner dies after receiving it, before answering.
   * Default true; false for a command whose effect must not be repeated blindly (a compare-and-swap ref update).
   */
  rerunIfHelperDies?: boolean;
  /** Start git from this process, not through the spawner (tests). */
  direct?: boolean;
}

export interface RunGitResult {
  stdout: Buffer;
  stderr: string;
  exitCode: number;
}

export interface GitExit {
  exitCode: number;
  stderr: string;
}

/** A started git process for streaming use (smart HTTP, cat-file); stderr is captured for errors. */
export interface GitProcess {
  readonly child: ChildProcessByStdio<Writable, Readable, Readable>;
  readonly stdin: Writable;
  readonly stdout: Readable;
  readonly pid: number | undefined;
  /** Resolves when git exits with an ok code; rejects with GitError otherwise (including timeout and kill). */
  wait(): Promise<GitExit>;
  /** Kills the process group; wait() then rejects with `reason`. */
  kill(reason?: string): void;
}

let privateHome: string | undefined;

// git reads ~/.gitconfig, ~/.config/git/* and more from HOME: give it an empty directory that only we own.
function gitHome(): string {
  if (privateHome === undefined) {
    const home = mkdtempSync(join(tmpdir(), 'docucommit-git-home-'));
    privateHome = home;
    // an empty folder per process: gone with the process (a crash leaves one in the temporary directory)
    process.once('exit', () => rmSync(home, { recursive: true, force: true }));
  }
  return privateHome;
}

function buildEnv(options: SpawnGitOptions): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: gitHome(),
    XDG_CONFIG_HOME: join(gitHome(), '.config'),
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_ATTR_NOSYSTEM: '1',
    // refs/replace/* pushed by a user must not change what we read
    GIT_NO_REPLACE_OBJECTS: '1',
    // a path like ':(glob)**' is a file name to us, never pathspec magic
    GIT_LITERAL_PATHSPECS: '1',
    GIT_TERMINAL_PROMPT: '0',
    LC_ALL: 'C',
    // glibc hands the top of the heap back to the kernel whenever more than 128 KB is free there; git allocates and
    // frees a ~300 KB zlib state per object, so writing a pack of 10,000 blobs made 35,000 brk calls and faulted the
    // same pages in again each time: 4.1 s of CPU instead of 1.1 s. With up to 4 MB kept, the memory is reused.
    // Other C libraries ignore the variable.
    GLIBC_TUNABLES: 'glibc.malloc.trim_threshold=4194304',
  };
  if (process.env.TMPDIR) env.TMPDIR = process.env.TMPDIR;
  if (options.gitDir !== undefined) env.GIT_DIR = resolve(options.gitDir);
  for (const [key, value] of Object.entries(options.env ?? {})) {
    if (value === undefined) continue;
    if (!ALLOWED_ENV_KEYS.has(key)) throw new Error(`git environment variable ${key} may not be set by callers`);
    if (value.includes('\0')) throw new InvalidInputError(`Invalid value for ${key}: contains a NUL character.`);
    env[key] = value;
  }
  return env;
}

function describe(args: readonly string[]): string {
  const shown = args.slice(0, 12).map((a) => (a.length > 120 ? `${a.slice(0, 120)}…` : a));
  return `git ${shown.join(' ')}${args.length > 12 ? ' …' : ''}`;
}

function firstLine(text: string): string {
  const line = text.split('\n').find((l) => l.trim() !== '') ?? '';
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    // negative pid: the whole group, so hooks or helpers that git started die with it
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/**
 * Write the pieces to git's stdin, corked in groups (one writev each), waiting whenever the pipe is full. Stops
 * early when git has gone (its exit status then reports the failure). Throws what the generator throws.
 */
async function writePieces(stdin: Writable, pieces: Iterable<Buffer>): Promise<void> {
  let corked = 0;
  stdin.cork();
  for (const piece of pieces) {
    if (stdin.destroyed) return;
    const room = stdin.write(piece);
    if (++corked < PIECES_PER_WRITE) continue;
    corked = 0;
    stdin.uncork();
    if (!room) await drained(stdin);
    stdin.cork();
  }
  stdin.uncork();
  stdin.end();
}

/** Resolves when the stream can take more, or is closed (never hangs on a git that exited). */
function drained(stream: Writable): Promise<void> {
  if (stream.destroyed) return Promise.resolve();
  return new Promise((resolvePromise) => {
    const done = () => {
      stream.off('drain', done);
      stream.off('close', done);
      stream.off('error', done);
      resolvePromise();
    };
    stream.on('drain', done);
    stream.on('close', done);
    stream.on('error', done);
  });
}

// Refuses (as a programming error) a user value that git could still parse as an option.
function toArgv(gitArgs: readonly GitArg[]): string[] {
  let afterSeparator = false;
  return gitArgs.map((arg) => {
    if (arg instanceof UserArg) {
      if (!afterSeparator) throw new Error('a user-derived git argument must follow "--end-of-options" or "--"');
      return checkUserValue(arg.value);
    }
    if (typeof arg !== 'string') throw new Error('git arguments must be strings');
    if (arg.includes('\0')) throw new InvalidInputError('Invalid value: contains a NUL character.');
    if (arg === '--end-of-options' || arg === '--') afterSeparator = true;
    return arg;
  });
}

/** Starts git with the fixed environment and deadline; the caller owns stdin/stdout and must call wait(). */
export function spawnGit(options: SpawnGitOptions): GitProcess {
  const args = toArgv(options.args);
  const env = buildEnv(options);
  const cwd = options.cwd ?? (options.gitDir !== undefined ? resolve(options.gitDir) : undefined);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const okExitCodes = options.okExitCodes ?? [0];
  if (options.signal?.aborted) throw new GitError(`${describe(args)} was aborted before it started`, args, null, '');

  gitSpawnCounts.direct++;
  const child = spawn(GIT_BINARY, args, {
    cwd,
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true, // own process group, so a timeout can kill git and everything it started
    windowsHide: true,
  });

  let stderrBytes = 0;
  const stderrChunks: Buffer[] = [];
  child.stderr.on('data', (chunk: Buffer) => {
    if (stderrBytes >= MAX_STDERR_BYTES) return;
    const part = chunk.subarray(0, MAX_STDERR_BYTES - stderrBytes);
    stderrChunks.push(part);
    stderrBytes += part.length;
  });
  // git may exit before reading all of its input; that shows up as EPIPE here and as git's own exit status
  child.stdin.on('error', () => {});

  let killReason: { message: string; timedOut: boolean } | undefined;
  const kill = (message: string, timedOut = false): void => {
    killReason ??= { message, timedOut };
    killGroup(child.pid);
  };

  const timer =
    timeoutMs > 0 ? setTimeout(() => kill(`${describe(args)} timed out after ${timeoutMs} ms`, true), timeoutMs) : undefined;
  const onAbort = (): void => kill(`${describe(args)} was aborted`);
  options.signal?.addEventListener('abort', onAbort, { once: true });

  const done = new Promise<GitExit>((resolvePromise, reject) => {
    let spawnError: Error | undefined;
    child.on('error', (err) => {
      spawnError = err;
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      const stderr = Buffer.concat(stderrChunks).toString('utf8');
      if (killReason) {
        reject(new GitError(killReason.message, args, code, stderr, killReason.timedOut, signal));
      } else if (spawnError) {
        reject(new GitError(`${describe(args)} could not start: ${spawnError.message}`, args, code, stderr));
      } else if (code === null || !okExitCodes.includes(code)) {
        const how = code === null ? `was killed by ${signal}` : `failed (exit ${code})`;
        reject(new GitError(`${describe(args)} ${how}: ${firstLine(stderr)}`, args, code, stderr, false, signal));
      } else {
        resolvePromise({ exitCode: code, stderr });
      }
    });
  });
  // callers that never await wait() must not cause an unhandled rejection
  done.catch(() => {});

  return {
    child,
    stdin: child.stdin,
    stdout: child.stdout,
    pid: child.pid,
    wait: () => done,
    kill: (reason = `${describe(args)} was killed`) => kill(reason),
  };
}

/**
 * Runs git to completion: feeds `input`, buffers stdout (capped), throws GitError on failure or timeout.
 * With no input or a string/Buffer input, git is started by the spawner process (cheap to fork); with a stream,
 * or when the spawner is unavailable, from this process.
 */
export async function runGit(options: RunGitOptions): Promise<RunGitResult> {
  const input = options.input;
  if (options.direct || (input !== undefined && typeof input !== 'string' && !Buffer.isBuffer(input))) return runGitDirect(options);
  const spawner = gitSpawner();
  if (!spawner.available) return runGitDirect(options);

  // everything is checked and built here, exactly as for a direct start; the spawner only applies it
  const args = toArgv(options.args);
  const env = buildEnv(options);
  const cwd = options.cwd ?? (options.gitDir !== undefined ? resolve(options.gitDir) : process.cwd());
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const okExitCodes = options.okExitCodes ?? [0];
  const maxStdout = options.maxStdoutBytes ?? DEFAULT_MAX_STDOUT_BYTES;
  if (options.signal?.aborted) throw new GitError(`${describe(args)} was aborted before it started`, args, null, '');

  let result;
  try {
    result = await spawner.run({
      args,
      cwd,
      env,
      input: input === undefined ? Buffer.alloc(0) : typeof input === 'string' ? Buffer.from(input, 'utf8') : input,
      timeoutMs,
      maxStdout,
      maxStderr: MAX_STDERR_BYTES,
      signal: options.signal,
      rerunIfHelperDies: options.rerunIfHelperDies,
    });
  } catch (error) {
    if (!(error instanceof SpawnerUnavailableError)) throw error;
    if (!error.rerun) {
      throw new GitError(`${describe(args)}: ${error.message}; it may or may not have taken effect`, args, null, '');
    }
    return runGitDirect(options);
  }

  const stderr = result.stderr.toString('utf8');
  const signal = result.signal;
  const code = result.code;
  if (result.killed === 'timeout') throw new GitError(`${describe(args)} timed out after ${timeoutMs} ms`, args, code, stderr, true, signal);
  if (result.killed === 'output') throw new GitError(`${describe(args)} produced more than ${maxStdout} bytes of output`, args, code, stderr, false, signal);
  if (result.killed === 'abort') throw new GitError(`${describe(args)} was aborted`, args, code, stderr, false, signal);
  if (result.error !== null) throw new GitError(`${describe(args)} could not start: ${result.error}`, args, code, stderr);
  if (code === null || !okExitCodes.includes(code)) {
    const how = code === null ? `was killed by ${signal}` : `failed (exit ${code})`;
    throw new GitError(`${describe(args)} ${how}: ${firstLine(stderr)}`, args, code, stderr, false, signal);
  }
  return { stdout: result.stdout, stderr, exitCode: code };
}

/** runGit with git started from this process. */
async function runGitDirect(options: RunGitOptions): Promise<RunGitResult> {
  const maxStdout = options.maxStdoutBytes ?? DEFAULT_MAX_STDOUT_BYTES;
  const proc = spawnGit(options);

  const chunks: Buffer[] = [];
  let size = 0;
  proc.stdout.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > maxStdout) {
      proc.kill(`${describe(proc.child.spawnargs.slice(1))} produced more than ${maxStdout} bytes of output`);
      return;
    }
    chunks.push(chunk);
  });

  const input = options.input;
  if (input === undefined) {
    proc.stdin.end();
  } else if (typeof input === 'string' || Buffer.isBuffer(input)) {
    proc.stdin.end(input);
  } else if ('pieces' in input) {
    writePieces(proc.stdin, input.pieces).catch((err: unknown) =>
      proc.kill(`input for git failed: ${err instanceof Error ? err.message : String(err)}`),
    );
  } else {
    input.on('error', (err: Error) => proc.kill(`input stream for git failed: ${err.message}`));
    input.pipe(proc.stdin);
  }

  const { exitCode, stderr } = await proc.wait();
  return { stdout: Buffer.concat(chunks, Math.min(size, maxStdout)), stderr, exitCode };
}
