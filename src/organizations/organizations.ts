import type { Db } from '../db/connection.ts';
import type { Organization } from '../db/schema.ts';
import { InvalidInputError } from '../errors.ts';

export type { Organization };

const SLUG = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** Whether a string is a valid URL slug (organizations and projects share the rule). */
export function isSlug(slug: string): boolean {
  return SLUG.test(slug);
}

/**
 * First path segments the server answers itself: never an organization's slug, so `/{org}` (the trust center)
 * cannot shadow them, nor they an organization.
 */
const RESERVED_ORGANIZATION_SLUGS: ReadonlySet<string> = new Set(['api', 'healthz', 'readyz', 'metrics', 'login', 'logout', 'invite', 'password-reset']);

/** Whether a string can be an organization's slug: a slug, and not one of the server's own first segments. */
export function isOrganizationSlug(slug: string): boolean {
  return isSlug(slug) && !RESERVED_ORGANIZATION_SLUGS.has(slug);
}

/** Validate a URL slug (organizations and projects share the rule). */
export function assertSlug(slug: string, what: string): void {
  if (!isSlug(slug)) {
    throw new InvalidInputError(`${what} "${slug}" must be lowercase letters, digits and dashes (max 63).`);
  }
}

/** Find an organization by slug. */
export async function findOrganization(db: Db, slug: string): Promise<Organization | null> {
  return (await db.selectFrom('organizations').selectAll().where('slug', '=', slug).executeTakeFirst()) ?? null;
}

/** Return the organization with this slug, creating it (named `name`, or the slug) when missing. */
export async function ensureOrganization(db: Db, slug: string, name?: string): Promise<Organization> {
  assertSlug(slug, 'Organization slug');
  if (!isOrganizationSlug(slug)) throw new InvalidInputError(`Organization slug "${slug}" is a name the server uses for its own pages; choose another.`);
  await db
    .insertInto('organizations')
    .values({ slug, name: name ?? slug })
    .onConflict((oc) => oc.column('slug').doNothing())
    .execute();
  const org = await findOrganization(db, slug);
  if (!org) throw new Error(`organization ${slug} vanished after insert`);
  return org;
}

/** Whether any organization exists yet (first start imports the demo when none does). */
export async function anyOrganizationExists(db: Db): Promise<boolean> {
  return (await db.selectFrom('organizations').select('id').limit(1).executeTakeFirst()) !== undefined;
}

/** Slug and name of the organizations with these ids, by name (where a reader may create projects, for example). */
export async function organizationNames(db: Db, ids: readonly string[]): Promise<{ slug: string; name: string }[]> {
  if (ids.length === 0) return [];
  return db.selectFrom('organizations').select(['slug', 'name']).where('id', 'in', [...ids]).orderBy('name').execute();
}
