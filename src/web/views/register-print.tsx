/** The body of the policy register's print page (web/register-pdf.ts wraps it in the print template). */
import type { JSX } from 'preact';
import type { TrustedHtml } from '../../content/trusted-html.ts';
import type { RegisterRow } from '../../evidence/evidence-pack.ts';
import { toHtml } from './render.ts';

export interface RegisterPrintView {
  orgName: string;
  /** "Every project", or the project's slug. */
  scope: string;
  from: string;
  to: string;
  /** ISO time the register was made. */
  generatedAt: string;
  rows: RegisterRow[];
}

function RegisterPage({ view }: { view: RegisterPrintView }): JSX.Element {
  return (
    <article>
      <h1>Policy register</h1>
      <p class="print-facts">
        <span>{view.orgName}</span>
        <span>{`Period ${view.from} to ${view.to} (UTC, both days included)`}</span>
        <span>{`Documents of ${view.scope}`}</span>
        <span>{`Generated ${view.generatedAt}`}</span>
      </p>
      <p>Each document in effect at the end of the period, with the version in effect then (the evidence pack's register.csv).</p>
      {view.rows.length === 0 ? (
        <p class="print-notice">No document was in effect during this period.</p>
      ) : (
        <table class="register">
          <thead>
            <tr>
              <th>Project</th>
              <th>Document</th>
              <th>Owner</th>
              <th>Classification</th>
              <th>Version</th>
              <th>Published</th>
              <th>Effective</th>
              <th>Last review</th>
              <th>Next review</th>
              <th>Approvers</th>
            </tr>
          </thead>
          <tbody>
            {view.rows.map((row) => (
              <tr>
                <td>{row.project}</td>
                <td>
                  <strong>{row.title || row.document}</strong>
                  <br />
                  <code>{row.document}</code>
                </td>
                <td>{row.owner}</td>
                <td>{row.classification}</td>
                <td>
                  <code>{row.commit.slice(0, 12)}</code>
                </td>
                <td>{row.publishedAt.slice(0, 10)}</td>
                <td>{row.effective}</td>
                <td>{row.lastReview || '—'}</td>
                <td>{row.nextReview || '—'}</td>
                <td>{row.approvers.length > 0 ? row.approvers.join('; ') : '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </article>
  );
}

/** The register print page's body (escaped text only). */
export function renderRegisterPrintBody(view: RegisterPrintView): TrustedHtml {
  return toHtml(<RegisterPage view={view} />);
}
