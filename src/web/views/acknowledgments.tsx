import type { JSX } from 'preact';
import { Flash, PlainLayout } from './components.tsx';
import { plural } from './format.ts';
import { toHtml } from './render.ts';
import type { TrustedHtml } from '../../content/trusted-html.ts';

/** A date as the banner and lists show it: `Dec 19, 2026` (UTC). */
function day(date: Date): JSX.Element {
  const text = date.toLocaleDateString('en-US', { month: 'short', day: 'numeric', year: 'numeric', timeZone: 'UTC' });
  return <time dateTime={date.toISOString().slice(0, 10)}>{text}</time>;
}

function moment(date: Date): JSX.Element {
  return <time dateTime={date.toISOString()}>{date.toISOString().slice(0, 16).replace('T', ' ')} UTC</time>;
}

/** The banner on a document page: this person's task for the version they are reading. */
export interface AckBannerView {
  status: 'open' | 'done';
  dueAt: Date;
  overdue: boolean;
  /** Where the form posts, with the version shown. */
  action: string;
  path: string;
  blobId: string;
  csrfToken: string;
  /** The redline of what changed since they last acknowledged (a re-acknowledgment), or null. */
  redlineHref: string | null;
  lastAcknowledgedAt: Date | null;
}

function AckBanner({ view }: { view: AckBannerView }): JSX.Element {
  if (view.status === 'done') {
    return (
      <p class="ack-banner ack-banner-done" role="status">
        <span class="ack-check" aria-hidden="true">
          ✓
        </span>{' '}
        You acknowledged this document{view.lastAcknowledgedAt ? <> on {day(view.lastAcknowledgedAt)}</> : null}.
      </p>
    );
  }
  return (
    <section class={`ack-banner${view.overdue ? ' ack-banner-overdue' : ''}`} aria-labelledby="ack-banner-title">
      <div class="ack-banner-text">
        <p class="ack-banner-title" id="ack-banner-title">
          Read and acknowledge — {view.overdue ? 'overdue since' : 'due'} {day(view.dueAt)}
        </p>
        <p class="ack-banner-lead">
          {view.redlineHref ? (
            <>
              This document changed since you acknowledged it
              {view.lastAcknowledgedAt ? <> on {day(view.lastAcknowledgedAt)}</> : null}.{' '}
              <a href={view.redlineHref}>See what changed for you</a>, then confirm below.
            </>
          ) : (
            'You are asked to read this document and confirm that you have understood it.'
          )}
        </p>
      </div>
      <form class="ack-banner-form" method="post" action={view.action}>
        <input type="hidden" name="_csrf" value={view.csrfToken} />
        <input type="hidden" name="path" value={view.path} />
        <input type="hidden" name="blob" value={view.blobId} />
        <button type="submit" class="button button-primary">
          I have read and understood
        </button>
      </form>
    </section>
  );
}

/** The banner's HTML (spliced into the cached document body for one reader). */
export function renderAckBanner(view: AckBannerView): string {
  return toHtml(<AckBanner view={view} />);
}

export interface AckTaskRow {
  title: string;
  projectName: string;
  path: string;
  href: string;
  dueAt: Date;
  overdue: boolean;
  status: 'open' | 'done';
  redlineHref: string | null;
  acknowledgedAt: Date | null;
}

export interface AckDocumentRow {
  title: string;
  projectName: string;
  path: string;
  statusHref: string;
  dueAt: Date;
  done: number;
  open: number;
  overdue: number;
}

/** `/{org}/-/acknowledgments`: one's own tasks; for managers and above, every document's progress. */
export interface AcknowledgmentsView {
  orgName: string;
  open: AckTaskRow[];
  done: AckTaskRow[];
  /** null below manager (the section is not shown). */
  documents: AckDocumentRow[] | null;
  /** Managers and above: every overdue acknowledgment as CSV. */
  overdueCsvHref: string | null;
}

function TaskList({ rows, label }: { rows: AckTaskRow[]; label: string }): JSX.Element {
  return (
    <ul class="ack-list" aria-label={label}>
      {rows.map((row) => (
        <li class={`ack-item${row.overdue ? ' ack-item-overdue' : ''}`} data-path={row.path}>
          <div class="ack-item-main">
            <a class="ack-item-title" href={row.href}>
              {row.title}
            </a>
            <span class="cell-sub">
              {row.projectName} · <code>{row.path}</code>
            </span>
          </div>
          <div class="ack-item-state">
            {row.status === 'open' ? (
              <>
                <span class={`status ${row.overdue ? 'status-denied' : 'status-pending'}`}>{row.overdue ? 'Overdue' : 'Due'}</span>{' '}
                {day(row.dueAt)}
                {row.redlineHref ? (
                  <a class="ack-item-redline" href={row.redlineHref}>
                    What changed since you acknowledged
                  </a>
                ) : null}
              </>
            ) : (
              <>
                <span class="status status-approved">Acknowledged</span> {row.acknowledgedAt ? day(row.acknowledgedAt) : null}
              </>
            )}
          </div>
        </li>
      ))}
    </ul>
  );
}

function Acknowledgments({ view }: { view: AcknowledgmentsView }): JSX.Element {
  return (
    <PlainLayout width="wide">
      <header class="page-header">
        <p class="eyebrow">{view.orgName}</p>
        <h1>Acknowledgments</h1>
        <p class="page-lead">
          Documents your organization asks you to read and confirm. Open a document, read it, and press “I have read
          and understood” at its top. A new version may ask you again; you then see what changed since you last
          acknowledged it.
        </p>
      </header>
      <section class="panel ack-section" aria-labelledby="ack-open-heading">
        <h2 id="ack-open-heading">Waiting for you ({view.open.length})</h2>
        {view.open.length === 0 ? (
          <div class="empty-state">
            <p class="empty-state-title">Nothing to acknowledge.</p>
          </div>
        ) : (
          <TaskList rows={view.open} label="Documents waiting for your acknowledgment" />
        )}
      </section>
      <section class="panel ack-section" aria-labelledby="ack-done-heading">
        <h2 id="ack-done-heading">Acknowledged ({view.done.length})</h2>
        {view.done.length === 0 ? (
          <div class="empty-state">
            <p>You have not acknowledged any document yet.</p>
          </div>
        ) : (
          <TaskList rows={view.done} label="Documents you acknowledged" />
        )}
      </section>
      {view.documents ? (
        <section class="panel ack-section" aria-labelledby="ack-documents-heading">
          <h2 id="ack-documents-heading">Progress by document</h2>
          {view.overdueCsvHref && view.documents.some((row) => row.overdue > 0) ? (
            <p>
              <a class="button button-small" href={view.overdueCsvHref} download>
                Download overdue acknowledgments (CSV)
              </a>
            </p>
          ) : null}
          {view.documents.length === 0 ? (
            <div class="empty-state">
              <p>No document you may read asks for acknowledgment.</p>
            </div>
          ) : (
            <div class="table-wrap">
              <table class="data-table" aria-label="Acknowledgment progress by document">
                <thead>
                  <tr>
                    <th scope="col">Document</th>
                    <th scope="col">Due</th>
                    <th scope="col">Acknowledged</th>
                    <th scope="col">Not yet</th>
                    <th scope="col">Overdue</th>
                  </tr>
                </thead>
                <tbody>
                  {view.documents.map((row) => (
                    <tr data-path={row.path}>
                      <td>
                        <a href={row.statusHref}>{row.title}</a>
                        <span class="cell-sub">
                          {row.projectName} · <code>{row.path}</code>
                        </span>
                      </td>
                      <td>{day(row.dueAt)}</td>
                      <td>{row.done}</td>
                      <td>{row.open}</td>
                      <td>{row.overdue > 0 ? <strong class="ack-overdue-count">{row.overdue}</strong> : 0}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </section>
      ) : null}
    </PlainLayout>
  );
}

export function renderAcknowledgmentsBody(view: AcknowledgmentsView): TrustedHtml {
  return toHtml(<Acknowledgments view={view} />);
}

export interface AckStatusView {
  orgName: string;
  projectName: string;
  title: string;
  path: string;
  documentHref: string;
  listHref: string;
  csvHref: string;
  dueAt: Date;
  notice: string | null;
  rows: { name: string; email: string; role: string; status: 'done' | 'open' | 'overdue'; acknowledgedAt: Date | null }[];
}

const STATUS_TEXT = { done: 'Acknowledged', open: 'Not yet', overdue: 'Overdue' } as const;
const STATUS_CLASS = { done: 'status-approved', open: 'status-pending', overdue: 'status-denied' } as const;

function AckStatus({ view }: { view: AckStatusView }): JSX.Element {
  const count = (status: 'done' | 'open' | 'overdue') => view.rows.filter((row) => row.status === status).length;
  return (
    <PlainLayout width="wide">
      <header class="page-header">
        <p class="eyebrow">
          <a href={view.listHref}>Acknowledgments</a> · {view.projectName}
        </p>
        <h1>
          <a href={view.documentHref}>{view.title}</a>
        </h1>
        <p class="page-lead">
          Who has acknowledged the version that currently requires it (due {day(view.dueAt)}):{' '}
          {plural(count('done'), 'person has', 'people have')}, {plural(count('open') + count('overdue'), 'person has', 'people have')} not
          {count('overdue') > 0 ? <>, {count('overdue')} of them overdue</> : null}.
        </p>
        <Flash>{view.notice}</Flash>
        <p>
          <a class="button button-small" href={view.csvHref} download>
            Download CSV
          </a>
        </p>
      </header>
      <div class="table-wrap">
        <table class="data-table" aria-label="Acknowledgment status by person">
          <thead>
            <tr>
              <th scope="col">Person</th>
              <th scope="col">Role</th>
              <th scope="col">Status</th>
              <th scope="col">Acknowledged</th>
            </tr>
          </thead>
          <tbody>
            {view.rows.map((row) => (
              <tr data-status={row.status}>
                <td>
                  {row.name}
                  <span class="cell-sub">{row.email}</span>
                </td>
                <td>{row.role}</td>
                <td>
                  <span class={`status ${STATUS_CLASS[row.status]}`}>{STATUS_TEXT[row.status]}</span>
                </td>
                <td>{row.acknowledgedAt ? moment(row.acknowledgedAt) : '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </PlainLayout>
  );
}

export function renderAckStatusBody(view: AckStatusView): TrustedHtml {
  return toHtml(<AckStatus view={view} />);
}
