/** The shape of one `docucommit` subcommand. */
export interface CliIO {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream;
  env: NodeJS.ProcessEnv;
}

export interface Command {
  name: string;
  /** One line for the command list. */
  summary: string;
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
