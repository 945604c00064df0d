import type { Kysely, Transaction } from 'kysely';
import type { Database } from './schema.ts';

/**
 * Run `fn` in a transaction: the caller's when `db` already is one (so a use case can make a service's writes
 * part of its own unit of work), else a new one. Kysely has no nested transactions, hence the check.
 */
export function inTransaction<T>(db: Kysely<Database>, fn: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
  if (db.isTransaction) return fn(db as Transaction<Database>);
  return db.transaction().execute(fn);
}
