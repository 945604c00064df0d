import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ANONYMOUS, type Actor } from '../../src/access/actor.ts';
import { can, clearanceFor, grantKey } from '../../src/access/policy.ts';
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
    const readsAudit = name === 'admin' || name === 'owner';
    test(`${name} ${readsAudit ? 'reads' : 'does not read'} the organization's audit log`, () => {
      assert.equal(can(actor, 'read', { kind: 'audit-log', orgId: ORG }), readsAudit);
      assert.equal(can(actor, 'edit', { kind: 'audit-log', orgId: ORG }), false, 'nobody edits the audit log');
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

/** Members and access requests (written out from the issue: admins manage members; grants; approvers). */
const MANAGES_MEMBERS: Role[] = ['admin', 'owner'];
/** Highest role each role may hand out (null: none). */
const GRANTS_UP_TO: Record<Role, Role | null> = { viewer: null, member: null, manager: null, admin: 'admin', owner: 'owner' };
const APPROVES: Record<'confidential' | 'restricted', Role[]> = {
  confidential: ['manager', 'admin', 'owner'],
  restricted: ['admin', 'owner'],
};

describe('permission policy: members and access requests', () => {
  for (const [name, actor] of actors) {
    const role = ROLES.includes(name as Role) ? (name as Role) : null;
    test(`${name} ${role && MANAGES_MEMBERS.includes(role) ? 'manages' : 'does not manage'} members`, () => {
      assert.equal(can(actor, 'list', { kind: 'members', orgId: ORG }), role !== null && MANAGES_MEMBERS.includes(role));
      assert.equal(can(actor, 'manage', { kind: 'members', orgId: ORG }), role !== null && MANAGES_MEMBERS.includes(role));
    });
    for (const given of ROLES) {
      const limit = role ? GRANTS_UP_TO[role] : null;
      const allowed = limit !== null && ROLES.indexOf(given) <= ROLES.indexOf(limit);
      test(`${name} ${allowed ? 'may' : 'may not'} grant ${given}, or change a ${given}`, () => {
        assert.equal(can(actor, 'grant', { kind: 'role', orgId: ORG, role: given }), allowed);
        assert.equal(can(actor, 'manage', { kind: 'membership', orgId: ORG, userId: 'someone-else', role: given }), allowed);
      });
    }
    const managesSettings = role === 'admin' || role === 'owner';
    test(`${name} ${managesSettings ? 'sees and changes' : 'neither sees nor changes'} the organization's settings`, () => {
      assert.equal(can(actor, 'read', { kind: 'org-settings', orgId: ORG }), managesSettings);
      assert.equal(can(actor, 'manage', { kind: 'org-settings', orgId: ORG }), managesSettings);
      assert.equal(can(actor, 'edit', { kind: 'org-settings', orgId: ORG }), false, 'only read and manage apply');
      assert.equal(can(actor, 'manage', { kind: 'org-settings', orgId: 'org-c' }), false, 'never an organization one is not a member of');
    });
    test(`${name} ${managesSettings ? 'sees and changes' : 'neither sees nor changes'} the organization's single sign-on`, () => {
      assert.equal(can(actor, 'read', { kind: 'sso-connection', orgId: ORG }), managesSettings);
      assert.equal(can(actor, 'manage', { kind: 'sso-connection', orgId: ORG }), managesSettings);
      assert.equal(can(actor, 'edit', { kind: 'sso-connection', orgId: ORG }), false, 'only read and manage apply');
      assert.equal(can(actor, 'manage', { kind: 'sso-connection', orgId: 'org-c' }), false, 'never an organization one is not a member of');
    });
    test(`${name} ${managesSettings ? 'sees and changes' : 'neither sees nor changes'} the organization's webhooks`, () => {
      assert.equal(can(actor, 'read', { kind: 'webhooks', orgId: ORG }), managesSettings);
      assert.equal(can(actor, 'manage', { kind: 'webhooks', orgId: ORG }), managesSettings);
      assert.equal(can(actor, 'edit', { kind: 'webhooks', orgId: ORG }), false, 'only read and manage apply');
      assert.equal(can(actor, 'manage', { kind: 'webhooks', orgId: 'org-c' }), false, 'never an organization one is not a member of');
    });
    test(`${name} never manages their own membership`, () => {
      if (actor.kind !== 'user') return;
      assert.equal(can(actor, 'manage', { kind: 'membership', orgId: ORG, userId: actor.userId, role: 'viewer' }), false);
    });
    for (const classification of ['confidential', 'restricted'] as const) {
      const approves = role !== null && APPROVES[classification].includes(role);
      test(`${name} ${approves ? 'approves' : 'does not approve'} others' requests for ${classification} documents, never their own`, () => {
        assert.equal(can(actor, 'approve', { kind: 'access_request', orgId: ORG, classification, requesterId: 'u-requester' }), approves);
        if (actor.kind === 'user') {
          assert.equal(can(actor, 'approve', { kind: 'access_request', orgId: ORG, classification, requesterId: actor.userId }), false);
        }
      });
    }
    test(`${name} ${role ? 'may' : 'may not'} request access`, () => {
      assert.equal(can(actor, 'create', { kind: 'access_request', orgId: ORG }), role !== null);
    });
  }

  test('a live grant opens exactly its document to a member of the organization, and nothing else', () => {
    // A grant approved for restricted (it covers confidential too: grants.ts liveGrantKeys).
    const grants = new Set([grantKey('p1', 'policies/secret.md', 'confidential'), grantKey('p1', 'policies/secret.md', 'restricted')]);
    const doc = (classification: Classification, path = 'policies/secret.md', projectId = 'p1') =>
      ({ kind: 'document', orgId: ORG, classification, projectId, path, grants }) as const;
    for (const role of ['viewer', 'member'] as const) {
      assert.equal(can(user(role), 'read', doc('confidential')), true);
      assert.equal(can(user(role), 'read', doc('restricted')), true);
      assert.equal(can(user(role), 'read', doc('confidential', 'policies/other.md')), false);
      assert.equal(can(user(role), 'read', doc('confidential', 'policies/secret.md', 'p2')), false);
      assert.equal(can(user(role), 'edit', doc('confidential')), false, 'a grant is for reading only');
    }
    assert.equal(can(user('member', OTHER), 'read', doc('confidential')), false, 'not a member here: grant ignored');
    assert.equal(can(ANONYMOUS, 'read', doc('confidential')), false);
    assert.equal(can(user('member'), 'read', { kind: 'document', orgId: ORG, classification: 'confidential' }), false);
  });

  test('a grant approved for confidential does not open the document once it is restricted', () => {
    const grants = new Set([grantKey('p1', 'policies/secret.md', 'confidential')]);
    const doc = (classification: Classification) =>
      ({ kind: 'document', orgId: ORG, classification, projectId: 'p1', path: 'policies/secret.md', grants }) as const;
    assert.equal(can(user('member'), 'read', doc('confidential')), true);
    assert.equal(can(user('member'), 'read', doc('restricted')), false);
  });
});

describe('personal access tokens: role × scope × action — a token never exceeds its owner or its scopes', () => {
  const viaToken = (role: Role, scopes: ('read' | 'write')[], org = ORG): Actor => ({
    ...(user(role, org) as Extract<Actor, { kind: 'user' }>),
    via: { kind: 'token', tokenId: 't-1', scopes },
  });
  const resources = [
    ...CLASSIFICATIONS.map((classification) => ({ kind: 'document' as const, orgId: ORG, classification })),
    { kind: 'project' as const, orgId: ORG },
    { kind: 'organization' as const, orgId: ORG },
    { kind: 'members' as const, orgId: ORG },
    { kind: 'org-settings' as const, orgId: ORG },
    { kind: 'sso-connection' as const, orgId: ORG },
    { kind: 'webhooks' as const, orgId: ORG },
  ];
  const actions = ['read', 'list', 'edit', 'manage'] as const;

  for (const role of ROLES) {
    for (const scopes of [['read'], ['read', 'write']] as ('read' | 'write')[][]) {
      test(`${role} with a ${scopes.join('+')} token: reads as the role${scopes.includes('write') ? ', writes as the role' : ', never writes'}`, () => {
        for (const resource of resources) {
          for (const action of actions) {
            const asUser = can(user(role), action, resource);
            const expected = action === 'read' || action === 'list' || scopes.includes('write') ? asUser : false;
            assert.equal(can(viaToken(role, scopes), action, resource), expected, `${action} ${JSON.stringify(resource)}`);
          }
        }
      });
    }
  }

  test("a viewer's write-scope token still cannot edit", () => {
    const doc = { kind: 'document' as const, orgId: ORG, classification: 'internal' as const };
    assert.equal(can(viaToken('viewer', ['read', 'write']), 'edit', doc), false);
    assert.equal(can(viaToken('member', ['read']), 'edit', doc), false);
    assert.equal(can(viaToken('member', ['read', 'write']), 'edit', doc), true);
  });

  test('a token of a member of another organization reads nothing here', () => {
    for (const classification of CLASSIFICATIONS) {
      const doc = { kind: 'document' as const, orgId: ORG, classification };
      assert.equal(can(viaToken('owner', ['read', 'write'], OTHER), 'read', doc), classification === 'public');
      assert.equal(can(viaToken('owner', ['read', 'write'], OTHER), 'edit', doc), false);
    }
  });

  test('a read-scope token cannot approve, grant or request', () => {
    const reader = viaToken('owner', ['read']);
    assert.equal(can(reader, 'approve', { kind: 'access_request', orgId: ORG, classification: 'confidential', requesterId: 'someone' }), false);
    assert.equal(can(reader, 'grant', { kind: 'role', orgId: ORG, role: 'viewer' }), false);
    assert.equal(can(reader, 'create', { kind: 'access_request', orgId: ORG }), false);
  });
});

describe('deleting pushed branches', () => {
  test('owners delete any branch (git-http.ts lets the pusher delete their own); nobody else, nor a read-only token', () => {
    for (const [name, actor] of actors) {
      assert.equal(can(actor, 'delete', { kind: 'branch', orgId: ORG }), name === 'owner', name);
    }
    const owner = user('owner');
    const readOnly: Actor = { ...owner, kind: 'user', via: { kind: 'token', tokenId: 't', scopes: ['read'] } } as Actor;
    assert.equal(can(readOnly, 'delete', { kind: 'branch', orgId: ORG }), false);
  });
});

describe('policy: acknowledgment status (who has and has not acknowledged)', () => {
  const TRACKS: Record<Role | 'anonymous' | 'outsider', boolean> = {
    anonymous: false,
    outsider: false,
    viewer: false,
    member: false,
    manager: true,
    admin: true,
    owner: true,
  };
  for (const [name, actor] of actors) {
    test(`${name} ${TRACKS[name] ? 'sees' : 'does not see'} the organization's acknowledgment status`, () => {
      assert.equal(can(actor, 'read', { kind: 'acknowledgment-status', orgId: ORG }), TRACKS[name]);
      assert.equal(can(actor, 'manage', { kind: 'acknowledgment-status', orgId: ORG }), false, 'nobody changes who acknowledged');
    });
  }
  test('a read-only token of a manager still reads it; an owner of another organization does not', () => {
    const token: Actor = { kind: 'user', userId: 'm', email: 'm@a.test', name: 'm', memberships: new Map([[ORG, 'manager']]), via: { kind: 'token', tokenId: 't', scopes: ['read'] } };
    assert.equal(can(token, 'read', { kind: 'acknowledgment-status', orgId: ORG }), true);
    assert.equal(can(user('owner', OTHER), 'read', { kind: 'acknowledgment-status', orgId: ORG }), false);
  });
});

describe('reviewing a change request', () => {
  const request = (authorId: string) => ({ kind: 'change_request' as const, orgId: ORG, authorId });
  test('any member of the organization may review a change request of someone else, never their own', () => {
    for (const role of ROLES) {
      assert.equal(can(user(role), 'approve', request('u-someone-else')), true, role);
      assert.equal(can(user(role), 'approve', request(`u-${role}`)), false, `${role}: own change request`);
    }
  });
  test('outsiders, anonymous readers and read-only tokens never review; reviewing is the one action', () => {
    assert.equal(can(user('owner', OTHER), 'approve', request('u-x')), false);
    assert.equal(can(ANONYMOUS, 'approve', request('u-x')), false);
    const token: Actor = { kind: 'user', userId: 'm', email: 'm@a.test', name: 'm', memberships: new Map([[ORG, 'owner']]), via: { kind: 'token', tokenId: 't', scopes: ['read'] } };
    assert.equal(can(token, 'approve', request('u-x')), false);
    assert.equal(can(user('owner'), 'delete', request('u-x')), false);
    assert.equal(can(user('owner'), 'manage', request('u-x')), false);
  });
});

describe('editing the draft of a change request', () => {
  const request = (authorId: string) => ({ kind: 'change_request' as const, orgId: ORG, authorId });
  test('its author and any other writer (member and above) may; a viewer may not, even as its author', () => {
    for (const role of ROLES) {
      assert.equal(can(user(role), 'edit', request(`u-${role}`)), EDITS[role], `${role}: own draft`);
      assert.equal(can(user(role), 'edit', request('u-someone-else')), EDITS[role], `${role}: someone else's draft`);
    }
  });
  test('outsiders, anonymous readers and read-only tokens never edit a draft; a writing token of a member does', () => {
    assert.equal(can(user('owner', OTHER), 'edit', request('u-x')), false);
    assert.equal(can(ANONYMOUS, 'edit', request('u-x')), false);
    const reader: Actor = { kind: 'user', userId: 'm', email: 'm@a.test', name: 'm', memberships: new Map([[ORG, 'owner']]), via: { kind: 'token', tokenId: 't', scopes: ['read'] } };
    assert.equal(can(reader, 'edit', request('m')), false);
    const writer: Actor = { ...reader, via: { kind: 'token', tokenId: 't', scopes: ['read', 'write'] } };
    assert.equal(can(writer, 'edit', request('m')), true);
  });
});

describe('acknowledging a document', () => {
  const own = (userId: string) => ({ kind: 'acknowledgment' as const, userId });
  test('a person acknowledges for themselves, signed in in the browser, whatever their role', () => {
    for (const role of ROLES) assert.equal(can(user(role), 'create', own(`u-${role}`)), true, role);
  });
  test('never for someone else, never anonymously, never through an access token (even one that may write)', () => {
    assert.equal(can(user('owner'), 'create', own('u-member')), false);
    assert.equal(can(ANONYMOUS, 'create', own('u-member')), false);
    const writer: Actor = { kind: 'user', userId: 'm', email: 'm@a.test', name: 'm', memberships: new Map([[ORG, 'member']]), via: { kind: 'token', tokenId: 't', scopes: ['read', 'write'] } };
    assert.equal(can(writer, 'create', own('m')), false);
    assert.equal(can(user('member'), 'read', own('u-member')), false, 'creating is the one action');
  });
});

describe('accepting an invitation', () => {
  test('only the account of the address it was sent to accepts it, whatever its roles elsewhere', () => {
    const invitation = { kind: 'invitation' as const, email: 'member@a.test' };
    assert.equal(can(user('member'), 'accept', invitation), true);
    assert.equal(can(user('owner'), 'accept', invitation), false);
    assert.equal(can(ANONYMOUS, 'accept', invitation), false);
    assert.equal(can(user('member'), 'read', invitation), false, 'accepting is the one action');
  });
});

describe('attesting a document ("reviewed, no changes")', () => {
  const doc = (classification: 'internal' | 'confidential' | 'restricted') => ({ kind: 'document' as const, orgId: ORG, classification });
  test('whoever may edit the document, signed in themselves', () => {
    assert.equal(can(user('member'), 'attest', doc('internal')), true);
    assert.equal(can(user('viewer'), 'attest', doc('internal')), false, 'a viewer may not edit');
    assert.equal(can(user('member'), 'attest', doc('confidential')), false, 'no clearance, no attestation');
    assert.equal(can(user('admin'), 'attest', doc('restricted')), true);
    assert.equal(can(user('member', 'other-org'), 'attest', doc('internal')), false, 'another organization');
  });
  test('never through an access token, even one that may write, and never anonymously', () => {
    const writer: Actor = { kind: 'user', userId: 'm', email: 'm@a.test', name: 'm', memberships: new Map([[ORG, 'owner']]), via: { kind: 'token', tokenId: 't', scopes: ['read', 'write'] } };
    assert.equal(can(writer, 'edit', doc('internal')), true, 'the token may edit');
    assert.equal(can(writer, 'attest', doc('internal')), false, 'but not attest');
    assert.equal(can(ANONYMOUS, 'attest', doc('internal')), false);
  });
});
