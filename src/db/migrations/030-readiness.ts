import type { Kysely } from 'kysely';
import { APP_ROLE } from './006-row-level-security.ts';
import { runStatements } from './run-statements.ts';

/**
 * `/readyz` asks whether the database holds every migration the running code knows (a process of an older
 * version may run next to a newer one during an upgrade; one whose migrations are missing is not ready). The
 * application role may read the names of the applied migrations, nothing more.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, [`GRANT SELECT ON docucommit_migrations TO ${APP_ROLE}`]);
}
