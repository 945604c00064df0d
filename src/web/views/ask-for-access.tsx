/** The page that turns an address inside an organization into that project's access-request form. */
import type { JSX } from 'preact';
import { FormError, PlainLayout } from './components.tsx';
import { SubmitOrLeave } from './form-parts.tsx';
import { toHtml } from './render.ts';
import type { TrustedHtml } from '../../content/trusted-html.ts';

export interface AskForAccessView {
  orgSlug: string;
  orgName: string;
  address: string;
  error: string | null;
}

function AskForAccess({ view }: { view: AskForAccessView }): JSX.Element {
  const invalid = view.error !== null;
  return (
    <PlainLayout width="normal">
      <header class="page-header">
        <p class="eyebrow">{view.orgName}</p>
        <h1>Ask for access to an address</h1>
        <p class="page-lead">
          Paste the address of the page you were sent. The next step asks why you need it; an approver of{' '}
          {view.orgName} decides within 24 hours.
        </p>
      </header>
      <div class="panel">
        <FormError>{view.error}</FormError>
        <form class="form" method="get" action={`/${encodeURIComponent(view.orgSlug)}/-/access-requests/ask`}>
          <div class="field">
            <label for="ask-address">Page address</label>
            <input
              id="ask-address"
              name="address"
              required
              maxLength={2000}
              spellcheck={false}
              autocapitalize="none"
              placeholder={`/${view.orgSlug}/project/page`}
              value={view.address}
              aria-invalid={invalid ? 'true' : undefined}
            />
          </div>
          <SubmitOrLeave submit="Continue" href={`/${encodeURIComponent(view.orgSlug)}/-/access-requests`} leave="My requests" />
        </form>
      </div>
    </PlainLayout>
  );
}

/** Ask for access by address when the address could not be taken from the page the member came from. */
export function renderAskForAccessBody(view: AskForAccessView): TrustedHtml {
  return toHtml(<AskForAccess view={view} />);
}
