import { sql } from 'kysely';
import type { Db } from '../../src/db/connection.ts';
import { asDatabaseOwner } from './databases.ts';

/**
 * Run `fn` while the database refuses to store audit events named `action` (a trigger that raises), to show
 * that a change and its audit event share one transaction: when the event cannot be written, the change is
 * not there either.
 */
export async function withAuditRefused<T>(db: Db, action: string, fn: () => Promise<T>): Promise<T> {
  if (!/^[a-z_.]+$/.test(action)) throw new Error('not an action name');
  await asDatabaseOwner(db, async (trx) => {
    await sql
      .raw(`CREATE OR REPLACE FUNCTION test_refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'audit refused by the test'; END $$`)
      .execute(trx);
    await sql
      .raw(`CREATE TRIGGER test_refuse_audit BEFORE INSERT ON audit_events FOR EACH ROW WHEN (NEW.action = '${action}') EXECUTE FUNCTION test_refuse_audit()`)
      .execute(trx);
  });
  try {
    return await fn();
  } finally {
    await asDatabaseOwner(db, (trx) => sql.raw('DROP TRIGGER IF EXISTS test_refuse_audit ON audit_events').execute(trx));
  }
}
