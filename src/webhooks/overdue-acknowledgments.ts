import { sql } from 'kysely';
import { withOrg, type Db } from '../db/connection.ts';
import { enqueueWebhookEvent, organizationsWanting } from './outbox.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
/** Versions whose due date passed longer ago than this are not announced (a new endpoint is not flooded with history). */
const LOOKBACK_MS = 7 * DAY_MS;

/**
 * `acknowledgment.overdue`: nothing happens at the moment a due date passes, so this scan (run every few minutes
 * by the dispatcher's loop) finds each document version that must be acknowledged and whose due date (its
 * publication plus the organization's days) has passed, and enqueues one event per version, keyed
 * `ack-overdue:<version>` so every later scan, in any process, adds nothing. Only organizations with an endpoint
 * for the event are read. The payload names the document (path, commit, blob, classification; the title only
 * when public) and the due date; who is late is read through the product (acknowledgment status), not sent.
 * Returns how many deliveries were enqueued.
 */
export async function enqueueOverdueAcknowledgments(db: Db, now: number): Promise<number> {
  let enqueued = 0;
  for (const orgId of await organizationsWanting(db, 'acknowledgment.overdue')) {
    const due = await withOrg(db, orgId, (trx) =>
      trx
        .selectFrom('ack_documents as d')
        .innerJoin('ack_versions as v', 'v.id', 'd.required_version')
        .innerJoin('projects as p', 'p.id', 'd.project_id')
        .innerJoin('organizations as o', 'o.id', 'd.org_id')
        .select(['d.path', 'd.title', 'd.classification', 'v.id as version_id', 'v.commit_id', 'v.blob_id', 'v.published_at', 'o.ack_due_days', 'p.id as project_id', 'p.slug as project_slug'])
        .where('d.org_id', '=', orgId)
        .where('d.active', '=', true)
        .where(sql<boolean>`v.published_at + make_interval(days => o.ack_due_days) <= ${new Date(now).toISOString()}::timestamptz`)
        .where(sql<boolean>`v.published_at + make_interval(days => o.ack_due_days) > ${new Date(now - LOOKBACK_MS).toISOString()}::timestamptz`)
        .execute(),
    );
    for (const row of due) {
      const dueAt = new Date(new Date(row.published_at).getTime() + row.ack_due_days * DAY_MS);
      enqueued += await enqueueWebhookEvent(db, {
        orgId,
        type: 'acknowledgment.overdue',
        actor: null,
        sourceKey: `ack-overdue:${row.version_id}`,
        at: new Date(now),
        data: {
          project: { id: row.project_id, slug: row.project_slug },
          document: {
            path: row.path,
            commit: row.commit_id,
            blob: row.blob_id,
            classification: row.classification,
            ...(row.classification === 'public' ? { title: row.title } : {}),
          },
          published_at: new Date(row.published_at).toISOString(),
          due_at: dueAt.toISOString(),
        },
      });
    }
  }
  return enqueued;
}
