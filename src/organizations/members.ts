import type { Db } from '../db/connection.ts';
import { withOrg } from '../db/connection.ts';
import type { Role } from '../db/schema.ts';

/** Reading an organization's members. Role changes and removals are commands (commands/change-role.ts, remove-member.ts). */

/** One member of an organization as the members page lists them. */
export interface Member {
  userId: string;
  name: string;
  email: string;
  role: Role;
  joinedAt: Date;
}

/** Every member of an organization, owners first, then by name. */
export async function listMembers(db: Db, orgId: string): Promise<Member[]> {
  const rows = await withOrg(db, orgId, (trx) =>
    trx
      .selectFrom('memberships as m')
      .innerJoin('users as u', 'u.id', 'm.user_id')
      .select(['u.id', 'u.name', 'u.email', 'm.role', 'm.created_at'])
      .where('m.org_id', '=', orgId)
      .orderBy('u.name')
      .execute(),
  );
  const rank: Record<Role, number> = { owner: 0, admin: 1, manager: 2, member: 3, viewer: 4 };
  return rows
    .map((r) => ({ userId: r.id, name: r.name, email: r.email, role: r.role, joinedAt: new Date(r.created_at) }))
    .sort((a, b) => rank[a.role] - rank[b.role] || a.name.localeCompare(b.name));
}
