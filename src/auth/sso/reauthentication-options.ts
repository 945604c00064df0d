import { withOrg, withUser, type Db } from '../../db/connection.ts';
import { readConnection, type SsoConnection } from './connection-settings.ts';
import { passwordSignInRefusedBy } from './password-sign-in-policy.ts';

/** An identity provider a signed-in person can confirm their identity with: their organization's, linked to them. */
export interface ReauthenticationProvider {
  orgId: string;
  orgSlug: string;
  orgName: string;
  /** The issuer's host, the name the page shows ("Continue with login.acme.example"). */
  host: string;
}

/**
 * The providers `userId` may re-authenticate with: for each organization they are a member of (not scheduled for
 * deletion) whose single sign-on is on, when an identity of that provider (its current issuer) is linked to them —
 * that is, they signed in through it before. Their connections come along for the flow that begins.
 */
export async function reauthenticationProviders(db: Db, userId: string): Promise<(ReauthenticationProvider & { connection: SsoConnection })[]> {
  const orgs = await withUser(db, userId, (trx) =>
    trx
      .selectFrom('memberships')
      .innerJoin('organizations', 'organizations.id', 'memberships.org_id')
      .select(['organizations.id', 'organizations.slug', 'organizations.name'])
      .where('memberships.user_id', '=', userId)
      .where('organizations.deletion_requested_at', 'is', null)
      .orderBy('organizations.name')
      .execute(),
  );
  const found: (ReauthenticationProvider & { connection: SsoConnection })[] = [];
  for (const org of orgs) {
    const connection = await readConnection(db, org.id);
    if (!connection?.enabled) continue;
    const linked = await withOrg(db, org.id, (trx) =>
      trx
        .selectFrom('sso_identities')
        .select('subject')
        .where('org_id', '=', org.id)
        .where('issuer', '=', connection.issuer)
        .where('user_id', '=', userId)
        .executeTakeFirst(),
    );
    if (!linked) continue;
    found.push({ orgId: org.id, orgSlug: org.slug, orgName: org.name, host: new URL(connection.issuer).host, connection });
  }
  return found;
}

/**
 * How a signed-in person can confirm it is them: their password (when they have one and may sign in with it: an
 * organization that requires single sign-on refuses its members' passwords here too, all but its break-glass
 * owner's) and/or their providers.
 */
export async function reauthenticationMethods(db: Db, userId: string): Promise<{ password: boolean; providers: ReauthenticationProvider[] }> {
  const user = await db.selectFrom('users').select('password_hash').where('id', '=', userId).executeTakeFirst();
  const providers = (await reauthenticationProviders(db, userId)).map(({ connection: _connection, ...provider }) => provider);
  const password = Boolean(user?.password_hash) && (await passwordSignInRefusedBy(db, userId)) === null;
  return { password, providers };
}
