/** Moving a branch with compare-and-swap semantics. */
import { BranchMovedError, GitError } from './errors.ts';
import { readRefFromFiles } from './ref-read.ts';
import { ZERO_OID } from './refs.ts';
import { runGit, userArg } from './run.ts';

/**
 * The id a branch points to, or null when it does not exist. `branch` must already be validated. Read from the
 * ref files when they say it plainly (no process; see ref-read.ts), else by `git rev-parse <branch>^{commit}`.
 * From the files the id is not peeled: callers read it as a commit (cat-file), which refuses anything else.
 */
export async function readBranch(gitDir: string, branch: string): Promise<string | null> {
  const fromFiles = await readRefFromFiles(gitDir, `refs/heads/${branch}`);
  if (fromFiles !== undefined) return fromFiles;
  return readBranchWithGit(gitDir, branch);
}

/** The commit a branch points to (peeled), or null, asking git. */
export async function readBranchWithGit(gitDir: string, branch: string): Promise<string | null> {
  const result = await runGit({
    gitDir,
    args: ['rev-parse', '--verify', '--quiet', '--end-of-options', userArg(`refs/heads/${branch}^{commit}`)],
    okExitCodes: [0, 1],
  });
  return result.exitCode === 0 ? result.stdout.toString('ascii').trim() : null;
}

/**
 * Points `refs/heads/<branch>` at `newOid` only if it still points at `expectedOld` (null: only if it does not
 * exist). git checks the old value under the ref's lock, so this also holds against other processes (pushes).
 * Throws BranchMovedError, with the branch's current head, when it does not.
 */
export async function updateBranch(
  gitDir: string,
  branch: string,
  newOid: string,
  expectedOld: string | null,
  reflogMessage: string,
): Promise<void> {
  const result = await runGit({
    gitDir,
    args: [
      'update-ref',
      // a value of -m, not an option, even if it starts with '-'; cleaned because reflogs are line-based
      '-m',
      reflogMessage.replace(/[\0-\x1f\x7f]+/g, ' ').slice(0, 200) || 'commit',
      '--end-of-options',
      userArg(`refs/heads/${branch}`),
      userArg(newOid),
      userArg(expectedOld ?? ZERO_OID),
    ],
    okExitCodes: [0, 1, 128],
    // if the spawner dies while this runs, the ref may have moved: never repeat it blindly
    rerunIfHelperDies: false,
  });
  if (result.exitCode === 0) return;
  const current = await readBranch(gitDir, branch);
  if (current !== expectedOld) throw new BranchMovedError(branch, expectedOld, current);
  // the branch is where we expected, so the update failed for another reason (disk full, permissions...)
  const args = ['update-ref', `refs/heads/${branch}`, newOid, expectedOld ?? ZERO_OID];
  throw new GitError(`git update-ref failed (exit ${result.exitCode}): ${result.stderr.trim()}`, args, result.exitCode, result.stderr);
}
