import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ANONYMOUS, type Actor, type UserActor } from '../../src/access/actor.ts';
import type { Role } from '../../src/access/roles.ts';
import { organizationLinks, projectLinks } from '../../src/access/view-links.ts';

const ORG = 'org-a';
const user = (role: Role, org = ORG, via?: UserActor['via']): Actor => ({
  kind: 'user',
  userId: `u-${role}`,
  email: `${role}@a.test`,
  name: role,
  memberships: new Map([[org, role]]),
  ...(via ? { via } : {}),
});

/** The specification, written out independently of the policy (DESIGN.md access model). */
const PROJECT: Record<Role | 'outsider' | 'anonymous', { requestAccess: boolean; projectSettings: boolean }> = {
  anonymous: { requestAccess: false, projectSettings: false },
  outsider: { requestAccess: false, projectSettings: false },
  viewer: { requestAccess: true, projectSettings: false },
  member: { requestAccess: true, projectSettings: false },
  manager: { requestAccess: true, projectSettings: false },
  // admins and owners read everything: nothing to ask for
  admin: { requestAccess: false, projectSettings: true },
  owner: { requestAccess: false, projectSettings: true },
};
const ADMIN_PAGES: Record<Role | 'outsider' | 'anonymous', boolean> = {
  anonymous: false,
  outsider: false,
  viewer: false,
  member: false,
  manager: false,
  admin: true,
  owner: true,
};

const actors: [keyof typeof PROJECT, Actor][] = [
  ['anonymous', ANONYMOUS],
  ['outsider', user('owner', 'org-b')],
  ...(['viewer', 'member', 'manager', 'admin', 'owner'] as const).map((role): [Role, Actor] => [role, user(role)]),
];

describe('links a page shows, by role (view-links.ts)', () => {
  for (const [who, actor] of actors) {
    test(`${who}: project links and the organization's admin links`, () => {
      assert.deepEqual(projectLinks(actor, ORG), PROJECT[who]);
      const expected = ADMIN_PAGES[who];
      assert.deepEqual(organizationLinks(actor, ORG), { members: expected, auditLog: expected, settings: expected });
    });
  }

  test('a read-only token never gets the settings link (its page would refuse it)', () => {
    const token = user('owner', ORG, { kind: 'token', tokenId: 't1', scopes: ['read'] });
    assert.equal(projectLinks(token, ORG).projectSettings, false);
    const writer = user('owner', ORG, { kind: 'token', tokenId: 't2', scopes: ['read', 'write'] });
    assert.equal(projectLinks(writer, ORG).projectSettings, true);
  });
});
