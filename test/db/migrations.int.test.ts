import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { Kysely, Migrator, sql } from 'kysely';
import { migrate } from '../../src/db/connection.ts';
import { migrationProvider } from '../../src/db/migrations/index.ts';
import { PGliteDialect } from '../../src/db/pglite-dialect.ts';
import type { Database } from '../../src/db/schema.ts';

describe('migrations', () => {
  it('apply a migration that landed after a higher-numbered one already ran (branches merged out of number order)', async () => {
    const pglite = new PGlite(undefined, { extensions: { pg_trgm } });
    const db = new Kysely<Database>({ dialect: new PGliteDialect({ pglite }) });
    try {
      const all = await migrationProvider.getMigrations();
      const names = Object.keys(all);
      // a database that followed a branch: every migration but one in the middle has run
      // one no later migration builds on
      const late = '029-api-rate-limits';
      assert.ok(names.includes(late) && names.indexOf(late) < names.length - 1, 'the late migration is not the last one');
      const early = new Migrator({
        db,
        provider: { getMigrations: async () => Object.fromEntries(Object.entries(all).filter(([name]) => name !== late)) },
        migrationTableName: 'docucommit_migrations',
      });
      const first = await early.migrateToLatest();
      assert.equal(first.error, undefined);
      const before = await sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_tables WHERE tablename = 'api_rate_limits'`.execute(db);
      assert.equal(before.rows[0]!.n, 0);

      await migrate(db);

      const after = await sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_tables WHERE tablename = 'api_rate_limits'`.execute(db);
      assert.equal(after.rows[0]!.n, 1, 'the late migration ran');
      const ran = await sql<{ name: string }>`SELECT name FROM docucommit_migrations ORDER BY name`.execute(db);
      assert.deepEqual(ran.rows.map((row) => row.name), [...names].sort());
    } finally {
      await db.destroy();
    }
  });

  it('044 gives change requests opened before it their timeline steps from the audit events already recorded', async () => {
    const pglite = new PGlite(undefined, { extensions: { pg_trgm } });
    const db = new Kysely<Database>({ dialect: new PGliteDialect({ pglite }) });
    try {
      const all = await migrationProvider.getMigrations();
      const before = new Migrator({
        db,
        provider: { getMigrations: async () => Object.fromEntries(Object.entries(all).filter(([name]) => name < '044')) },
        migrationTableName: 'docucommit_migrations',
      });
      assert.equal((await before.migrateToLatest()).error, undefined);
      const org = (await sql<{ id: string }>`INSERT INTO organizations (slug, name) VALUES ('acme', 'Acme') RETURNING id`.execute(db)).rows[0]!.id;
      const ann = (await sql<{ id: string }>`INSERT INTO users (email, name) VALUES ('ann@acme.test', 'Ann') RETURNING id`.execute(db)).rows[0]!.id;
      const project = (await sql<{ id: string }>`INSERT INTO projects (org_id, slug, name, repo_dir) VALUES (${org}, 'handbook', 'Handbook', 'r1') RETURNING id`.execute(db)).rows[0]!.id;
      const request = async (number: number) =>
        (await sql<{ id: string }>`INSERT INTO change_requests (org_id, project_id, number, title, author_id, branch, head_commit)
          VALUES (${org}, ${project}, ${number}, 'T', ${ann}, ${`b${number}`}, ${'a'.repeat(40)}) RETURNING id`.execute(db)).rows[0]!.id;
      const first = await request(1);
      const second = await request(2);
      const [c1, c2, c3, c4] = ['1', '2', '3', '4'].map((d) => d.repeat(40));
      let seq = 0;
      const event = async (number: number, action: string, details: object, actor: { type: string; id: string | null; label: string } = { type: 'user', id: ann, label: 'ann@acme.test' }, outcome = 'success') => {
        seq += 1;
        await sql`INSERT INTO audit_events (org_id, seq, occurred_at, actor_type, actor_id, actor_label, action, target_type, target_id, outcome, details, prev_hash, hash)
          VALUES (${org}, ${seq}, ${new Date(Date.UTC(2026, 0, 1, 0, seq))}, ${actor.type}, ${actor.id}, ${actor.label}, ${action}, 'change_request', ${`${project}#${number}`},
            ${outcome}, ${JSON.stringify(details)}::jsonb, ${'0'.repeat(64)}, ${'f'.repeat(64)})`.execute(db);
      };
      await event(1, 'change_request.opened', { branch: 'b1', head: c1 });
      await event(1, 'change_request.approved', { commit: c1 });
      await event(1, 'change_request.updated', { old: c1, head: c2, move: '7' }, { type: 'token', id: 'tok', label: 'ann@acme.test' });
      await event(1, 'change_request.conflicts_resolved', { commit: c3, main: c4, documents: 1 });
      await event(1, 'change_request.updated', { old: c2, head: c3 });
      await event(1, 'change_request.closed', {});
      await event(1, 'change_request.reopened', {}, { type: 'user', id: ann, label: 'ann@acme.test' }, 'denied');
      await event(1, 'change_request.reopened', {});
      await event(1, 'change_request.merged', { commit: c4, head: c3, approvals: 1 }, { type: 'system', id: null, label: 'recovery' });
      // a merge replayed by crash recovery used to be recorded twice
      await event(1, 'change_request.merged', { commit: c4, head: c3, by: 'merge' }, { type: 'system', id: null, label: 'recovery' });
      // a person whose account is gone, and an actor id that is not one
      await event(2, 'change_request.closed', {}, { type: 'user', id: '0e0e0e0e-0e0e-4e0e-8e0e-0e0e0e0e0e0e', label: 'gone@acme.test' });
      await event(2, 'change_request.reopened', {}, { type: 'user', id: 'not-a-uuid', label: 'odd@acme.test' });
      await event(2, 'change_request.closed', {});

      await migrate(db);

      const steps = await sql<{ change_request_id: string; kind: string; actor_id: string | null; actor_label: string; from_commit: string | null; to_commit: string | null }>`
        SELECT change_request_id, kind, actor_id, actor_label, from_commit, to_commit FROM change_request_steps ORDER BY id`.execute(db);
      assert.deepEqual(
        steps.rows.map((r) => [r.change_request_id === first ? 1 : r.change_request_id === second ? 2 : 0, r.kind, r.actor_id === ann ? 'ann' : r.actor_id, r.actor_label, r.from_commit, r.to_commit]),
        [
          // a push names its pusher by a token and their email: the person
          [1, 'updated', 'ann', '', c1, c2],
          // recorded twice (resolved, and updated to the same commit): one step
          [1, 'conflicts_resolved', 'ann', '', null, c3],
          [1, 'closed', 'ann', '', null, null],
          // a refused attempt is not a step
          [1, 'reopened', 'ann', '', null, null],
          [1, 'merged', null, 'recovery', null, c4],
          [2, 'closed', null, '', null, null],
          [2, 'reopened', null, '', null, null],
          [2, 'closed', 'ann', '', null, null],
        ],
      );
    } finally {
      await db.destroy();
    }
  });
});
