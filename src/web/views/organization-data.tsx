import type { TrustedHtml } from '../../content/trusted-html.ts';
import { Flash, FormError, PlainLayout } from './components.tsx';
import { toHtml } from './render.ts';

/** The "Export and deletion" page of an organization (owners only). */
export interface OrganizationDataView {
  csrfToken: string;
  orgSlug: string;
  orgName: string;
  /** Set while the organization is scheduled for deletion: when it was asked for and when it is purged (ISO). */
  scheduled: { requestedAt: string; purgeAfter: string } | null;
  graceDays: number;
  notice: string | null;
  error: string | null;
  /** What was typed in the confirmation field (shown again after an error). */
  confirmValue: string;
  /** False: deleting asks for the password (and a code) first. */
  recentlyAuthenticated: boolean;
}

const day = (iso: string) => iso.slice(0, 10);

function OrganizationData({ view }: { view: OrganizationDataView }) {
  const base = `/${encodeURIComponent(view.orgSlug)}/-/data`;
  return (
    <PlainLayout width="normal">
      <header class="page-header">
        <p class="eyebrow">{view.orgName}</p>
        <h1>Export and deletion</h1>
        <p class="page-lead">
          Everything {view.orgName} keeps here can be taken out at any time, and the organization can be deleted with
          all of it. Both are for owners and are recorded in the audit log.
        </p>
      </header>
      <Flash>{view.notice}</Flash>
      {view.scheduled ? (
        <section class="page-section deletion-scheduled" aria-labelledby="scheduled-heading">
          <h2 class="section-heading" id="scheduled-heading">
            Scheduled for deletion
          </h2>
          <p>
            Deletion was requested on <time datetime={view.scheduled.requestedAt}>{day(view.scheduled.requestedAt)}</time>. Its members can no
            longer open the organization. On or after{' '}
            <strong>
              <time datetime={view.scheduled.purgeAfter}>{day(view.scheduled.purgeAfter)}</time>
            </strong>{' '}
            every project, repository, member, acknowledgment and audit event of it is removed for good.
          </p>
          <form class="form" method="post" action={`${base}/cancel-deletion`}>
            <input type="hidden" name="_csrf" value={view.csrfToken} />
            <div class="form-actions">
              <button type="submit" class="button button-primary">
                Cancel the deletion
              </button>
            </div>
          </form>
        </section>
      ) : null}
      <section class="page-section" aria-labelledby="export-heading">
        <h2 class="section-heading" id="export-heading">
          Export
        </h2>
        <p>
          One <code>.tar.gz</code> archive: every project's repository as a git bundle (<code>git clone</code> it), the
          members, the acknowledgments (JSON Lines and CSV), the whole audit log with its hash chain, a README that
          explains each file and a manifest of their SHA-256 checksums.
        </p>
        <form class="form" method="post" action={`${base}/export`}>
          <input type="hidden" name="_csrf" value={view.csrfToken} />
          <div class="form-actions">
            <button type="submit" class="button button-primary">
              Download the export
            </button>
          </div>
        </form>
      </section>
      {view.scheduled ? null : (
        <section class="page-section" aria-labelledby="delete-heading">
          <h2 class="section-heading" id="delete-heading">
            Delete the organization
          </h2>
          <p>
            The organization closes to its members at once. After {view.graceDays} days it is removed for good: its
            projects and repositories, rendered pages, search index, members, acknowledgments and its audit log.
            Until then an owner can cancel here. People who belong to no other organization lose their account with it.
            Download the export first if you need any of it.
          </p>
          <FormError>{view.error}</FormError>
          <form class="form" method="post" action={`${base}/delete`}>
            <input type="hidden" name="_csrf" value={view.csrfToken} />
            <div class="field">
              <label for="confirm-slug">
                Type <code>{view.orgSlug}</code> to confirm
              </label>
              <input
                id="confirm-slug"
                name="confirm_slug"
                type="text"
                required
                autocomplete="off"
                spellcheck={false}
                value={view.confirmValue}
                aria-invalid={view.error ? 'true' : undefined}
                aria-describedby="confirm-slug-hint"
              />
              <p class="field-hint" id="confirm-slug-hint">
                {view.recentlyAuthenticated ? 'You confirmed your password recently.' : 'You will be asked for your password (and code) first.'}
              </p>
            </div>
            <div class="form-actions">
              <button type="submit" class="button button-danger">
                Delete {view.orgName}
              </button>
            </div>
          </form>
        </section>
      )}
    </PlainLayout>
  );
}

/** The "Export and deletion" page. */
export function renderOrganizationDataBody(view: OrganizationDataView): TrustedHtml {
  return toHtml(<OrganizationData view={view} />);
}
