import { createHash, randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import type { UserActor } from '../access/actor.ts';
import { can } from '../access/policy.ts';
import { isRole } from '../access/roles.ts';
import { recordAuditEvent } from '../audit/audit-log.ts';
import { normalizeEmail } from '../auth/accounts.ts';
import { hashPassword } from '../auth/passwords.ts';
import type { Db } from '../db/connection.ts';
import { withOrg } from '../db/connection.ts';
import type { Role } from '../db/schema.ts';
import { AppError, ConflictError, ForbiddenError, InvalidInputError } from '../errors.ts';

/** How long an invitation link works. */
export const INVITATION_LIFETIME_MS = 7 * 24 * 60 * 60 * 1000;

const hashToken = (token: string): string => createHash('sha256').update(token).digest('base64url');
const TOKEN = /^[A-Za-z0-9_-]{43}$/;

export interface PendingInvitation {
  id: string;
  email: string;
  role: Role;
  createdAt: Date;
  expiresAt: Date;
}

/** What the accept page shows about an invitation, or why it cannot be used. */
export type InvitationLookup =
  | { state: 'valid'; orgId: string; orgName: string; email: string; role: Role; accountExists: boolean }
  | { state: 'used' | 'expired' | 'unknown' };

/**
 * Invite someone by email with a role the inviter may hand out. Returns the link token, shown once to the
 * inviter (only its hash is stored; there is no email sending).
 */
export async function createInvitation(
  db: Db,
  actor: UserActor,
  orgId: string,
  input: { email: string; role: unknown },
  now: number = Date.now(),
): Promise<{ token: string; expiresAt: Date }> {
  const email = normalizeEmail(input.email);
  if (!isRole(input.role)) throw new InvalidInputError('Choose one of the roles.');
  const role = input.role;
  const token = randomBytes(32).toString('base64url');
  const expiresAt = new Date(now + INVITATION_LIFETIME_MS);
  await withOrg(db, orgId, async (trx) => {
    const actorRow = await trx
      .selectFrom('memberships')
      .select('role')
      .where('org_id', '=', orgId)
      .where('user_id', '=', actor.userId)
      .executeTakeFirst();
    const fresh: UserActor = { ...actor, memberships: new Map(actorRow ? [[orgId, actorRow.role]] : []) };
    if (!can(fresh, 'manage', { kind: 'members', orgId }) || !can(fresh, 'grant', { kind: 'role', orgId, role })) {
      throw new ForbiddenError(`Your role does not allow you to invite ${role === 'admin' || role === 'owner' ? 'an' : 'a'} ${role}.`);
    }
    const already = await trx
      .selectFrom('memberships as m')
      .innerJoin('users as u', 'u.id', 'm.user_id')
      .select('u.id')
      .where('m.org_id', '=', orgId)
      .where('u.email', '=', email)
      .executeTakeFirst();
    if (already) throw new ConflictError(`${email} is already a member.`);
    const row = await trx
      .insertInto('invitations')
      .values({ org_id: orgId, email, role, token_hash: hashToken(token), invited_by: actor.userId, created_at: new Date(now), expires_at: expiresAt })
      .returning('id')
      .executeTakeFirstOrThrow();
    await recordAuditEvent(trx, {
      orgId,
      actor: { type: 'user', id: actor.userId, label: actor.email },
      action: 'member.invited',
      target: { type: 'invitation', id: row.id, label: email },
      outcome: 'success',
      details: { role },
    });
  });
  return { token, expiresAt };
}

/** Invitations not yet used, revoked or expired. */
export async function pendingInvitations(db: Db, orgId: string, now: number = Date.now()): Promise<PendingInvitation[]> {
  const rows = await withOrg(db, orgId, (trx) =>
    trx
      .selectFrom('invitations')
      .select(['id', 'email', 'role', 'created_at', 'expires_at'])
      .where('org_id', '=', orgId)
      .where('accepted_at', 'is', null)
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', new Date(now))
      .orderBy('created_at', 'desc')
      .execute(),
  );
  return rows.map((r) => ({ id: r.id, email: r.email, role: r.role, createdAt: new Date(r.created_at), expiresAt: new Date(r.expires_at) }));
}

/** Withdraw an invitation before it is used (`member.invitation_withdrawn`, in the same transaction). */
export async function revokeInvitation(db: Db, actor: UserActor, orgId: string, invitationId: string, now: number = Date.now()): Promise<void> {
  if (!can(actor, 'manage', { kind: 'members', orgId })) throw new ForbiddenError();
  if (!/^[0-9a-f-]{36}$/i.test(invitationId)) return;
  await withOrg(db, orgId, async (trx) => {
    const withdrawn = await trx
      .updateTable('invitations')
      .set({ revoked_at: new Date(now) })
      .where('org_id', '=', orgId)
      .where('id', '=', invitationId)
      .where('accepted_at', 'is', null)
      .where('revoked_at', 'is', null)
      .returning(['id', 'email', 'role'])
      .executeTakeFirst();
    if (!withdrawn) return;
    await recordAuditEvent(trx, {
      orgId,
      actor: { type: 'user', id: actor.userId, label: actor.email },
      action: 'member.invitation_withdrawn',
      target: { type: 'invitation', id: withdrawn.id, label: withdrawn.email },
      outcome: 'success',
      details: { role: withdrawn.role },
    });
  });
}

/** Look an invitation up by its link token (the token is the only key a holder has, so no org is known yet). */
export async function findInvitation(db: Db, token: string, now: number = Date.now()): Promise<InvitationLookup> {
  if (!TOKEN.test(token)) return { state: 'unknown' };
  const tokenHash = hashToken(token);
  const { rows } = await sql<{ org_id: string | null }>`select invitation_org_id(${tokenHash}) as org_id`.execute(db);
  const orgId = rows[0]?.org_id;
  if (!orgId) return { state: 'unknown' };
  const row = await withOrg(db, orgId, (trx) =>
    trx
      .selectFrom('invitations as i')
      .innerJoin('organizations as o', 'o.id', 'i.org_id')
      .select(['i.org_id', 'o.name as org_name', 'i.email', 'i.role', 'i.expires_at', 'i.accepted_at', 'i.revoked_at'])
      .where('i.token_hash', '=', tokenHash)
      .where('i.org_id', '=', orgId)
      .executeTakeFirst(),
  );
  if (!row) return { state: 'unknown' };
  if (row.accepted_at || row.revoked_at) return { state: 'used' };
  if (new Date(row.expires_at).getTime() <= now) return { state: 'expired' };
  const account = await db.selectFrom('users').select('id').where('email', '=', row.email).executeTakeFirst();
  return { state: 'valid', orgId: row.org_id, orgName: row.org_name, email: row.email, role: row.role, accountExists: !!account };
}

/** The invitation link cannot be used (HTTP 410). */
export class InvitationUnusableError extends AppError {
  constructor(state: 'used' | 'expired' | 'unknown') {
    super(
      state === 'expired'
        ? 'This invitation has expired. Ask for a new one.'
        : 'This invitation link has already been used or is not valid. Ask for a new one.',
      410,
      'gone',
    );
  }
}

/**
 * Accept an invitation: a signed-in user whose email matches joins; a new person creates an account with a
 * name and password. The link works once: the row is locked, checked and marked used in one transaction, with
 * its audit events (`auth.account_created` for a new account, `member.added`, `member.invitation_accepted`).
 * Returns the user id that became a member (for signing a new account in) and whether the account is new.
 */
export async function acceptInvitation(
  db: Db,
  token: string,
  who: { actor: UserActor } | { name: string; password: string },
  now: number = Date.now(),
): Promise<{ userId: string; email: string; orgId: string; accountCreated: boolean }> {
  if (!TOKEN.test(token)) throw new InvitationUnusableError('unknown');
  const passwordHash = 'password' in who ? await hashPassword(who.password) : null;
  const name = 'name' in who ? who.name.trim() : '';
  if ('name' in who && (name.length < 1 || name.length > 100)) throw new InvalidInputError('Enter your name (up to 100 characters).');
  const lookup = await findInvitation(db, token, now);
  if (lookup.state !== 'valid') throw new InvitationUnusableError(lookup.state);
  return withOrg(db, lookup.orgId, async (trx) => {
    const invitation = await trx
      .selectFrom('invitations')
      .selectAll()
      .where('token_hash', '=', hashToken(token))
      .where('org_id', '=', lookup.orgId)
      .forUpdate()
      .executeTakeFirst();
    if (!invitation || invitation.accepted_at || invitation.revoked_at) throw new InvitationUnusableError('used');
    if (new Date(invitation.expires_at).getTime() <= now) throw new InvitationUnusableError('expired');
    let userId: string;
    const accountCreated = !('actor' in who);
    if ('actor' in who) {
      if (who.actor.email !== invitation.email) {
        throw new ForbiddenError(`This invitation is for ${invitation.email}. Sign in with that address to accept it.`);
      }
      userId = who.actor.userId;
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
    const joined = await trx
      .insertInto('memberships')
      .values({ org_id: invitation.org_id, user_id: userId, role: invitation.role })
      .onConflict((oc) => oc.columns(['org_id', 'user_id']).doNothing())
      .returning('user_id')
      .executeTakeFirst();
    if (!joined) throw new ConflictError('You are already a member of this organization.');
    await trx
      .updateTable('invitations')
      .set({ accepted_at: new Date(now), accepted_by: userId })
      .where('id', '=', invitation.id)
      .execute();
    // The person acts for themselves: the invitation link is their credential.
    const actor = { type: 'user' as const, id: userId, label: invitation.email };
    const person = { type: 'user', id: userId, label: invitation.email };
    if (accountCreated) {
      await recordAuditEvent(trx, { orgId: invitation.org_id, actor, action: 'auth.account_created', target: person, outcome: 'success', details: { via: 'invitation' } });
    }
    await recordAuditEvent(trx, {
      orgId: invitation.org_id,
      actor,
      action: 'member.added',
      target: person,
      outcome: 'success',
      details: { role: invitation.role, invitation_id: invitation.id },
    });
    await recordAuditEvent(trx, {
      orgId: invitation.org_id,
      actor,
      action: 'member.invitation_accepted',
      target: { type: 'invitation', id: invitation.id, label: invitation.email },
      outcome: 'success',
      details: { role: invitation.role, new_account: accountCreated },
    });
    return { userId, email: invitation.email, orgId: invitation.org_id, accountCreated };
  });
}
