/**
 * The organization commands bound to their dependencies, for the routes: each takes `(actor, input)` and does
 * authorize → load → change → audit (one transaction) → cache invalidation. Routes hold this object, never the
 * database.
 */
import type { UserActor } from '../../access/actor.ts';
import { acceptInvitation } from './accept-invitation.ts';
import { changeRole } from './change-role.ts';
import { changeReviewSettings } from './change-review-settings.ts';
import { changeSettings } from './change-settings.ts';
import { createInvitation } from './create-invitation.ts';
import type { OrganizationCommandDeps } from './deps.ts';
import { issuePasswordReset } from './issue-password-reset.ts';
import { removeMember } from './remove-member.ts';
import { withdrawInvitation } from './withdraw-invitation.ts';
import { cancelDeletion, scheduleDeletion } from './organization-deletion.ts';

export type { OrganizationCommandDeps } from './deps.ts';

export function organizationCommands(deps: OrganizationCommandDeps) {
  return {
    createInvitation: (actor: UserActor, input: Parameters<typeof createInvitation>[2]) => createInvitation(deps, actor, input),
    withdrawInvitation: (actor: UserActor, input: Parameters<typeof withdrawInvitation>[2]) => withdrawInvitation(deps, actor, input),
    acceptInvitation: (actor: Parameters<typeof acceptInvitation>[1], input: Parameters<typeof acceptInvitation>[2]) => acceptInvitation(deps, actor, input),
    changeRole: (actor: UserActor, input: Parameters<typeof changeRole>[2]) => changeRole(deps, actor, input),
    removeMember: (actor: UserActor, input: Parameters<typeof removeMember>[2]) => removeMember(deps, actor, input),
    changeSettings: (actor: UserActor, input: Parameters<typeof changeSettings>[2]) => changeSettings(deps, actor, input),
    issuePasswordReset: (actor: UserActor, input: Parameters<typeof issuePasswordReset>[2]) => issuePasswordReset(deps, actor, input),
    changeReviewSettings: (actor: UserActor, input: Parameters<typeof changeReviewSettings>[2]) => changeReviewSettings(deps, actor, input),
    scheduleDeletion: (actor: UserActor, input: Parameters<typeof scheduleDeletion>[2]) => scheduleDeletion(deps, actor, input),
    cancelDeletion: (actor: UserActor, input: Parameters<typeof cancelDeletion>[2]) => cancelDeletion(deps, actor, input),
  };
}

export type OrganizationCommands = ReturnType<typeof organizationCommands>;
