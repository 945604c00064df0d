import type { Kysely } from 'kysely';
import { withUser } from '../db/connection.ts';
import type { Database } from '../db/schema.ts';
import { recordAuditEvent, type AuditEventInput } from './audit-log.ts';

/**
 * Account events (sign-in, sign-out, ...) belong to no single organization: they are recorded once in the
 * chain of every organization the user is a member of, so each organization's admins see them, or once in
 * the system chain (org null) when the user has no membership or the email matches no account.
 */
export async function recordAccountEvent(
  db: Kysely<Database>,
  userId: string | null,
  event: Omit<AuditEventInput, 'orgId'>,
): Promise<void> {
  const orgIds = userId ? await organizationsOf(db, userId) : [];
  if (orgIds.length === 0) {
    await recordAuditEvent(db, { ...event, orgId: null });
    return;
  }
  for (const orgId of orgIds) await recordAuditEvent(db, { ...event, orgId });
}

/** A failed sign-in: the attempted email (escaped, capped) as the actor's label; never the password. */
export async function recordSignInFailure(
  db: Kysely<Database>,
  attempt: { email: string; requestId: string; ip: string; reason?: string; outcome?: 'failure' | 'denied' },
): Promise<void> {
  const email = attempt.email.trim().toLowerCase().slice(0, 320);
  const user = email ? await db.selectFrom('users').select('id').where('email', '=', email).executeTakeFirst() : undefined;
  await recordAccountEvent(db, user?.id ?? null, {
    actor: { type: 'anonymous', id: null, label: email || null },
    action: 'auth.sign_in_failed',
    target: user ? { type: 'user', id: user.id, label: email } : null,
    reason: attempt.reason ?? null,
    outcome: attempt.outcome ?? 'failure',
    requestId: attempt.requestId,
    ip: attempt.ip,
  });
}

async function organizationsOf(db: Kysely<Database>, userId: string): Promise<string[]> {
  const rows = await withUser(db, userId, (trx) =>
    trx.selectFrom('memberships').select('org_id').where('user_id', '=', userId).orderBy('org_id').execute(),
  );
  return rows.map((r) => r.org_id);
}
