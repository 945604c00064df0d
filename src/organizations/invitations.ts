import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from '../db/connection.ts';
import { withOrg } from '../db/connection.ts';
import type { Role } from '../db/schema.ts';
import { AppError } from '../errors.ts';

/**
 * Reading invitations: the pending ones of an organization and the one behind a link. Creating, withdrawing and
 * accepting them are commands (commands/create-invitation.ts, withdraw-invitation.ts, accept-invitation.ts).
 */

/** How long an invitation link works. */
export const INVITATION_LIFETIME_MS = 7 * 24 * 60 * 60 * 1000;

/** What is stored of an invitation link's token: its hash (the token itself is shown once, to the inviter). */
export const hashInvitationToken = (token: string): string => createHash('sha256').update(token).digest('base64url');
const TOKEN = /^[A-Za-z0-9_-]{43}$/;
/** Whether a string has the shape of an invitation token (anything else is unknown without a query). */
export const isInvitationToken = (token: string): boolean => TOKEN.test(token);

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

/** Look an invitation up by its link token (the token is the only key a holder has, so no org is known yet). */
export async function findInvitation(db: Db, token: string, now: number = Date.now()): Promise<InvitationLookup> {
  if (!TOKEN.test(token)) return { state: 'unknown' };
  const tokenHash = hashInvitationToken(token);
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

