import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { AppError } from '../errors.ts';
import { CliUsageError, say, type CliIO, type Command } from './command.ts';
import { commands } from './commands/index.ts';
import { runInRunningServer } from './control/client.ts';

const TOP_HELP = `docucommit — policies and handbooks in git, served as an access-controlled intranet

Usage: docucommit <command> [options]

Commands:
${commands.map((c) => `  ${c.name.padEnd(10)} ${c.summary}`).join('\n')}

Every command accepts --help. Data lives in --data DIR (or DOCUCOMMIT_DATA), default ./data.
`;

/** Run the CLI with the given arguments; resolves to the exit code. */
export async function main(argv: string[], io: CliIO = defaultIO()): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(TOP_HELP);
    return name ? 0 : 2;
  }
  const entry = commands.find((c) => c.name === name);
  if (!entry) {
    say(io.stderr, `docucommit: unknown command "${name}". Run "docucommit --help" for the list.`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    const { help } = await entry.load();
    io.stdout.write(help.endsWith('\n') ? help : help + '\n');
    return 0;
  }
  if (io.server && !entry.runsInServer?.(rest)) {
    say(io.stderr, `docucommit ${name}: cannot run inside the server; stop it first.`);
    return 1;
  }
  // loaded once it runs here: a command the running server carries out needs only the control socket's client
  let command: Command | null = null;
  try {
    if (!io.server && entry.runsInServer?.(rest)) {
      // A server holds the data directory: it runs the command (and serves what it changes at once).
      const code = await runInRunningServer(dataDirOf(rest, io), argv, io);
      if (code !== null) return code;
    }
    command = await entry.load();
    return await command.run(rest, io);
  } catch (error) {
    if (error instanceof CliUsageError || isParseArgsError(error)) {
      say(io.stderr, `docucommit ${name}: ${(error as Error).message}`);
      io.stderr.write('\n' + (command ?? (await entry.load())).help + '\n');
      return 2;
    }
    if (error instanceof AppError) {
      say(io.stderr, `docucommit ${name}: ${error.message}`);
      return 1;
    }
    say(io.stderr, `docucommit ${name}: unexpected error: ${(error as Error)?.stack ?? String(error)}`);
    return 1;
  }
}

/** The data directory a command's arguments name, resolved as loadConfig resolves it. */
function dataDirOf(args: string[], io: CliIO): string {
  const { values } = parseArgs({ args, strict: false, allowPositionals: true, options: { data: { type: 'string' } } });
  const data = typeof values.data === 'string' ? values.data : undefined;
  return resolve(io.cwd ?? process.cwd(), data ?? io.env.DOCUCOMMIT_DATA ?? './data');
}

function isParseArgsError(error: unknown): boolean {
  const code = (error as { code?: string })?.code ?? '';
  return code.startsWith('ERR_PARSE_ARGS');
}

function defaultIO(): CliIO {
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env };
}

export { parseArgs };
