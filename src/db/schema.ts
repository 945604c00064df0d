import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

/** Column types of every table. Tenant tables carry `org_id`. */
export interface Database {
  organizations: OrganizationsTable;
  users: UsersTable;
  memberships: MembershipsTable;
  sessions: SessionsTable;
  projects: ProjectsTable;
  rendered_documents: RenderedDocumentsTable;
  snapshots: SnapshotsTable;
  audit_events: AuditEventsTable;
  user_mfa: UserMfaTable;
  recovery_codes: RecoveryCodesTable;
  auth_failures: AuthFailuresTable;
  invitations: InvitationsTable;
  access_requests: AccessRequestsTable;
  access_request_approvals: AccessRequestApprovalsTable;
  access_grants: AccessGrantsTable;
  personal_access_tokens: PersonalAccessTokensTable;
  api_rate_limits: ApiRateLimitsTable;
  password_resets: PasswordResetsTable;
  branch_moves: BranchMovesTable;
  branch_move_deliveries: BranchMoveDeliveriesTable;
  change_requests: ChangeRequestsTable;
  change_request_reviews: ChangeRequestReviewsTable;
  change_request_documents: ChangeRequestDocumentsTable;
  change_request_steps: ChangeRequestStepsTable;
  organization_review_settings: OrganizationReviewSettingsTable;
  search_documents: SearchDocumentsTable;
  search_index_state: SearchIndexStateTable;
  ack_versions: AckVersionsTable;
  ack_documents: AckDocumentsTable;
  acknowledgments: AcknowledgmentsTable;
  document_reviews: DocumentReviewsTable;
  sso_connections: SsoConnectionsTable;
  sso_identities: SsoIdentitiesTable;
  sso_sign_in_flows: SsoSignInFlowsTable;
  webhooks: WebhooksTable;
  webhook_deliveries: WebhookDeliveriesTable;
  webhook_attempts: WebhookAttemptsTable;
  email_outbox: EmailOutboxTable;
  email_feed_cursors: EmailFeedCursorsTable;
  email_feed_state: EmailFeedStateTable;
  email_rate_limits: EmailRateLimitsTable;
}

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;

export interface OrganizationsTable {
  id: Generated<string>;
  slug: string;
  name: string;
  created_at: Timestamp;
  /** Who must use MFA in this organization. */
  require_mfa: Generated<RequireMfa>;
  /** Session idle / absolute limits for members of this organization (null: the role defaults). */
  session_idle_minutes: Generated<number | null>;
  session_absolute_minutes: Generated<number | null>;
  /** Longest lifetime of an access grant in this organization (1..1440). */
  access_grant_max_minutes: Generated<number>;
  /** Further https hosts the organization's pages may show images from (CSP img-src; default none). */
  image_hosts: Generated<string[]>;
  /** Days a published version waits for acknowledgment before it is overdue (1..365, default 14). */
  ack_due_days: Generated<number>;
  /** Days audit events are kept before pruning (90..36500, default 90; migration 027). */
  audit_retention_days: Generated<number>;
  /** The organization's Ed25519 key signing evidence packs (SPKI PEM; private key PKCS#8 PEM, sealed). */
  evidence_public_key: Generated<string | null>;
  evidence_private_key: Generated<string | null>;
  /** Refuse pushes and editor saves that add broken links (default false: warnings only). */
  refuse_broken_links: Generated<boolean>;
  /** When an owner asked for the organization's deletion, and when it is purged (30 days later; migration 038). */
  deletion_requested_at: Generated<Date | null>;
  deletion_purge_after: Generated<Date | null>;
}

export interface UsersTable {
  id: Generated<string>;
  email: string;
  name: string;
  password_hash: string | null;
  disabled_at: Date | null;
  created_at: Timestamp;
  /** When the user last viewed their security activity on the account page (audit/security-notices.ts). */
  security_seen_at: Generated<Date | null>;
  /** The password was chosen by someone else (generated, or set by an operator): replaced at the next sign-in. */
  password_must_change: Generated<boolean>;
  /** No email except security notices and password resets (migration 035). */
  email_opt_out: Generated<boolean>;
}

export type Role = 'owner' | 'admin' | 'manager' | 'member' | 'viewer';

export interface MembershipsTable {
  org_id: string;
  user_id: string;
  role: Role;
  created_at: Timestamp;
}

export interface SessionsTable {
  /** SHA-256 of the session id: a stolen database does not yield usable cookies. */
  id_hash: string;
  user_id: string;
  created_at: Timestamp;
  last_seen_at: Timestamp;
  expires_at: Date;
  /** 'mfa': password accepted, second factor outstanding; 'mfa-enrollment': must enroll first. Grants nothing. */
  pending: Generated<SessionPending | null>;
  reauthenticated_at: Generated<Date | null>;
  /** Idle timeout chosen at sign-in from the user's roles and organizations (null: the default). */
  idle_seconds: Generated<number | null>;
}

export type SessionPending = 'mfa' | 'mfa-enrollment' | 'password-change';
export type RequireMfa = 'none' | 'admins' | 'everyone';

/** A single-use, expiring link an admin or owner issued for a member to set a new password (token stored hashed). */
export interface PasswordResetsTable {
  id: Generated<string>;
  org_id: string;
  user_id: string;
  token_hash: string;
  issued_by: string | null;
  created_at: Timestamp;
  expires_at: Timestamp;
  used_at: Timestamp | null;
}

/** A user's TOTP enrollment; secrets are sealed by auth/secret-box.ts, never stored in clear. */
export interface UserMfaTable {
  user_id: string;
  totp_secret: string | null;
  totp_enrolled_at: Date | null;
  /** The last time step a code was accepted for: a code works once. */
  totp_last_step: ColumnType<string | null, string | number | null, string | number | null>;
  /** A secret shown for enrollment but not yet confirmed with a code. */
  pending_secret: string | null;
  pending_created_at: Date | null;
  updated_at: Timestamp;
}

/** Single-use recovery codes, stored as SHA-256 of high-entropy codes. */
export interface RecoveryCodesTable {
  user_id: string;
  code_hash: string;
  created_at: Timestamp;
  used_at: Date | null;
}

/** One failed sign-in or MFA attempt (subject: SHA-256 of the email, address or user id). */
export interface AuthFailuresTable {
  scope: 'account' | 'address' | 'mfa' | 'git-address';
  subject_hash: string;
  failed_at: Date;
  id: Generated<string>;
  /** An attempt reserved and still being checked: counts as a failure until it is settled (throttle.ts). */
  pending: Generated<boolean>;
}

export interface ProjectsTable {
  id: Generated<string>;
  org_id: string;
  slug: string;
  name: string;
  description: string | null;
  /** Directory name of the bare repository under the data directory's repos/. */
  repo_dir: string;
  published_commit: string | null;
  published_tree: string | null;
  created_at: Timestamp;
  /** Change requests opened in the project so far: the next one's number is this plus one. */
  change_requests_opened: Generated<number>;
}

/** Rendered Markdown, content-addressed: one row per (project, path, blob, renderer version). */
export interface RenderedDocumentsTable {
  org_id: string;
  project_id: string;
  path: string;
  blob_id: string;
  renderer_version: string;
  /** RenderedDocument minus html. */
  meta: ColumnType<unknown, string, string>;
  /** Where the HTML is (projects/html-packs.ts); null for rows written before HTML packs. */
  html_pack: string | null;
  html_offset: number | null;
  html_length: number | null;
  created_at: Timestamp;
}

/** The published view of a project at one tree: the documents (path → blob) it contains. */
export interface SnapshotsTable {
  org_id: string;
  project_id: string;
  tree_id: string;
  commit_id: string;
  renderer_version: string;
  /** JSON array of [path, blobId]. */
  documents: ColumnType<unknown, string, string>;
  created_at: Timestamp;
}

/** A single-use link that makes its holder a member (token stored hashed). */
export interface InvitationsTable {
  id: Generated<string>;
  org_id: string;
  email: string;
  role: Role;
  token_hash: string;
  invited_by: string | null;
  created_at: Timestamp;
  expires_at: Timestamp;
  accepted_at: Timestamp | null;
  accepted_by: string | null;
  revoked_at: Timestamp | null;
}

export type AccessRequestStatus = 'pending' | 'approved' | 'denied' | 'expired';

/** A member's request to read one document (by path) they are not cleared for. */
export interface AccessRequestsTable {
  id: Generated<string>;
  org_id: string;
  project_id: string;
  /** Repository path of the document (`policies/x.md`); stored whether or not it exists. */
  path: string;
  requester_id: string;
  reason: string;
  ticket: string | null;
  status: Generated<AccessRequestStatus>;
  created_at: Timestamp;
  /** The request must be decided before this instant. */
  expires_at: Timestamp;
  decided_at: Timestamp | null;
  decided_by: string | null;
}

export interface AccessRequestApprovalsTable {
  org_id: string;
  request_id: string;
  approver_id: string;
  created_at: Timestamp;
}

/** Lets one user read one document of one project until `expires_at`. */
export interface AccessGrantsTable {
  id: Generated<string>;
  org_id: string;
  project_id: string;
  path: string;
  user_id: string;
  request_id: string;
  /** The classification the grant was approved for; a stricter current classification makes it inactive. */
  classification: 'confidential' | 'restricted';
  granted_at: Timestamp;
  expires_at: Timestamp;
}

/** A personal access token: only its SHA-256 is stored (see auth/tokens.ts for the format). */
export interface PersonalAccessTokensTable {
  id: Generated<string>;
  user_id: string;
  name: string;
  /** The first characters of the token, shown so its owner can tell tokens apart. */
  prefix: string;
  /** SHA-256 (hex) of the whole token. */
  token_hash: string;
  scopes: ('read' | 'write')[];
  created_at: Timestamp;
  expires_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

/** The REST API's rate limit per token (migration 029): the current window's start and its requests. */
export interface ApiRateLimitsTable {
  token_id: string;
  window_start: Date;
  used: number;
}

/** One append-only, hash-chained audit event (src/audit/). org_id null: the system chain. */
export interface AuditEventsTable {
  id: Generated<string>;
  org_id: string | null;
  seq: ColumnType<string, string | number, never>;
  occurred_at: ColumnType<Date, Date | string, never>;
  actor_type: 'user' | 'token' | 'system' | 'anonymous';
  actor_id: string | null;
  actor_label: string | null;
  action: string;
  target_type: string | null;
  target_id: string | null;
  target_label: string | null;
  reason: string | null;
  outcome: 'success' | 'failure' | 'denied';
  request_id: string | null;
  ip: string | null;
  /** Flat object of scalar values, or null. */
  details: ColumnType<unknown, string | null, never>;
  prev_hash: string;
  hash: string;
}

/** One published document in the search index (src/search/). `vector` is computed by SQL from the text columns. */
export interface SearchDocumentsTable {
  org_id: string;
  project_id: string;
  path: string;
  blob_id: string;
  title: string;
  tags: string[];
  classification: 'public' | 'internal' | 'confidential' | 'restricted';
  date: string | null;
  /** Plain text of the rendered body (what snippets are cut from). */
  body: string;
  summary: ColumnType<string, never, never>;
  vector: ColumnType<string, never, never>;
}

/** Which published commit a project's search index reflects. */
export interface SearchIndexStateTable {
  org_id: string;
  project_id: string;
  commit_id: string | null;
  indexed_at: Timestamp;
}

export type Organization = Selectable<OrganizationsTable>;
export type User = Selectable<UsersTable>;
export type Project = Selectable<ProjectsTable>;
export type NewProject = Insertable<ProjectsTable>;

/** One ref move of a project's repository (changes/branch-moves.ts). */
export interface BranchMovesTable {
  id: Generated<string>;
  org_id: string;
  project_id: string;
  ref: string;
  old_commit: string | null;
  new_commit: string | null;
  kind: string;
  actor: ColumnType<{ type: string; id: string; label: string }, string, string>;
  changed_paths: ColumnType<string[], string, string>;
  paths_truncated: boolean;
  recovered: Generated<boolean>;
  journal_id: string | null;
  update_index: number | null;
  created_at: Timestamp;
}

/** A listener's delivery of one branch move: claimed with a lease, retried until delivered. */
export interface BranchMoveDeliveriesTable {
  move_id: string;
  org_id: string;
  listener: string;
  attempts: Generated<number>;
  next_attempt_at: Timestamp;
  claimed_until: Date | null;
  last_error: string | null;
  delivered_at: Date | null;
}

/** A draft branch proposed for the published branch (changes/change-requests.ts). */
export interface ChangeRequestsTable {
  id: Generated<string>;
  org_id: string;
  project_id: string;
  number: number;
  title: string;
  description: Generated<string>;
  author_id: string;
  branch: string;
  head_commit: string;
  state: Generated<'open' | 'merged' | 'closed'>;
  merge_commit: string | null;
  merged_by: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
  closed_at: Date | null;
  /** The head and main commits the summary below was computed for (null: not yet: computed when listed). */
  summary_head: string | null;
  summary_main: string | null;
  document_count: number | null;
  /** The approval rules' requirement (approval-rules.ts Requirement) as JSON text. */
  requirement: string | null;
  /** Roles and emails whose approval counts toward the requirement ("waiting for my review"). */
  approver_roles: Generated<string[]>;
  approver_emails: Generated<string[]>;
}

/** A step of a change request's timeline other than a review (changes/change-request-timeline.ts). */
export interface ChangeRequestStepsTable {
  id: Generated<string>;
  org_id: string;
  change_request_id: string;
  kind: 'updated' | 'conflicts_resolved' | 'merged' | 'closed' | 'reopened';
  actor_id: string | null;
  actor_label: Generated<string>;
  from_commit: string | null;
  to_commit: string | null;
  created_at: Generated<Date>;
}

/** A document version a change request touches (its path and classification), as of `summary_head`. */
export interface ChangeRequestDocumentsTable {
  org_id: string;
  change_request_id: string;
  path: string;
  classification: 'public' | 'internal' | 'confidential' | 'restricted';
}

/** An organization's review setting for one classification (no row: the default). */
export interface OrganizationReviewSettingsTable {
  org_id: string;
  classification: 'public' | 'internal' | 'confidential' | 'restricted';
  approvals: number;
  minimum_role: 'member' | 'manager' | 'admin' | 'owner';
  updated_at: Generated<Date>;
}

/** A review of a change request, pinned to the head commit it was given on. */
export interface ChangeRequestReviewsTable {
  id: Generated<string>;
  org_id: string;
  change_request_id: string;
  user_id: string;
  verdict: 'approve' | 'request-changes' | 'comment';
  commit: string;
  body: Generated<string>;
  dismissed_at: Date | null;
  dismissed_by: string | null;
  dismiss_reason: string | null;
  created_at: Timestamp;
}

/** A version of a document with `acknowledge:` that reached the published branch (evidence/acknowledgments.ts). */
export interface AckVersionsTable {
  id: Generated<string>;
  org_id: string;
  project_id: string;
  path: string;
  commit_id: string;
  blob_id: string;
  /** False for an editorial change: acknowledgments of earlier versions still count. */
  requires_ack: boolean;
  published_at: Timestamp;
}

/** A document that asks (or asked: `active` false) for acknowledgment: its current and required versions. */
export interface AckDocumentsTable {
  org_id: string;
  project_id: string;
  path: string;
  active: boolean;
  title: string;
  classification: 'public' | 'internal' | 'confidential' | 'restricted';
  /** `{everyone}` or role names. */
  audience: string[];
  current_version: string;
  /** The latest version that required acknowledgment: an acknowledgment of it or a later version completes the task. */
  required_version: string;
  /** The branch move that last changed this row (moves are delivered at least once, perhaps out of order). */
  moved_at: Timestamp;
  move_id: string;
}

/** One person's acknowledgment of one exact version. Never updated or deleted by the application. */
export interface AcknowledgmentsTable {
  id: Generated<string>;
  org_id: string;
  user_id: string;
  project_id: string;
  path: string;
  version_id: string;
  blob_id: string;
  commit_id: string;
  acknowledged_at: Timestamp;
}

/** One review of a document: a published change of it, or "Mark reviewed — no changes" (evidence/reviews.ts). */
export interface DocumentReviewsTable {
  id: Generated<string>;
  org_id: string;
  project_id: string;
  path: string;
  /** The published commit that changed the document, or the empty commit that records the review. */
  commit_id: string;
  kind: 'change' | 'marked';
  /** The user who reviewed (null: a system move, or a push by a token's user is still a user). */
  reviewer_id: string | null;
  /** How the audit log names the reviewer (an email, or the system). */
  reviewer_label: string;
  reviewed_at: Timestamp;
}

/** An organization's OpenID Connect identity provider (src/auth/sso/). */
export interface SsoConnectionsTable {
  org_id: string;
  enabled: Generated<boolean>;
  issuer: string;
  client_id: string;
  /** Sealed with the MFA keys (secret-box.ts), purpose 'sso-client-secret'. */
  client_secret_sealed: string;
  allowed_domains: Generated<string[]>;
  /** The ID token claim whose values map to roles (null: roles are not taken from the provider). */
  role_claim: string | null;
  /** Claim value → role (viewer..admin). */
  role_mapping: ColumnType<Record<string, Role>, string, string>;
  default_role: Generated<Role>;
  /** Password sign-in refused for members, except the break-glass owner. */
  require_sso: Generated<boolean>;
  break_glass_user_id: string | null;
  updated_at: Timestamp;
}

/** Which account a provider's subject signs in as, in one organization. */
export interface SsoIdentitiesTable {
  org_id: string;
  issuer: string;
  subject: string;
  user_id: string;
  created_at: Timestamp;
  last_sign_in_at: Date | null;
}

/** A sign-in begun in a browser and not yet completed (single use). */
export interface SsoSignInFlowsTable {
  state_hash: string;
  /** A sign-in's browser binding (null for a re-authentication, migration 040). */
  browser_hash: string | null;
  org_id: string;
  nonce: string;
  code_verifier_sealed: string;
  next_path: string;
  created_at: Timestamp;
  expires_at: Date;
  /** Migration 040: what the flow is for, and a re-authentication's session (`sessions.id_hash`) and user. */
  purpose: ColumnType<'sign-in' | 'reauthentication', 'sign-in' | 'reauthentication' | undefined, 'sign-in' | 'reauthentication'>;
  session_hash: string | null;
  user_id: string | null;
}

/** An organization's webhook endpoint (src/webhooks/, migration 034). */
export interface WebhooksTable {
  id: Generated<string>;
  org_id: string;
  url: string;
  /** Event types it receives (webhooks/events.ts WEBHOOK_EVENTS). */
  events: string[];
  /** Sealed with the MFA keys (secret-box.ts), purpose 'webhook-secret'. */
  secret_sealed: string;
  active: Generated<boolean>;
  created_by: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

/** One event for one endpoint, in the outbox. */
export interface WebhookDeliveriesTable {
  id: Generated<string>;
  org_id: string;
  webhook_id: string;
  /** The event's id: the same for every endpoint and every redelivery (receivers deduplicate on it). */
  event_id: string;
  event_type: string;
  /** What caused it, when enqueued by an at-least-once listener (e.g. `move:42`): enqueued once per endpoint. */
  source_key: string | null;
  /** The exact JSON body sent (signed at each attempt). */
  body: string;
  state: Generated<'pending' | 'delivered' | 'failed'>;
  attempts: Generated<number>;
  next_attempt_at: Timestamp;
  give_up_at: Timestamp;
  claimed_until: Date | null;
  last_status: number | null;
  last_error: string | null;
  created_at: Timestamp;
  delivered_at: Date | null;
}

/** One attempt of a delivery. */
export interface WebhookAttemptsTable {
  id: Generated<string>;
  org_id: string;
  delivery_id: string;
  attempt: number;
  started_at: Timestamp;
  duration_ms: number;
  status_code: number | null;
  error_class: string | null;
  ok: boolean;
}

/** One email notification of one person (migration 035, notifications/email-outbox.ts). */
export interface EmailOutboxTable {
  id: Generated<string>;
  user_id: string;
  kind: string;
  urgent: boolean;
  subject: string;
  body: string;
  /** The sealed secret part of the message (a password-reset link), erased once sent. */
  sealed: string | null;
  dedupe_key: string | null;
  status: Generated<'pending' | 'sent' | 'failed' | 'skipped'>;
  created_at: Timestamp;
  next_attempt_at: Timestamp;
  attempts: Generated<number>;
  locked_until: Timestamp | null;
  sent_at: Timestamp | null;
  last_error: string | null;
}

export interface EmailFeedCursorsTable {
  chain: string;
  seq: string;
}

export interface EmailFeedStateTable {
  id: Generated<boolean>;
  started_at: Timestamp;
}

export interface EmailRateLimitsTable {
  key: string;
  window_start: Timestamp;
  used: number;
}
