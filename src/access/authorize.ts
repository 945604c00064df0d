/**
 * `authorize`: the one way to refuse. It asks the permission policy (policy.ts) and throws the typed error the
 * refusal must answer with, so every path refuses alike:
 * - something the actor may not know exists answers 404: a document they may not read (PolicyNotFoundError,
 *   which the error handler also records as `access.denied`), anything of an organization they are not in;
 * - something they can see but may not change answers 403 with `message`;
 * - an account: nobody signed in answers 401, someone else's account 404 (it does not exist for them), one's own
 *   through a personal access token 403.
 */
import { ForbiddenError, NotAuthenticatedError, NotFoundError } from '../errors.ts';
import { roleIn, type Actor } from './actor.ts';
import { PolicyNotFoundError } from './denials.ts';
import { can, type Action, type Resource } from './policy.ts';

export function authorize(actor: Actor, action: Action, resource: Resource, message?: string): void {
  if (can(actor, action, resource)) return;
  if (resource.kind === 'account') {
    if (actor.kind !== 'user') throw new NotAuthenticatedError();
    if (actor.userId !== resource.userId) throw new NotFoundError();
  } else if (resource.kind === 'document') {
    const target = resource.projectId && resource.path ? { type: 'document', id: `${resource.projectId}:${resource.path}`, label: resource.path } : undefined;
    if (action === 'read' || !can(actor, 'read', resource)) throw new PolicyNotFoundError(target);
  } else if (roleIn(actor, resource.orgId) === null) {
    throw new NotFoundError();
  }
  throw new ForbiddenError(message);
}
