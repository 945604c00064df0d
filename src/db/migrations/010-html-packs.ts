import type { Kysely } from 'kysely';
import { runStatements } from './run-statements.ts';

/**
 * Rendered HTML moves out of the database into pack files (projects/html-packs.ts): render workers write them
 * directly, and a full import no longer pushes ~70 MB of HTML through SQL. Each row keeps the document's
 * metadata and now says where its HTML is. Rows written before have no location: their HTML is rendered again
 * from git the first time a page is read.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, [
    `ALTER TABLE rendered_documents DROP COLUMN IF EXISTS html`,
    `ALTER TABLE rendered_documents ADD COLUMN html_pack text, ADD COLUMN html_offset integer, ADD COLUMN html_length integer`,
  ]);
}
