import type { Actor } from '../../access/actor.ts';
import { authorize } from '../../access/authorize.ts';
import { recordAccountEvent } from '../../audit/account-events.ts';
import { recordAuditEvent } from '../../audit/audit-log.ts';
import { hashPassword } from '../../auth/passwords.ts';
import { withOrg } from '../../db/connection.ts';
import { inTransaction } from '../../db/in-transaction.ts';
import { ConflictError, InvalidInputError } from '../../errors.ts';
import { findInvitation, hashInvitationToken, InvitationUnusableError, isInvitationToken } from '../invitations.ts';
import type { OrganizationCommandDeps } from './deps.ts';

export interface AcceptInvitationInput {
  /** The token of the invitation link (the credential of whoever holds it). */
  token: string;
  /** For a new account (nobody signed in): its name and password. */
  name: string;
  password: string;
  requestId: string;
  ip: string;
}

export type AcceptInvitationResult =
  /** A signed-in person joined the organization. */
  | { kind: 'joined'; userId: string; orgSlug: string | null }
  /** A new account was made, joined, and signed in with a new session (`sessionId`, for the cookie). */
  | { kind: 'signed-up'; userId: string; sessionId: string };

/**
 * Accept an invitation: a signed-in user whose email matches joins; a new person creates an account with a
 * name and password and is signed in. The link works once: the row is locked, checked and marked used in one
 * transaction with its audit events (`auth.account_created` for a new account, `member.added`,
 * `member.invitation_accepted`). The new account's first session and its `auth.sign_in` are a second transaction.
 */
export async function acceptInvitation(
  deps: OrganizationCommandDeps,
  actor: Actor,
  input: AcceptInvitationInput,
  now: number = Date.now(),
): Promise<AcceptInvitationResult> {
  const { token } = input;
  if (!isInvitationToken(token)) throw new InvitationUnusableError('unknown');
  const signedIn = actor.kind === 'user' ? actor : null;
  const passwordHash = signedIn ? null : await hashPassword(input.password);
  const name = input.name.trim();
  if (!signedIn && (name.length < 1 || name.length > 100)) throw new InvalidInputError('Enter your name (up to 100 characters).');
  const lookup = await findInvitation(deps.db, token, now);
  if (lookup.state !== 'valid') throw new InvitationUnusableError(lookup.state);
  const joined = await withOrg(deps.db, lookup.orgId, async (trx) => {
    const invitation = await trx
      .selectFrom('invitations as i')
      .innerJoin('organizations as o', 'o.id', 'i.org_id')
      .selectAll('i')
      .select('o.slug as org_slug')
      .where('i.token_hash', '=', hashInvitationToken(token))
      .where('i.org_id', '=', lookup.orgId)
      .forUpdate()
      .executeTakeFirst();
    if (!invitation || invitation.accepted_at || invitation.revoked_at) throw new InvitationUnusableError('used');
    if (new Date(invitation.expires_at).getTime() <= now) throw new InvitationUnusableError('expired');
    let userId: string;
    if (signedIn) {
      authorize(signedIn, 'accept', { kind: 'invitation', email: invitation.email }, `This invitation is for ${invitation.email}. Sign in with that address to accept it.`);
      userId = signedIn.userId;
    } else {
      const existing = await trx.selectFrom('users').select('id').where('email', '=', invitation.email).executeTakeFirst();
      if (existing) throw new ConflictError(`An account for ${invitation.email} already exists. Sign in, then open the link again.`);
      const user = await trx
        .insertInto('users')
        .values({ email: invitation.email, name, password_hash: passwordHash })
        .returning('id')
        .executeTakeFirstOrThrow();
      userId = user.id;
    }
    const added = await trx
      .insertInto('memberships')
      .values({ org_id: invitation.org_id, user_id: userId, role: invitation.role })
      .onConflict((oc) => oc.columns(['org_id', 'user_id']).doNothing())
      .returning('user_id')
      .executeTakeFirst();
    if (!added) throw new ConflictError('You are already a member of this organization.');
    await trx.updateTable('invitations').set({ accepted_at: new Date(now), accepted_by: userId }).where('id', '=', invitation.id).execute();
    // The person acts for themselves: the invitation link is their credential.
    const person = { type: 'user' as const, id: userId, label: invitation.email };
    if (!signedIn) {
      await recordAuditEvent(trx, { orgId: invitation.org_id, actor: person, action: 'auth.account_created', target: person, outcome: 'success', details: { via: 'invitation' } });
    }
    await recordAuditEvent(trx, {
      orgId: invitation.org_id,
      actor: person,
      action: 'member.added',
      target: person,
      outcome: 'success',
      details: { role: invitation.role, invitation_id: invitation.id },
    });
    await recordAuditEvent(trx, {
      orgId: invitation.org_id,
      actor: person,
      action: 'member.invitation_accepted',
      target: { type: 'invitation', id: invitation.id, label: invitation.email },
      outcome: 'success',
      details: { role: invitation.role, new_account: !signedIn },
    });
    return { userId, email: invitation.email, orgSlug: invitation.org_slug };
  });
  if (signedIn) {
    // The new membership counts from the person's next request.
    await deps.sessions.invalidateUser(signedIn.userId);
    return { kind: 'joined', userId: joined.userId, orgSlug: joined.orgSlug };
  }
  // The new account's first sign-in is its invitation link and new password: its session and `auth.sign_in` commit together.
  const { id } = await inTransaction(deps.db, async (trx) => {
    const created = await deps.sessions.in(trx).create(joined.userId);
    await recordAccountEvent(trx, joined.userId, {
      actor: { type: 'user', id: joined.userId, label: joined.email },
      action: 'auth.sign_in',
      outcome: 'success',
      requestId: input.requestId,
      ip: input.ip,
      details: { mfa: false, first: true, via: 'invitation' },
    });
    return created;
  });
  return { kind: 'signed-up', userId: joined.userId, sessionId: id };
}
