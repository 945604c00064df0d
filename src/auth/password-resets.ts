import { createHash, randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import type { UserActor } from '../access/actor.ts';
import { can } from '../access/policy.ts';
import { recordAuditEvent } from '../audit/audit-log.ts';
import type { Db } from '../db/connection.ts';
import { withOrg } from '../db/connection.ts';
import { AppError, ForbiddenError, NotFoundError } from '../errors.ts';
import { hashPassword } from './passwords.ts';
import type { SessionStore } from './sessions.ts';

/** How long a password-reset link works. */
export const PASSWORD_RESET_LIFETIME_MS = 24 * 60 * 60 * 1000;

const TOKEN = /^[A-Za-z0-9_-]{43}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const hashToken = (token: string): string => createHash('sha256').update(token).digest('base64url');

/** What the reset page may show about a link, or why it cannot be used. */
export type PasswordResetLookup = { state: 'valid'; orgId: string; email: string } | { state: 'used' | 'expired' | 'unknown' };

/** The reset link cannot be used (HTTP 410). One message for used, unknown and withdrawn links. */
export class PasswordResetUnusableError extends AppError {
  constructor(state: 'used' | 'expired' | 'unknown') {
    super(
      state === 'expired'
        ? 'This password-reset link has expired. Ask an administrator of your organization for a new one.'
        : 'This password-reset link has already been used or is not valid. Ask an administrator for a new one.',
      410,
      'gone',
    );
  }
}

interface AuditContext {
  requestId: string;
  ip: string;
}

/**
 * Issue a single-use password-reset link for a member. The same rules as a role change decide who may (admin
 * and above, never oneself, never someone ranked above the issuer), with the roles the database holds now. A new
 * link replaces the member's earlier unused ones. Returns the token, shown once; only its hash is stored.
 */
export async function issuePasswordReset(
  db: Db,
  actor: UserActor,
  orgId: string,
  targetUserId: string,
  audit: AuditContext,
  now: number = Date.now(),
): Promise<{ token: string; expiresAt: Date; email: string }> {
  if (!UUID.test(targetUserId)) throw new NotFoundError();
  const token = randomBytes(32).toString('base64url');
  const expiresAt = new Date(now + PASSWORD_RESET_LIFETIME_MS);
  return withOrg(db, orgId, async (trx) => {
    const rows = await trx
      .selectFrom('memberships as m')
      .innerJoin('users as u', 'u.id', 'm.user_id')
      .select(['m.user_id', 'm.role', 'u.email'])
      .where('m.org_id', '=', orgId)
      .where('m.user_id', 'in', [actor.userId, targetUserId])
      .forUpdate()
      .execute();
    const actorRow = rows.find((r) => r.user_id === actor.userId);
    const target = rows.find((r) => r.user_id === targetUserId);
    if (!actorRow || !target) throw new NotFoundError();
    const fresh: UserActor = { ...actor, memberships: new Map([[orgId, actorRow.role]]) };
    if (!can(fresh, 'manage', { kind: 'membership', orgId, userId: target.user_id, role: target.role })) {
      throw new ForbiddenError('Your role does not allow you to reset this member’s password.');
    }
    await trx
      .deleteFrom('password_resets')
      .where('org_id', '=', orgId)
      .where('user_id', '=', target.user_id)
      .where('used_at', 'is', null)
      .execute();
    const row = await trx
      .insertInto('password_resets')
      .values({
        org_id: orgId,
        user_id: target.user_id,
        token_hash: hashToken(token),
        issued_by: actor.userId,
        created_at: new Date(now),
        expires_at: expiresAt,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await recordAuditEvent(trx, {
      orgId,
      actor: { type: 'user', id: actor.userId, label: actor.email },
      action: 'member.password_reset_issued',
      target: { type: 'user', id: target.user_id, label: target.email },
      outcome: 'success',
      requestId: audit.requestId,
      ip: audit.ip,
      details: { reset_id: row.id, expires_at: expiresAt.toISOString() },
    });
    return { token, expiresAt, email: target.email };
  });
}

/** Look a reset link up by its token (the holder knows no organization: a SECURITY DEFINER function names it). */
export async function findPasswordReset(db: Db, token: string, now: number = Date.now()): Promise<PasswordResetLookup> {
  if (!TOKEN.test(token)) return { state: 'unknown' };
  const tokenHash = hashToken(token);
  const { rows } = await sql<{ org_id: string | null }>`select password_reset_org_id(${tokenHash}) as org_id`.execute(db);
  const orgId = rows[0]?.org_id;
  if (!orgId) return { state: 'unknown' };
  const row = await withOrg(db, orgId, (trx) =>
    trx
      .selectFrom('password_resets as r')
      .innerJoin('memberships as m', (j) => j.onRef('m.org_id', '=', 'r.org_id').onRef('m.user_id', '=', 'r.user_id'))
      .innerJoin('users as u', 'u.id', 'r.user_id')
      .select(['r.expires_at', 'r.used_at', 'u.email', 'u.disabled_at'])
      .where('r.token_hash', '=', tokenHash)
      .where('r.org_id', '=', orgId)
      .executeTakeFirst(),
  );
  // A member removed or disabled since the link was issued: the link is simply no longer valid.
  if (!row || row.disabled_at) return { state: 'unknown' };
  if (row.used_at) return { state: 'used' };
  if (new Date(row.expires_at).getTime() <= now) return { state: 'expired' };
  return { state: 'valid', orgId, email: row.email };
}

/**
 * Use a reset link: set the new password (the member's own choice, so nothing to change at the next sign-in),
 * mark the link used, end every session of the member and record `auth.password_reset_used`, all in one
 * transaction. A second factor, when enrolled, is still asked for at the next sign-in.
 */
export async function usePasswordReset(
  db: Db,
  sessions: SessionStore,
  token: string,
  password: string,
  audit: AuditContext,
  now: number = Date.now(),
): Promise<{ userId: string; email: string }> {
  const lookup = await findPasswordReset(db, token, now);
  if (lookup.state !== 'valid') throw new PasswordResetUnusableError(lookup.state);
  const passwordHash = await hashPassword(password);
  return withOrg(db, lookup.orgId, async (trx) => {
    const reset = await trx
      .selectFrom('password_resets')
      .select(['id', 'user_id', 'expires_at', 'used_at'])
      .where('token_hash', '=', hashToken(token))
      .where('org_id', '=', lookup.orgId)
      .forUpdate()
      .executeTakeFirst();
    if (!reset || reset.used_at) throw new PasswordResetUnusableError('used');
    if (new Date(reset.expires_at).getTime() <= now) throw new PasswordResetUnusableError('expired');
    const user = await trx.selectFrom('users').select(['id', 'email', 'password_hash']).where('id', '=', reset.user_id).executeTakeFirstOrThrow();
    await trx.updateTable('password_resets').set({ used_at: new Date(now) }).where('id', '=', reset.id).execute();
    await trx.updateTable('users').set({ password_hash: passwordHash, password_must_change: false }).where('id', '=', user.id).execute();
    await sessions.in(trx).destroyAllFor(user.id);
    await recordAuditEvent(trx, {
      orgId: lookup.orgId,
      actor: { type: 'user', id: user.id, label: user.email },
      action: 'auth.password_reset_used',
      target: { type: 'user', id: user.id, label: user.email },
      outcome: 'success',
      requestId: audit.requestId,
      ip: audit.ip,
      details: { reset_id: reset.id },
    });
    return { userId: user.id, email: user.email };
  });
}
