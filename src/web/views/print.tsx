/** The body of a document version's print page (web/document-pdf.ts wraps it in the print template). */
import type { JSX } from 'preact';
import type { Classification } from '../../content/types.ts';
import type { TrustedHtml as TrustedHtmlString } from '../../content/trusted-html.ts';
import { toHtml } from './render.ts';
import { TrustedHtml } from './trusted-html.tsx';

export interface PrintView {
  title: string;
  projectName: string;
  path: string;
  classification: Classification;
  /** The version's commit id. */
  versionId: string;
  /** `YYYY-MM-DD`, or "on publication". */
  effective: string;
  /** The day the version was committed (`YYYY-MM-DD`). */
  committed: string;
  /** Sanitized document HTML. */
  html: TrustedHtmlString;
  tooLarge: boolean;
}

function PrintPage({ view }: { view: PrintView }): JSX.Element {
  return (
    <article>
      <h1>{view.title}</h1>
      <p class="print-facts">
        <span class="print-classification">{view.classification}</span>
        <span>{`Version ${view.versionId}`}</span>
        <span>{`Effective ${view.effective}`}</span>
        <span>{`Committed ${view.committed}`}</span>
        <span>{`${view.projectName} · ${view.path}`}</span>
      </p>
      {view.tooLarge ? <p class="print-notice">This version is too large to print here.</p> : <TrustedHtml html={view.html} />}
    </article>
  );
}

/** The print page's body (escaped text plus the sanitized document HTML). */
export function renderPrintBody(view: PrintView): TrustedHtmlString {
  return toHtml(<PrintPage view={view} />);
}
