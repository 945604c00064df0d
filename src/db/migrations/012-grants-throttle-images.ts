import type { Kysely } from 'kysely';
import { runStatements } from './run-statements.ts';

/**
 * Three hardening columns (issue #10):
 * - an access grant remembers the classification it was approved for; a stricter one ends it (grants.ts).
 *   Grants made before this knew only "confidential or restricted": they count as confidential.
 * - a throttled attempt is reserved before its password or code is checked (throttle.ts): a row is `pending`
 *   while the check runs and counts like a failure, so parallel attempts cannot all pass one check.
 * - an organization may allow images from further https hosts on its pages (Content-Security-Policy img-src).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, [
    `ALTER TABLE access_grants ADD COLUMN classification text NOT NULL DEFAULT 'confidential'
    CHECK (classification IN ('confidential', 'restricted'))`,
    `ALTER TABLE access_grants ALTER COLUMN classification DROP DEFAULT`,
    `ALTER TABLE auth_failures ADD COLUMN id uuid NOT NULL DEFAULT gen_random_uuid()`,
    `ALTER TABLE auth_failures ADD COLUMN pending boolean NOT NULL DEFAULT false`,
    `ALTER TABLE organizations ADD COLUMN image_hosts text[] NOT NULL DEFAULT '{}'
    CHECK (cardinality(image_hosts) <= 20)`,
  ]);
}
