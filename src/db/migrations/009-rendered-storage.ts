import type { Kysely } from 'kysely';
import { runStatements } from './run-statements.ts';

/**
 * Cheaper writes of rendered documents (a full import stores one row per document, ~7 KB of HTML each):
 * - the `text` column (plain text "for search") was written for every document and never read: dropped;
 * - `html` is stored out of line without pglz compression (STORAGE EXTERNAL). Compressing every row roughly
 *   doubled the cost of an insert on embedded PGlite (WebAssembly), for a few MB of disk; it also makes
 *   reading a page's HTML a plain copy.
 * Rows written before keep their compressed values (both are read the same way).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, [
    `ALTER TABLE rendered_documents DROP COLUMN IF EXISTS text`,
    `ALTER TABLE rendered_documents ALTER COLUMN html SET STORAGE EXTERNAL`,
  ]);
}
