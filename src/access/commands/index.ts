/**
 * The access-request commands bound to their dependencies, for the routes: each takes `(actor, input)` and
 * does authorize → load → change → audit (one transaction) → cache invalidation (the top bar's counts).
 */
import type { UserActor } from '../actor.ts';
import { approveAccessRequest, type DecideAccessRequestInput } from './approve-access-request.ts';
import { createAccessRequest, type CreateAccessRequestInput } from './create-access-request.ts';
import { denyAccessRequest } from './deny-access-request.ts';
import type { AccessRequestCommandDeps } from './deps.ts';

export type { AccessRequestCommandDeps } from './deps.ts';

export function accessRequestCommands(deps: AccessRequestCommandDeps) {
  return {
    createAccessRequest: (actor: UserActor, input: CreateAccessRequestInput) => createAccessRequest(deps, actor, input),
    approveAccessRequest: (actor: UserActor, input: DecideAccessRequestInput) => approveAccessRequest(deps, actor, input),
    denyAccessRequest: (actor: UserActor, input: DecideAccessRequestInput) => denyAccessRequest(deps, actor, input),
  };
}

export type AccessRequestCommands = ReturnType<typeof accessRequestCommands>;
