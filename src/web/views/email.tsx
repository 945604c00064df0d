/** Views of email: "Forgot password?" and the account page's email notifications form. */
import type { JSX } from 'preact';
import { FormError } from './components.tsx';
import { PanelPage } from './form-parts.tsx';
import { toHtml } from './render.ts';
import type { TrustedHtml } from '../../content/trusted-html.ts';

export interface ForgotPasswordView {
  csrfToken: string;
  /** 'form': ask for the address; 'sent': the one answer, whether or not an account exists; 'throttled'. */
  state: 'form' | 'sent' | 'throttled';
  /** Minutes a link works. */
  lifetimeMinutes: number;
}

function ForgotPassword({ view }: { view: ForgotPasswordView }): JSX.Element {
  return (
    <PanelPage width="narrow" eyebrow="Password reset" title={view.state === 'sent' ? 'Check your email' : 'Forgot your password?'}>
      {view.state === 'sent' ? (
        <p class="panel-lead" id="forgot-sent" role="status">
          If an account signs in with that address, we sent it a link to choose a new password. The link works once, for{' '}
          {view.lifetimeMinutes} minutes. Nothing arrived? Look in your spam folder, or ask an administrator of your organization.
        </p>
      ) : (
        <>
          <p class="panel-lead">Enter the email address you sign in with. We send a link to choose a new password.</p>
          <FormError>{view.state === 'throttled' ? 'Too many requests from your network. Try again in an hour.' : null}</FormError>
          <form class="form" method="post" action="/login/forgot">
            <input type="hidden" name="_csrf" value={view.csrfToken} />
            <div class="field">
              <label for="forgot-email">Email</label>
              <input id="forgot-email" name="email" type="email" required maxLength={320} autocomplete="username" autocapitalize="none" spellcheck={false} />
            </div>
            <div class="form-actions">
              <button type="submit" class="button button-primary">
                Send the link
              </button>
            </div>
          </form>
        </>
      )}
      <p class="panel-footer">
        <a href="/login">Back to sign in</a>
      </p>
    </PanelPage>
  );
}

/** GET and POST /login/forgot. */
export function renderForgotPasswordBody(view: ForgotPasswordView): TrustedHtml {
  return toHtml(<ForgotPassword view={view} />);
}

export interface EmailPreferenceView {
  csrfToken: string;
  optedOut: boolean;
}

/** The account page's section: email notifications on or off (security email always goes). */
export function EmailPreferenceSection({ view }: { view: EmailPreferenceView }): JSX.Element {
  return (
    <section class="account-section" id="email" aria-labelledby="email-heading">
      <h2 class="account-heading" id="email-heading">
        Email notifications
      </h2>
      <form class="form" method="post" action="/-/account/email-notifications">
        <input type="hidden" name="_csrf" value={view.csrfToken} />
        <div class="field">
          <label class="choice">
            <input type="checkbox" name="notify" value="on" checked={!view.optedOut} aria-describedby="email-notify-hint" />
            <span class="choice-text">
              <span class="choice-title">Email me what waits for me</span>
              <span class="choice-hint" id="email-notify-hint">
                Access requests and their decisions, change requests to review, acknowledgments and reviews due — a few at a time, in
                one digest. Security notices and password resets are always sent.
              </span>
            </span>
          </label>
        </div>
        <div class="form-actions">
          <button type="submit" class="button">
            Save email settings
          </button>
        </div>
      </form>
    </section>
  );
}
