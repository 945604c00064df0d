import type { JSX } from 'preact';
import type { Classification } from '../../content/types.ts';
import { ClassificationBadge, Flash, PlainLayout } from './components.tsx';
import { SubmitOrLeave } from './form-parts.tsx';
import { toHtml } from './render.ts';
import type { TrustedHtml } from '../../content/trusted-html.ts';

/** The request form at `/{org}/{project}/-/access-requests/new`. */
export interface AccessRequestFormView {
  csrfToken: string;
  orgSlug: string;
  projectSlug: string;
  projectName: string;
  path: string;
  reason: string;
  ticket: string;
  error: string | null;
}

export interface OwnRequestRow {
  id: string;
  projectName: string;
  path: string;
  /** Where to read the document while a grant is live. */
  href: string | null;
  reason: string;
  ticket: string | null;
  status: 'pending' | 'approved' | 'denied' | 'expired';
  createdAt: string;
  grantExpiresAt: string | null;
  grantLive: boolean;
}

export interface PendingRequestRow {
  id: string;
  projectName: string;
  path: string;
  href: string | null;
  title: string | null;
  classification: Classification | null;
  requester: string;
  reason: string;
  ticket: string | null;
  createdAt: string;
  expiresAt: string;
  approvals: number;
  approvalsNeeded: number;
  approvedByActor: boolean;
}

/** The organization's access requests page: one's own requests, and for approvers the pending ones. */
export interface AccessRequestsView {
  csrfToken: string;
  orgSlug: string;
  orgName: string;
  notice: string | null;
  own: OwnRequestRow[];
  /** null when the reader approves nothing (the section is not shown). */
  pending: PendingRequestRow[] | null;
  /** Which page of the pending requests this is (null with `pending`). */
  pendingPage: { page: number; pageCount: number; total: number } | null;
}

function PendingPager({ view }: { view: AccessRequestsView }): JSX.Element | null {
  const at = view.pendingPage;
  if (!at || at.pageCount <= 1) return null;
  const href = (page: number) => `/${encodeURIComponent(view.orgSlug)}/-/access-requests?page=${page}`;
  return (
    <nav class="audit-pager" aria-label="Pages of pending requests">
      {at.page > 1 ? (
        <a class="button button-quiet" href={href(at.page - 1)} rel="prev">
          ← Older requests
        </a>
      ) : (
        <span />
      )}
      <span class="field-hint">
        Page {at.page} of {at.pageCount} · {at.total} waiting
      </span>
      {at.page < at.pageCount ? (
        <a class="button" href={href(at.page + 1)} rel="next">
          Newer requests →
        </a>
      ) : (
        <span />
      )}
    </nav>
  );
}

const STATUS_LABEL: Record<OwnRequestRow['status'], string> = {
  pending: 'Pending',
  approved: 'Approved',
  denied: 'Denied',
  expired: 'Expired',
};

function when(iso: string): JSX.Element {
  const date = new Date(iso);
  const text = date.toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
  return <time dateTime={date.toISOString()}>{text}</time>;
}

function RequestForm({ view }: { view: AccessRequestFormView }): JSX.Element {
  const invalid = view.error !== null;
  return (
    <PlainLayout width="normal">
      <header class="page-header">
        <p class="eyebrow">{view.projectName}</p>
        <h1>Request access to a document</h1>
        <p class="page-lead">
          Confidential and restricted documents are hidden from people whose role does not cover them. Give the
          document's address and why you need it; an approver decides within 24 hours, and access lasts at most 24
          hours.
        </p>
      </header>
      <div class="panel">
        <div class="form-error" id="request-error" role="alert">
          {view.error}
        </div>
        <form
          class="form"
          method="post"
          action={`/${encodeURIComponent(view.orgSlug)}/${encodeURIComponent(view.projectSlug)}/-/access-requests`}
        >
          <input type="hidden" name="_csrf" value={view.csrfToken} />
          <div class="field">
            <label for="request-path">Document address or path</label>
            <input
              id="request-path"
              name="path"
              required
              maxLength={500}
              spellcheck={false}
              autocapitalize="none"
              placeholder="policies/incident-response"
              value={view.path}
              aria-invalid={invalid ? 'true' : undefined}
              aria-describedby="request-path-hint"
            />
            <p class="field-hint" id="request-path-hint">
              The page address you were given, or its path inside the project.
            </p>
          </div>
          <div class="field">
            <label for="request-reason">Reason</label>
            <textarea id="request-reason" name="reason" required minLength={5} maxLength={2000} rows={4}>
              {view.reason}
            </textarea>
          </div>
          <div class="field">
            <label for="request-ticket">
              Ticket reference <span class="field-optional">(optional)</span>
            </label>
            <input id="request-ticket" name="ticket" maxLength={200} value={view.ticket} placeholder="SUP-1234" />
          </div>
          <SubmitOrLeave submit="Send request" href={`/${encodeURIComponent(view.orgSlug)}/-/access-requests`} leave="My requests" />
        </form>
      </div>
    </PlainLayout>
  );
}

/** The access request form. */
export function renderAccessRequestFormBody(view: AccessRequestFormView): TrustedHtml {
  return toHtml(<RequestForm view={view} />);
}

function StatusBadge({ row }: { row: OwnRequestRow }): JSX.Element {
  const ended = row.status === 'approved' && !row.grantLive;
  return (
    <span class={`status status-${ended ? 'ended' : row.status}`}>{ended ? 'Access ended' : STATUS_LABEL[row.status]}</span>
  );
}

function OwnRequests({ rows, orgSlug }: { rows: OwnRequestRow[]; orgSlug: string }): JSX.Element {
  void orgSlug;
  if (rows.length === 0) {
    return (
      <div class="empty-state">
        <p class="empty-state-title">You have not requested access to anything.</p>
        <p>Ask for a document from its project: “Request access” below the project's navigation.</p>
      </div>
    );
  }
  return (
    <div class="table-wrap">
      <table class="data-table" aria-label="My access requests">
        <thead>
          <tr>
            <th scope="col">Document</th>
            <th scope="col">Reason</th>
            <th scope="col">Requested</th>
            <th scope="col">Status</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr data-request-id={row.id}>
              <td>
                <span class="cell-sub">{row.projectName}</span>
                {row.href && row.grantLive ? (
                  <a href={row.href}>
                    <code>{row.path}</code>
                  </a>
                ) : (
                  <code>{row.path}</code>
                )}
              </td>
              <td>
                {row.reason}
                {row.ticket ? <span class="cell-sub">Ticket {row.ticket}</span> : null}
              </td>
              <td>{when(row.createdAt)}</td>
              <td>
                <StatusBadge row={row} />
                {row.status === 'approved' && row.grantExpiresAt ? (
                  <span class="cell-sub">
                    {row.grantLive ? 'until ' : 'ended '}
                    {when(row.grantExpiresAt)}
                  </span>
                ) : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function PendingRequests({ rows, view }: { rows: PendingRequestRow[]; view: AccessRequestsView }): JSX.Element {
  if (rows.length === 0) {
    return (
      <div class="empty-state">
        <p class="empty-state-title">Nothing is waiting for you.</p>
      </div>
    );
  }
  const base = `/${encodeURIComponent(view.orgSlug)}/-/access-requests`;
  return (
    <ul class="request-list">
      {rows.map((row) => (
        <li class="request-card" data-request-id={row.id}>
          <div class="request-main">
            <p class="request-doc">
              {row.classification ? <ClassificationBadge value={row.classification} /> : null}
              {row.href && row.title ? <a href={row.href}>{row.title}</a> : <span>No document at this path</span>}
            </p>
            <p class="cell-sub">
              {row.projectName} · <code>{row.path}</code>
            </p>
            <p class="request-who">
              <strong>{row.requester}</strong> asks: {row.reason}
            </p>
            <p class="cell-sub">
              {row.ticket ? <>Ticket {row.ticket} · </> : null}
              Requested {when(row.createdAt)} · decide before {when(row.expiresAt)}
              {row.approvalsNeeded > 1 ? ` · ${row.approvals} of ${row.approvalsNeeded} approvals` : null}
            </p>
          </div>
          <div class="request-actions">
            {row.approvedByActor ? (
              <p class="cell-sub">You approved; waiting for a second person.</p>
            ) : (
              <form method="post" action={`${base}/${row.id}/approve`}>
                <input type="hidden" name="_csrf" value={view.csrfToken} />
                <button type="submit" class="button button-primary button-small">
                  Approve
                </button>
              </form>
            )}
            <form method="post" action={`${base}/${row.id}/deny`}>
              <input type="hidden" name="_csrf" value={view.csrfToken} />
              <button type="submit" class="button button-quiet button-small">
                Deny
              </button>
            </form>
          </div>
        </li>
      ))}
    </ul>
  );
}

function AccessRequests({ view }: { view: AccessRequestsView }): JSX.Element {
  return (
    <PlainLayout width="wide">
      <header class="page-header">
        <p class="eyebrow">{view.orgName}</p>
        <h1>Access requests</h1>
        <p class="page-lead">Time-limited access to confidential and restricted documents, approved by a second person.</p>
      </header>
      <Flash>{view.notice}</Flash>
      {view.pending !== null ? (
        <section class="page-section" aria-labelledby="pending-heading">
          <h2 class="section-heading" id="pending-heading">
            Waiting for a decision
          </h2>
          <PendingRequests rows={view.pending} view={view} />
          <PendingPager view={view} />
        </section>
      ) : null}
      <section class="page-section" aria-labelledby="own-heading">
        <h2 class="section-heading" id="own-heading">
          My requests
        </h2>
        <OwnRequests rows={view.own} orgSlug={view.orgSlug} />
      </section>
    </PlainLayout>
  );
}

/** The access requests page of an organization. */
export function renderAccessRequestsBody(view: AccessRequestsView): TrustedHtml {
  return toHtml(<AccessRequests view={view} />);
}
