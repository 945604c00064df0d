import { sql, type Kysely } from 'kysely';

/** Run DDL statements one by one (drivers prepare statements, which may hold only one command). */
export async function runStatements(db: Kysely<unknown>, statements: string[]): Promise<void> {
  for (const statement of statements) await sql.raw(statement).execute(db);
}
