/**
 * Three-way merges without a work tree: `git merge-tree --write-tree` (git 2.38+) computes the merged tree of
 * two commits and names the conflicting paths; a merge commit with both parents is then written and the branch
 * moved by compare-and-swap, under the repository's write lock (the caller takes it: Repository.mergeInto).
 */
import { readBranch, updateBranch } from './branch-update.ts';
import { BranchMovedError } from './errors.ts';
import { identityEnv, type Person } from './identity.ts';
import { assertBranchName, assertOid } from './refs.ts';
import { runGit, userArg } from './run.ts';

/** The merged tree; when not clean, its conflicting files hold git's conflict markers. */
export type TreeMerge = { clean: true; tree: string } | { clean: false; tree: string; conflicts: string[] };

/** Merges `theirs` into `ours` (full commit ids), writing the tree objects; nothing moves. */
export async function mergeTrees(gitDir: string, ours: string, theirs: string): Promise<TreeMerge> {
  assertOid(ours);
  assertOid(theirs);
  const result = await runGit({
    gitDir,
    args: ['merge-tree', '--write-tree', '--name-only', '-z', '--no-messages', '--end-of-options', userArg(ours), userArg(theirs)],
    okExitCodes: [0, 1],
    timeoutMs: 60_000,
  });
  const fields = result.stdout.toString('utf8').split('\0');
  const tree = fields[0]!.trim();
  assertOid(tree);
  if (result.exitCode === 0) return { clean: true, tree };
  return { clean: false, tree, conflicts: [...new Set(fields.slice(1).filter((f) => f !== ''))] };
}

/** The best common ancestor of two commits, or null when they share no history. */
export async function mergeBase(gitDir: string, a: string, b: string): Promise<string | null> {
  assertOid(a);
  assertOid(b);
  const result = await runGit({ gitDir, args: ['merge-base', '--end-of-options', userArg(a), userArg(b)], okExitCodes: [0, 1] });
  const oid = result.stdout.toString('ascii').trim();
  return result.exitCode === 0 && oid ? oid : null;
}

export interface MergeInput {
  branch: string;
  /** The commit the branch must still point at (its head when the merge was checked). */
  expectedOld: string;
  /** The commit merged in (the draft's head). */
  theirs: string;
  author: Person;
  message: string;
  /**
   * The merged tree of `expectedOld` and `theirs`, when the caller computed it already (to check it before the
   * merge): the same two commits always merge to the same tree, and the branch moves only from `expectedOld`.
   */
  tree?: string;
  /** Called with the merge commit before the branch moves (the place to journal the move). */
  beforeUpdate?: (commit: string) => Promise<void>;
}

export type MergeOutcome = { merged: true; commit: string; tree: string } | { merged: false; conflicts: string[] };

/** Merges under the write lock the caller holds; BranchMovedError when the branch moved since `expectedOld`. */
export async function mergeLocked(gitDir: string, input: MergeInput): Promise<MergeOutcome> {
  assertBranchName(input.branch);
  assertOid(input.expectedOld);
  assertOid(input.theirs);
  const current = await readBranch(gitDir, input.branch);
  if (current !== input.expectedOld) throw new BranchMovedError(input.branch, input.expectedOld, current);
  if (input.tree !== undefined) assertOid(input.tree);
  const merged: TreeMerge = input.tree !== undefined ? { clean: true, tree: input.tree } : await mergeTrees(gitDir, input.expectedOld, input.theirs);
  if (!merged.clean) return { merged: false, conflicts: merged.conflicts };
  const now = new Date();
  const env = { ...identityEnv('AUTHOR', input.author, now), ...identityEnv('COMMITTER', input.author, now) };
  const message = `${input.message.replace(/\r\n?/g, '\n').replace(/[\0-\x08\x0b-\x1f\x7f]/g, '').trim()}\n`;
  const commit = (
    await runGit({
      gitDir,
      env,
      // both parents are validated full ids (assertOid), safe before --end-of-options
      args: ['commit-tree', '-p', input.expectedOld, '-p', input.theirs, '-F', '-', '--end-of-options', userArg(merged.tree)],
      input: message,
    })
  ).stdout
    .toString('ascii')
    .trim();
  await input.beforeUpdate?.(commit);
  await updateBranch(gitDir, input.branch, commit, input.expectedOld, message.split('\n', 1)[0]!);
  return { merged: true, commit, tree: merged.tree };
}
