import type { JSX } from 'preact';
import { PlainLayout } from './components.tsx';
import { toHtml } from './render.ts';
import type { ErrorView } from './types.ts';
import type { TrustedHtml } from '../../content/trusted-html.ts';

function ErrorBody({ view }: { view: ErrorView }): JSX.Element {
  return (
    <PlainLayout width="narrow">
      <div class="error-page">
        <p class="error-status">{String(view.status)}</p>
        <h1 class="error-title">{view.title}</h1>
        <p class="error-message">{view.message}</p>
        {view.askForAccessHref ? (
          <div class="error-ask">
            <p>If you expected a document here, you can ask an approver of your organization to let you read it.</p>
            <p class="error-actions">
              <a class="button button-primary" href={view.askForAccessHref}>
                Ask for access to this address
              </a>
              <a class="button" href="/">
                Go to the home page
              </a>
            </p>
          </div>
        ) : (
          <p class="error-actions">
            <a class="button button-primary" href="/">
              Go to the home page
            </a>
          </p>
        )}
        <p class="error-request">
          Request ID: <code>{view.requestId}</code>
        </p>
      </div>
    </PlainLayout>
  );
}

/** Any error page (404, 403, 500, ...). The request ID lets support find the log line. */
export function renderErrorBody(view: ErrorView): TrustedHtml {
  return toHtml(<ErrorBody view={view} />);
}
