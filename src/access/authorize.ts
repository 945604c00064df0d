/**
 * `authorize`: the one way to refuse. It asks the permission policy (policy.ts) and throws the typed error the
 * refusal must answer with, so every path refuses alike:
 * - something the actor may not know exists answers 404: a document they may not read (PolicyNotFoundError,
 *   which the error handler also records as `access.denied`), anything of an organization they are not in;
 * - something they can see but may not change answers 403 with `message`;
 * - with `{ hidden: true }`, every refusal answers 404 (PolicyNotFoundError): pages whose very existence is for
 *   those allowed only (an organization's members, settings and audit pages, a project's settings), so a member
 *   without the role sees exactly what an outsider or a mistyped address sees.
 * - an account (or an acknowledgment, the person's own statement): nobody signed in answers 401, someone else's
 *   404 (it does not exist for them), one's own through a personal access token 403.
 * - an invitation: its holder has the link, so another account than the one it was sent to answers 403 (with
 *   `message`, which names the address to sign in with).
 */
import { ForbiddenError, NotAuthenticatedError, NotFoundError } from '../errors.ts';
import { roleIn, type Actor } from './actor.ts';
import { PolicyNotFoundError, type DenialTarget } from './denials.ts';
import { can, type Action, type Resource } from './policy.ts';

export interface AuthorizeOptions {
  /** The 403's message (what the actor may do instead). */
  message?: string;
  /** Refuse with the one 404 whatever the reason: see the module comment. */
  hidden?: boolean;
}

export function authorize(actor: Actor, action: Action, resource: Resource, options?: string | AuthorizeOptions): void {
  if (can(actor, action, resource)) return;
  const { message, hidden = false } = typeof options === 'string' ? { message: options } : (options ?? {});
  if (resource.kind === 'account' || resource.kind === 'acknowledgment') {
    if (actor.kind !== 'user') throw new NotAuthenticatedError();
    if (actor.userId !== resource.userId) throw new NotFoundError();
  } else if (resource.kind === 'invitation') {
    if (actor.kind !== 'user') throw new NotAuthenticatedError();
  } else if (resource.kind === 'document') {
    const target = resource.projectId && resource.path ? { type: 'document', id: `${resource.projectId}:${resource.path}`, label: resource.path } : undefined;
    if (hidden || action === 'read' || !can(actor, 'read', resource)) throw new PolicyNotFoundError(target);
  } else if (hidden) {
    throw new PolicyNotFoundError();
  } else if (roleIn(actor, resource.orgId) === null) {
    throw new NotFoundError();
  }
  throw new ForbiddenError(message);
}

/**
 * The policy's 404 of a refusal made without knowing which document it was about, now naming `target` (its
 * `access.denied` event then says what was asked for): the REST API knows the path the service did not name.
 */
export function renamedRefusal(error: PolicyNotFoundError, target: DenialTarget): PolicyNotFoundError {
  return error.target === undefined ? new PolicyNotFoundError(target) : error;
}
