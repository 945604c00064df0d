import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { formatContentError } from '../../content/errors.ts';
import { checkProject, formatLinkProblem } from '../../content/link-check.ts';
import { renderDocument } from '../../content/render-document.ts';
import { listFolder, MAX_IMPORT_FILE_BYTES } from '../../projects/import-folder.ts';
import { CliUsageError, say, type Command } from '../command.ts';

/** `docucommit check FOLDER`: the link checker of the problems page, for any CI. */
export const checkCommand: Command = {
  name: 'check',
  help: `Usage: docucommit check FOLDER

Reads the folder as \`docucommit import\` would (hidden files and symlinks skipped) and prints one line per
problem, "file:line: message": links to pages or files that do not exist, images that do not exist, anchors
(#heading) that no heading of the target has, links leaving the folder, and front matter errors. These are the
problems the project's problems page lists once the folder is imported.

Exit status: 0 when there is no problem, 1 when there is at least one, 2 for usage errors.

Example:
  docucommit check ./handbook
`,
  async run(args, io) {
    const { positionals } = parseArgs({ args, allowPositionals: true, options: {} });
    const [folder, ...extra] = positionals;
    if (!folder || extra.length > 0) throw new CliUsageError('give exactly one FOLDER');
    const { found } = listFolder(resolve(io.cwd ?? process.cwd(), folder));
    const documents = [];
    const attachments: string[] = [];
    for (const file of found) {
      // files the import skips (too large) are missing here too
      if (!/\.md$/i.test(file.path)) {
        if ((await stat(file.full)).size <= MAX_IMPORT_FILE_BYTES) attachments.push(file.path);
        continue;
      }
      const source = await readFile(file.full);
      if (source.length > MAX_IMPORT_FILE_BYTES) continue;
      documents.push(renderDocument(file.path, source.toString('utf8')));
    }
    const lines = [
      ...documents.flatMap((doc) => doc.errors.map((error) => ({ file: error.file, line: error.line, text: formatContentError(error) }))),
      ...checkProject(documents, attachments).map((problem) => ({ file: problem.from, line: problem.line ?? 0, text: formatLinkProblem(problem) })),
    ].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line));
    for (const line of lines) say(io.stdout, line.text);
    say(io.stderr, lines.length === 0 ? `${folder}: no problems in ${documents.length} documents` : `${folder}: ${lines.length} ${lines.length === 1 ? 'problem' : 'problems'}`);
    return lines.length === 0 ? 0 : 1;
  },
};
