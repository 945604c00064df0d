/** Schemas shared by the REST API's operations. */
import { z } from 'zod';
import { CLASSIFICATIONS } from '../../content/types.ts';

/** The one error shape (error-handler.ts writes it). */
export const apiError = z.object({
  error: z.object({
    code: z.string().describe('Stable machine-readable code: invalid_input, invalid_cursor, not_authenticated, forbidden, not_found, conflict, too_many_requests, …'),
    status: z.number().int(),
    message: z.string(),
    requestId: z.string(),
  }),
});

export const orgSlug = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/);
export const projectSlug = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/);
export const orgParams = z.object({ org: orgSlug });
export const projectParams = z.object({ org: orgSlug, project: projectSlug });

/** A commit id, full or abbreviated (7 to 40 hex digits), of the published branch. */
export const commitId = z.string().regex(/^[0-9a-f]{7,40}$/);

export const cursor = z.string().min(1).max(1000).describe('The `nextCursor` of the previous page.');
export const limit = (fallback: number, max: number) =>
  z.coerce.number().int().min(1).max(max).default(fallback).describe(`Items per page (default ${fallback}, at most ${max}).`);

export const isoTime = z.string().describe('ISO 8601 time (UTC).');
export const classification = z.enum(CLASSIFICATIONS);
export const role = z.enum(['owner', 'admin', 'manager', 'member', 'viewer']);

/** A page of a list: the items and the cursor of the next page (null on the last one). */
export const listOf = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item), nextCursor: z.string().nullable() });

/** A document path in the repository (`policies/retention.md`; `.md` may be left out). */
export const documentPath = z.string().min(1).max(1000).describe('Path of the document in the repository, e.g. `policies/retention.md`.');
