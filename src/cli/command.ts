import type { AppContext } from '../app-context.ts';

/** The streams and surroundings one `docucommit` subcommand runs with. */
export interface CliIO {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream;
  env: NodeJS.ProcessEnv;
  /** The directory relative paths in the arguments are relative to (the caller's, when run inside a server). */
  cwd?: string;
  /**
   * Set when the command runs inside a running server (sent over its control socket, cli/control/): commands
   * use the server's services instead of claiming the data directory.
   */
  server?: AppContext;
}

export interface Command {
  name: string;
  /** One line for the command list. */
  summary: string;
  /** Full help text printed by `docucommit NAME --help`. */
  help: string;
  /** Returns the process exit code. Throwing a CliUsageError prints the message and the help, exit 2. */
  run(args: string[], io: CliIO): Promise<number>;
  /**
   * Whether this invocation may run inside a server that holds the data directory: it is then sent over the
   * server's control socket instead of being refused. Absent: never (the command claims the directory itself).
   */
  runsInServer?(args: string[]): boolean;
}

/** Wrong arguments: exit code 2 with the command's help. */
export class CliUsageError extends Error {}

/** Write a line to a stream. */
export function say(stream: NodeJS.WritableStream, line: string): void {
  stream.write(line + '\n');
}
