import type { Kysely } from 'kysely';
import { APP_ROLE } from './006-row-level-security.ts';
import { runStatements } from './run-statements.ts';

/**
 * The steps of a change request's timeline that are not reviews (issue #13: "a timeline"): a new head of its draft
 * (pushed, saved in the browser, or a merge of main resolving conflicts), merged, closed, reopened. Reviews and
 * comments keep their own table; the page interleaves both by time.
 *
 * Written in the transaction of the step itself, beside its audit event (changes/change-request-timeline.ts). The
 * audit log stays the evidence; this table is what the page reads (the audit log has no index by target, and
 * retention may prune it). Existing requests get their steps from the audit events already recorded.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, [
    `CREATE TABLE change_request_steps (
      id bigserial PRIMARY KEY,
      org_id uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
      change_request_id uuid NOT NULL REFERENCES change_requests(id) ON DELETE CASCADE,
      kind text NOT NULL CHECK (kind IN ('updated', 'conflicts_resolved', 'merged', 'closed', 'reopened')),
      actor_id uuid REFERENCES users(id) ON DELETE SET NULL,
      -- the system's name when not a person ('' for a person: their name is read from users and goes with the account)
      actor_label text NOT NULL DEFAULT '' CHECK (length(actor_label) <= 320),
      from_commit text CHECK (from_commit ~ '^[0-9a-f]{40,64}$'),
      to_commit text CHECK (to_commit ~ '^[0-9a-f]{40,64}$'),
      created_at timestamptz NOT NULL DEFAULT now()
    )`,
    `CREATE INDEX change_request_steps_request ON change_request_steps (change_request_id, id)`,
    `GRANT SELECT, INSERT ON change_request_steps TO ${APP_ROLE}`,
    `GRANT USAGE ON SEQUENCE change_request_steps_id_seq TO ${APP_ROLE}`,
    `ALTER TABLE change_request_steps ENABLE ROW LEVEL SECURITY`,
    `CREATE POLICY tenant_isolation ON change_request_steps USING (org_id = app_org_id()) WITH CHECK (org_id = app_org_id())`,
    // the steps of requests opened before this migration, from their audit events (target id "<project id>#<number>"):
    // a resolution of conflicts was recorded twice (resolved, and updated to the same commit) and is one step; a merge
    // replayed by crash recovery could be recorded twice and is one step; a person is named by their account (a push
    // names its pusher by a token and their email), a deleted one by nothing (the page says "a former member"), the
    // system by its label
    `WITH recorded AS (
      SELECT a.org_id, a.seq, a.occurred_at, a.action, a.actor_type, a.actor_label, a.target_id, a.details,
        CASE WHEN a.actor_type = 'user' AND a.actor_id ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
          THEN a.actor_id::uuid END AS actor_uuid,
        row_number() OVER (PARTITION BY a.org_id, a.target_id, a.action ORDER BY a.seq) AS nth
      FROM audit_events a
      WHERE a.target_type = 'change_request' AND a.outcome = 'success'
        AND a.action IN ('change_request.updated', 'change_request.conflicts_resolved', 'change_request.merged', 'change_request.closed', 'change_request.reopened')
    ), resolved AS (
      SELECT org_id, target_id, details->>'commit' AS commit FROM recorded WHERE action = 'change_request.conflicts_resolved'
    )
    INSERT INTO change_request_steps (org_id, change_request_id, kind, actor_id, actor_label, from_commit, to_commit, created_at)
    SELECT cr.org_id, cr.id, substring(a.action FROM length('change_request.') + 1), coalesce(person.id, pusher.id),
      CASE WHEN a.actor_type IN ('user', 'token') THEN '' ELSE left(coalesce(a.actor_label, ''), 320) END,
      CASE WHEN a.action = 'change_request.updated' AND a.details->>'old' ~ '^[0-9a-f]{40,64}$' THEN a.details->>'old' END,
      CASE
        WHEN a.action = 'change_request.updated' AND a.details->>'head' ~ '^[0-9a-f]{40,64}$' THEN a.details->>'head'
        WHEN a.action IN ('change_request.merged', 'change_request.conflicts_resolved') AND a.details->>'commit' ~ '^[0-9a-f]{40,64}$' THEN a.details->>'commit'
      END,
      a.occurred_at
    FROM recorded a
    JOIN change_requests cr ON cr.org_id = a.org_id AND a.target_id = cr.project_id::text || '#' || cr.number::text
    LEFT JOIN users person ON person.id = a.actor_uuid
    LEFT JOIN users pusher ON a.actor_type = 'token' AND pusher.email = a.actor_label
    LEFT JOIN resolved r ON a.action = 'change_request.updated' AND r.org_id = a.org_id AND r.target_id = a.target_id AND r.commit = a.details->>'head'
    WHERE r.commit IS NULL AND (a.action <> 'change_request.merged' OR a.nth = 1)
    ORDER BY a.org_id, a.seq`,
  ]);
}
