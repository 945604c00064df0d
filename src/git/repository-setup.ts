/** Creating a bare repository with DocuCommit's settings. */
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConflictError } from '../errors.ts';
import { runGit, userArg } from './run.ts';

/** The branch new repositories start on. */
export const INITIAL_BRANCH = 'main';

/** Settings of every repository: objects are checked on receive, history cannot be rewritten or deleted by a push. */
export function repositorySettings(gitDir: string): [string, string][] {
  return [
    ['receive.fsckObjects', 'true'],
    ['fetch.fsckObjects', 'true'],
    ['transfer.fsckObjects', 'true'],
    ['receive.denyNonFastForwards', 'true'],
    ['receive.denyDeletes', 'true'],
    // reflogs record every branch move, for recovery and forensics
    ['core.logAllRefUpdates', 'always'],
    // the repository's own (initially empty) hooks folder, spelled out so no other setting can redirect it
    ['core.hooksPath', join(resolve(gitDir), 'hooks')],
  ];
}

/** Writes repositorySettings into the repository at `gitDir`, as if it lived at `finalPath` (idempotent). */
export async function applyRepositorySettings(gitDir: string, finalPath = gitDir): Promise<void> {
  for (const [key, value] of repositorySettings(finalPath)) {
    await runGit({ gitDir, args: ['config', key, value] });
  }
}

/**
 * Creates a bare repository at `path`, fully configured before it appears there: it is built in a sibling
 * folder and renamed into place, so a crash never leaves a half-configured repository behind at `path`.
 * ConflictError when something already exists at `path`.
 */
export async function createBareRepository(path: string): Promise<string> {
  const target = resolve(path);
  await mkdir(dirname(target), { recursive: true });
  const staging = await mkdtemp(join(dirname(target), `.${basename(target)}.creating-`));
  try {
    await runGit({
      // --template= : no sample hooks or other files from the system's template folder
      args: ['init', '--quiet', '--bare', '--template=', `--initial-branch=${INITIAL_BRANCH}`, '--end-of-options', userArg(staging)],
    });
    await mkdir(join(staging, 'hooks'), { mode: 0o755 });
    await applyRepositorySettings(staging, target);
    await rename(staging, target).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'EEXIST' || error.code === 'ENOTEMPTY' || error.code === 'ENOTDIR') {
        throw new ConflictError('A repository already exists at that location.');
      }
      throw error;
    });
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
  return target;
}

/** Our pre-receive hook (plain JavaScript, see hooks/pre-receive.mjs): it asks the server to check every push. */
const PRE_RECEIVE_CLIENT = fileURLToPath(new URL('./hooks/pre-receive.mjs', import.meta.url));
const shellQuote = (value: string): string => `'${value.replaceAll("'", `'\\''`)}'`;
const installedHooks = new Set<string>();

/** The text of the repository's pre-receive hook: it runs our checker with this Node binary. */
export function preReceiveHookScript(): string {
  return [
    '#!/bin/sh',
    '# Written by DocuCommit (src/git/repository-setup.ts). Pushes are checked by the server before any ref moves.',
    `exec ${shellQuote(process.execPath)} ${shellQuote(PRE_RECEIVE_CLIENT)}`,
    '',
  ].join('\n');
}

/**
 * Writes DocuCommit's hooks into the repository's own hooks folder (core.hooksPath), replacing them atomically
 * when they differ (the Node binary or the install folder may have moved). Smart HTTP calls it before every
 * receive-pack, so the hook in place is always this process's; cheap after the first call per process.
 */
export async function installHooks(gitDir: string): Promise<void> {
  const hooksDir = join(resolve(gitDir), 'hooks');
  if (installedHooks.has(hooksDir)) return;
  const script = preReceiveHookScript();
  const target = join(hooksDir, 'pre-receive');
  const current = await readFile(target, 'utf8').catch(() => null);
  if (current !== script) {
    await mkdir(hooksDir, { recursive: true, mode: 0o755 });
    const temporary = `${target}.${process.pid}.tmp`;
    await writeFile(temporary, script, { mode: 0o755 });
    await rename(temporary, target);
  }
  installedHooks.add(hooksDir);
}
