import type { Kysely } from 'kysely';
import { runStatements } from './run-statements.ts';

/**
 * Rendered HTML moves out of the database into pack files (projects/html-packs.ts): render workers write them
 * directly, and a full import no longer pushes ~70 MB of HTML through SQL. Each row keeps the document's
 * metadata and now says where its HTML is. Rows written before have no location: their HTML is rendered again
 * from git the first time a page is read.
 *
 * The metadata becomes `json` (checked, stored as written) rather than `jsonb`: it is only ever read whole, and
 * building jsonb was a third of the cost of storing a row on embedded PGlite.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, [
    `ALTER TABLE rendered_documents DROP COLUMN IF EXISTS html`,
    `ALTER TABLE rendered_documents ADD COLUMN html_pack text, ADD COLUMN html_offset integer, ADD COLUMN html_length integer`,
    `ALTER TABLE rendered_documents ALTER COLUMN meta TYPE json USING meta::json`,
  ]);
}
