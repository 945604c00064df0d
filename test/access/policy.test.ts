import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ANONYMOUS, type Actor } from '../../src/access/actor.ts';
import { can, clearanceFor } from '../../src/access/policy.ts';
import { ROLES, type Role } from '../../src/access/roles.ts';
import { CLASSIFICATIONS, type Classification } from '../../src/content/types.ts';

const ORG = 'org-a';
const OTHER = 'org-b';
const user = (role: Role, org = ORG): Actor => ({
  kind: 'user',
  userId: `u-${role}`,
  email: `${role}@a.test`,
  name: role,
  memberships: new Map([[org, role]]),
});

/** The specification, written out independently of the policy's implementation (DESIGN.md access model). */
const READS: Record<Role | 'anonymous' | 'outsider', Classification[]> = {
  anonymous: ['public'],
  outsider: ['public'],
  viewer: ['public', 'internal'],
  member: ['public', 'internal'],
  manager: ['public', 'internal', 'confidential'],
  admin: ['public', 'internal', 'confidential', 'restricted'],
  owner: ['public', 'internal', 'confidential', 'restricted'],
};
const EDITS: Record<Role | 'anonymous' | 'outsider', boolean> = {
  anonymous: false,
  outsider: false,
  viewer: false,
  member: true,
  manager: true,
  admin: true,
  owner: true,
};

const actors: [keyof typeof READS, Actor][] = [
  ['anonymous', ANONYMOUS],
  ['outsider', user('owner', OTHER)],
  ...ROLES.map((r): [Role, Actor] => [r, user(r)]),
];

describe('permission policy matrix: role × classification × action × own/other organization', () => {
  for (const [name, actor] of actors) {
    for (const classification of CLASSIFICATIONS) {
      const doc = { kind: 'document' as const, orgId: ORG, classification };
      test(`${name} ${READS[name].includes(classification) ? 'reads' : 'does not read'} ${classification}`, () => {
        assert.equal(can(actor, 'read', doc), READS[name].includes(classification));
      });
      const editable = EDITS[name] && READS[name].includes(classification);
      test(`${name} ${editable ? 'edits' : 'does not edit'} ${classification}`, () => {
        assert.equal(can(actor, 'edit', doc), editable);
      });
    }
    test(`${name} ${EDITS[name] || ROLES.includes(name as Role) ? 'lists' : 'does not list'} the organization's projects`, () => {
      assert.equal(can(actor, 'list', { kind: 'project', orgId: ORG }), ROLES.includes(name as Role));
    });
  }

  test('membership in another organization grants nothing here, whatever the role', () => {
    for (const role of ROLES) {
      assert.equal(clearanceFor(user(role, OTHER), ORG), 'public');
      assert.equal(can(user(role, OTHER), 'edit', { kind: 'project', orgId: ORG }), false);
    }
  });

  test('a user in two organizations has each role only where it was given', () => {
    const both: Actor = { kind: 'user', userId: 'x', email: 'x@x.test', name: 'x', memberships: new Map<string, Role>([[ORG, 'admin'], [OTHER, 'viewer']]) };
    assert.equal(clearanceFor(both, ORG), 'restricted');
    assert.equal(clearanceFor(both, OTHER), 'internal');
  });
});
