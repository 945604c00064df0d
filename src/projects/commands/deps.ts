import type { BranchMoves } from '../../changes/branch-moves.ts';
import type { Db } from '../../db/connection.ts';
import { InvalidInputError } from '../../errors.ts';
import type { ProjectCatalog } from '../catalog.ts';
import type { Publisher } from '../publisher.ts';
import type { RepositoryRegistry } from '../repositories.ts';

/** What creating, changing and deleting projects needs. */
export interface ProjectCommandDeps {
  db: Db;
  repositories: RepositoryRegistry;
  publisher: Publisher;
  /** The branch-move protocol: a new project's first commit goes through it. */
  branchMoves: Pick<BranchMoves, 'commit'>;
  /** The data directory: deleted repositories are kept under it (deleted-projects.ts). */
  dataDir: string;
  /** Projects remembered by slug: forgotten after every change, so the next request sees it. */
  catalog?: Pick<ProjectCatalog, 'forgetAll'>;
}

export const auditUser = (actor: { userId: string; email: string }) => ({ type: 'user' as const, id: actor.userId, label: actor.email });

const NAME_MAX = 100;
const DESCRIPTION_MAX = 500;

/** A project name as stored: trimmed, inner spaces collapsed, 1 to 100 characters. */
export function cleanProjectName(name: string): string {
  const value = name.trim().replace(/\s+/g, ' ');
  if (value.length < 1 || value.length > NAME_MAX) throw new InvalidInputError(`Give the project a name of 1 to ${NAME_MAX} characters.`);
  return value;
}

/** A project description as stored: trimmed, at most 500 characters, null when empty. */
export function cleanProjectDescription(description: string): string | null {
  const value = description.trim();
  if (value.length > DESCRIPTION_MAX) throw new InvalidInputError(`Keep the description under ${DESCRIPTION_MAX} characters.`);
  return value === '' ? null : value;
}
