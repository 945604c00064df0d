/**
 * On PostgreSQL the application logs in as docucommit_app itself, never as the owner that ran the migrations.
 * A session that logged in as the owner and switched role (`-c role=…`) could switch back with one statement
 * (`SET ROLE postgres`, `RESET ROLE`); a session whose login role is docucommit_app cannot, because that role is
 * no superuser and no member of the owner.
 *
 * The login comes from DATABASE_APP_URL when the operator gives one. Otherwise it is derived: the owner gives
 * docucommit_app LOGIN and a password computed from the server secret (an HMAC, so it is stable across starts
 * and never stored), and the application connects with DATABASE_URL's host and database as docucommit_app.
 * The password is sent as a SCRAM-SHA-256 verifier, so it appears in no server log.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql, type Kysely } from 'kysely';
import { UnavailableError } from '../errors.ts';
import { APP_ROLE } from './migrations/006-row-level-security.ts';
import type { Database } from './schema.ts';

/** The application role's password, derived from the server secret. */
export function appRolePassword(secret: Buffer): string {
  return createHmac('sha256', secret).update(`docucommit database role ${APP_ROLE}`).digest('base64url');
}

/** `ownerUrl` with the application role's credentials instead of the owner's. */
export function appRoleUrl(ownerUrl: string, password: string): string {
  const url = new URL(ownerUrl);
  url.username = APP_ROLE;
  url.password = password;
  url.searchParams.delete('user');
  url.searchParams.delete('password');
  return url.toString();
}

/**
 * Let docucommit_app log in with the derived password (run as the owner after migrating); returns the URL the
 * application connects with. Roles are cluster-wide: databases migrating at the same time on one cluster alter
 * the same role, which PostgreSQL may refuse as "tuple concurrently updated"; that is retried.
 */
export async function provisionAppRoleLogin(owner: Kysely<Database>, ownerUrl: string, secret: Buffer): Promise<string> {
  const password = appRolePassword(secret);
  const statement = sql.raw(`ALTER ROLE ${APP_ROLE} WITH LOGIN NOSUPERUSER NOBYPASSRLS PASSWORD '${scramVerifier(password)}'`);
  for (let attempt = 1; ; attempt++) {
    try {
      await statement.execute(owner);
      return appRoleUrl(ownerUrl, password);
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === 'XX000' && attempt < 10) {
        await sleep(10 + Math.random() * 40);
        continue;
      }
      throw new UnavailableError(
        `could not let ${APP_ROLE} log in (${(error as Error).message}); ` +
          `give the owner CREATEROLE, or create the login yourself and set DATABASE_APP_URL`,
      );
    }
  }
}

/**
 * Refuse to run on a connection whose role could bypass row-level security: a superuser, BYPASSRLS, or a member
 * of the tables' owner (which could `SET ROLE` to it). Catches a DATABASE_APP_URL naming the wrong user.
 */
export async function assertUnprivilegedAppRole(db: Kysely<Database>): Promise<void> {
  const { rows } = await sql<{ name: string; rolsuper: boolean; rolbypassrls: boolean; owner: boolean }>`
    select r.rolname as name, r.rolsuper, r.rolbypassrls,
      pg_has_role(session_user, (select relowner from pg_class where oid = 'public.projects'::regclass), 'MEMBER') as owner
    from pg_roles r where r.rolname = session_user`.execute(db);
  const role = rows[0];
  if (!role || role.rolsuper || role.rolbypassrls || role.owner) {
    throw new UnavailableError(
      `the application's database user ${role?.name ?? ''} could bypass row-level security ` +
        '(superuser, BYPASSRLS, or a member of the tables\' owner); DATABASE_APP_URL must log in as an unprivileged role',
    );
  }
}

/** A SCRAM-SHA-256 verifier for `password` (RFC 5802/7677), the form PostgreSQL stores. */
export function scramVerifier(password: string, iterations = 4096): string {
  const salt = randomBytes(16);
  const salted = pbkdf2Sync(password.normalize('NFKC'), salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}
