import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { formatContentError } from '../../content/errors.ts';
import { summarizeLinkProblems } from '../../content/link-check.ts';
import { InvalidInputError } from '../../errors.ts';
import { importFolder } from '../../projects/import-folder.ts';
import { CliUsageError, say, type Command } from '../command.ts';
import { DATA_OPTIONS, withDataContext } from '../data-context.ts';

export const importCommand: Command = {
  name: 'import',
  help: `Usage: docucommit import FOLDER --org SLUG --project SLUG [--name NAME] [--author "Name <email>"] [--message MSG] [--data DIR]

Commits the folder's files as the whole content of the project's main branch, in one commit, and publishes it.
Creates the organization and project when they do not exist. Re-importing commits only what changed (files no
longer in the folder are deleted); an unchanged folder makes no commit. Hidden files and symlinks are skipped.
While a server runs on the same data directory, the server runs the import (through its control socket,
DATA/control.sock) and serves the project at once.

Example:
  docucommit import ./handbook --org acme --project handbook --name "Acme Handbook" --author "Ada <ada@acme.test>"
`,
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
      // The same checker as `docucommit check` and the problems page: a summary, the import itself succeeded.
      for (const line of summarizeLinkProblems(result.linkProblems)) say(io.stdout, line);
      if (result.contentErrors.length > 0) {
        say(io.stdout, `Front matter: ${result.contentErrors.length} ${result.contentErrors.length === 1 ? 'error' : 'errors'}`);
        for (const error of result.contentErrors.slice(0, 10)) say(io.stdout, `  ${formatContentError(error)}`);
      }
      if (result.linkProblems.length === 0 && result.contentErrors.length === 0) say(io.stdout, 'Link check: no broken links, missing images or unknown anchors');
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
