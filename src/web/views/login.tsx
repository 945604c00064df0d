import type { ComponentChildren, JSX } from 'preact';
import { CurrentPasswordField, PanelPage, SubmitOrLeave } from './form-parts.tsx';
import { toHtml } from './render.ts';
import type { LoginView } from './types.ts';
import type { TrustedHtml } from '../../content/trusted-html.ts';

/**
 * The frame of the sign-in pages (password and single sign-on): a narrow panel with its title and lead, the
 * form's error (always there, so that `aria-describedby` and screen readers find it), the form, and the way to
 * the other kind of sign-in (and `more` links after it).
 */
export function SignInFrame(props: { title: string; lead: string; errorId: string; error: string | null; other: { href: string; label: string }; more?: ComponentChildren; children: ComponentChildren }): JSX.Element {
  return (
    <PanelPage width="narrow" title={props.title} lead={props.lead}>
      <div class="form-error" id={props.errorId} role="alert">
        {props.error}
      </div>
      {props.children}
      <p class="panel-footer">
        <a href={props.other.href}>{props.other.label}</a>
        {props.more}
      </p>
    </PanelPage>
  );
}

function Login({ view }: { view: LoginView }): JSX.Element {
  const invalid = view.error !== null;
  return (
    <SignInFrame
      title="Sign in"
      lead="Use the email address your organization registered for you."
      errorId="login-error"
      error={view.error}
      other={{ href: `/login/sso?next=${encodeURIComponent(view.next)}`, label: 'Sign in with SSO' }}
      more={
        view.forgotPassword ? (
          <>
            {' · '}
            <a href="/login/forgot">Forgot password?</a>
          </>
        ) : null
      }
    >
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
        <CurrentPasswordField id="login-password" invalid={invalid} errorId="login-error" />
        <button type="submit" class="button button-primary button-block">
          Sign in
        </button>
      </form>
    </SignInFrame>
  );
}

/** The sign-in form (POST /login). */
export function renderLoginBody(view: LoginView): TrustedHtml {
  return toHtml(<Login view={view} />);
}

function Logout({ csrfToken }: { csrfToken: string }): JSX.Element {
  return (
    <PanelPage width="narrow" title="Sign out" lead="Sign out of DocuCommit on this device?">
      <form class="form" method="post" action="/logout">
        <input type="hidden" name="_csrf" value={csrfToken} />
        <SubmitOrLeave submit="Sign out" href="/" />
      </form>
    </PanelPage>
  );
}

/** Asks before signing out (for a GET /logout; the top bar posts directly). */
export function renderLogoutBody({ csrfToken }: { csrfToken: string }): TrustedHtml {
  return toHtml(<Logout csrfToken={csrfToken} />);
}
