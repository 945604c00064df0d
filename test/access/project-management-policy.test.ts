import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ANONYMOUS, type Actor } from '../../src/access/actor.ts';
import { can } from '../../src/access/policy.ts';
import { ROLES, type Role } from '../../src/access/roles.ts';
import { renderPage } from '../../src/web/views/index.ts';
import { framePage } from '../../src/web/page.ts';
import type { TrustedHtml } from '../../src/content/trusted-html.ts';

const ORG = 'org-a';
const user = (role: Role, org = ORG): Actor => ({ kind: 'user', userId: `u-${role}`, email: `${role}@a.test`, name: role, memberships: new Map([[org, role]]) });

test('creating, renaming and deleting projects: admins and owners of that organization only', () => {
  const allowed: Record<Role, boolean> = { owner: true, admin: true, manager: false, member: false, viewer: false };
  for (const role of ROLES) {
    for (const action of ['create', 'manage'] as const) {
      assert.equal(can(user(role), action, { kind: 'project', orgId: ORG }), allowed[role], `${role} ${action}`);
      assert.equal(can(user(role, 'org-b'), action, { kind: 'project', orgId: ORG }), false, `outsider ${role} ${action}`);
    }
  }
  assert.equal(can(ANONYMOUS, 'create', { kind: 'project', orgId: ORG }), false);
  const readToken = { kind: 'user', userId: 'u', email: 'o@a.test', name: 'o', memberships: new Map([[ORG, 'owner']]), via: { kind: 'token', scopes: ['read'] } } as unknown as Actor;
  assert.equal(can(readToken, 'manage', { kind: 'project', orgId: ORG }), false, 'a read-only token manages nothing');
});

test('the page frame template writes exactly what renderPage writes, with the waiting-requests count', () => {
  const tricky = ['Plain', 'A & B < C > D "quoted"', '99+'];
  for (const count of tricky) {
    for (const securityNotice of [false, true]) {
      const frame = {
        title: count,
        body: '<p>body</p>' as TrustedHtml,
        user: { name: count, email: 'a@b.test', securityNotice, waitingRequests: { count, href: `/o/-/access-requests?x="${count}"` } },
        csrfToken: 'tok',
      };
      const html = renderPage(frame);
      assert.equal(framePage(frame).toString('utf8'), html);
      assert.ok(html.includes(`<span class="topbar-count">${count.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;')}</span>`));
    }
  }
});
