import { sql } from 'kysely';
import type { Db } from '../../src/db/connection.ts';
import { asDatabaseOwner } from './databases.ts';

/** Make the database refuse audit events of `action` (null: accept all again), to see what rolls back with them. */
export async function refuseAuditEvents(db: Db, action: string | null): Promise<void> {
  const condition = action === null ? 'false' : `NEW.action = '${action.replace(/'/g, "''")}'`;
  await asDatabaseOwner(db, async (owner) => {
    await sql
      .raw(
        `CREATE OR REPLACE FUNCTION test_refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN IF ${condition} THEN RAISE EXCEPTION 'audit refused by the test'; END IF; RETURN NEW; END $$`,
      )
      .execute(owner);
    await sql.raw(`DROP TRIGGER IF EXISTS test_refuse_audit ON audit_events`).execute(owner);
    await sql.raw(`CREATE TRIGGER test_refuse_audit BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION test_refuse_audit()`).execute(owner);
  });
}

/** The account audit events of a user with this action (in every chain), newest last. */
export async function auditEvents(db: Db, action: string, userId: string) {
  return asDatabaseOwner(db, (owner) =>
    owner.selectFrom('audit_events').selectAll().where('action', '=', action).where('actor_id', '=', userId).orderBy('seq').execute(),
  );
}
