import { withOrg, withUser, type Db } from '../../db/connection.ts';

/**
 * Whether an organization this user belongs to requires single sign-on and the user is not its break-glass
 * owner (an owner, chosen in the SSO settings, who may still sign in with a password when the identity provider
 * is down or misconfigured). Password sign-in is then refused: the organization's provider decides who gets in
 * and with which factors. Returns the slug of the first such organization, or null.
 */
export async function passwordSignInRefusedBy(db: Db, userId: string): Promise<string | null> {
  const memberships = await withUser(db, userId, (trx) =>
    trx.selectFrom('memberships').select(['org_id', 'role']).where('user_id', '=', userId).orderBy('org_id').execute(),
  );
  for (const membership of memberships) {
    const connection = await withOrg(db, membership.org_id, (trx) =>
      trx
        .selectFrom('sso_connections')
        .innerJoin('organizations', 'organizations.id', 'sso_connections.org_id')
        .select(['organizations.slug', 'sso_connections.break_glass_user_id'])
        .where('sso_connections.org_id', '=', membership.org_id)
        .where('sso_connections.enabled', '=', true)
        .where('sso_connections.require_sso', '=', true)
        .executeTakeFirst(),
    );
    if (!connection) continue;
    const breakGlass = connection.break_glass_user_id === userId && membership.role === 'owner';
    if (!breakGlass) return connection.slug;
  }
  return null;
}
