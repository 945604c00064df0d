import type { UserActor } from '../../src/access/actor.ts';
import { withUser, type Db } from '../../src/db/connection.ts';

/** The signed-in actor of an account, with its memberships as the database holds them now. */
export async function actorOf(db: Db, email: string): Promise<UserActor> {
  const user = await db.selectFrom('users').select(['id', 'email', 'name']).where('email', '=', email).executeTakeFirstOrThrow();
  const rows = await withUser(db, user.id, (trx) => trx.selectFrom('memberships').select(['org_id', 'role']).where('user_id', '=', user.id).execute());
  return { kind: 'user', userId: user.id, email: user.email, name: user.name, memberships: new Map(rows.map((r) => [r.org_id, r.role])) };
}
