import type { JSX } from 'preact';
import { DateText, PlainLayout } from './components.tsx';
import { toHtml } from './render.ts';
import type { TrustedHtml } from '../../content/trusted-html.ts';

type ReviewState = 'none' | 'upcoming' | 'due' | 'overdue';

/** The review box on a document page, for people who may edit it: its cadence and "Mark reviewed — no changes". */
export interface ReviewBannerView {
  state: ReviewState;
  /** `YYYY-MM-DD` the next review is due, or null. */
  next: string | null;
  /** `YYYY-MM-DD` of the last review, or null. */
  lastReviewed: string | null;
  action: string;
  path: string;
  csrfToken: string;
}

function ReviewBanner({ view }: { view: ReviewBannerView }): JSX.Element {
  const urgent = view.state === 'overdue' || view.state === 'due';
  return (
    <section class={`review-banner${view.state === 'overdue' ? ' review-banner-overdue' : ''}`} aria-labelledby="review-banner-title">
      <div class="review-banner-text">
        <p class="review-banner-title" id="review-banner-title">
          {view.state === 'overdue' && view.next ? (
            <>
              <span class="status status-denied">Review overdue</span> since <DateText value={view.next} />
            </>
          ) : view.state === 'due' && view.next ? (
            <>
              <span class="status status-pending">Review due</span> today
            </>
          ) : view.next ? (
            <>
              Next review <DateText value={view.next} />
            </>
          ) : (
            'Reviewed'
          )}
        </p>
        <p class="review-banner-lead">
          {view.lastReviewed ? (
            <>
              Last reviewed <DateText value={view.lastReviewed} />.{' '}
            </>
          ) : null}
          {urgent ? 'Read it through; if nothing needs to change, record the review.' : 'Only people who may edit this document see this.'}
        </p>
      </div>
      <form class="review-banner-form" method="post" action={view.action}>
        <input type="hidden" name="_csrf" value={view.csrfToken} />
        <input type="hidden" name="path" value={view.path} />
        <button type="submit" class={urgent ? 'button button-primary' : 'button'}>
          Mark reviewed — no changes
        </button>
      </form>
    </section>
  );
}

/** The review box's HTML (spliced into the cached document body for one editor). */
export function renderReviewBanner(view: ReviewBannerView): string {
  return toHtml(<ReviewBanner view={view} />);
}

export interface ReviewDueRow {
  title: string;
  projectName: string;
  path: string;
  href: string;
  next: string;
  state: ReviewState;
  lastReviewed: string | null;
}

/** `/{org}/-/reviews`: documents overdue for review or due within 30 days, that the reader may edit. */
export interface ReviewsDueView {
  orgName: string;
  today: string;
  rows: ReviewDueRow[];
}

const STATE_TEXT: Record<ReviewState, string> = { overdue: 'Overdue', due: 'Due today', upcoming: 'Due soon', none: '' };
const STATE_CLASS: Record<ReviewState, string> = { overdue: 'status-denied', due: 'status-pending', upcoming: 'status-pending', none: '' };

function ReviewsDue({ view }: { view: ReviewsDueView }): JSX.Element {
  return (
    <PlainLayout width="wide">
      <header class="page-header">
        <p class="eyebrow">{view.orgName}</p>
        <h1>Reviews due</h1>
        <p class="page-lead">
          Documents whose review is overdue or due within 30 days (front matter <code>review_every</code> or{' '}
          <code>review_by</code>). A published change counts as a review; so does “Mark reviewed — no changes” on the
          document’s page.
        </p>
      </header>
      {view.rows.length === 0 ? (
        <div class="empty-state">
          <p class="empty-state-title">No review is due in the next 30 days.</p>
        </div>
      ) : (
        <div class="table-wrap">
          <table class="data-table" aria-label="Documents due for review">
            <thead>
              <tr>
                <th scope="col">Document</th>
                <th scope="col">Review</th>
                <th scope="col">Last reviewed</th>
              </tr>
            </thead>
            <tbody>
              {view.rows.map((row) => (
                <tr data-path={row.path} data-state={row.state}>
                  <td>
                    <a href={row.href}>{row.title}</a>
                    <span class="cell-sub">
                      {row.projectName} · <code>{row.path}</code>
                    </span>
                  </td>
                  <td>
                    <span class={`status ${STATE_CLASS[row.state]}`}>{STATE_TEXT[row.state]}</span> <DateText value={row.next} />
                  </td>
                  <td>{row.lastReviewed ? <DateText value={row.lastReviewed} /> : '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </PlainLayout>
  );
}

export function renderReviewsDueBody(view: ReviewsDueView): TrustedHtml {
  return toHtml(<ReviewsDue view={view} />);
}
