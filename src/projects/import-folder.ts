import { closeSync, constants, fstatSync, lstatSync, openSync, readdirSync, readSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import type { BranchMoves } from '../changes/branch-moves.ts';
import type { Db } from '../db/connection.ts';
import type { LinkProblem } from '../content/link-check.ts';
import type { ContentError } from '../content/types.ts';
import { InvalidInputError } from '../errors.ts';
import { ensureOrganization } from '../organizations/organizations.ts';
import { ensureProject, type ProjectRecord } from './projects.ts';
import { PUBLISHED_BRANCH, PUBLISHED_REF } from '../content/published-branch.ts';
import type { Publisher } from './publisher.ts';
import { prepareWorkers } from './render-pool.ts';
import type { RepositoryRegistry } from './repositories.ts';
import { timedOperation } from '../observability/operations.ts';

/** Largest file an import accepts; policies are text, not media libraries. */
export const MAX_IMPORT_FILE_BYTES = 5 * 1024 * 1024;

export interface ImportOptions {
  folder: string;
  orgSlug: string;
  projectSlug: string;
  projectName?: string;
  author: { name: string; email: string };
  message?: string;
}

export interface ImportResult {
  project: ProjectRecord;
  commit: string | null;
  /** False when the folder matched the branch already: no commit was made. */
  changed: boolean;
  files: number;
  skipped: string[];
  /** What the link checker found in the published project (every document), in path order. */
  linkProblems: LinkProblem[];
  /** Front-matter errors of the published documents. */
  contentErrors: ContentError[];
}

/**
 * Commit a folder's files as the whole content of a project's main branch (one commit; files missing from the
 * folder are deleted), creating the organization and project when needed, then publish the new snapshot.
 * Symlinks and dot-directories are skipped, never followed.
 */
export function importFolder(
  deps: { db: Db; repositories: RepositoryRegistry; publisher: Publisher; branchMoves: BranchMoves },
  options: ImportOptions,
): Promise<ImportResult> {
  return timedOperation('import', () => importNow(deps, options));
}

async function importNow(
  deps: { db: Db; repositories: RepositoryRegistry; publisher: Publisher; branchMoves: BranchMoves },
  options: ImportOptions,
): Promise<ImportResult> {
  const { found, skipped } = listFolder(options.folder);
  // A large import renders in worker threads: have them bundled and started while the project is set up and the
  // folder read, not after.
  prepareWorkers(found.length);
  const org = await ensureOrganization(deps.db, options.orgSlug);
  const { project } = await ensureProject(deps.db, {
    orgId: org.id,
    slug: options.projectSlug,
    ...(options.projectName ? { name: options.projectName } : {}),
  });
  const repository = await deps.repositories.get(project);
  const head = await repository.resolveCommit(PUBLISHED_REF);
  const files = readFiles(found, skipped);
  const fileCount = files.length;
  // Render while git writes the commit (both use their own cores); the publish then finds every document ready.
  // Nothing here refers to `files` after this call: once git has them, the prerender holds each file's bytes only
  // until it has read them (about 5 KB a document, ~50 MB for 10,000).
  const prerendered = deps.publisher.prerender(project, files);
  // a failed commit must not leave the prerender's rejection unhandled
  prerendered.catch(() => {});
  const actor = { type: 'system' as const, id: 'import', label: options.author.email };
  const result = await deps.branchMoves.commit(
    project,
    repository,
    {
      branch: PUBLISHED_BRANCH,
      expectedOld: head,
      mode: 'replace-all',
      changes: files,
      author: options.author,
      message: options.message ?? `Import ${fileCount} files`,
    },
    { kind: 'import', actor, events: () => [], publishAfter: prerendered },
  );
  await prerendered;
  // an import that changed nothing moved no branch: the snapshot is still brought up to date
  // (and the summary is read from it: publish answers at once when it is current)
  const snapshot = await deps.publisher.publish(project);
  const linkProblems = [...snapshot.brokenLinks.values()].flat();
  const contentErrors = [...snapshot.documents.values()].flatMap((doc) => doc.meta.errors);
  return { project, commit: result.commit, changed: result.changed, files: fileCount, skipped, linkProblems, contentErrors };
}

/** The regular files of the folder (relative and full paths), in path order, and what was skipped and why. */
export function listFolder(folder: string): { found: { path: string; full: string }[]; skipped: string[] } {
  const root = (() => {
    try {
      return lstatSync(folder);
    } catch {
      return null;
    }
  })();
  if (!root?.isDirectory()) throw new InvalidInputError(`${folder} is not a folder`);
  const found: { path: string; full: string }[] = [];
  const skipped: string[] = [];
  const walk = (dir: string): void => {
    const entries = readdirSync(dir, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const entry of entries) {
      const full = join(dir, entry.name);
      const path = relative(folder, full).split(sep).join('/');
      if (entry.name.startsWith('.')) {
        skipped.push(`${path} (hidden)`);
      } else if (entry.isSymbolicLink()) {
        skipped.push(`${path} (symlink, not followed)`);
      } else if (entry.isDirectory()) {
        walk(full);
      } else if (entry.isFile()) {
        found.push({ path, full });
      }
    }
  };
  walk(folder);
  return { found, skipped };
}

/** Read the files synchronously: a bulk import, where one thread-pool round trip per file costs more than the read. */
function readFiles(found: readonly { path: string; full: string }[], skipped: string[]): { path: string; content: Buffer }[] {
  const files: { path: string; content: Buffer }[] = [];
  const arena = new ReadArena();
  for (const { path, full } of found) {
    const content = readRegularFile(full, arena);
    if (content === null) skipped.push(`${path} (larger than ${MAX_IMPORT_FILE_BYTES} bytes)`);
    else files.push({ path, content });
  }
  return files;
}

/**
 * Hands out slices of shared buffers to read small files into: one allocation per few hundred files instead of
 * one each (allocating was a quarter of the time to read 10,000 documents). A buffer is freed once no slice of
 * it is referenced; files larger than a quarter of a buffer get their own.
 */
class ReadArena {
  private static readonly SIZE = 4 * 1024 * 1024;
  private buffer = Buffer.allocUnsafe(0);
  private used = 0;

  /** A fresh (uninitialised) region of `size` bytes. */
  take(size: number): Buffer {
    if (size > ReadArena.SIZE / 4) return Buffer.allocUnsafe(size);
    if (this.used + size > this.buffer.length) {
      this.buffer = Buffer.allocUnsafe(ReadArena.SIZE);
      this.used = 0;
    }
    const region = this.buffer.subarray(this.used, this.used + size);
    this.used += size;
    return region;
  }
}

/** Everything in the open file from its start, or null past the import limit. */
function readWhole(fd: number): Buffer | null {
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    const chunk = Buffer.allocUnsafe(64 * 1024);
    const n = readSync(fd, chunk, 0, chunk.length, total);
    if (n === 0) return Buffer.concat(chunks, total);
    chunks.push(chunk.subarray(0, n));
    total += n;
    if (total > MAX_IMPORT_FILE_BYTES) return null;
  }
}

/** The file's content, or null when it is larger than the import limit (checked on the open file, not read). */
function readRegularFile(path: string, arena: ReadArena): Buffer | null {
  // O_NOFOLLOW: a file swapped for a symlink after the folder was listed is refused, not followed
  const fd = openSync(path, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
  try {
    const size = fstatSync(fd).size;
    if (size > MAX_IMPORT_FILE_BYTES) return null;
    const content = arena.take(size);
    let read = 0;
    while (read < size) {
      const n = readSync(fd, content, read, size - read, read);
      if (n === 0) break;
      read += n;
    }
    // A file cut short while it was read: read what it holds now, through the same descriptor (never the path: it
    // may be a symlink by now). (Like readFileSync, bytes appended after the size was taken are not read.)
    if (read < size) return readWhole(fd);
    return content;
  } finally {
    closeSync(fd);
  }
}
