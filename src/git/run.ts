import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidInputError } from '../errors.ts';

/** A git command failed: keeps git's stderr, the exit code and the arguments (never file contents). */
export class GitError extends Error {
  constructor(
    message: string,
    readonly args: readonly string[],
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super(message);
    this.name = 'GitError';
  }
}

export const DEFAULT_TIMEOUT_MS = 30_000;
const STDERR_LIMIT = 8 * 1024;

// An empty HOME so no user configuration (~/.gitconfig, credential helpers) ever applies.
let emptyHome: string | undefined;
const home = () => (emptyHome ??= mkdtempSync(join(tmpdir(), 'docucommit-git-home-')));

/**
 * The fixed environment of every git process. Nothing is inherited but PATH: no GIT_DIR, GIT_CONFIG_*,
 * GIT_SSH_COMMAND or similar can leak in from the server's environment.
 */
export function gitEnvironment(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home(),
    LC_ALL: 'C',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_ATTR_NOSYSTEM: '1',
    GIT_TERMINAL_PROMPT: '0',
    GIT_NO_REPLACE_OBJECTS: '1',
    GIT_PROTOCOL_FROM_USER: '0',
    ...extra,
  };
}

/**
 * Check a user-derived value before it becomes a git argument: a leading `-` would be read as an option
 * (e.g. `--upload-pack=...`), so it is refused before git ever starts. Callers still put `--end-of-options`
 * or `--` in front of such values.
 */
export function userArg(value: string, what = 'value'): string {
  if (value.startsWith('-')) throw new InvalidInputError(`${what} may not start with "-": ${JSON.stringify(value)}`);
  if (/[\0\n\r]/.test(value)) throw new InvalidInputError(`${what} contains control characters`);
  return value;
}

export interface RunGitOptions {
  /** The repository (`--git-dir`); omit for commands like `init`. */
  gitDir?: string;
  args: readonly string[];
  input?: Buffer | string;
  env?: Record<string, string>;
  timeoutMs?: number;
  /** Largest stdout accepted; more kills git and fails. */
  maxOutputBytes?: number;
  /** Exit codes that are answers rather than failures (e.g. 1 for `rev-parse --verify --quiet`). */
  okExitCodes?: readonly number[];
}

export interface RunGitResult {
  stdout: Buffer;
  stderr: string;
  exitCode: number;
}

/** Start git with the fixed environment; the caller owns the streams. Used for long-lived and streaming commands. */
export function spawnGit(options: { gitDir?: string; args: readonly string[]; env?: Record<string, string> }): ChildProcessWithoutNullStreams {
  const args = options.gitDir ? ['--git-dir', options.gitDir, ...options.args] : [...options.args];
  // Its own process group, so a timeout can kill git together with anything git started.
  return spawn('git', args, { env: gitEnvironment(options.env), stdio: ['pipe', 'pipe', 'pipe'], shell: false, detached: true });
}

/** Kill a git process and every process it started. */
export function killGit(child: ChildProcessWithoutNullStreams): void {
  try {
    if (child.pid) process.kill(-child.pid, 'SIGKILL');
  } catch {
    child.kill('SIGKILL');
  }
}

/** Run git to completion with a timeout; rejects with GitError on failure. Argument arrays only, never a shell. */
export function runGit(options: RunGitOptions): Promise<RunGitResult> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxOutput = options.maxOutputBytes ?? 512 * 1024 * 1024;
  const ok = options.okExitCodes ?? [0];
  return new Promise((resolve, reject) => {
    const child = spawnGit(options);
    const out: Buffer[] = [];
    let outBytes = 0;
    let stderr = '';
    let failure: GitError | null = null;
    const fail = (message: string) => {
      failure ??= new GitError(message, options.args, null, stderr);
      killGit(child);
    };
    const timer = setTimeout(() => fail(`git ${options.args[0]} timed out after ${timeoutMs} ms`), timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => {
      outBytes += chunk.length;
      if (outBytes > maxOutput) fail(`git ${options.args[0]} produced more than ${maxOutput} bytes`);
      else out.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < STDERR_LIMIT) stderr += chunk.toString('utf8').slice(0, STDERR_LIMIT - stderr.length);
    });
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new GitError(`could not start git: ${error.message}`, options.args, null, ''));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (failure) return reject(Object.assign(failure, { stderr }));
      if (code === null || !ok.includes(code)) {
        return reject(new GitError(`git ${options.args[0]} failed (exit ${code}): ${stderr.trim()}`, options.args, code, stderr));
      }
      resolve({ stdout: Buffer.concat(out), stderr, exitCode: code });
    });
    child.stdin.on('error', () => {}); // git may exit before reading all input; the exit code tells
    child.stdin.end(options.input ?? '');
  });
}
