import type { JSX } from 'preact';
import { PlainLayout } from './components.tsx';
import { toHtml } from './render.ts';
import type { LoginView } from './types.ts';
import type { TrustedHtml } from '../../content/trusted-html.ts';

function Login({ view }: { view: LoginView }): JSX.Element {
  const invalid = view.error !== null;
  return (
    <PlainLayout width="narrow">
      <div class="panel">
        <h1 class="panel-title">Sign in</h1>
        <p class="panel-lead">Use the email address your organization registered for you.</p>
        <div class="form-error" id="login-error" role="alert">
          {view.error}
        </div>
        <form class="form" method="post" action="/login">
          <input type="hidden" name="_csrf" value={view.csrfToken} />
          <input type="hidden" name="next" value={view.next} />
          <div class="field">
            <label for="login-email">Email</label>
            <input
              id="login-email"
              name="email"
              type="email"
              required
              autocomplete="username"
              autocapitalize="none"
              spellcheck={false}
              value={view.email}
              aria-invalid={invalid ? 'true' : undefined}
              aria-describedby={invalid ? 'login-error' : undefined}
            />
          </div>
          <div class="field">
            <label for="login-password">Password</label>
            <input
              id="login-password"
              name="password"
              type="password"
              required
              autocomplete="current-password"
              aria-invalid={invalid ? 'true' : undefined}
              aria-describedby={invalid ? 'login-error' : undefined}
            />
          </div>
          <button type="submit" class="button button-primary button-block">
            Sign in
          </button>
        </form>
        <p class="panel-footer">
          <a href={`/login/sso?next=${encodeURIComponent(view.next)}`}>Sign in with SSO</a>
          {view.forgotPassword ? (
            <>
              {' · '}
              <a href="/login/forgot">Forgot password?</a>
            </>
          ) : null}
        </p>
      </div>
    </PlainLayout>
  );
}

/** The sign-in form (POST /login). */
export function renderLoginBody(view: LoginView): TrustedHtml {
  return toHtml(<Login view={view} />);
}

function Logout({ csrfToken }: { csrfToken: string }): JSX.Element {
  return (
    <PlainLayout width="narrow">
      <div class="panel">
        <h1 class="panel-title">Sign out</h1>
        <p class="panel-lead">Sign out of DocuCommit on this device?</p>
        <form class="form" method="post" action="/logout">
          <input type="hidden" name="_csrf" value={csrfToken} />
          <div class="form-actions">
            <button type="submit" class="button button-primary">
              Sign out
            </button>
            <a class="button button-quiet" href="/">
              Cancel
            </a>
          </div>
        </form>
      </div>
    </PlainLayout>
  );
}

/** Asks before signing out (for a GET /logout; the top bar posts directly). */
export function renderLogoutBody({ csrfToken }: { csrfToken: string }): TrustedHtml {
  return toHtml(<Logout csrfToken={csrfToken} />);
}
