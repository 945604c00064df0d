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

/** A subcommand's module (its summary and whether it runs inside a server: commands/index.ts). */
export interface Command {
  name: string;
  /** Full help text printed by `docucommit NAME --help`. */
  help: string;
  /** Returns the process exit code. Throwing a CliUsageError prints the message and the help, exit 2. */
  run(args: string[], io: CliIO): Promise<number>;
}

/** Wrong arguments: exit code 2 with the command's help. */
export class CliUsageError extends Error {}

/** Write a line to a stream. */
export function say(stream: NodeJS.WritableStream, line: string): void {
  stream.write(line + '\n');
}
