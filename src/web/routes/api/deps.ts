import type { FastifyRequest } from 'fastify';
import type { UserActor } from '../../../access/actor.ts';
import { PolicyNotFoundError } from '../../../access/denials.ts';
import { authorize, renamedRefusal } from '../../../access/authorize.ts';
import { credentialAllows } from '../../../access/policy.ts';
import { auditActorOf } from '../../../audit/actor.ts';
import type { AuditGroupCommit } from '../../../audit/group-commit.ts';
import type { AuditLogReader } from '../../../audit/reader.ts';
import type { ChangeRequests } from '../../../changes/change-requests.ts';
import type { DocumentEditor } from '../../../changes/editor.ts';
import type { ProjectHistory, VersionRead } from '../../../changes/history.ts';
import type { Acknowledgments } from '../../../evidence/acknowledgments.ts';
import type { ProjectCatalog } from '../../../projects/catalog.ts';
import type { ProjectRecord } from '../../../projects/projects.ts';
import type { Publisher } from '../../../projects/publisher.ts';
import type { SearchService } from '../../../search/search-query.ts';
import type { Cursors } from '../../api/cursor.ts';
import type { ResourceOpener } from '../../open-resource.ts';
import type { GrantLookup } from '../../reading-pages.ts';

/** The services the REST API's operations call (the same ones the pages call). */
export interface ApiDeps {
  open: ResourceOpener;
  catalog: ProjectCatalog;
  publisher: Publisher;
  history: ProjectHistory;
  editor: DocumentEditor;
  changeRequests: ChangeRequests;
  search: SearchService;
  acknowledgments: Acknowledgments;
  auditLog: AuditLogReader;
  /** Audit events of confidential and restricted reads, as for the pages. */
  auditReads: AuditGroupCommit;
  grantsFor: GrantLookup;
  cursors: Cursors;
}

/** The project of `{org}/{project}` for a member (the one 404 otherwise: ResourceOpener), with their live grants. */
export async function openProject(deps: ApiDeps, request: FastifyRequest) {
  const { actor, project } = await deps.open.project(request, 'read');
  return { actor, project, grants: await deps.grantsFor(actor, project) };
}

/**
 * A change made through the API needs a token with the `write` scope (the policy's `credentialAllows`), asked once
 * the thing changed is known to exist for the token's owner: hidden stays 404, a read-only token on something it
 * may see is 403.
 */
export function assertMayWrite(actor: UserActor, project: ProjectRecord): void {
  // the role's rights are the services' to check; here only the token's scope, refused the policy's way
  if (!credentialAllows(actor, 'edit')) {
    authorize(actor, 'edit', { kind: 'project', orgId: project.orgId }, 'This token has read access only. Create a token with write access to make changes.');
  }
}

/** Record confidential and restricted reads, durable before the answer leaves (as the history pages do). */
export async function auditReads(deps: ApiDeps, request: FastifyRequest, project: ProjectRecord, reads: readonly VersionRead[]): Promise<void> {
  await Promise.all(
    reads.map((read) =>
      deps.auditReads.append({
        orgId: project.orgId,
        actor: auditActorOf(request.actor),
        action: 'document.read',
        target: { type: 'document', id: `${project.id}:${read.path}`, label: read.path },
        outcome: 'success',
        requestId: request.id,
        ip: request.ip,
        details: { classification: read.classification, commit: read.commit, via: 'api' },
      }),
    ),
  );
}

/**
 * Run `work` on the document at `path`; a refusal by the policy (the one 404) names that document, so its
 * `access.denied` event says what was asked for (the API's address carries the path in its query, which the
 * recorded address leaves out).
 */
export async function onDocument<T>(project: ProjectRecord, path: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof PolicyNotFoundError) throw renamedRefusal(error, { type: 'document', id: `${project.id}:${path}`, label: path });
    throw error;
  }
}
