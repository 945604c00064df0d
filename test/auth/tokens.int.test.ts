import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { after, before, describe, test } from 'node:test';
import { can } from '../../src/access/policy.ts';
import { upsertAccount } from '../../src/auth/accounts.ts';
import { createToken, listTokens, revokeToken, verifyToken } from '../../src/auth/tokens.ts';
import { withOrg, type Db } from '../../src/db/connection.ts';
import { AppError, NotFoundError } from '../../src/errors.ts';
import { authenticateByToken, TOKEN_CHALLENGE } from '../../src/web/token-auth.ts';
import { databaseTargets } from '../helpers/databases.ts';

const PASSWORD = 'correct horse battery staple';
const DAY = 24 * 60 * 60 * 1000;
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** A test-only app with one route guarded the way API and git routes will be. */
function tokenGuardedApp(db: Db): FastifyInstance {
  const app = Fastify();
  app.setErrorHandler(async (error, _request, reply) => {
    if (error instanceof AppError) {
      if (error.status === 401) reply.header('www-authenticate', TOKEN_CHALLENGE);
      return reply.code(error.status).send({ error: error.code });
    }
    return reply.code(500).send({ error: 'internal' });
  });
  app.get('/whoami', async (request) => {
    const actor = await authenticateByToken(request, db);
    return { email: actor.email, scopes: actor.via?.scopes };
  });
  return app;
}

for (const target of databaseTargets()) {
  describe(`personal access tokens (${target.name})`, () => {
    let db: Db;
    let dispose: () => Promise<void>;
    let app: FastifyInstance;
    let orgId: string;
    let ada: string;
    let bob: string;
    let viewer: string;
    before(async () => {
      ({ db, dispose } = await target.open());
      ada = (await upsertAccount(db, { email: 'ada@acme.test', orgSlug: 'acme', role: 'member', password: PASSWORD })).user.id;
      bob = (await upsertAccount(db, { email: 'bob@acme.test', orgSlug: 'acme', role: 'member', password: PASSWORD })).user.id;
      viewer = (await upsertAccount(db, { email: 'vic@acme.test', orgSlug: 'acme', role: 'viewer', password: PASSWORD })).user.id;
      orgId = (await db.selectFrom('organizations').select('id').where('slug', '=', 'acme').executeTakeFirstOrThrow()).id;
      app = tokenGuardedApp(db);
      await app.ready();
    });
    after(async () => {
      await app.close();
      await dispose();
    });

    const whoami = (headers: Record<string, string>, url = '/whoami') => app.inject({ method: 'GET', url, headers });
    const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });

    test('a token is returned once and only its SHA-256 is stored', async () => {
      const { token, summary } = await createToken(db, { userId: ada, name: 'laptop', scopes: ['read'] });
      const row = await db.selectFrom('personal_access_tokens').selectAll().where('id', '=', summary.id).executeTakeFirstOrThrow();
      assert.equal(row.token_hash, sha256(token));
      assert.ok(!JSON.stringify(row).includes(token.slice(6)), 'no plaintext in the row');
      assert.equal(row.prefix, token.slice(0, 14));
      const listed = await listTokens(db, ada);
      assert.ok(!JSON.stringify(listed).includes(row.token_hash), 'lists never carry the hash');
      assert.deepEqual(Object.keys(listed[0]!).sort(), ['createdAt', 'expiresAt', 'id', 'lastUsedAt', 'name', 'prefix', 'revokedAt', 'scopes', 'userId']);
    });

    test('creating and revoking are audited in the owner\'s organizations, without the token or its hash', async () => {
      const audit = { actor: { type: 'user' as const, id: ada, label: 'ada@acme.test' }, requestId: 'req-1' };
      const { token, summary } = await createToken(db, { userId: ada, name: 'audited', scopes: ['read'], audit });
      await revokeToken(db, { id: summary.id, userId: ada, audit });
      await revokeToken(db, { id: summary.id, userId: ada, audit });
      const events = await withOrg(db, orgId, (trx) =>
        trx.selectFrom('audit_events').selectAll().where('target_id', '=', summary.id).orderBy('seq').execute(),
      );
      assert.deepEqual(events.map((e) => [e.action, e.org_id, e.actor_id, e.request_id]), [
        ['token.created', orgId, ada, 'req-1'],
        ['token.revoked', orgId, ada, 'req-1'],
      ]);
      const hash = sha256(token);
      const stored = JSON.stringify(events);
      assert.ok(!stored.includes(token.slice(6, 30)) && !stored.includes(hash), 'no token, no hash');
    });

    test('verification gives the owner as actor, marked as a token with its scopes', async () => {
      const { token, summary } = await createToken(db, { userId: ada, name: 'ci', scopes: ['write'] });
      const actor = await verifyToken(db, token);
      assert.ok(actor);
      assert.equal(actor.userId, ada);
      assert.equal(actor.memberships.get(orgId), 'member');
      assert.deepEqual(actor.via, { kind: 'token', tokenId: summary.id, scopes: ['read', 'write'] });
    });

    test('a malformed token or one with a bad checksum never reaches the database and fails', async () => {
      const { token } = await createToken(db, { userId: ada, name: 'x', scopes: ['read'] });
      const last = token.at(-1) === 'A' ? 'B' : 'A';
      assert.equal(await verifyToken(db, token.slice(0, -1) + last), null);
      assert.equal(await verifyToken(db, PASSWORD), null);
    });

    test('default expiry is 30 days; an expired token fails; more than a year is refused', async () => {
      const now = Date.now();
      const { token, summary } = await createToken(db, { userId: ada, name: 'short', scopes: ['read'], now });
      assert.equal(summary.expiresAt.getTime() - summary.createdAt.getTime(), 30 * DAY);
      assert.ok(await verifyToken(db, token, now + 30 * DAY - 1000));
      assert.equal(await verifyToken(db, token, now + 30 * DAY), null);
      await assert.rejects(createToken(db, { userId: ada, name: 'long', scopes: ['read'], expiresInDays: 366 }), /365 days/);
    });

    test('last_used_at is written on use, at most once a minute', async () => {
      const now = Date.now();
      const { token, summary } = await createToken(db, { userId: ada, name: 'used', scopes: ['read'], now });
      const lastUsed = async () =>
        (await db.selectFrom('personal_access_tokens').select('last_used_at').where('id', '=', summary.id).executeTakeFirstOrThrow()).last_used_at;
      assert.equal(await lastUsed(), null);
      await verifyToken(db, token, now + 1000);
      assert.equal(new Date((await lastUsed())!).getTime(), now + 1000);
      await verifyToken(db, token, now + 30_000);
      assert.equal(new Date((await lastUsed())!).getTime(), now + 1000, 'not rewritten within a minute');
      await verifyToken(db, token, now + 61_000);
      assert.equal(new Date((await lastUsed())!).getTime(), now + 61_000);
    });

    test('revocation takes effect on the next request', async () => {
      const { token, summary } = await createToken(db, { userId: ada, name: 'revoke me', scopes: ['read'] });
      assert.equal((await whoami({ authorization: `Bearer ${token}` })).statusCode, 200);
      await revokeToken(db, { id: summary.id, userId: ada });
      const res = await whoami({ authorization: `Bearer ${token}` });
      assert.equal(res.statusCode, 401);
      assert.equal(res.headers['www-authenticate'], TOKEN_CHALLENGE);
    });

    test('another user cannot revoke your token: not found, and the token keeps working', async () => {
      const { token, summary } = await createToken(db, { userId: ada, name: 'mine', scopes: ['read'] });
      await assert.rejects(revokeToken(db, { id: summary.id, userId: bob }), NotFoundError);
      await assert.rejects(revokeToken(db, { id: 'not-a-uuid', userId: ada }), NotFoundError);
      assert.ok(await verifyToken(db, token));
    });

    test("a disabled user's tokens stop working at once, and work again when re-enabled", async () => {
      const carl = (await upsertAccount(db, { email: 'carl@acme.test', orgSlug: 'acme', role: 'member', password: PASSWORD })).user.id;
      const { token } = await createToken(db, { userId: carl, name: 'x', scopes: ['read'] });
      assert.ok(await verifyToken(db, token));
      await db.updateTable('users').set({ disabled_at: new Date() }).where('id', '=', carl).execute();
      assert.equal(await verifyToken(db, token), null);
      assert.equal((await whoami({ authorization: `Bearer ${token}` })).statusCode, 401);
    });

    test("a removed member's token no longer carries the role", async () => {
      const dora = (await upsertAccount(db, { email: 'dora@acme.test', orgSlug: 'acme', role: 'admin', password: PASSWORD })).user.id;
      const { token } = await createToken(db, { userId: dora, name: 'x', scopes: ['write'] });
      await withOrg(db, orgId, (trx) => trx.deleteFrom('memberships').where('user_id', '=', dora).execute());
      const actor = await verifyToken(db, token);
      assert.equal(actor?.memberships.size, 0);
      assert.equal(can(actor, 'read', { kind: 'document', orgId, classification: 'internal' }), false);
    });

    test('Bearer and Basic (any username, token as password) are accepted', async () => {
      const { token } = await createToken(db, { userId: ada, name: 'git', scopes: ['read'] });
      const bearer = await whoami({ authorization: `Bearer ${token}` });
      assert.equal(bearer.statusCode, 200);
      assert.deepEqual(bearer.json(), { email: 'ada@acme.test', scopes: ['read'] });
      assert.equal((await whoami(basic('x-token', token))).statusCode, 200);
      assert.equal((await whoami(basic('', token))).statusCode, 200);
    });

    test('Basic with the account password is refused: tokens only', async () => {
      const res = await whoami(basic('ada@acme.test', PASSWORD));
      assert.equal(res.statusCode, 401);
      assert.equal(res.headers['www-authenticate'], TOKEN_CHALLENGE);
    });

    test('a token in the query string is ignored', async () => {
      const { token } = await createToken(db, { userId: ada, name: 'url', scopes: ['read'] });
      for (const name of ['token', 'access_token', 'private_token']) {
        assert.equal((await whoami({}, `/whoami?${name}=${token}`)).statusCode, 401, name);
      }
    });

    test('no credentials, or an unknown scheme, is 401', async () => {
      const { token } = await createToken(db, { userId: ada, name: 'scheme', scopes: ['read'] });
      assert.equal((await whoami({})).statusCode, 401);
      assert.equal((await whoami({ authorization: `Token ${token}` })).statusCode, 401);
      assert.equal((await whoami({ authorization: 'Bearer' })).statusCode, 401);
    });

    test('a read-scope token cannot edit; a write-scope token edits only what its owner may', async () => {
      const doc = { kind: 'document' as const, orgId, classification: 'internal' as const };
      const read = await verifyToken(db, (await createToken(db, { userId: ada, name: 'r', scopes: ['read'] })).token);
      const write = await verifyToken(db, (await createToken(db, { userId: ada, name: 'w', scopes: ['write'] })).token);
      const viewerWrite = await verifyToken(db, (await createToken(db, { userId: viewer, name: 'vw', scopes: ['read', 'write'] })).token);
      assert.equal(can(read!, 'read', doc), true);
      assert.equal(can(read!, 'edit', doc), false);
      assert.equal(can(write!, 'edit', doc), true);
      assert.equal(can(viewerWrite!, 'read', doc), true);
      assert.equal(can(viewerWrite!, 'edit', doc), false, "a viewer's write token still cannot edit");
      assert.equal(can(write!, 'read', { ...doc, classification: 'confidential' }), false, 'nor read above the role');
    });
  });
}
