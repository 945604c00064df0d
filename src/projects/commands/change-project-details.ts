import type { UserActor } from '../../access/actor.ts';
import { authorize } from '../../access/authorize.ts';
import { recordAuditEvent } from '../../audit/audit-log.ts';
import { withOrg } from '../../db/connection.ts';
import { ConflictError } from '../../errors.ts';
import type { ProjectRecord } from '../projects.ts';
import { auditUser, cleanProjectDescription, cleanProjectName, type ProjectCommandDeps } from './deps.ts';

export interface ChangeProjectDetailsInput {
  project: ProjectRecord;
  name: string;
  description: string;
}

/**
 * Rename a project and/or change its description (its address stays). Admins and owners only. The row (locked)
 * and `project.renamed` / `project.description_changed` commit together; nothing changed records nothing.
 */
export async function changeProjectDetails(
  deps: Pick<ProjectCommandDeps, 'db' | 'catalog'>,
  actor: UserActor,
  input: ChangeProjectDetailsInput,
): Promise<{ renamed: boolean; described: boolean }> {
  const { project } = input;
  authorize(actor, 'manage', { kind: 'project', orgId: project.orgId }, 'Only admins and owners change projects.');
  const name = cleanProjectName(input.name);
  const description = cleanProjectDescription(input.description);
  const result = await withOrg(deps.db, project.orgId, async (trx) => {
    const row = await trx
      .selectFrom('projects')
      .select(['name', 'description'])
      .where('id', '=', project.id)
      .where('org_id', '=', project.orgId)
      .forUpdate()
      .executeTakeFirst();
    if (!row) throw new ConflictError('This project was deleted meanwhile.');
    const renamed = row.name !== name;
    const described = (row.description ?? null) !== description;
    if (!renamed && !described) return { renamed, described };
    await trx.updateTable('projects').set({ name, description }).where('id', '=', project.id).where('org_id', '=', project.orgId).execute();
    const target = { type: 'project', id: project.id, label: project.slug };
    if (renamed) {
      await recordAuditEvent(trx, {
        orgId: project.orgId,
        actor: auditUser(actor),
        action: 'project.renamed',
        target,
        outcome: 'success',
        details: { from: row.name, to: name },
      });
    }
    if (described) {
      await recordAuditEvent(trx, { orgId: project.orgId, actor: auditUser(actor), action: 'project.description_changed', target, outcome: 'success' });
    }
    return { renamed, described };
  });
  await deps.catalog?.forgetAll();
  return result;
}
