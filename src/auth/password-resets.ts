import { createHash, randomBytes } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { recordAuditEvent } from '../audit/audit-log.ts';
import type { Db } from '../db/connection.ts';
import { withOrg } from '../db/connection.ts';
import type { Database } from '../db/schema.ts';
import { AppError } from '../errors.ts';
import { hashPassword } from './passwords.ts';
import type { SessionStore } from './sessions.ts';

/** How long a password-reset link works. */
export const PASSWORD_RESET_LIFETIME_MS = 24 * 60 * 60 * 1000;

const TOKEN = /^[A-Za-z0-9_-]{43}$/;
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
 * Store a new single-use password-reset link for a member, in the caller's transaction (the organization
 * command organizations/commands/issue-password-reset.ts authorizes and audits it): it replaces the member's
 * earlier unused links. Returns the token, to show once; only its hash is stored.
 */
export async function storePasswordReset(
  trx: Kysely<Database>,
  input: { orgId: string; userId: string; issuedBy: string; now: number; lifetimeMs?: number },
): Promise<{ id: string; token: string; expiresAt: Date }> {
  const token = randomBytes(32).toString('base64url');
  const expiresAt = new Date(input.now + (input.lifetimeMs ?? PASSWORD_RESET_LIFETIME_MS));
  await trx
    .deleteFrom('password_resets')
    .where('org_id', '=', input.orgId)
    .where('user_id', '=', input.userId)
    .where('used_at', 'is', null)
    .execute();
  const row = await trx
    .insertInto('password_resets')
    .values({
      org_id: input.orgId,
      user_id: input.userId,
      token_hash: hashToken(token),
      issued_by: input.issuedBy,
      created_at: new Date(input.now),
      expires_at: expiresAt,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return { id: row.id, token, expiresAt };
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
