import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { DocumentLookup } from '../../src/access/access-requests.ts';
import { approveAccessRequest } from '../../src/access/commands/approve-access-request.ts';
import { createAccessRequest } from '../../src/access/commands/create-access-request.ts';
import { denyAccessRequest } from '../../src/access/commands/deny-access-request.ts';
import type { AccessRequestCommandDeps } from '../../src/access/commands/deps.ts';
import { upsertAccount } from '../../src/auth/accounts.ts';
import { withOrg } from '../../src/db/connection.ts';
import { ForbiddenError, NotFoundError } from '../../src/errors.ts';
import type { ProjectRecord } from '../../src/projects/projects.ts';
import { actorOf } from '../helpers/actors.ts';
import { databaseTargets } from '../helpers/databases.ts';
import { withAuditRefused } from '../helpers/refused-audit.ts';
import { createTestApp, PASSWORD, type TestApp } from '../helpers/test-app.ts';

/** Access-request commands: wrong role, wrong tenant, and the audit event in the transaction of the change. */
for (const target of databaseTargets()) {
  describe(`access-request commands (${target.name})`, () => {
    let t: TestApp;
    let dispose: () => Promise<void>;
    let deps: AccessRequestCommandDeps;
    let handbook: ProjectRecord;
    let forgotten: (string | undefined)[];
    const request = (id: string) => withOrg(t.context.db, handbook.orgId, (trx) => trx.selectFrom('access_requests').selectAll().where('id', '=', id).executeTakeFirst());
    const grants = (requestId: string) => withOrg(t.context.db, handbook.orgId, (trx) => trx.selectFrom('access_grants').select('request_id').where('request_id', '=', requestId).execute());
    const file = async (email: string, path = 'policies/incident-response') =>
      createAccessRequest(deps, await actorOf(t.context.db, email), { project: handbook, path, reason: 'Preparing the audit.' });

    before(async () => {
      const opened = await target.open();
      dispose = opened.dispose;
      t = await createTestApp(opened.db);
      await upsertAccount(t.context.db, { email: 'admin@globex.test', orgSlug: 'globex', role: 'admin', password: PASSWORD });
      handbook = (await t.built.catalog.find('acme', 'handbook'))!;
      const lookup: DocumentLookup = (projectId, path) => {
        const doc = t.context.publisher.snapshotOf(projectId)?.documents.get(path);
        return doc ? { title: doc.meta.title, classification: doc.meta.classification } : null;
      };
      forgotten = [];
      deps = { db: t.context.db, lookup, now: Date.now, waiting: { forget: (userId?: string) => void forgotten.push(userId) } };
    });
    after(async () => {
      await t.close();
      await dispose();
    });

    test('filing: an outsider gets 404 and nothing is stored; the request stands or falls with its audit event', async () => {
      await assert.rejects(file('admin@globex.test'), NotFoundError);
      await withAuditRefused(t.context.db, 'access_request.created', () => assert.rejects(file('member@acme.test')));
      const count = await withOrg(t.context.db, handbook.orgId, (trx) => trx.selectFrom('access_requests').select('id').execute());
      assert.equal(count.length, 0);
      forgotten.length = 0;
      const id = await file('member@acme.test');
      assert.equal((await request(id))?.status, 'pending');
      assert.deepEqual(forgotten, [undefined], "every approver's waiting count is forgotten");
    });

    test('approving: wrong role 403, own request 403, wrong tenant 404; the grant stands or falls with access_request.approved', async () => {
      const id = await file('viewer@acme.test');
      const orgId = handbook.orgId;
      await assert.rejects(approveAccessRequest(deps, await actorOf(t.context.db, 'member@acme.test'), { orgId, requestId: id }), ForbiddenError);
      await assert.rejects(approveAccessRequest(deps, await actorOf(t.context.db, 'admin@globex.test'), { orgId, requestId: id }), NotFoundError);
      // through the other organization's id the request does not exist
      const globexId = (await t.context.db.selectFrom('organizations').select('id').where('slug', '=', 'globex').executeTakeFirstOrThrow()).id;
      await assert.rejects(approveAccessRequest(deps, await actorOf(t.context.db, 'admin@globex.test'), { orgId: globexId, requestId: id }), NotFoundError);
      const own = await file('manager@acme.test', 'hr/reviews');
      await assert.rejects(approveAccessRequest(deps, await actorOf(t.context.db, 'manager@acme.test'), { orgId, requestId: own }), /your own/);
      const manager = await actorOf(t.context.db, 'manager@acme.test');
      await withAuditRefused(t.context.db, 'access_request.approved', () => assert.rejects(approveAccessRequest(deps, manager, { orgId, requestId: id })));
      assert.equal((await request(id))?.status, 'pending');
      assert.equal((await grants(id)).length, 0);
      const outcome = await approveAccessRequest(deps, manager, { orgId, requestId: id });
      assert.equal(outcome.status, 'approved');
      assert.equal((await grants(id)).length, 1);
    });

    test("a restricted document's approvals count only from admins and owners (the policy's approver roles)", async () => {
      const id = await file('member@acme.test', 'policies/salary-bands');
      const orgId = handbook.orgId;
      await assert.rejects(approveAccessRequest(deps, await actorOf(t.context.db, 'manager@acme.test'), { orgId, requestId: id }), ForbiddenError);
      assert.equal((await approveAccessRequest(deps, await actorOf(t.context.db, 'admin@acme.test'), { orgId, requestId: id })).status, 'pending');
      // the first approver is demoted: their approval no longer counts
      const adminId = (await actorOf(t.context.db, 'admin@acme.test')).userId;
      await withOrg(t.context.db, orgId, (trx) => trx.updateTable('memberships').set({ role: 'manager' }).where('org_id', '=', orgId).where('user_id', '=', adminId).execute());
      try {
        const second = await approveAccessRequest(deps, await actorOf(t.context.db, 'owner@acme.test'), { orgId, requestId: id });
        assert.deepEqual(second, { status: 'pending', approvals: 1, approvalsNeeded: 2 });
      } finally {
        await withOrg(t.context.db, orgId, (trx) => trx.updateTable('memberships').set({ role: 'admin' }).where('org_id', '=', orgId).where('user_id', '=', adminId).execute());
      }
    });

    test('denying: wrong role 403, wrong tenant 404; the decision stands or falls with access_request.denied', async () => {
      const id = await file('viewer@acme.test', 'policies/incident-response');
      const orgId = handbook.orgId;
      await assert.rejects(denyAccessRequest(deps, await actorOf(t.context.db, 'viewer@acme.test'), { orgId, requestId: id }), ForbiddenError);
      await assert.rejects(denyAccessRequest(deps, await actorOf(t.context.db, 'admin@globex.test'), { orgId, requestId: id }), NotFoundError);
      const manager = await actorOf(t.context.db, 'manager@acme.test');
      await withAuditRefused(t.context.db, 'access_request.denied', () => assert.rejects(denyAccessRequest(deps, manager, { orgId, requestId: id })));
      assert.equal((await request(id))?.status, 'pending');
      forgotten.length = 0;
      await denyAccessRequest(deps, manager, { orgId, requestId: id });
      assert.equal((await request(id))?.status, 'denied');
      assert.deepEqual(forgotten, [manager.userId]);
    });
  });
}
