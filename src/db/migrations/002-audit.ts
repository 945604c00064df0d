import type { Kysely } from 'kysely';
import { runStatements } from './run-statements.ts';

/**
 * The tamper-evident audit log (DESIGN.md "audit/"): one append-only table of hash-chained events.
 *
 * Chains: every organization has its own chain (seq 1, 2, ...). Events that belong to no organization (a failed
 * sign-in for an unknown email) have org_id NULL and form one more chain, the "system" chain. NULLs are
 * distinct in a UNIQUE constraint, so that chain gets its own partial unique index on seq; both indexes also
 * serve "the last event of this chain" and newest-first paging.
 *
 * No foreign key to organizations: the record of what happened must outlive the organization (a cascade would
 * be refused by the trigger anyway, and a restricting key would make organizations undeletable).
 *
 * Immutability: a trigger refuses UPDATE, DELETE and TRUNCATE for every role, the application's included (a
 * superuser can still disable it; that is what `audit verify` is for). Privileges are only revoked from PUBLIC
 * here: the non-superuser application role added later gets SELECT and INSERT only, by grant, not ownership.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, [
    `CREATE TABLE audit_events (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id uuid,
    seq bigint NOT NULL CHECK (seq >= 1),
    occurred_at timestamptz NOT NULL,
    actor_type text NOT NULL CHECK (actor_type IN ('user', 'token', 'system', 'anonymous')),
    actor_id text,
    actor_label text,
    action text NOT NULL CHECK (action ~ '^[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)+$'),
    target_type text,
    target_id text,
    target_label text,
    reason text,
    outcome text NOT NULL CHECK (outcome IN ('success', 'failure', 'denied')),
    request_id text,
    ip text,
    details jsonb,
    prev_hash text NOT NULL CHECK (prev_hash ~ '^[0-9a-f]{64}$'),
    hash text NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$'),
    UNIQUE (org_id, seq)
    )`,
    `CREATE UNIQUE INDEX audit_events_system_chain ON audit_events (seq) WHERE org_id IS NULL`,
    `CREATE INDEX audit_events_org_time ON audit_events (org_id, occurred_at)`,
    `CREATE FUNCTION audit_events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
    END
    $$`,
    `CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_refuse_change()`,
    `CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_refuse_change()`,
    `REVOKE UPDATE, DELETE, TRUNCATE ON audit_events FROM PUBLIC`,
  ]);
}
