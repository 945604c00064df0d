import type { JSX } from 'preact';
import type { TrustedHtml } from '../../content/trusted-html.ts';
import { WEBHOOK_EVENT_LABELS, WEBHOOK_EVENTS } from '../../webhooks/events.ts';
import type { WebhookDeliveryView, WebhookSummary } from '../../webhooks/webhook-settings.ts';
import type { WebhookField, WebhookFormValues } from '../../webhooks/webhook-form.ts';
import { CopyButton, Flash, FormError, PageSection, PlainLayout } from './components.tsx';
import { toHtml } from './render.ts';

interface OrgView {
  csrfToken: string;
  orgSlug: string;
  orgName: string;
}

/** The list of an organization's webhooks, with the form for a new one. */
export interface WebhookListView extends OrgView {
  webhooks: WebhookSummary[];
  values: WebhookFormValues;
  notice: string | null;
  error: string | null;
  fieldErrors: Partial<Record<WebhookField, string>>;
}

/** The page shown once after creating a webhook: its secret. */
export interface NewWebhookView extends OrgView {
  webhookId: string;
  url: string;
  secret: string;
}

/** One webhook: its settings form, its delivery log with Redeliver, and Delete. */
export interface WebhookDetailView extends OrgView {
  webhook: WebhookSummary;
  deliveries: WebhookDeliveryView[];
  values: WebhookFormValues;
  notice: string | null;
  error: string | null;
  fieldErrors: Partial<Record<WebhookField, string>>;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number) => String(n).padStart(2, '0');

function When({ at }: { at: Date }): JSX.Element {
  const d = at;
  return (
    <time dateTime={d.toISOString()}>
      {`${MONTHS[d.getUTCMonth()]} ${d.getUTCDate()}, ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} UTC`}
    </time>
  );
}

const base = (view: OrgView) => `/${encodeURIComponent(view.orgSlug)}/-/settings/webhooks`;

function FieldError({ id, text }: { id: string; text: string | undefined }): JSX.Element | null {
  return text ? (
    <p class="form-error" id={id} role="alert">
      {text}
    </p>
  ) : null;
}

/** URL, events and on/off: the same fields for a new webhook and an existing one. */
function WebhookFields({ values, fieldErrors, prefix }: { values: WebhookFormValues; fieldErrors: Partial<Record<WebhookField, string>>; prefix: string }): JSX.Element {
  const chosen = new Set(values.events);
  return (
    <>
      <div class="field">
        <label for={`${prefix}-url`}>Payload URL</label>
        <input
          id={`${prefix}-url`}
          name="url"
          type="url"
          required
          maxLength={2000}
          spellcheck={false}
          autocapitalize="none"
          placeholder="https://hooks.example.com/docucommit"
          value={values.url}
          aria-invalid={fieldErrors.url ? 'true' : undefined}
          aria-describedby={fieldErrors.url ? `${prefix}-url-hint ${prefix}-url-error` : `${prefix}-url-hint`}
        />
        <p class="field-hint" id={`${prefix}-url-hint`}>
          DocuCommit POSTs JSON here. Addresses on private networks, loopback and cloud metadata are refused; redirects are
          not followed.
        </p>
        <FieldError id={`${prefix}-url-error`} text={fieldErrors.url} />
      </div>
      <fieldset class="field choice-group" aria-describedby={fieldErrors.events ? `${prefix}-events-error` : undefined}>
        <legend>Events</legend>
        {WEBHOOK_EVENTS.map((event) => (
          <label class="choice">
            <input type="checkbox" name="events" value={event} checked={chosen.has(event)} />
            <span class="choice-text">
              <span class="choice-title">{WEBHOOK_EVENT_LABELS[event]}</span>
              <span class="choice-hint">
                <code>{event}</code>
              </span>
            </span>
          </label>
        ))}
        <FieldError id={`${prefix}-events-error`} text={fieldErrors.events} />
      </fieldset>
      <label class="choice">
        <input type="checkbox" name="active" value="on" checked={values.active} />
        <span class="choice-text">
          <span class="choice-title">Active</span>
          <span class="choice-hint">Events are sent while it is on; nothing is queued while it is off.</span>
        </span>
      </label>
    </>
  );
}

/** The form that adds a webhook (list page) or changes one (its page): why it was refused, then its fields. */
function WebhookForm({ view, action, prefix, submit }: { view: WebhookListView | WebhookDetailView; action: string; prefix: string; submit: string }): JSX.Element {
  return (
    <>
      <FormError>{view.error}</FormError>
      <form class="form" method="post" action={action}>
        <input type="hidden" name="_csrf" value={view.csrfToken} />
        <WebhookFields values={view.values} fieldErrors={view.fieldErrors} prefix={prefix} />
        <p class="form-actions">
          <button type="submit" class="button button-primary">
            {submit}
          </button>
        </p>
      </form>
    </>
  );
}

function WebhookList({ view }: { view: WebhookListView }): JSX.Element {
  const org = `/${encodeURIComponent(view.orgSlug)}/-`;
  return (
    <PlainLayout width="normal">
      <header class="page-header">
        <p class="eyebrow">{view.orgName}</p>
        <h1>Webhooks</h1>
        <p class="page-lead">
          Tell your systems when a policy is published, a change request moves, an acknowledgment is overdue or access is
          requested. Each request is signed with the webhook’s secret (see <code>docs/webhooks.md</code> for verifying it).
          Other <a href={`${org}/settings`}>settings</a>; changes are recorded in the <a href={`${org}/audit`}>audit log</a>.
        </p>
      </header>
      <Flash>{view.notice}</Flash>
      <PageSection id="webhooks" title="Endpoints">
        {view.webhooks.length === 0 ? (
          <p class="field-hint">No webhooks yet.</p>
        ) : (
          <table class="data-table" aria-label="Webhooks">
            <thead>
              <tr>
                <th scope="col">URL</th>
                <th scope="col">Events</th>
                <th scope="col">Status</th>
              </tr>
            </thead>
            <tbody>
              {view.webhooks.map((w) => (
                <tr>
                  <td>
                    <a href={`${base(view)}/${w.id}`} class="webhook-url">
                      {w.url}
                    </a>
                  </td>
                  <td>{w.events.length === WEBHOOK_EVENTS.length ? 'All events' : `${w.events.length} of ${WEBHOOK_EVENTS.length}`}</td>
                  <td>
                    {w.active ? <span class="status-badge status-active">Active</span> : <span class="status-badge status-expired">Off</span>}{' '}
                    {w.failed > 0 ? <span class="status-badge status-revoked">{w.failed} failed</span> : null}{' '}
                    {w.pending > 0 ? <span class="status-badge status-expired">{w.pending} waiting</span> : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </PageSection>
      <PageSection id="new-webhook" title="Add a webhook">
        <WebhookForm view={view} action={base(view)} prefix="new-webhook" submit="Add webhook" />
      </PageSection>
    </PlainLayout>
  );
}

function NewWebhook({ view }: { view: NewWebhookView }): JSX.Element {
  return (
    <PlainLayout width="normal">
      <header class="page-header">
        <p class="eyebrow">{view.orgName}</p>
        <h1>Webhook added</h1>
        <p class="page-lead">
          Events go to <code>{view.url}</code>.
        </p>
      </header>
      <div class="panel token-reveal">
        <p class="token-warning" role="status">
          Copy the signing secret now. It is shown only once; DocuCommit stores it encrypted and never shows it again.
        </p>
        <label class="token-label" for="webhook-secret">
          Signing secret
        </label>
        <div class="copy-row">
          <input id="webhook-secret" class="token-value" type="text" readOnly value={view.secret} spellcheck={false} autocomplete="off" />
          <CopyButton target="webhook-secret" label="Copy secret" />
        </div>
        <p class="field-hint">
          Your receiver checks the <code>DocuCommit-Signature</code> header with it: an HMAC-SHA256 of the timestamp, a dot and
          the raw body.
        </p>
        <p class="form-actions">
          <a class="button button-primary" href={`${base(view)}/${view.webhookId}`}>
            Done
          </a>
        </p>
      </div>
    </PlainLayout>
  );
}

const STATE_BADGE: Record<WebhookDeliveryView['state'], [string, string]> = {
  delivered: ['status-active', 'Delivered'],
  pending: ['status-expired', 'Retrying'],
  failed: ['status-revoked', 'Failed'],
};

function DeliveryLog({ view }: { view: WebhookDetailView }): JSX.Element {
  if (view.deliveries.length === 0) return <p class="field-hint">Nothing sent yet.</p>;
  return (
    <table class="data-table webhook-log" aria-label="Recent deliveries">
      <thead>
        <tr>
          <th scope="col">Event</th>
          <th scope="col">State</th>
          <th scope="col">Attempts (newest first)</th>
          <th scope="col">
            <span class="visually-hidden">Actions</span>
          </th>
        </tr>
      </thead>
      <tbody>
        {view.deliveries.map((d) => {
          const [badge, label] = STATE_BADGE[d.state];
          const waiting = d.state === 'pending' && d.attempts.length === 0;
          return (
            <tr>
              <td>
                <code>{d.eventType}</code>
                <br />
                <small class="field-hint">
                  <When at={d.createdAt} /> · id {d.eventId.slice(0, 8)}
                </small>
              </td>
              <td>
                <span class={`status-badge ${waiting ? 'status-expired' : badge}`}>{waiting ? 'Queued' : label}</span>
                {d.nextAttemptAt && d.attempts.length > 0 ? (
                  <>
                    <br />
                    <small class="field-hint">
                      next <When at={d.nextAttemptAt} />
                    </small>
                  </>
                ) : null}
              </td>
              <td>
                <ul class="webhook-attempts">
                  {d.attempts.map((a) => (
                    <li>
                      <When at={a.startedAt} /> · {a.status !== null ? `HTTP ${a.status}` : 'no answer'} · {a.durationMs} ms
                      {a.errorClass ? (
                        <>
                          {' · '}
                          <code>{a.errorClass}</code>
                        </>
                      ) : null}
                    </li>
                  ))}
                </ul>
              </td>
              <td>
                <form method="post" action={`${base(view)}/${view.webhook.id}/deliveries/${d.id}/redeliver`}>
                  <input type="hidden" name="_csrf" value={view.csrfToken} />
                  <button type="submit" class="button button-small" aria-label={`Redeliver ${d.eventType} of ${d.createdAt.toISOString()}`}>
                    Redeliver
                  </button>
                </form>
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

function WebhookDetail({ view }: { view: WebhookDetailView }): JSX.Element {
  return (
    <PlainLayout width="wide">
      <header class="page-header">
        <p class="eyebrow">
          <a href={base(view)}>{view.orgName} · Webhooks</a>
        </p>
        <h1 class="webhook-title">{view.webhook.url}</h1>
      </header>
      <Flash>{view.notice}</Flash>
      <PageSection id="deliveries" title="Recent deliveries">
        <p class="field-hint section-intro">
          Failed attempts are retried with growing waits for 24 hours. Redeliver sends an event again with the same id
          (receivers can deduplicate on it), signed anew.
        </p>
        <DeliveryLog view={view} />
      </PageSection>
      <PageSection id="edit-webhook" title="Settings">
        <WebhookForm view={view} action={`${base(view)}/${view.webhook.id}`} prefix="webhook" submit="Save webhook" />
      </PageSection>
      <PageSection id="delete-webhook" title="Delete">
        <form class="form" method="post" action={`${base(view)}/${view.webhook.id}/delete`}>
          <input type="hidden" name="_csrf" value={view.csrfToken} />
          <p class="field-hint">Deleting stops every delivery of this webhook and removes its log.</p>
          <p class="form-actions">
            <button type="submit" class="button button-danger">
              Delete webhook
            </button>
          </p>
        </form>
      </PageSection>
    </PlainLayout>
  );
}

export function renderWebhookListBody(view: WebhookListView): TrustedHtml {
  return toHtml(<WebhookList view={view} />);
}

/** The only time a webhook's secret is shown. */
export function renderNewWebhookBody(view: NewWebhookView): TrustedHtml {
  return toHtml(<NewWebhook view={view} />);
}

export function renderWebhookDetailBody(view: WebhookDetailView): TrustedHtml {
  return toHtml(<WebhookDetail view={view} />);
}
