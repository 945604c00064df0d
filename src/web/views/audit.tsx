import type { JSX } from 'preact';
import { Breakable, PlainLayout } from './components.tsx';
import { toHtml } from './render.ts';
import type { TrustedHtml } from '../../content/trusted-html.ts';

/** One audit event as the audit page shows it (strings already escaped for control characters at write time). */
export interface AuditEventRow {
  seq: string;
  occurredAt: string;
  actorType: string;
  actorLabel: string | null;
  actorId: string | null;
  action: string;
  targetType: string | null;
  targetId: string | null;
  targetLabel: string | null;
  reason: string | null;
  outcome: string;
  requestId: string | null;
  ip: string | null;
  details: Record<string, string | number | boolean | null> | null;
}

export interface AuditPageView {
  orgName: string;
  /** The page's own URL without query. */
  basePath: string;
  filters: { actor: string; action: string; target: string; from: string; to: string };
  actions: readonly string[];
  events: AuditEventRow[];
  /** Link to the next (older) page, or null on the last page. */
  olderHref: string | null;
  /** Link back to the newest events when paging. */
  newestHref: string | null;
  csvHref: string;
  jsonlHref: string;
}

/** `2026-11-22T08:16:54.123Z` → `2026-11-22 08:16:54`. */
const utc = (iso: string) => iso.replace('T', ' ').replace(/\.\d+Z$/, '');

function Filters({ view }: { view: AuditPageView }): JSX.Element {
  const f = view.filters;
  return (
    <form class="audit-filters" method="get" action={view.basePath} role="search" aria-label="Filter audit events">
      <div class="field">
        <label for="audit-actor">Actor</label>
        <input id="audit-actor" name="actor" type="search" value={f.actor} maxLength={200} placeholder="email or id" />
      </div>
      <div class="field">
        <label for="audit-action">Action</label>
        <select id="audit-action" name="action">
          <option value="">Any action</option>
          {view.actions.map((action) => (
            <option value={action} selected={action === f.action}>
              {action}
            </option>
          ))}
        </select>
      </div>
      <div class="field">
        <label for="audit-target">Target</label>
        <input id="audit-target" name="target" type="search" value={f.target} maxLength={500} placeholder="path, email or id" />
      </div>
      <div class="field">
        <label for="audit-from">From (UTC)</label>
        <input id="audit-from" name="from" type="datetime-local" value={f.from} />
      </div>
      <div class="field">
        <label for="audit-to">To (UTC)</label>
        <input id="audit-to" name="to" type="datetime-local" value={f.to} />
      </div>
      <div class="audit-filter-actions">
        <button type="submit" class="button button-primary">
          Filter
        </button>
        <a class="button button-quiet" href={view.basePath}>
          Clear
        </a>
      </div>
    </form>
  );
}

function Details({ event }: { event: AuditEventRow }): JSX.Element | null {
  const entries = Object.entries(event.details ?? {}).sort(([a], [b]) => a.localeCompare(b));
  if (!event.reason && entries.length === 0 && !event.ip) return null;
  return (
    <dl class="audit-details">
      {event.reason ? (
        <div>
          <dt>reason</dt>
          <dd>{event.reason}</dd>
        </div>
      ) : null}
      {entries.map(([key, value]) => (
        <div>
          <dt>{key}</dt>
          <dd>{String(value)}</dd>
        </div>
      ))}
      {event.ip ? (
        <div>
          <dt>ip</dt>
          <dd>{event.ip}</dd>
        </div>
      ) : null}
    </dl>
  );
}

function EventRow({ event }: { event: AuditEventRow }): JSX.Element {
  return (
    <tr>
      <td class="audit-time">
        <time dateTime={event.occurredAt}>{utc(event.occurredAt)}</time>
        <span class="audit-seq">#{event.seq}</span>
        {event.requestId ? (
          <code class="audit-request" title={`Request ID ${event.requestId}`}>
            {event.requestId.slice(0, 8)}
          </code>
        ) : null}
      </td>
      <td>
        <span class="audit-actor">
          <Breakable text={event.actorLabel ?? event.actorId ?? '—'} />
        </span>
        <span class="audit-sub">{event.actorType}</span>
      </td>
      <td>
        <code class="audit-action">{event.action}</code>
      </td>
      <td class="audit-target">
        {event.targetType ? (
          <>
            <span>
              <Breakable text={event.targetLabel ?? event.targetId ?? ''} />
            </span>
            <span class="audit-sub">{event.targetType}</span>
          </>
        ) : (
          '—'
        )}
      </td>
      <td>
        <span class={`audit-outcome audit-outcome-${event.outcome}`}>{event.outcome}</span>
      </td>
      <td>
        <Details event={event} />
      </td>
    </tr>
  );
}

function AuditPage({ view }: { view: AuditPageView }): JSX.Element {
  return (
    <PlainLayout width="wide">
      <header class="page-header audit-header">
        <div>
          <h1>Audit log</h1>
          <p class="page-lead">
            {view.orgName}: sign-ins, account and member changes, access decisions and every read of a confidential or
            restricted document. Times are UTC; events cannot be changed or deleted, and are kept as long as the
            organization's settings say (at least 90 days). For auditors: <a href={view.basePath.replace(/\/audit$/, '/evidence')}>evidence packs</a>.
          </p>
        </div>
        <p class="audit-exports">
          <a class="button button-small" href={view.csvHref} download>
            Export CSV
          </a>
          <a class="button button-small" href={view.jsonlHref} download>
            Export JSON Lines
          </a>
        </p>
      </header>
      <Filters view={view} />
      {view.events.length === 0 ? (
        <div class="empty-state">
          <p class="empty-state-title">No events</p>
          <p>No audit event matches these filters.</p>
        </div>
      ) : (
        <div class="audit-table-wrap">
          <table class="audit-table">
            <thead>
              <tr>
                <th scope="col">Time (UTC)</th>
                <th scope="col">Actor</th>
                <th scope="col">Action</th>
                <th scope="col">Target</th>
                <th scope="col">Outcome</th>
                <th scope="col">Details</th>
              </tr>
            </thead>
            <tbody>
              {view.events.map((event) => (
                <EventRow event={event} />
              ))}
            </tbody>
          </table>
        </div>
      )}
      {view.olderHref || view.newestHref ? (
        <nav class="audit-pager" aria-label="Audit pages">
          {view.newestHref ? (
            <a class="button button-quiet" href={view.newestHref}>
              ← Newest events
            </a>
          ) : (
            <span />
          )}
          {view.olderHref ? (
            <a class="button" href={view.olderHref}>
              Older events →
            </a>
          ) : null}
        </nav>
      ) : null}
    </PlainLayout>
  );
}

/** The audit page of one organization (admins and owners). */
export function renderAuditBody(view: AuditPageView): TrustedHtml {
  return toHtml(<AuditPage view={view} />);
}
