import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { KyselyPlugin, PluginTransformQueryArgs, PluginTransformResultArgs, QueryResult, RootOperationNode, UnknownRow } from 'kysely';
import { upsertAccount } from '../../src/auth/accounts.ts';
import { SessionStore } from '../../src/auth/sessions.ts';
import type { Db } from '../../src/db/connection.ts';
import { ensureOrganization } from '../../src/organizations/organizations.ts';
import { ProjectCatalog } from '../../src/projects/catalog.ts';
import { ensureProject } from '../../src/projects/projects.ts';
import { databaseTargets } from '../helpers/databases.ts';
import { createTestApp, type TestApp } from '../helpers/test-app.ts';

/** Counts the selects from each table that go to the database. */
class SelectCounter implements KyselyPlugin {
  readonly counts = new Map<string, number>();
  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    const node = args.node as { kind: string; from?: { froms: { kind: string; table?: { identifier?: { name?: string } } }[] } };
    const table = node.kind === 'SelectQueryNode' ? node.from?.froms[0]?.table?.identifier?.name : undefined;
    if (table) this.counts.set(table, (this.counts.get(table) ?? 0) + 1);
    return args.node;
  }
  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result;
  }
  of(table: string): number {
    return this.counts.get(table) ?? 0;
  }
}

/**
 * The values every request asks for and keeps in memory a few seconds: when they expire under load, the requests of
 * that moment share one read (each used to queue its own on the database: on PGlite, one after another behind the
 * audit log's writes, up to seconds for the last).
 */
for (const target of databaseTargets()) {
  describe(`reads shared by concurrent requests (${target.name})`, () => {
    let db: Db;
    let dispose: () => Promise<void>;
    let userId: string;

    before(async () => {
      ({ db, dispose } = await target.open());
      const org = await ensureOrganization(db, 'acme');
      await ensureProject(db, { orgId: org.id, slug: 'handbook' });
      userId = (await upsertAccount(db, { email: 'reader@acme.test', orgSlug: 'acme', role: 'member', password: 'a long enough passphrase' })).user.id;
    });
    after(() => dispose());

    test('sessions: the requests that find a session expired in memory share one load', async () => {
      let clock = 1_000_000;
      const counter = new SelectCounter();
      const sessions = new SessionStore(db.withPlugin(counter), () => clock);
      const { id } = await sessions.create(userId);
      clock += 6_000; // past the 5 s a session is trusted from memory
      const before = counter.of('sessions');
      const found = await Promise.all(Array.from({ length: 32 }, () => sessions.lookup(id)));
      assert.ok(found.every((s) => s?.actor.userId === userId));
      assert.equal(counter.of('sessions') - before, 1, 'one read of the session for 32 requests');
      await Promise.all(Array.from({ length: 8 }, () => sessions.lookup(id)));
      assert.equal(counter.of('sessions') - before, 1, 'then remembered');
    });

    test('sessions: a request after a session ends never joins a load begun before', async () => {
      const sessions = new SessionStore(db);
      const { id } = await sessions.create(userId);
      sessions.dropAll();
      const begun = sessions.lookup(id); // a load in flight, begun while the session still existed
      await sessions.destroy(id);
      assert.equal(await sessions.lookup(id), null, 'the ended session is refused');
      await begun;
      assert.equal(await sessions.lookup(id), null, 'and stays refused once the earlier load finished');
    });

    test('projects: concurrent look-ups share one; an expired one answers at once while one refresh runs', async () => {
      const counter = new SelectCounter();
      const catalog = new ProjectCatalog(db.withPlugin(counter));
      const found = await Promise.all(Array.from({ length: 32 }, () => catalog.find('acme', 'handbook')));
      assert.ok(found.every((p) => p?.slug === 'handbook'));
      assert.equal(counter.of('organizations'), 1, 'one look-up for 32 requests');

      const realNow = Date.now;
      try {
        Date.now = () => realNow() + 15_000; // past the 10 s a project is trusted, within the time it may answer stale
        const during = await Promise.all(Array.from({ length: 32 }, () => catalog.find('acme', 'handbook')));
        assert.ok(during.every((p) => p === found[0]), 'the remembered project, without waiting for the database');
        // let the refresh finish
        await new Promise((resolve) => setTimeout(resolve, 200));
        assert.equal(counter.of('organizations'), 2, 'one refresh');
        Date.now = () => realNow() + 15_000 + 120_000; // too old to answer while refreshing: waits for the read
        const later = await catalog.find('acme', 'handbook');
        assert.equal(later?.slug, 'handbook');
        assert.equal(counter.of('organizations'), 3);
      } finally {
        Date.now = realNow;
      }
      assert.equal(await catalog.find('acme', 'no-such-project'), null, 'an unknown project is still missing');
    });
  });
}

for (const target of databaseTargets()) {
  describe(`page renders shared by concurrent requests (${target.name})`, () => {
    let t: TestApp;
    let dispose: () => Promise<void>;
    before(async () => {
      const opened = await target.open();
      dispose = opened.dispose;
      t = await createTestApp(opened.db);
    });
    after(async () => {
      await t.close();
      await dispose();
    });

    test('requests for a page nobody asked for yet share one render (one read of its HTML)', async () => {
      const publisher = t.context.publisher;
      const load = publisher.loadHtml.bind(publisher);
      let loads = 0;
      // inject() opens no socket: hold the event loop as a listening server does (the render threads are unref'd)
      const keepAlive = setInterval(() => {}, 1000);
      publisher.loadHtml = async (project, doc) => {
        loads++;
        await new Promise((resolve) => setTimeout(resolve, 50)); // a busy database
        return load(project, doc);
      };
      try {
        const responses = await Promise.all(Array.from({ length: 16 }, () => t.app.inject({ method: 'GET', url: '/acme/handbook/security' })));
        assert.deepEqual(new Set(responses.map((r) => r.statusCode)), new Set([200]));
        assert.equal(new Set(responses.map((r) => r.body)).size, 1, 'the same page for all');
        assert.equal(loads, 1, `16 requests read the HTML ${loads} times`);
        await t.app.inject({ method: 'GET', url: '/acme/handbook/security' });
        assert.equal(loads, 1, 'then served from the page cache');
      } finally {
        publisher.loadHtml = load;
        clearInterval(keepAlive);
      }
    });
  });
}
