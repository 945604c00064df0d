import type { Classification } from '../content/types.ts';
import { roleIn, type Actor } from './actor.ts';
import { clearanceCovers, roleAtLeast, type Role } from './roles.ts';

/**
 * The permission policy: the one place that decides what an actor may do. Routes and services ask `can` or
 * `clearanceFor`; nothing else compares roles.
 *
 * Reading follows classification (DESIGN.md, "Access model"):
 *   public → anyone, no sign-in; internal → any member; confidential → manager and above;
 *   restricted → admin and above.
 */

export type Resource =
  | { kind: 'document'; orgId: string; classification: Classification }
  | { kind: 'project'; orgId: string }
  | { kind: 'organization'; orgId: string };

export type Action = 'read' | 'list' | 'edit';

/** The lowest role that reads each classification (public needs no role at all). */
const READ_ROLE: Record<Exclude<Classification, 'public'>, Role> = {
  internal: 'viewer',
  confidential: 'manager',
  restricted: 'admin',
};

/** The most sensitive classification the actor may read in an organization. */
export function clearanceFor(actor: Actor, orgId: string): Classification {
  const role = roleIn(actor, orgId);
  if (!role) return 'public';
  if (roleAtLeast(role, READ_ROLE.restricted)) return 'restricted';
  if (roleAtLeast(role, READ_ROLE.confidential)) return 'confidential';
  return 'internal';
}

/** May `actor` perform `action` on `resource`? */
export function can(actor: Actor, action: Action, resource: Resource): boolean {
  const role = roleIn(actor, resource.orgId);
  switch (resource.kind) {
    case 'document':
      if (action === 'read') return clearanceCovers(clearanceFor(actor, resource.orgId), resource.classification);
      if (action === 'edit') {
        return role !== null && roleAtLeast(role, 'member') && can(actor, 'read', resource);
      }
      return false;
    case 'project':
      // Members see their organization's projects in lists; outsiders reach only public pages by URL.
      if (action === 'list' || action === 'read') return role !== null;
      if (action === 'edit') return role !== null && roleAtLeast(role, 'member');
      return false;
    case 'organization':
      return action === 'read' && role !== null;
  }
}
