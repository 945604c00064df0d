import type { Kysely } from 'kysely';
import type { UserActor } from '../access/actor.ts';
import { revokeGrantsOf } from '../access/grants.ts';
import { can } from '../access/policy.ts';
import { isRole } from '../access/roles.ts';
import { recordAuditEvent } from '../audit/audit-log.ts';
import type { SessionStore } from '../auth/sessions.ts';
import type { Db } from '../db/connection.ts';
import { withOrg, withUser } from '../db/connection.ts';
import type { Database, Role } from '../db/schema.ts';
import { ConflictError, ForbiddenError, InvalidInputError, NotFoundError } from '../errors.ts';

/** One member of an organization as the members page lists them. */
export interface Member {
  userId: string;
  name: string;
  email: string;
  role: Role;
  joinedAt: Date;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

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

/**
 * Lock the organization's owner memberships and read the actor's and the target's current rows, all in the
 * caller's transaction. Locking the owners first serializes every change that could remove the last one.
 */
async function lockMembership(trx: Kysely<Database>, actor: UserActor, orgId: string, targetUserId: string) {
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
  // Decide with the role the database holds now, not the one the session remembers.
  const fresh: UserActor = { ...actor, memberships: new Map([[orgId, actorRow.role]]) };
  return { ownerCount: owners.length, fresh, target };
}

const LAST_OWNER = 'An organization needs at least one owner. Make someone else an owner first.';

/**
 * Change a member's role. Owners may give any role, admins up to admin; nobody changes their own role or the
 * role of someone ranked above them; the last owner stays an owner (409). Takes effect on the next request.
 */
export async function changeRole(
  db: Db,
  sessions: SessionStore,
  actor: UserActor,
  orgId: string,
  targetUserId: string,
  newRole: unknown,
): Promise<void> {
  if (!isRole(newRole)) throw new InvalidInputError('Choose one of the roles.');
  await withOrg(db, orgId, async (trx) => {
    const { ownerCount, fresh, target } = await lockMembership(trx, actor, orgId, targetUserId);
    const self = target.user_id === actor.userId;
    if (
      !self &&
      (!can(fresh, 'manage', { kind: 'membership', orgId, userId: target.user_id, role: target.role }) ||
        !can(fresh, 'grant', { kind: 'role', orgId, role: newRole }))
    ) {
      throw new ForbiddenError(`Your role does not allow you to make this member ${newRole === 'admin' || newRole === 'owner' ? 'an' : 'a'} ${newRole}.`);
    }
    if (target.role === 'owner' && newRole !== 'owner' && ownerCount <= 1) throw new ConflictError(LAST_OWNER);
    if (self) throw new InvalidInputError('You cannot change your own role.');
    if (target.role === newRole) return;
    await trx
      .updateTable('memberships')
      .set({ role: newRole })
      .where('org_id', '=', orgId)
      .where('user_id', '=', target.user_id)
      .execute();
    await recordAuditEvent(trx, {
      orgId,
      actor: { type: 'user', id: actor.userId, label: actor.email },
      action: 'member.role_changed',
      target: { type: 'user', id: target.user_id, label: target.email },
      outcome: 'success',
      details: { from: target.role, to: newRole },
    });
  });
  sessions.invalidateUser(targetUserId);
}

/**
 * Remove a member from an organization: their membership and access grants go at once; when they belong to no
 * other organization, every session of theirs ends too.
 */
export async function removeMember(
  db: Db,
  sessions: SessionStore,
  actor: UserActor,
  orgId: string,
  targetUserId: string,
): Promise<void> {
  await withOrg(db, orgId, async (trx) => {
    const { ownerCount, fresh, target } = await lockMembership(trx, actor, orgId, targetUserId);
    const self = target.user_id === actor.userId;
    if (!self && !can(fresh, 'manage', { kind: 'membership', orgId, userId: target.user_id, role: target.role })) {
      throw new ForbiddenError('Your role does not allow you to remove this member.');
    }
    if (target.role === 'owner' && ownerCount <= 1) throw new ConflictError(LAST_OWNER);
    if (self) throw new InvalidInputError('You cannot remove yourself.');
    await trx.deleteFrom('memberships').where('org_id', '=', orgId).where('user_id', '=', target.user_id).execute();
    await revokeGrantsOf(trx, orgId, target.user_id);
    await recordAuditEvent(trx, {
      orgId,
      actor: { type: 'user', id: actor.userId, label: actor.email },
      action: 'member.removed',
      target: { type: 'user', id: target.user_id, label: target.email },
      outcome: 'success',
      details: { role: target.role },
    });
  });
  const others = await withUser(db, targetUserId, (trx) =>
    trx.selectFrom('memberships').select('org_id').where('user_id', '=', targetUserId).limit(1).execute(),
  );
  if (others.length === 0) await sessions.destroyAllFor(targetUserId);
  else sessions.invalidateUser(targetUserId);
}
