import { ConflictError } from '../errors.ts';

/**
 * A git process failed, timed out or misbehaved. Not an AppError on purpose: its message names git arguments and
 * git's stderr, which are for logs, not for the person who made the request (the error handler turns it into a 500).
 * `args` never contain file contents: contents always travel on stdin.
 */
export class GitError extends Error {
  constructor(
    message: string,
    readonly args: readonly string[],
    readonly exitCode: number | null,
    readonly stderr: string,
    readonly timedOut = false,
    readonly signal: NodeJS.Signals | null = null,
  ) {
    super(message);
    this.name = 'GitError';
  }
}

/** The branch did not point at the commit the caller expected (a concurrent change won); HTTP 409. */
export class BranchMovedError extends ConflictError {
  constructor(
    readonly branch: string,
    readonly expected: string | null,
    readonly currentHead: string | null,
  ) {
    super(
      `The branch moved since you started: ${branch} is at ${currentHead ?? '(no commit)'}, ` +
        `not ${expected ?? '(no commit)'}. Reload and apply your change again.`,
    );
  }
}
