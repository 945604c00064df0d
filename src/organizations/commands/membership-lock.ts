import type { Kysely } from 'kysely';
import type { UserActor } from '../../access/actor.ts';
import type { Database } from '../../db/schema.ts';
import { NotFoundError } from '../../errors.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const LAST_OWNER = 'An organization needs at least one owner. Make someone else an owner first.';

/**
 * Lock the organization's owner memberships and read the actor's and the target's current rows, all in the
 * caller's transaction. Locking the owners first serializes every change that could remove the last one.
 * `fresh` is the actor with the role the database holds now, not the one the session remembers.
 */
export async function lockMembership(trx: Kysely<Database>, actor: UserActor, orgId: string, targetUserId: string) {
  const owners = await trx
    .selectFrom('memberships')
    .select('user_id')
    .where('org_id', '=', orgId)
    .where('role', '=', 'owner')
    .forUpdate()
    .execute();
  const actorRow = await trx
    .selectFrom('memberships')
    .select('role')
    .where('org_id', '=', orgId)
    .where('user_id', '=', actor.userId)
    .executeTakeFirst();
  if (!actorRow) throw new NotFoundError();
  const target = UUID.test(targetUserId)
    ? await trx
        .selectFrom('memberships as m')
        .innerJoin('users as u', 'u.id', 'm.user_id')
        .select(['m.user_id', 'm.role', 'u.email'])
        .where('m.org_id', '=', orgId)
        .where('m.user_id', '=', targetUserId)
        .forUpdate()
        .executeTakeFirst()
    : undefined;
  if (!target) throw new NotFoundError();
  const fresh: UserActor = { ...actor, memberships: new Map([[orgId, actorRow.role]]) };
  return { ownerCount: owners.length, fresh, target };
}

/** The actor as the database knows them in `orgId` now (no membership: none), for deciding inside a transaction. */
export async function freshActor(trx: Kysely<Database>, actor: UserActor, orgId: string): Promise<UserActor> {
  const row = await trx
    .selectFrom('memberships')
    .select('role')
    .where('org_id', '=', orgId)
    .where('user_id', '=', actor.userId)
    .executeTakeFirst();
  return { ...actor, memberships: new Map(row ? [[orgId, row.role]] : []) };
}
