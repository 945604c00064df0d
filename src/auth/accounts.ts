import { randomBytes } from 'node:crypto';
import { withOrg, type Db } from '../db/connection.ts';
import type { Role, User } from '../db/schema.ts';
import { InvalidInputError } from '../errors.ts';
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

  return db.transaction().execute(async (trx) => {
    let user: User;
    const changes = { ...(passwordHash ? { password_hash: passwordHash } : {}), ...(input.name ? { name: input.name } : {}) };
    if (existing && Object.keys(changes).length === 0) {
      user = existing; // only the membership changes
    } else if (existing) {
      user = await trx.updateTable('users').set(changes).where('id', '=', existing.id).returningAll().executeTakeFirstOrThrow();
    } else {
      user = await trx
        .insertInto('users')
        .values({ email, name: input.name ?? email.split('@')[0]!, password_hash: passwordHash ?? null })
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
    return { user, generatedPassword, created: !existing };
  });
}

/** The active user with this email and password, or null. Takes the same time whether or not the email exists. */
export async function authenticate(db: Db, email: string, password: string): Promise<User | null> {
  const normalized = email.trim().toLowerCase();
  const user = await db.selectFrom('users').selectAll().where('email', '=', normalized).executeTakeFirst();
  const ok = await verifyPassword(user?.password_hash ?? null, password);
  if (!ok || !user || user.disabled_at) return null;
  return user;
}
