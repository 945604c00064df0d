import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { CliUsageError, say, type CliIO, type Command } from '../command.ts';
import { formatContentError } from '../../content/errors.ts';
import { escapeHtml } from '../../content/escape-html.ts';
import { renderDocument } from '../../content/render-document.ts';
import type { RenderedDocument } from '../../content/types.ts';

const HELP = `docucommit render — render Markdown documents to sanitized HTML, as the intranet shows them

Usage: docucommit render FILE.md... [--json] [--root DIR]

Prints the sanitized HTML body of each file (several files are each preceded by an HTML comment naming
the file). Front matter problems go to stderr as "file:line: message".

Options:
  --json       one JSON object per line: {file, path, title, tags, classification, toc, links, html, errors}
  --root DIR   repository root the files belong to (default: current directory); relative links are
               resolved against each file's path inside it
  -h, --help   show this help

Exit status: 0 when every file rendered cleanly, 1 when a file had front matter errors or could not be
read (the others are still printed), 2 for usage errors.

Examples:
  docucommit render policies/data-handling.md
  docucommit render --json policies/*.md
  docucommit render --root ~/intranet ~/intranet/news/launch.md
`;

/** `docucommit render`: preview the content pipeline on local files. */
export const renderCommand: Command = {
  name: 'render',
  help: HELP,
  async run(args: string[], io: CliIO): Promise<number> {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        json: { type: 'boolean', default: false },
        root: { type: 'string' },
      },
    });
    if (positionals.length === 0) throw new CliUsageError('name at least one Markdown file to render');
    const root = path.resolve(values.root ?? '.');
    let failed = false;

    for (const file of positionals) {
      let source: string;
      try {
        source = await readFile(file, 'utf8');
      } catch (error) {
        say(io.stderr, `${file}: cannot read: ${describeReadError(error)}`);
        failed = true;
        continue;
      }
      const doc = renderDocument(repositoryPath(root, file), source);
      // Report errors under the name the user typed, so editors and terminals can jump to them.
      const errors = doc.errors.map((error) => ({ ...error, file }));
      for (const error of errors) say(io.stderr, formatContentError(error));
      if (errors.length > 0) failed = true;

      if (values.json) {
        say(io.stdout, JSON.stringify(jsonRecord(file, doc, errors)));
      } else {
        if (positionals.length > 1) say(io.stdout, `<!-- ${escapeHtml(file.replace(/--/g, '- -'))} -->`);
        io.stdout.write(doc.html.endsWith('\n') || doc.html === '' ? doc.html : doc.html + '\n');
        if (positionals.length > 1) say(io.stdout, '');
      }
    }
    return failed ? 1 : 0;
  },
};

function jsonRecord(file: string, doc: RenderedDocument, errors: RenderedDocument['errors']) {
  return {
    file,
    path: doc.path,
    title: doc.title,
    tags: doc.tags,
    classification: doc.classification,
    toc: doc.toc,
    links: doc.links,
    html: doc.html,
    errors,
  };
}

/** Path of the file inside the repository root, with `/` separators; the bare file name when outside it. */
function repositoryPath(root: string, file: string): string {
  const relative = path.relative(root, path.resolve(file));
  if (relative === '' || relative === '..' || relative.startsWith(`..${path.sep}`) || path.isAbsolute(relative)) return path.basename(file);
  return relative.split(path.sep).join('/');
}

function describeReadError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException)?.code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EISDIR') return 'is a directory';
  if (code === 'EACCES') return 'permission denied';
  return (error as Error)?.message ?? String(error);
}
