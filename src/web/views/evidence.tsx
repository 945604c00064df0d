import type { TrustedHtml } from '../../content/trusted-html.ts';
import { FormError, PlainLayout } from './components.tsx';
import { toHtml } from './render.ts';

/** The evidence page of an organization (admins and owners): download an auditor's evidence pack. */
export interface EvidenceView {
  csrfToken: string;
  orgSlug: string;
  orgName: string;
  projects: { slug: string; name: string }[];
  values: { from: string; to: string; project: string };
  error: string | null;
  /** SHA-256 of the organization's signing key, or null before the first pack. */
  fingerprint: string | null;
}

function Evidence({ view }: { view: EvidenceView }) {
  const base = `/${encodeURIComponent(view.orgSlug)}/-`;
  return (
    <PlainLayout width="normal">
      <header class="page-header">
        <p class="eyebrow">{view.orgName}</p>
        <h1>Evidence for auditors</h1>
        <p class="page-lead">
          One archive for a period: the policy register, every version of every document in effect during it with its
          approvals and acknowledgments, the review events, and the <a href={`${base}/audit`}>audit events</a> with their
          hash chain — with a manifest signed by {view.orgName}'s key. An auditor checks it without this server:{' '}
          <code>docucommit evidence verify FILE --key KEY</code>. The policy register alone (each document in effect at the
          end of the period) is also a PDF to print. Each download is recorded in the audit log.
        </p>
      </header>
      <FormError>{view.error}</FormError>
      <section class="page-section" aria-label="Download">
        <form class="form" method="post" action={`${base}/evidence`}>
          <input type="hidden" name="_csrf" value={view.csrfToken} />
          <div class="field">
            <label for="evidence-from">From</label>
            <input id="evidence-from" name="from" type="date" required value={view.values.from} aria-describedby="evidence-period-hint" />
          </div>
          <div class="field">
            <label for="evidence-to">To</label>
            <input id="evidence-to" name="to" type="date" required value={view.values.to} aria-describedby="evidence-period-hint" />
            <p class="field-hint" id="evidence-period-hint">
              Both days included (UTC). Audit events older than the organization's retention are no longer in the log.
            </p>
          </div>
          <div class="field">
            <label for="evidence-project">Documents of</label>
            <select id="evidence-project" name="project">
              <option value="" selected={view.values.project === ''}>
                Every project
              </option>
              {view.projects.map((project) => (
                <option value={project.slug} selected={view.values.project === project.slug}>
                  {project.name}
                </option>
              ))}
            </select>
          </div>
          <div class="form-actions">
            <button type="submit" class="button button-primary">
              Download evidence pack
            </button>
            <button type="submit" class="button" formaction={`${base}/evidence/register.pdf`}>
              Policy register as PDF
            </button>
          </div>
        </form>
      </section>
      <section class="page-section" aria-labelledby="key-heading">
        <h2 class="section-heading" id="key-heading">
          Signing key
        </h2>
        {view.fingerprint ? (
          <p>
            Packs are signed with the key at <a href={`${base}/evidence-key`}>{`${base}/evidence-key`}</a> (SHA-256{' '}
            <code>{view.fingerprint}</code>). Give auditors that key by a separate channel.
          </p>
        ) : (
          <p>The organization's signing key is created with the first pack.</p>
        )}
      </section>
    </PlainLayout>
  );
}

/** The evidence page. */
export function renderEvidenceBody(view: EvidenceView): TrustedHtml {
  return toHtml(<Evidence view={view} />);
}
