import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Actor, UserActor } from '../../src/access/actor.ts';
import { insertGrant, liveGrantKeys, type GrantClassification } from '../../src/access/grants.ts';
import { can, grantKey } from '../../src/access/policy.ts';
import { ROLES } from '../../src/access/roles.ts';
import { createAppContext, type AppContext } from '../../src/app-context.ts';
import { upsertAccount } from '../../src/auth/accounts.ts';
import type { Classification } from '../../src/content/types.ts';
import { sql } from 'kysely';
import { withOrg, type Db } from '../../src/db/connection.ts';
import type { Role } from '../../src/db/schema.ts';
import { importFolder } from '../../src/projects/import-folder.ts';
import type { ProjectRecord } from '../../src/projects/projects.ts';
import { MATCH_END, MATCH_START } from '../../src/search/document-text.ts';
import { SearchService, type SearchResults } from '../../src/search/search-query.ts';
import { databaseTargets } from '../helpers/databases.ts';
import { testConfig } from '../helpers/test-app.ts';

const HOUR = 60 * 60 * 1000;
const author = { name: 'Search Test', email: 'search@acme.test' };

/** One document per classification, all about zebrafish; the restricted one alone carries a telling tag. */
const ACME_FILES: Record<string, string> = {
  'open/public.md': doc('Zebrafish public notes', 'public', ['fish'], 'Zebrafish tanks are cleaned weekly.'),
  'open/internal.md': doc('Zebrafish internal guide', 'internal', ['fish'], 'Zebrafish feeding schedule for the team.'),
  'closed/confidential.md': doc('Zebrafish confidential budget', 'confidential', ['fish', 'money'], 'Zebrafish budget numbers CONFIDENTIAL-BODY.'),
  'closed/restricted.md': doc('Zebrafish SECRET-TITLE layoffs', 'restricted', ['fish', 'layoff-plan'], 'Zebrafish RESTRICTED-BODY plans.'),
  'notes/xss.md': [
    '---',
    'title: Markup in text',
    'classification: internal',
    '---',
    '',
    'The string `<script>alert(1)</script>` near zebrafish must stay text, and so must \uE001fake\uE002 markers.',
    '',
  ].join('\n'),
};

function doc(title: string, classification: Classification, tags: string[], body: string): string {
  return `---\ntitle: ${title}\nclassification: ${classification}\ntags: [${tags.join(', ')}]\n---\n\n${body}\n\n## Aquarium care\n\nMore words.\n`;
}

function writeFolder(root: string, files: Record<string, string>): void {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
}

for (const target of databaseTargets()) {
  describe(`search on ${target.name}`, () => {
    let db: Db;
    let dispose: () => Promise<void>;
    let dir: string;
    let context: AppContext;
    let acme: ProjectRecord;
    let globex: ProjectRecord;
    let memberId: string;
    let clock = Date.now();
    let service: SearchService;

    before(async () => {
      ({ db, dispose } = await target.open());
      dir = mkdtempSync(join(tmpdir(), 'docucommit-search-'));
      context = await createAppContext(testConfig(dir), db);
      service = new SearchService(db, context.searchIndex, () => clock);
      memberId = (await upsertAccount(db, { email: 'member@acme.test', orgSlug: 'acme', role: 'member', password: 'correct horse battery staple' })).user.id;
      writeFolder(join(dir, 'acme'), ACME_FILES);
      writeFolder(join(dir, 'globex'), { 'other.md': doc('Zebrafish at Globex GLOBEX-TITLE', 'public', ['fish'], 'Zebrafish elsewhere.') });
      ({ project: acme } = await importFolder(context, { folder: join(dir, 'acme'), orgSlug: 'acme', projectSlug: 'handbook', author }));
      ({ project: globex } = await importFolder(context, { folder: join(dir, 'globex'), orgSlug: 'globex', projectSlug: 'wiki', author }));
      // the imports' listeners (the index among them) run in the background: the tests below read the index's
      // tables directly, so they wait for them
      await context.branchMoves.idle();
    });
    after(async () => {
      await context.repositories.closeAll();
      await dispose();
      rmSync(dir, { recursive: true, force: true });
    });

    const user = (role: Role | null, orgId = acme.orgId): UserActor => ({
      kind: 'user',
      userId: memberId,
      email: 'member@acme.test',
      name: 'Member',
      memberships: new Map(role ? [[orgId, role]] : []),
    });
    const search = (actor: Actor, query: string, extra: { tag?: string; projects?: ProjectRecord[] } = {}) =>
      service.search({ actor, projects: extra.projects ?? [acme], query, tag: extra.tag ?? null });
    const paths = (results: SearchResults) => results.hits.map((h) => h.path).sort();
    const everything = (results: SearchResults) => JSON.stringify(results);

    /** What the policy lets `actor` read among the zebrafish documents, given live grant keys. */
    const readableByPolicy = (actor: Actor, grants: ReadonlySet<string> = new Set()) =>
      Object.entries(ACME_FILES)
        .map(([path, content]) => ({ path, classification: /classification: (\w+)/.exec(content)![1] as Classification }))
        .filter((d) => can(actor, 'read', { kind: 'document', orgId: acme.orgId, classification: d.classification, projectId: acme.id, path: d.path, grants }))
        .map((d) => d.path)
        .sort();

    test('a query reads a bounded number of matches: the permission and the tag filter apply before the bound, counts past it are lower bounds', async () => {
      const bounded = (cap: number) => new SearchService(db, context.searchIndex, () => clock, undefined, cap);
      const member = user('member');
      const all = await search(member, 'zebrafish');
      assert.equal(all.atLeast, false, 'under the bound: exact');
      assert.equal(all.countsAtLeast, false);
      // bound 2 of the member's 3 readable matches: "2+", and still nothing hidden
      const two = await bounded(2).search({ actor: member, projects: [acme], query: 'zebrafish' });
      assert.equal(two.total, 2);
      assert.equal(two.atLeast, true);
      assert.equal(two.countsAtLeast, true);
      assert.ok(two.hits.length >= 1 && two.hits.every((h) => readableByPolicy(member).includes(h.path)), JSON.stringify(paths(two)));
      assert.doesNotMatch(everything(two), /SECRET-TITLE|RESTRICTED-BODY|CONFIDENTIAL-BODY|layoff-plan|money/);
      // bound 1: hidden matches come first in the index, yet the reader's one readable match is what is read
      const anonymous = await bounded(1).search({ actor: { kind: 'anonymous' }, projects: [acme], query: 'zebrafish' });
      assert.deepEqual(paths(anonymous), ['open/public.md']);
      assert.equal(anonymous.total, 1);
      // the tag filter too: the one internal document tagged fish, not the first match, which has no such tag
      const tagged = await bounded(1).search({ actor: member, projects: [acme], query: 'zebrafish', tag: 'fish' });
      assert.equal(tagged.total, 1);
      assert.ok(['open/public.md', 'open/internal.md'].includes(paths(tagged)[0]!), JSON.stringify(paths(tagged)));
    });

    test('every role sees exactly the documents the policy lets it read: hits, total, tags and titles', async () => {
      const actors: [string, Actor][] = [
        ['anonymous', { kind: 'anonymous' }],
        ['a member of another organization', user('owner', globex.orgId)],
        ...ROLES.map((role): [string, Actor] => [role, user(role)]),
      ];
      for (const [name, actor] of actors) {
        const results = await search(actor, 'zebrafish');
        const expected = readableByPolicy(actor);
        assert.deepEqual(paths(results), expected, name);
        assert.equal(results.total, expected.length, `${name}: the count`);
        assert.equal(results.projectCounts.reduce((n, p) => n + p.count, 0), expected.length, `${name}: the project count`);
        const text = everything(results);
        if (!expected.includes('closed/restricted.md')) {
          assert.doesNotMatch(text, /SECRET-TITLE|RESTRICTED-BODY|layoff-plan/, `${name}: nothing of the restricted document`);
        }
        if (!expected.includes('closed/confidential.md')) {
          assert.doesNotMatch(text, /CONFIDENTIAL-BODY|money/, `${name}: nothing of the confidential document`);
        }
        // searching for the hidden document's own words finds nothing at all, not even similar titles
        const probe = await search(actor, 'SECRET-TITLE layoffs');
        if (!expected.includes('closed/restricted.md')) assert.equal(probe.total, 0, `${name}: the restricted title`);
      }
    });

    test('the index is a tenant table: another organization’s scope sees none of its rows, nor matches through search_matches, search_hits or search_similar_titles', async () => {
      const ids = [acme.id, globex.id];
      const seen = async (orgId: string) =>
        withOrg(db, orgId, async (trx) => ({
          rows: (await trx.selectFrom('search_documents').select('project_id').execute()).map((r) => r.project_id),
          matched: (await sql<{ project_id: string }>`SELECT project_id FROM search_matches(to_tsquery('english', 'zebrafish'), ${ids}::uuid[])`.execute(trx)).rows.map((r) => r.project_id),
          hits: (await sql<{ project_id: string }>`SELECT project_id FROM search_hits(to_tsquery('english', 'zebrafish'), ${ids}::uuid[])`.execute(trx)).rows.map((r) => r.project_id),
          similar: (await sql<{ project_id: string }>`SELECT project_id FROM search_similar_titles('zebrafsh', ${ids}::uuid[])`.execute(trx)).rows.map((r) => r.project_id),
          state: (await trx.selectFrom('search_index_state').select('project_id').execute()).map((r) => r.project_id),
        }));
      const fromGlobex = await seen(globex.orgId);
      assert.ok(fromGlobex.rows.length > 0);
      assert.ok(fromGlobex.hits.length > 0 && fromGlobex.similar.length > 0, JSON.stringify(fromGlobex));
      for (const list of Object.values(fromGlobex)) assert.ok(list.every((id) => id === globex.id), JSON.stringify(fromGlobex));
      const fromAcme = await seen(acme.orgId);
      for (const list of Object.values(fromAcme)) assert.ok(list.every((id) => id === acme.id));
      // no organization in scope: nothing at all
      const none = await db.transaction().execute(async (trx) => ({
        rows: (await trx.selectFrom('search_documents').select('path').execute()).length,
        matched: (await sql`SELECT * FROM search_matches(to_tsquery('english', 'zebrafish'), ${ids}::uuid[])`.execute(trx)).rows.length,
        hits: (await sql`SELECT * FROM search_hits(to_tsquery('english', 'zebrafish'), ${ids}::uuid[])`.execute(trx)).rows.length,
        similar: (await sql`SELECT * FROM search_similar_titles('zebrafsh', ${ids}::uuid[])`.execute(trx)).rows.length,
      }));
      assert.deepEqual(none, { rows: 0, matched: 0, hits: 0, similar: 0 });
    });

    test('the tag filter and tag counts only count readable documents', async () => {
      const member = await search(user('member'), 'zebrafish', { tag: 'layoff-plan' });
      assert.equal(member.total, 0);
      assert.deepEqual(member.hits, []);
      const admin = await search(user('admin'), 'zebrafish', { tag: 'layoff-plan' });
      assert.deepEqual(paths(admin), ['closed/restricted.md']);
      assert.ok(admin.tagCounts.some((t) => t.tag === 'layoff-plan' && t.count === 1));
      const fish = await search(user('manager'), 'zebrafish');
      assert.deepEqual(fish.tagCounts.find((t) => t.tag === 'fish'), { tag: 'fish', count: 3 });
    });

    test('another organization’s documents are never searched, even when its project is passed in', async () => {
      const results = await search(user('member'), 'zebrafish', { projects: [acme, globex] });
      assert.ok(results.hits.every((h) => h.project.id === acme.id || h.classification === 'public'));
      // globex's public page is readable by anyone, but a member of acme only gets what the policy says
      assert.deepEqual(paths(results).filter((p) => p === 'other.md'), ['other.md']);
      const outsider = await search(user('owner', globex.orgId), 'zebrafish', { projects: [acme] });
      assert.deepEqual(paths(outsider), ['open/public.md']);
    });

    describe('access grants', () => {
      const grant = async (path: string, classification: GrantClassification, grantedAt: number) =>
        withOrg(db, acme.orgId, async (trx) => {
          const request = await trx
            .insertInto('access_requests')
            .values({ org_id: acme.orgId, project_id: acme.id, path, requester_id: memberId, reason: 'test', status: 'approved', created_at: new Date(grantedAt), expires_at: new Date(grantedAt + 24 * HOUR) })
            .returning('id')
            .executeTakeFirstOrThrow();
          return insertGrant(trx, { orgId: acme.orgId, projectId: acme.id, path, userId: memberId, requestId: request.id, classification }, grantedAt);
        });

      test('a live grant opens its one document to a member; it closes when the grant expires', async () => {
        clock = Date.now();
        const expires = await grant('closed/confidential.md', 'confidential', clock);
        const grants = new Set([grantKey(acme.id, 'closed/confidential.md', 'confidential')]);
        const member = user('member');
        const live = await search(member, 'zebrafish');
        assert.deepEqual(paths(live), readableByPolicy(member, grants));
        assert.ok(paths(live).includes('closed/confidential.md'));
        assert.match(everything(live), /CONFIDENTIAL-BODY/);
        assert.doesNotMatch(everything(live), /RESTRICTED-BODY/);

        clock = expires.getTime() + 1000;
        const expired = await search(member, 'zebrafish');
        assert.deepEqual(paths(expired), readableByPolicy(member));
        assert.doesNotMatch(everything(expired), /CONFIDENTIAL-BODY|money/);
        clock = Date.now();
      });

      test('a confidential grant does not open a restricted document; a restricted grant does', async () => {
        clock = Date.now();
        await grant('closed/restricted.md', 'confidential', clock);
        assert.ok(!paths(await search(user('member'), 'zebrafish')).includes('closed/restricted.md'));
        await grant('closed/restricted.md', 'restricted', clock);
        assert.ok(paths(await search(user('member'), 'zebrafish')).includes('closed/restricted.md'));
      });

      test('a grant is worth nothing to someone who is no longer a member', async () => {
        const former = user(null);
        const results = await search(former, 'zebrafish');
        assert.deepEqual(paths(results), ['open/public.md']);
      });
    });

    test('the SQL filter agrees with the policy and the live grants, for every role, now and after expiry', async () => {
      // The grant tests above left the member live grants on both closed documents.
      for (const at of [Date.now(), Date.now() + 10 * 24 * HOUR]) {
        clock = at;
        const keys = await liveGrantKeys(db, { orgId: acme.orgId, projectId: acme.id, userId: memberId }, at);
        for (const role of [...ROLES, null]) {
          const actor = role ? user(role) : ({ kind: 'anonymous' } as const);
          const results = await search(actor, 'zebrafish');
          assert.deepEqual(paths(results), readableByPolicy(actor, actor.kind === 'user' ? keys : new Set()), `${role} at ${at}`);
        }
      }
      clock = Date.now();
    });

    test('websearch syntax, prefixes while typing, and typo tolerance for titles', async () => {
      const admin = user('admin');
      assert.deepEqual(paths(await search(admin, 'zebraf')), readableByPolicy(admin), 'prefix of the last word');
      assert.deepEqual(paths(await search(admin, 'zebrafish -budget -layoffs -markup')), ['open/internal.md', 'open/public.md']);
      assert.deepEqual(paths(await search(admin, '"feeding schedule"')), ['open/internal.md']);
      assert.deepEqual(paths(await search(admin, 'budget or tanks')), ['closed/confidential.md', 'open/public.md']);
      const typo = await search(admin, 'zebrafsh internl');
      assert.equal(typo.kind, 'similar-titles', JSON.stringify(typo));
      assert.ok(paths(typo).includes('open/internal.md'), JSON.stringify(paths(typo)));
      clock = Date.now() + 10 * 24 * HOUR; // past the grants of the tests above
      const hiddenTypo = await search(user('member'), 'zebrafsh confidentail budgett');
      assert.ok(!paths(hiddenTypo).includes('closed/confidential.md'));
      clock = Date.now();
      assert.equal((await search(admin, '   ')).kind, 'none');
      assert.equal((await search(admin, 'the')).total, 0, 'stop words alone find nothing');
    });

    test('a negated word keeps out documents that have it only in their body, under the bound and past it', async () => {
      // open/internal.md has "zebrafish" in its title (a title candidate) and "feeding" only in its body
      const admin = user('admin');
      const unbounded = await search(admin, 'zebrafish -feeding');
      assert.deepEqual(paths(unbounded), ['closed/confidential.md', 'closed/restricted.md', 'notes/xss.md', 'open/public.md']);
      for (const cap of [1, 2]) {
        const bounded = await new SearchService(db, context.searchIndex, () => clock, undefined, cap).search({ actor: admin, projects: [acme], query: 'zebrafish -feeding' });
        assert.ok(bounded.hits.length >= 1, `cap ${cap}`);
        assert.ok(!paths(bounded).includes('open/internal.md'), `cap ${cap}: ${JSON.stringify(paths(bounded))}`);
      }
    });

    test('snippets mark matches with data, never with markup from the document', async () => {
      const results = await search(user('member'), 'zebrafish markup');
      const hit = results.hits.find((h) => h.path === 'notes/xss.md');
      assert.ok(hit);
      const text = hit.snippet.map((s) => s.text).join('');
      assert.match(text, /<script>alert\(1\)<\/script>|alert\(1\)/, 'the code stays text');
      assert.ok(!text.includes(MATCH_START) && !text.includes(MATCH_END), 'no marker reaches a snippet');
      assert.ok(text.includes('fake'), 'the private-use markers of the source were dropped, their text kept');
      assert.deepEqual(
        hit.snippet.filter((s) => s.match).map((s) => s.text.toLowerCase()),
        ['zebrafish'],
      );
    });

    test('ranking puts title matches first', async () => {
      const results = await search(user('admin'), 'aquarium');
      assert.ok(results.total >= 4);
      const byTitle = await search(user('admin'), 'feeding');
      assert.equal(byTitle.hits[0]?.path, 'open/internal.md');
      const title = await search(user('admin'), 'guide');
      assert.equal(title.hits[0]?.path, 'open/internal.md');
    });
  });
}
