/** Change requests: the project's list, the form that opens one, and one request's page with its review forms. */
import type { JSX } from 'preact';
import { foldDiff, type DiffLine } from '../../changes/conflicts.ts';
import type { Classification } from '../../content/types.ts';
import { projectUrl } from '../urls.ts';
import { ClassificationBadge, Flash, FormError, PlainLayout } from './components.tsx';
import { plural } from './format.ts';
import type { TrustedHtml } from '../../content/trusted-html.ts';
import { toHtml } from './render.ts';
import type { ViewProject } from './types.ts';

type State = 'open' | 'merged' | 'closed';

export interface ChangeRequestRow {
  number: number;
  title: string;
  state: State;
  author: string;
  branch: string;
  createdAt: string;
  documents: number;
  mergeable: boolean;
  waitingForMe: boolean;
}

export interface ChangeRequestListView {
  project: ViewProject;
  state: State;
  /** 'review': only the open requests waiting for the reader's review. */
  filter?: 'review' | null;
  /** 1-based page, and whether a next one exists. */
  page?: number;
  hasMore?: boolean;
  rows: ChangeRequestRow[];
  /** Draft branches without an open change request, offered by the "open" form. */
  drafts: string[];
  canPropose: boolean;
  csrfToken: string;
  notice: string | null;
  error: string | null;
  form: { branch: string; title: string; description: string };
}

export interface ChangedDocumentView {
  path: string;
  before: Classification | null;
  after: Classification | null;
  /** Source lines of the published version against the draft; null when too large to show here. */
  diff: DiffLine[] | null;
}

export interface ReviewView {
  id: string;
  who: string;
  verdict: 'approve' | 'request-changes' | 'comment';
  body: string;
  at: string;
  commit: string;
  /** True when given on an older head: it no longer counts. */
  outdated: boolean;
  dismissed: { reason: string } | null;
}

export interface ChangeRequestPageView {
  project: ViewProject;
  csrfToken: string;
  number: number;
  title: string;
  description: string;
  state: State;
  branch: string;
  head: string;
  mergeCommit: string | null;
  author: string;
  createdAt: string;
  documents: ChangedDocumentView[];
  reviews: ReviewView[];
  mergeable: boolean;
  needsReview: boolean;
  outstanding: string[];
  approvals: string[];
  may: { review: boolean; merge: boolean; close: boolean; dismiss: boolean };
  notice: string | null;
  error: string | null;
  conflicts: string[] | null;
}

export const changesUrl = (project: ViewProject, state?: State) => `${projectUrl(project)}-/changes${state && state !== 'open' ? `?state=${state}` : ''}`;
export const changeUrl = (project: ViewProject, number: number) => `${projectUrl(project)}-/changes/${number}`;

const STATE_LABEL: Record<State, string> = { open: 'Open', merged: 'Merged', closed: 'Closed' };
const VERDICT_LABEL: Record<ReviewView['verdict'], string> = { approve: 'approved', 'request-changes': 'requested changes', comment: 'commented' };

/** "2026-12-06 01:16 UTC" */
function When({ iso }: { iso: string }): JSX.Element {
  return <time dateTime={iso}>{`${iso.slice(0, 16).replace('T', ' ')} UTC`}</time>;
}

function StateBadge({ state }: { state: State }): JSX.Element {
  return <span class={`status status-cr-${state}`}>{STATE_LABEL[state]}</span>;
}

/** Previous / next page links of the list (keeping its state or filter). */
function ListPager({ view }: { view: ChangeRequestListView }): JSX.Element | null {
  const page = view.page ?? 1;
  if (page <= 1 && !view.hasMore) return null;
  const href = (n: number) => `${projectUrl(view.project)}-/changes?${view.filter ? 'filter=review' : `state=${view.state}`}&page=${n}`;
  return (
    <nav class="pager" aria-label="Pages of change requests">
      {page > 1 ? <a href={href(page - 1)} rel="prev">Newer</a> : null} {view.hasMore ? <a href={href(page + 1)} rel="next">Older</a> : null}
    </nav>
  );
}

function Csrf({ token }: { token: string }): JSX.Element {
  return <input type="hidden" name="_csrf" value={token} />;
}

function ListPage({ view }: { view: ChangeRequestListView }): JSX.Element {
  const tabs: State[] = ['open', 'merged', 'closed'];
  return (
    <PlainLayout width="wide">
      <header class="page-header">
        <p class="eyebrow">
          <a href={projectUrl(view.project)}>{view.project.name}</a>
        </p>
        <h1>Change requests</h1>
        <p class="page-lead">
          Drafts proposed for the published version. Documents that need review reach readers only through an
          approved change request.
        </p>
      </header>
      <Flash>{view.notice}</Flash>
      <nav class="tabs" aria-label="Change requests by state">
        {tabs.map((state) => (
          <a class={state === view.state && !view.filter ? 'tab tab-current' : 'tab'} aria-current={state === view.state && !view.filter ? 'page' : undefined} href={changesUrl(view.project, state)}>
            {STATE_LABEL[state]}
          </a>
        ))}
        <a class={view.filter === 'review' ? 'tab tab-current' : 'tab'} aria-current={view.filter === 'review' ? 'page' : undefined} href={`${projectUrl(view.project)}-/changes?filter=review`}>
          Waiting for my review
        </a>
      </nav>
      {view.rows.length === 0 ? (
        <div class="empty-state">
          <p class="empty-state-title">{view.filter === 'review' ? 'Nothing is waiting for your review.' : `No ${view.state} change requests.`}</p>
        </div>
      ) : (
        <div class="table-wrap">
          <table class="data-table" aria-label={`${STATE_LABEL[view.state]} change requests`}>
            <thead>
              <tr>
                <th scope="col">Change</th>
                <th scope="col">Author</th>
                <th scope="col">Documents</th>
                <th scope="col">Opened</th>
                <th scope="col">State</th>
              </tr>
            </thead>
            <tbody>
              {view.rows.map((row) => (
                <tr>
                  <td>
                    <a href={changeUrl(view.project, row.number)}>
                      !{row.number} {row.title}
                    </a>
                    {row.waitingForMe ? <span class="status status-pending cr-waiting">Waiting for my review</span> : null}
                  </td>
                  <td>{row.author}</td>
                  <td>{row.documents}</td>
                  <td>
                    <When iso={row.createdAt} />
                  </td>
                  <td>
                    <StateBadge state={row.state} />
                    {row.state === 'open' && row.mergeable ? <span class="field-hint"> ready to merge</span> : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <ListPager view={view} />
      {view.canPropose ? (
        <section class="panel cr-open" aria-labelledby="cr-open-heading">
          <h2 id="cr-open-heading">Open a change request</h2>
          <p class="field-hint">Push a branch other than main (or choose “Propose change” in the editor), then propose it here.</p>
          <FormError>{view.error}</FormError>
          <form class="form" method="post" action={`${projectUrl(view.project)}-/changes`}>
            <Csrf token={view.csrfToken} />
            <div class="field">
              <label for="cr-branch">Draft branch</label>
              <input id="cr-branch" name="branch" required maxLength={200} list="cr-drafts" value={view.form.branch} spellcheck={false} autocapitalize="none" />
              <datalist id="cr-drafts">
                {view.drafts.map((branch) => (
                  <option value={branch} />
                ))}
              </datalist>
            </div>
            <div class="field">
              <label for="cr-title">Title</label>
              <input id="cr-title" name="title" required maxLength={200} value={view.form.title} />
            </div>
            <div class="field">
              <label for="cr-description">
                Description <span class="field-optional">(optional)</span>
              </label>
              <textarea id="cr-description" name="description" rows={4} maxLength={20000}>
                {view.form.description}
              </textarea>
            </div>
            <div class="form-actions">
              <button type="submit" class="button button-primary">
                Open change request
              </button>
            </div>
          </form>
        </section>
      ) : null}
    </PlainLayout>
  );
}

function Diff({ lines }: { lines: DiffLine[] }): JSX.Element {
  const mark = { same: ' ', removed: '−', added: '+' } as const;
  return (
    <pre class="diff" aria-label="Line diff">
      {foldDiff(lines).map((line) =>
        line.kind === 'skip' ? (
          <span class="diff-line diff-skip">{`⋯ ${line.count} unchanged lines\n`}</span>
        ) : (
          <span class={`diff-line diff-${line.kind}`}>{`${mark[line.kind]} ${line.text}\n`}</span>
        ),
      )}
    </pre>
  );
}

function DocumentChange({ doc }: { doc: ChangedDocumentView }): JSX.Element {
  const added = doc.diff?.filter((l) => l.kind === 'added').length ?? 0;
  const removed = doc.diff?.filter((l) => l.kind === 'removed').length ?? 0;
  const what = doc.before === null ? 'new' : doc.after === null ? 'deleted' : 'changed';
  return (
    <details class="cr-document" open>
      <summary>
        <code>{doc.path}</code> <span class="field-hint">{what}</span>{' '}
        {doc.after ? <ClassificationBadge value={doc.after} /> : doc.before ? <ClassificationBadge value={doc.before} /> : null}{' '}
        <span class="diff-stats">
          <span class="diff-stat-added">{`+${added}`}</span> <span class="diff-stat-removed">{`−${removed}`}</span>
        </span>
      </summary>
      {doc.diff ? <Diff lines={doc.diff} /> : <p class="field-hint">Too large to show here; compare the versions from the document's history.</p>}
    </details>
  );
}

function Timeline({ view }: { view: ChangeRequestPageView }): JSX.Element {
  return (
    <ol class="cr-timeline" aria-label="Reviews and comments">
      <li class="cr-event">
        <strong>{view.author}</strong> opened this change request · <When iso={view.createdAt} />
      </li>
      {view.reviews.map((review) => (
        <li class={`cr-event cr-${review.verdict}${review.outdated || review.dismissed ? ' cr-stale' : ''}`}>
          <strong>{review.who}</strong> {VERDICT_LABEL[review.verdict]} · <When iso={review.at} />{' '}
          <code class="commit-id">{review.commit.slice(0, 10)}</code>
          {review.outdated && review.verdict === 'approve' ? <span class="field-hint"> — dismissed: a newer commit was pushed</span> : null}
          {review.dismissed ? <span class="field-hint"> — dismissed by an admin: {review.dismissed.reason}</span> : null}
          {review.body ? <p class="cr-body">{review.body}</p> : null}
          {view.may.dismiss && review.verdict !== 'comment' && !review.dismissed && view.state === 'open' ? (
            <form class="form-inline cr-dismiss" method="post" action={`${changeUrl(view.project, view.number)}/reviews/${review.id}/dismiss`}>
              <Csrf token={view.csrfToken} />
              <label class="visually-hidden" for={`dismiss-${review.id}`}>
                Reason for dismissing
              </label>
              <input id={`dismiss-${review.id}`} name="reason" required maxLength={500} placeholder="Reason for dismissing" />
              <button type="submit" class="button button-quiet">
                Dismiss review
              </button>
            </form>
          ) : null}
        </li>
      ))}
    </ol>
  );
}

function ChangePage({ view }: { view: ChangeRequestPageView }): JSX.Element {
  const base = changeUrl(view.project, view.number);
  return (
    <PlainLayout width="wide">
      <header class="page-header">
        <p class="eyebrow">
          <a href={changesUrl(view.project)}>{view.project.name} · Change requests</a>
        </p>
        <h1>
          {view.title} <span class="cr-number">!{view.number}</span>
        </h1>
        <p class="page-lead">
          <StateBadge state={view.state} /> <strong>{view.author}</strong> proposes{' '}
          {plural(view.documents.length, 'document', 'documents')} from <code>{view.branch}</code> at{' '}
          <code class="commit-id">{view.head.slice(0, 10)}</code>
          {view.mergeCommit ? (
            <>
              {' '}
              · merged as <code class="commit-id">{view.mergeCommit.slice(0, 10)}</code>
            </>
          ) : null}
        </p>
      </header>
      <Flash>{view.notice}</Flash>
      <FormError>{view.error}</FormError>
      {view.conflicts ? (
        <div class="conflict-notice" role="alert">
          <p class="conflict-title">Main changed and the draft conflicts with it. Nothing was merged.</p>
          <p>Resolve these documents on the draft (edit them there), which dismisses the approvals:</p>
          <ul>
            {view.conflicts.map((path) => (
              <li>
                <code>{path}</code>
              </li>
            ))}
          </ul>
        </div>
      ) : null}
      {view.description ? <p class="cr-body cr-description">{view.description}</p> : null}
      <section class="panel cr-rules" aria-labelledby="cr-rules-heading">
        <h2 id="cr-rules-heading">Review</h2>
        {!view.needsReview ? (
          <p>These documents need no review: the change may be merged as it is.</p>
        ) : view.outstanding.length === 0 ? (
          <p>The review rules are met{view.approvals.length > 0 ? ` (approved by ${view.approvals.join(', ')})` : ''}.</p>
        ) : (
          <>
            <p>Still needed:</p>
            <ul>
              {view.outstanding.map((item) => (
                <li>{item}</li>
              ))}
            </ul>
          </>
        )}
        {view.state === 'open' ? (
          <div class="cr-actions">
            {view.may.merge ? (
              <form method="post" action={`${base}/merge`} class="form-inline">
                <Csrf token={view.csrfToken} />
                <label class="cr-editorial">
                  <input type="checkbox" name="editorial" value="yes" aria-describedby="cr-editorial-hint" />{' '}
                  Acknowledgment not required (editorial){' '}
                  <span class="field-hint" id="cr-editorial-hint">
                    — wording or formatting only: people who acknowledged these documents are not asked again.
                  </span>
                </label>
                <button type="submit" class="button button-primary" disabled={!view.mergeable}>
                  Merge
                </button>
              </form>
            ) : null}
            {view.may.close ? (
              <form method="post" action={`${base}/close`} class="form-inline">
                <Csrf token={view.csrfToken} />
                <button type="submit" class="button button-quiet">
                  Close
                </button>
              </form>
            ) : null}
          </div>
        ) : view.state === 'closed' && view.may.close ? (
          <form method="post" action={`${base}/reopen`} class="form-inline">
            <Csrf token={view.csrfToken} />
            <button type="submit" class="button">
              Reopen
            </button>
          </form>
        ) : null}
      </section>
      <section aria-labelledby="cr-documents-heading">
        <h2 id="cr-documents-heading">Changed documents</h2>
        {view.documents.map((doc) => (
          <DocumentChange doc={doc} />
        ))}
      </section>
      <section aria-labelledby="cr-conversation-heading">
        <h2 id="cr-conversation-heading">Conversation</h2>
        <Timeline view={view} />
        {view.state === 'open' ? (
          <form class="form panel" method="post" action={`${base}/comment`}>
            <Csrf token={view.csrfToken} />
            <div class="field">
              <label for="cr-comment">Comment</label>
              <textarea id="cr-comment" name="body" rows={3} maxLength={20000} />
            </div>
            <div class="form-actions">
              <button type="submit" class="button">
                Comment
              </button>
              {view.may.review ? (
                <>
                  <button type="submit" class="button button-primary" formaction={`${base}/approve`}>
                    Approve
                  </button>
                  <button type="submit" class="button button-danger" formaction={`${base}/request-changes`}>
                    Request changes
                  </button>
                </>
              ) : null}
            </div>
          </form>
        ) : null}
      </section>
    </PlainLayout>
  );
}

export function renderChangeRequestListBody(view: ChangeRequestListView): TrustedHtml {
  return toHtml(<ListPage view={view} />);
}

export function renderChangeRequestBody(view: ChangeRequestPageView): TrustedHtml {
  return toHtml(<ChangePage view={view} />);
}
