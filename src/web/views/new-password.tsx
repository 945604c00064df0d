/** Views where a member sets a new password without knowing a current one: at first sign-in, from a reset link. */
import type { JSX } from 'preact';
import { FormError } from './components.tsx';
import { PanelPage } from './form-parts.tsx';
import { toHtml } from './render.ts';
import type { TrustedHtml } from '../../content/trusted-html.ts';

export interface NewPasswordView {
  csrfToken: string;
  /** 'first-sign-in': the password was chosen by someone else; 'reset': a reset link. */
  kind: 'first-sign-in' | 'reset';
  action: string;
  email: string;
  next: string | null;
  error: string | null;
}

function NewPassword({ view }: { view: NewPasswordView }): JSX.Element {
  const invalid = view.error !== null;
  const first = view.kind === 'first-sign-in';
  return (
    <PanelPage
      width="narrow"
      eyebrow={first ? 'Before you continue' : 'Password reset'}
      title={first ? 'Choose your own password' : 'Set a new password'}
      lead={
        first
          ? 'The password you signed in with was given to you, so it only works once. Choose one that only you know.'
          : 'Your other sessions end when you save it. Use 12 to 128 characters; a few unrelated words make a strong, memorable password.'
      }
    >
      <FormError>{view.error}</FormError>
      <form class="form" method="post" action={view.action}>
        <input type="hidden" name="_csrf" value={view.csrfToken} />
        {view.next !== null ? <input type="hidden" name="next" value={view.next} /> : null}
        <input type="text" name="username" value={view.email} autocomplete="username" hidden readOnly />
        <div class="field">
          <label for="new-password">New password</label>
          <input
            id="new-password"
            name="password"
            type="password"
            required
            minLength={12}
            maxLength={128}
            autocomplete="new-password"
            aria-invalid={invalid ? 'true' : undefined}
            aria-describedby="new-password-hint"
          />
          <p class="field-hint" id="new-password-hint">
            12 to 128 characters, for {view.email}.
          </p>
        </div>
        <div class="form-actions">
          <button type="submit" class="button button-primary">
            {first ? 'Save and continue' : 'Set password'}
          </button>
        </div>
      </form>
    </PanelPage>
  );
}

/** The form that replaces a given password at first sign-in, or sets one from a reset link. */
export function renderNewPasswordBody(view: NewPasswordView): TrustedHtml {
  return toHtml(<NewPassword view={view} />);
}

export type PasswordResetDoneView = { state: 'done' } | { state: 'unusable'; message: string };

function PasswordResetDone({ view }: { view: PasswordResetDoneView }): JSX.Element {
  return (
    <PanelPage
      width="narrow"
      eyebrow="Password reset"
      title={view.state === 'done' ? 'Your password is set' : 'This link cannot be used'}
      lead={view.state === 'done' ? 'Every session of your account was signed out. Sign in with your new password.' : view.message}
    >
      <div class="form-actions">
        <a class="button button-primary" href="/login">
          Sign in
        </a>
      </div>
    </PanelPage>
  );
}

/** After a reset link was used, or when it cannot be. */
export function renderPasswordResetDoneBody(view: PasswordResetDoneView): TrustedHtml {
  return toHtml(<PasswordResetDone view={view} />);
}
