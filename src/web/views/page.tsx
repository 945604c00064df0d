import type { JSX } from 'preact';
import { diagramScript, favicon, searchScript, stylesheet } from '../assets.ts';
import { toHtml } from './render.ts';
import { TrustedHtml } from './trusted-html.tsx';
import type { PageFrame, ViewUser } from './types.ts';

function Account({ user, csrfToken }: { user: ViewUser | null; csrfToken: string | null }): JSX.Element {
  if (user === null) {
    return (
      <a class="button button-small topbar-signin" href="/login">
        Sign in
      </a>
    );
  }
  return (
    <div class="topbar-account">
      <span class="topbar-user" title={user.email}>
        {user.name}
      </span>
      <a class="topbar-link" href="/-/account">
        Account
      </a>
      {user.waitingRequests ? (
        <a
          class="topbar-link topbar-waiting"
          href={user.waitingRequests.href}
          title="Access requests waiting for your decision"
        >
          Requests <span class="topbar-count">{user.waitingRequests.count}</span>
        </a>
      ) : null}
      {user.openAcknowledgments ? (
        <a
          class="topbar-link topbar-waiting topbar-acknowledgments"
          href={user.openAcknowledgments.href}
          title="Documents waiting for you to read and acknowledge"
        >
          To acknowledge <span class="topbar-count">{user.openAcknowledgments.count}</span>
        </a>
      ) : null}
      {user.securityNotice ? (
        <a
          class="topbar-link topbar-notice"
          href="/-/account#security-activity"
          title="New security activity on your account"
          aria-label="New security activity on your account"
        >
          <span aria-hidden="true">●</span>
          <span class="topbar-notice-text"> New security activity</span>
        </a>
      ) : null}
      <form class="topbar-signout" method="post" action="/logout">
        <input type="hidden" name="_csrf" value={csrfToken ?? ''} />
        <button type="submit" class="button button-quiet button-small">
          Sign out
        </button>
      </form>
    </div>
  );
}

/**
 * Search across the reader's projects: a plain GET form (works without script); its script only makes `/` focus
 * the box. The frame is the same for every page, so the box starts empty.
 */
function TopbarSearch(): JSX.Element {
  return (
    <form class="topbar-search" method="get" action="/-/search" role="search" aria-label="Search all your projects">
      <label class="visually-hidden" for="topbar-search-q">
        Search
      </label>
      <input
        id="topbar-search-q"
        class="topbar-search-input"
        type="search"
        name="q"
        placeholder="Search"
        maxLength={200}
        autocomplete="off"
        aria-keyshortcuts="/"
        data-search-box=""
      />
      <kbd class="topbar-search-key" aria-hidden="true">
        /
      </kbd>
      <script type="module" src={searchScript.href} />
    </form>
  );
}

function Document({ frame }: { frame: PageFrame }): JSX.Element {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="color-scheme" content="light dark" />
        <title>{`${frame.title} · DocuCommit`}</title>
        <link rel="stylesheet" href={stylesheet.href} />
        <link rel="icon" type="image/svg+xml" href={favicon.href} />
        <script type="module" src={diagramScript.href} />
      </head>
      <body>
        <a class="skip-link" href="#main">
          Skip to main content
        </a>
        <header class="topbar">
          <div class="topbar-inner">
            <a class="brand" href="/">
              <span class="brand-mark" aria-hidden="true" />
              <span class="brand-name">DocuCommit</span>
            </a>
            <nav class="topbar-nav" aria-label="Site">
              <a class="topbar-link" href="/">
                Projects
              </a>
            </nav>
            {frame.user ? <TopbarSearch /> : null}
            <div class="topbar-end">
              <Account user={frame.user} csrfToken={frame.csrfToken} />
            </div>
          </div>
        </header>
        <TrustedHtml as="main" id="main" tabIndex={-1} html={frame.body} />
      </body>
    </html>
  );
}

/** A full HTML document: head, top bar, and the already rendered `frame.body` in `<main>`. */
export function renderPage(frame: PageFrame): string {
  return '<!doctype html>' + toHtml(<Document frame={frame} />);
}
