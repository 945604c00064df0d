import type { UserActor } from '../../access/actor.ts';
import { authorize } from '../../access/authorize.ts';
import { recordAuditEvent } from '../../audit/audit-log.ts';
import { moveActorOf } from '../../changes/branch-moves.ts';
import { withOrg } from '../../db/connection.ts';
import { ConflictError } from '../../errors.ts';
import { assertSlug } from '../../organizations/organizations.ts';
import { ensureProject, type ProjectRecord } from '../projects.ts';
import { PUBLISHED_BRANCH } from '../../content/published-branch.ts';
import { starterFiles, type Starter } from '../starters.ts';
import { auditUser, cleanProjectDescription, cleanProjectName, type ProjectCommandDeps } from './deps.ts';

export interface CreateProjectInput {
  orgId: string;
  slug: string;
  name: string;
  description: string;
  starter: Starter;
}

/**
 * Create a project in the browser: empty (a home page) or from the handbook starter (a home page and a
 * policies section). Admins and owners only. The project's row and `project.created` commit together; its first
 * commit (authored by the creator) is then a branch move like any other (kind `import`: recorded, published,
 * listeners told). Should that commit fail, the project stays, empty, for an admin to fill or delete.
 */
export async function createProject(deps: ProjectCommandDeps, actor: UserActor, input: CreateProjectInput): Promise<ProjectRecord> {
  const { orgId } = input;
  authorize(actor, 'create', { kind: 'project', orgId }, 'Only admins and owners create projects.');
  const slug = input.slug.trim().toLowerCase();
  assertSlug(slug, 'The address');
  const name = cleanProjectName(input.name);
  const description = cleanProjectDescription(input.description);
  const project = await withOrg(deps.db, orgId, async (trx) => {
    const { project: row, created } = await ensureProject(trx, { orgId, slug, name, ...(description !== null ? { description } : {}) });
    // an existing project: the transaction rolls back (ensureProject's rename of it too)
    if (!created) throw new ConflictError(`The address "${slug}" is already used by another project. Choose another one.`);
    await recordAuditEvent(trx, {
      orgId,
      actor: auditUser(actor),
      action: 'project.created',
      target: { type: 'project', id: row.id, label: slug },
      outcome: 'success',
      details: { starter: input.starter, name },
    });
    return row;
  });
  await deps.catalog?.forgetAll();
  const repository = await deps.repositories.get(project);
  await deps.branchMoves.commit(
    project,
    repository,
    {
      branch: PUBLISHED_BRANCH,
      expectedOld: null,
      mode: 'replace-all',
      changes: starterFiles(input.starter, name),
      author: { name: actor.name, email: actor.email },
      message: input.starter === 'handbook' ? 'Start the project from the handbook starter' : 'Start the project with a home page',
    },
    { kind: 'import', actor: moveActorOf(auditUser(actor)), events: () => [] },
  );
  return project;
}
