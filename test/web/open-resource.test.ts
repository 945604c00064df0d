import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FastifyRequest } from 'fastify';
import { ANONYMOUS, type Actor } from '../../src/access/actor.ts';
import { PolicyNotFoundError } from '../../src/access/denials.ts';
import type { Role } from '../../src/access/roles.ts';
import { NotFoundError, SignInRequiredError } from '../../src/errors.ts';
import type { Organization } from '../../src/organizations/organizations.ts';
import type { ProjectRecord } from '../../src/projects/projects.ts';
import { ResourceOpener } from '../../src/web/open-resource.ts';

const acme = { id: 'org-acme', slug: 'acme', name: 'Acme' } as Organization;
const handbook = { id: 'p-1', orgId: acme.id, orgSlug: 'acme', orgName: 'Acme', slug: 'handbook', name: 'Handbook' } as ProjectRecord;
const opener = new ResourceOpener({
  organizations: { bySlug: async (slug) => (slug === acme.slug ? acme : null) },
  projects: { find: async (org, project) => (org === 'acme' && project === 'handbook' ? handbook : null) },
});

const user = (role: Role, orgId = acme.id, token = false): Actor => ({
  kind: 'user',
  userId: `u-${role}`,
  email: `${role}@acme.test`,
  name: role,
  memberships: new Map([[orgId, role]]),
  ...(token ? { via: { kind: 'token' as const, tokenId: 't', scopes: ['read' as const, 'write' as const] } } : {}),
});
const request = (actor: Actor, params: Record<string, string>, session = true) =>
  ({ actor, params, session: session ? { idHash: 'h' } : null }) as unknown as FastifyRequest;

/** What `fn` rejects with, as "class:status" (or "ok"). */
async function outcome(fn: () => Promise<unknown>): Promise<string> {
  try {
    await fn();
    return 'ok';
  } catch (error) {
    if (error instanceof SignInRequiredError) return 'sign-in';
    if (error instanceof NotFoundError) return '404';
    throw error;
  }
}

describe('ResourceOpener: one way to open an organization or project, one way to refuse', () => {
  test('opens for those the policy allows', async () => {
    const opened = await opener.organization(request(user('admin'), { org: 'acme' }), 'list', 'members');
    assert.equal(opened.org, acme);
    assert.equal(opened.actor.kind, 'user');
    const project = await opener.project(request(user('admin'), { org: 'acme', project: 'handbook' }), 'manage');
    assert.equal(project.project, handbook);
  });

  test('an unknown slug, an outsider and a member without the role all get the same 404', async () => {
    const cases: [string, Actor, Record<string, string>][] = [
      ['unknown organization', user('owner'), { org: 'nope' }],
      ['outsider', user('owner', 'org-globex'), { org: 'acme' }],
      ['member without the role', user('manager'), { org: 'acme' }],
    ];
    for (const [what, actor, params] of cases) {
      assert.equal(await outcome(() => opener.organization(request(actor, params), 'list', 'members')), '404', what);
    }
    const projects: [string, Actor, Record<string, string>][] = [
      ['unknown project', user('owner'), { org: 'acme', project: 'nope' }],
      ['unknown organization', user('owner'), { org: 'nope', project: 'handbook' }],
      ['outsider', user('owner', 'org-globex'), { org: 'acme', project: 'handbook' }],
      ['member without the role', user('member'), { org: 'acme', project: 'handbook' }],
    ];
    for (const [what, actor, params] of projects) {
      assert.equal(await outcome(() => opener.project(request(actor, params), 'manage')), '404', what);
    }
  });

  test('a refusal by the policy is the policy 404 (recorded as access.denied); a missing thing is a plain 404', async () => {
    await assert.rejects(opener.organization(request(user('viewer'), { org: 'acme' }), 'read', 'org-settings'), PolicyNotFoundError);
    await assert.rejects(opener.organization(request(user('owner', 'org-globex'), { org: 'acme' }), 'read', 'org-settings'), PolicyNotFoundError);
    await assert.rejects(opener.organization(request(user('owner'), { org: 'nope' }), 'read', 'org-settings'), (error) => !(error instanceof PolicyNotFoundError) && error instanceof NotFoundError);
  });

  test('nobody signed in is sent to sign in, before anything is looked up (known or not)', async () => {
    assert.equal(await outcome(() => opener.organization(request(ANONYMOUS, { org: 'acme' }), 'read', 'organization')), 'sign-in');
    assert.equal(await outcome(() => opener.organization(request(ANONYMOUS, { org: 'nope' }), 'read', 'organization')), 'sign-in');
    assert.equal(await outcome(() => opener.project(request(ANONYMOUS, { org: 'acme', project: 'handbook' }), 'read')), 'sign-in');
  });

  test('browserOnly: a token or a request without a session is sent to sign in', async () => {
    assert.equal(await outcome(() => opener.organization(request(user('admin', acme.id, true), { org: 'acme' }), 'read', 'org-settings', { browserOnly: true })), 'sign-in');
    assert.equal(await outcome(() => opener.organization(request(user('admin'), { org: 'acme' }, false), 'read', 'org-settings', { browserOnly: true })), 'sign-in');
    assert.equal(await outcome(() => opener.organization(request(user('admin', acme.id, true), { org: 'acme' }), 'read', 'org-settings')), 'ok');
  });

  test('kind: a project opened for another resource of its organization (filing an access request)', async () => {
    assert.equal(await outcome(() => opener.project(request(user('viewer'), { org: 'acme', project: 'handbook' }), 'create', { kind: 'access_request' })), 'ok');
    assert.equal(await outcome(() => opener.project(request(user('viewer', 'org-globex'), { org: 'acme', project: 'handbook' }), 'create', { kind: 'access_request' })), '404');
  });
});
