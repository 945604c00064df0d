import { withUser, type Db } from '../db/connection.ts';
import type { Role } from '../db/schema.ts';

export interface AccountMembership {
  orgId: string;
  orgName: string;
  orgSlug: string;
  role: Role;
}

/** The organizations a user belongs to and their role in each, by organization name. */
export async function membershipsOf(db: Db, userId: string): Promise<AccountMembership[]> {
  const rows = await withUser(db, userId, (trx) =>
    trx
      .selectFrom('memberships')
      .innerJoin('organizations', 'organizations.id', 'memberships.org_id')
      .select(['organizations.id', 'organizations.name', 'organizations.slug', 'memberships.role'])
      .where('memberships.user_id', '=', userId)
      .orderBy('organizations.name')
      .execute(),
  );
  return rows.map((r) => ({ orgId: r.id, orgName: r.name, orgSlug: r.slug, role: r.role }));
}
