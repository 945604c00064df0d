import { randomBytes } from 'node:crypto';
import { recordAccountEvent } from '../audit/account-events.ts';
import { recordAuditEvent, type AuditAction } from '../audit/audit-log.ts';
import { withOrg, type Db } from '../db/connection.ts';
import type { Role, User } from '../db/schema.ts';
import { ConflictError, InvalidInputError, NotFoundError } from '../errors.ts';
import { ensureOrganization } from '../organizations/organizations.ts';
import { hashPassword, verifyPassword } from './passwords.ts';

const EMAIL = /^[^\s@<>()]+@[^\s@<>()]+\.[^\s@<>()]+$/;

/** Normalize and validate an email address. */
export function normalizeEmail(email: string): string {
  const normalized = email.trim().toLowerCase();
  if (normalized.length > 254 || !EMAIL.test(normalized)) {
    throw new InvalidInputError(`"${email}" is not a valid email address.`);
  }
  return normalized;
}

/** A random password of 20 characters from an unambiguous alphabet (~115 bits). */
export function generatePassword(): string {
  const alphabet = 'abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  const bytes = randomBytes(20);
  return [...bytes].map((b) => alphabet[b % alphabet.length]).join('');
}

export interface UpsertAccountInput {
  email: string;
  orgSlug: string;
  role: Role;
  name?: string;
  /** New password; when absent a new account gets a generated one-time password (returned). */
  password?: string;
  /**
   * Mark the password as chosen by someone else: it must be replaced at the next sign-in. A generated password
   * is always marked; a given one only when this is true.
   */
  mustChange?: boolean;
  /**
   * Who does this, for the audit log (the command line, the first start): a new account, a new membership and a
   * changed role are recorded in the same transaction. Without it nothing is recorded (test set-up).
   */
  auditAs?: { label: string };
}

/**
 * Create or update an account and its membership in an organization.
 * Returns the generated password when one was made (shown once, never stored in clear).
 */
export async function upsertAccount(
  db: Db,
  input: UpsertAccountInput,
): Promise<{ user: User; generatedPassword: string | null; created: boolean }> {
  const email = normalizeEmail(input.email);
  const org = await ensureOrganization(db, input.orgSlug);
  const existing = await db.selectFrom('users').selectAll().where('email', '=', email).executeTakeFirst();
  const generatedPassword = input.password === undefined && !existing ? generatePassword() : null;
  const newPassword = input.password ?? generatedPassword;
  const passwordHash = newPassword === null ? undefined : await hashPassword(newPassword);
  const mustChange = generatedPassword !== null || input.mustChange === true;

  return db.transaction().execute(async (trx) => {
    const previousRole = existing
      ? ((await withOrg(trx, org.id, (scoped) =>
          scoped.selectFrom('memberships').select('role').where('org_id', '=', org.id).where('user_id', '=', existing.id).executeTakeFirst()))?.role ?? null)
      : null;
    let user: User;
    if (existing) {
      const changes = {
        ...(passwordHash ? { password_hash: passwordHash, password_must_change: mustChange } : {}),
        ...(input.name ? { name: input.name } : {}),
      };
      // Only a membership to add (no new password or name): an UPDATE with nothing to set is not valid SQL.
      user =
        Object.keys(changes).length === 0
          ? existing
          : await trx.updateTable('users').set(changes).where('id', '=', existing.id).returningAll().executeTakeFirstOrThrow();
    } else {
      user = await trx
        .insertInto('users')
        .values({ email, name: input.name ?? email.split('@')[0]!, password_hash: passwordHash ?? null, password_must_change: mustChange })
        .returningAll()
        .executeTakeFirstOrThrow();
    }
    await withOrg(trx, org.id, (scoped) =>
      scoped
        .insertInto('memberships')
        .values({ org_id: org.id, user_id: user.id, role: input.role })
        .onConflict((oc) => oc.columns(['org_id', 'user_id']).doUpdateSet({ role: input.role }))
        .execute(),
    );
    if (input.auditAs) {
      const actor = { type: 'system' as const, id: null, label: input.auditAs.label };
      const target = { type: 'user', id: user.id, label: user.email };
      const record = (action: AuditAction, details: Record<string, string>) =>
        recordAuditEvent(trx, { orgId: org.id, actor, action, target, outcome: 'success', details });
      if (!existing) await record('auth.account_created', { via: 'command' });
      if (previousRole === null) await record('member.added', { role: input.role });
      else if (previousRole !== input.role) await record('member.role_changed', { old_role: previousRole, new_role: input.role });
    }
    return { user, generatedPassword, created: !existing };
  });
}

/** Whether this user's password was chosen by someone else and must be replaced before the session grants anything. */
export async function passwordMustChange(db: Db, userId: string): Promise<boolean> {
  const row = await db.selectFrom('users').select('password_must_change').where('id', '=', userId).executeTakeFirst();
  return row?.password_must_change === true;
}

/** The active user with this email and password, or null. Takes the same time whether or not the email exists. */
export async function authenticate(db: Db, email: string, password: string): Promise<User | null> {
  const normalized = email.trim().toLowerCase();
  const user = await db.selectFrom('users').selectAll().where('email', '=', normalized).executeTakeFirst();
  const ok = await verifyPassword(user?.password_hash ?? null, password);
  if (!ok || !user || user.disabled_at) return null;
  return user;
}

/**
 * The new address belongs to another account. The message says only that: not whose, not where.
 * (Knowing that an address has an account is the least a refusal can reveal; changing the email needs a recent
 * re-authentication, so it is no cheap way to probe addresses.)
 */
export class EmailInUseError extends ConflictError {
  constructor() {
    super('That email address is already in use. Choose another one.');
  }
}

/** A unique-constraint violation from PostgreSQL (pg and PGlite both report SQLSTATE 23505 as `code`). */
function isUniqueViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === '23505';
}

/**
 * Change the email address a user signs in with: validated and lowercased; refused (EmailInUseError) when
 * another account has it. The change and its audit event `auth.email_changed` (old and new address of this
 * user only) are written in one transaction, in the chain of every organization the user belongs to
 * (account-events.ts). Returns null when the address is already the user's own (nothing changes, nothing is
 * recorded). The caller demands a recent re-authentication first and drops cached sessions afterwards.
 */
export async function changeEmail(
  db: Db,
  input: { userId: string; email: string; audit: { requestId: string; ip: string } },
): Promise<{ from: string; to: string } | null> {
  if (input.email.trim() === '') throw new InvalidInputError('Enter the new email address.');
  const to = normalizeEmail(input.email.slice(0, 400));
  try {
    return await db.transaction().execute(async (trx) => {
      const user = await trx.selectFrom('users').select(['id', 'email']).where('id', '=', input.userId).forUpdate().executeTakeFirst();
      if (!user) throw new NotFoundError();
      if (user.email === to) return null;
      const taken = await trx.selectFrom('users').select('id').where('email', '=', to).executeTakeFirst();
      if (taken) throw new EmailInUseError();
      await trx.updateTable('users').set({ email: to }).where('id', '=', user.id).execute();
      await recordAccountEvent(trx, user.id, {
        actor: { type: 'user', id: user.id, label: user.email },
        action: 'auth.email_changed',
        target: { type: 'user', id: user.id, label: to },
        outcome: 'success',
        requestId: input.audit.requestId,
        ip: input.audit.ip,
        details: { from: user.email, to },
      });
      return { from: user.email, to };
    });
  } catch (error) {
    // Two accounts taking the same address at once: the unique index decides, with the same answer.
    if (isUniqueViolation(error)) throw new EmailInUseError();
    throw error;
  }
}
