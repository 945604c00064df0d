import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { InvalidInputError } from '../../errors.ts';
import { importFolder } from '../../projects/import-folder.ts';
import { CliUsageError, say, type Command } from '../command.ts';
import { DATA_OPTIONS, withDataContext } from '../data-context.ts';

export const importCommand: Command = {
  name: 'import',
  summary: 'commit a folder of Markdown files into a project',
  help: `Usage: docucommit import FOLDER --org SLUG --project SLUG [--name NAME] [--author "Name <email>"] [--message MSG] [--data DIR]

Commits the folder's files as the whole content of the project's main branch, in one commit, and publishes it.
Creates the organization and project when they do not exist. Re-importing commits only what changed (files no
longer in the folder are deleted); an unchanged folder makes no commit. Hidden files and symlinks are skipped.
While a server runs on the same data directory, the server runs the import (through its control socket,
DATA/control.sock) and serves the project at once.

Example:
  docucommit import ./handbook --org acme --project handbook --name "Acme Handbook" --author "Ada <ada@acme.test>"
`,
  runsInServer: () => true,
  async run(args, io) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        ...DATA_OPTIONS,
        org: { type: 'string' },
        project: { type: 'string' },
        name: { type: 'string' },
        author: { type: 'string' },
        message: { type: 'string' },
      },
    });
    const [folder, ...extra] = positionals;
    if (!folder || extra.length > 0) throw new CliUsageError('give exactly one FOLDER');
    if (!values.org || !values.project) throw new CliUsageError('--org and --project are required');
    const author = parseAuthor(values.author ?? 'DocuCommit <docucommit@localhost>');
    return withDataContext(values, io, 'docucommit import', async (context) => {
      const result = await importFolder(context, {
        folder: resolve(io.cwd ?? process.cwd(), folder),
        orgSlug: values.org!,
        projectSlug: values.project!,
        ...(values.name ? { projectName: values.name } : {}),
        author,
        ...(values.message ? { message: values.message } : {}),
      });
      for (const skipped of result.skipped) say(io.stderr, `skipped ${skipped}`);
      say(
        io.stdout,
        result.changed
          ? `Imported ${result.files} files into ${values.org}/${values.project} as commit ${result.commit?.slice(0, 12)}`
          : `Nothing changed: ${values.org}/${values.project} already matches ${folder}`,
      );
      return 0;
    });
  },
};

/** Parse `Name <email>`. */
export function parseAuthor(value: string): { name: string; email: string } {
  const match = /^\s*([^<>]+?)\s*<([^<>\s]+@[^<>\s]+)>\s*$/.exec(value);
  if (!match) throw new InvalidInputError(`--author must look like "Name <email>", got "${value}"`);
  return { name: match[1]!, email: match[2]! };
}
