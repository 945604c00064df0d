/**
 * What a webhook can receive, and the envelope every payload shares. Payloads carry ids, paths, versions (commit
 * and blob ids) and actors: never the text of a document, and a document's title only when it is public.
 */

/** Event types an endpoint may choose, in the order the settings page lists them. */
export const WEBHOOK_EVENTS = [
  'document.published',
  'change_request.opened',
  'change_request.approved',
  'change_request.merged',
  'change_request.closed',
  'acknowledgment.overdue',
  'access_request.created',
  'access_request.decided',
] as const;

export type WebhookEventType = (typeof WEBHOOK_EVENTS)[number];

/** How the settings page names each event. */
export const WEBHOOK_EVENT_LABELS: Record<WebhookEventType, string> = {
  'document.published': 'Document published (main moved)',
  'change_request.opened': 'Change request opened',
  'change_request.approved': 'Change request approved',
  'change_request.merged': 'Change request merged',
  'change_request.closed': 'Change request closed',
  'acknowledgment.overdue': 'Acknowledgment overdue',
  'access_request.created': 'Access request created',
  'access_request.decided': 'Access request decided (approved or denied)',
};

export const isWebhookEvent = (value: string): value is WebhookEventType => (WEBHOOK_EVENTS as readonly string[]).includes(value);

/** Who caused an event, as the audit log names them (a user's id and email; never a credential). */
export interface WebhookActor {
  type: 'user' | 'token' | 'system';
  id: string | null;
  label: string | null;
}

/** A project as payloads name it. */
export interface WebhookProject {
  id: string;
  slug: string;
}

/** The JSON body of every delivery. */
export interface WebhookEnvelope {
  /** The event's id: the same on every retry and redelivery, and for every endpoint (deduplicate on it). */
  id: string;
  type: WebhookEventType;
  /** When the event happened (ISO 8601, UTC). */
  created_at: string;
  organization: { id: string; slug: string };
  actor: WebhookActor | null;
  data: Record<string, unknown>;
}
