/** Views of two-step verification: the sign-in challenge, enrollment, recovery codes, account security. */
import type { JSX } from 'preact';
import { CopyButton, DownloadText, PlainLayout } from './components.tsx';
import { PanelPage, SubmitOrLeave } from './form-parts.tsx';
import { toHtml } from './render.ts';
import type { TrustedHtml } from '../../content/trusted-html.ts';

/** A QR code as its module matrix. */
export interface QrMatrix {
  size: number;
  /** Row-major, 1 for a dark module. */
  modules: ArrayLike<number>;
}

export interface MfaChallengeView {
  csrfToken: string;
  next: string;
  error: string | null;
}

export interface MfaEnrollView {
  csrfToken: string;
  /** Where the confirmation form posts. */
  action: string;
  next: string | null;
  /** The secret in base32, grouped for reading. */
  secret: string;
  uri: string;
  qr: QrMatrix;
  error: string | null;
  /** True when an organization requires MFA and the user signs in for the first time since. */
  forced: boolean;
}

export interface RecoveryCodesView {
  codes: string[];
  title: string;
  lead: string;
  continueHref: string;
  continueLabel: string;
}

export interface AccountSecurityView {
  csrfToken: string;
  email: string;
  enrolled: boolean;
  enrolledAt: string | null;
  recoveryCodesLeft: number;
  notice: string | null;
  error: string | null;
}

export interface ReauthView {
  csrfToken: string;
  next: string;
  needsCode: boolean;
  error: string | null;
  /** The account has a password: the password form is shown. */
  password: boolean;
  /** Identity providers linked to the account ("Continue with …"; auth/sso/reauthentication.ts). */
  providers: { orgSlug: string; orgName: string; host: string }[];
}

export interface ChangePasswordView {
  csrfToken: string;
  error: string | null;
}

/**
 * The form's error, in an alert region that is always in the page (empty and hidden by app.css's `.form-error:empty`
 * until there is an error), so the code field can name it in `aria-describedby` by its id. components.tsx's
 * `FormError` renders nothing without an error.
 */
function ErrorRegion({ id, error }: { id: string; error: string | null }): JSX.Element {
  return (
    <div class="form-error" id={id} role="alert">
      {error}
    </div>
  );
}

/** The QR code drawn as SVG elements by Preact (no raw markup, nothing for CSP to block). */
function QrCode({ qr, label }: { qr: QrMatrix; label: string }): JSX.Element {
  const quiet = 4;
  let path = '';
  for (let row = 0; row < qr.size; row++) {
    for (let col = 0; col < qr.size; col++) {
      if (qr.modules[row * qr.size + col]) path += `M${col + quiet} ${row + quiet}h1v1h-1z`;
    }
  }
  const side = qr.size + quiet * 2;
  return (
    <svg class="mfa-qr" viewBox={`0 0 ${side} ${side}`} role="img" aria-label={label} shape-rendering="crispEdges">
      <rect width={side} height={side} fill="#ffffff" />
      <path d={path} fill="#000000" />
    </svg>
  );
}

function CodeField({ invalid, errorId, hint }: { invalid: boolean; errorId: string; hint: string }): JSX.Element {
  return (
    <div class="field">
      <label for="mfa-code">Authentication code</label>
      <input
        id="mfa-code"
        name="code"
        type="text"
        required
        inputmode="numeric"
        autocomplete="one-time-code"
        autocapitalize="none"
        spellcheck={false}
        maxLength={32}
        class="mfa-code-input"
        aria-invalid={invalid ? 'true' : undefined}
        aria-describedby={invalid ? `${errorId} mfa-code-hint` : 'mfa-code-hint'}
      />
      <p class="field-hint" id="mfa-code-hint">
        {hint}
      </p>
    </div>
  );
}

function MfaChallenge({ view }: { view: MfaChallengeView }): JSX.Element {
  return (
    <PanelPage
      width="narrow"
      eyebrow="Two-step verification"
      title="Enter your code"
      lead="Your password was accepted. Open your authenticator app to finish signing in."
    >
      <ErrorRegion id="mfa-error" error={view.error} />
      <form class="form" method="post" action="/login/mfa">
        <input type="hidden" name="_csrf" value={view.csrfToken} />
        <input type="hidden" name="next" value={view.next} />
        <CodeField
          invalid={view.error !== null}
          errorId="mfa-error"
          hint="The 6-digit code from your app. Lost your device? Enter one of your recovery codes instead."
        />
        <button type="submit" class="button button-primary button-block">
          Verify
        </button>
      </form>
      <p class="panel-footer">
        <a href="/login">Sign in as someone else</a>
      </p>
    </PanelPage>
  );
}

/** The second step of sign-in (GET/POST /login/mfa). */
export function renderMfaChallengeBody(view: MfaChallengeView): TrustedHtml {
  return toHtml(<MfaChallenge view={view} />);
}

function MfaEnroll({ view }: { view: MfaEnrollView }): JSX.Element {
  return (
    <PanelPage
      width="normal"
      eyebrow="Two-step verification"
      title="Set up an authenticator app"
      lead={
        view.forced
          ? 'Your organization requires two-step verification. Set it up now to continue; nothing else is available until you do.'
          : 'After this, signing in asks for your password and a code from an app such as 1Password, Google Authenticator or Microsoft Authenticator.'
      }
    >
      <ErrorRegion id="enroll-error" error={view.error} />
      <div class="mfa-enroll">
        <ol class="mfa-steps">
          <li>
            <strong>Scan this QR code</strong> with your authenticator app.
            <QrCode qr={view.qr} label="QR code for your authenticator app" />
          </li>
          <li>
            <strong>Can’t scan it?</strong> Enter this key by hand (time-based, 6 digits, 30 seconds):
            <code class="mfa-secret" id="mfa-secret">
              {view.secret}
            </code>{' '}
            <CopyButton target="mfa-secret" label="Copy key" />
            <details class="mfa-uri">
              <summary>Show the setup link</summary>
              <code>{view.uri}</code>
            </details>
          </li>
          <li>
            <strong>Enter the 6-digit code</strong> the app now shows.
            <form class="form mfa-confirm" method="post" action={view.action}>
              <input type="hidden" name="_csrf" value={view.csrfToken} />
              {view.next !== null ? <input type="hidden" name="next" value={view.next} /> : null}
              <CodeField invalid={view.error !== null} errorId="enroll-error" hint="The code changes every 30 seconds." />
              <button type="submit" class="button button-primary">
                Turn on two-step verification
              </button>
            </form>
          </li>
        </ol>
      </div>
    </PanelPage>
  );
}

/** TOTP enrollment: QR code, the key as text, and the confirmation form. */
export function renderMfaEnrollBody(view: MfaEnrollView): TrustedHtml {
  return toHtml(<MfaEnroll view={view} />);
}

function RecoveryCodes({ view }: { view: RecoveryCodesView }): JSX.Element {
  return (
    <PanelPage width="normal" eyebrow="Two-step verification" title={view.title} lead={view.lead}>
      <div class="notices" role="note">
        <p class="notices-heading">Save these now</p>
        <p class="notice-title">They are shown only once. Each code works one time.</p>
      </div>
      <ol class="mfa-recovery-codes" id="recovery-codes" aria-label="Recovery codes">
        {view.codes.map((code) => (
          <li>
            <code>{code}</code>
          </li>
        ))}
      </ol>
      <p class="copy-actions">
        <CopyButton target="recovery-codes" label="Copy codes" />
        <DownloadText text={view.codes.join('\n') + '\n'} filename="docucommit-recovery-codes.txt" label="Download as text" />
      </p>
      <a class="button button-primary button-block" href={view.continueHref}>
        {view.continueLabel}
      </a>
    </PanelPage>
  );
}

/** Recovery codes, shown once after enrollment or regeneration. */
export function renderRecoveryCodesBody(view: RecoveryCodesView): TrustedHtml {
  return toHtml(<RecoveryCodes view={view} />);
}

/** The account pages' tabs (same markup and classes as views/account.tsx, whose layout owns the other tabs). */
const ACCOUNT_TABS = [
  { label: 'Overview', href: '/-/account' },
  { label: 'Sessions', href: '/-/account/sessions' },
  { label: 'Access tokens', href: '/-/account/tokens' },
  { label: 'Password & MFA', href: '/-/account/security' },
];

function AccountSecurity({ view }: { view: AccountSecurityView }): JSX.Element {
  return (
    <PlainLayout width="normal">
      <div class="account-page">
        <header class="page-header">
          <p class="eyebrow">Your account</p>
          <h1>Password and two-step verification</h1>
          <p class="page-lead">{view.email}</p>
        </header>
        <nav class="account-tabs" aria-label="Account">
          {ACCOUNT_TABS.map((tab) => {
            const current = tab.href === '/-/account/security';
            return (
              <a class={current ? 'account-tab is-current' : 'account-tab'} href={tab.href} aria-current={current ? 'page' : undefined}>
                {tab.label}
              </a>
            );
          })}
        </nav>
        {view.notice ? (
          <p class="form-notice" role="status">
            {view.notice}
          </p>
        ) : null}
        <ErrorRegion id="security-error" error={view.error} />
        <section class="account-section" aria-labelledby="mfa-heading">
          <h2 class="account-heading" id="mfa-heading">
            Two-step verification{' '}
            <span class={view.enrolled ? 'mfa-status mfa-status-on' : 'mfa-status'}>{view.enrolled ? 'On' : 'Off'}</span>
          </h2>
          {view.enrolled ? (
            <>
              <p class="mfa-lead">
                Signing in asks for a code from your authenticator app
                {view.enrolledAt ? ` (set up ${view.enrolledAt})` : ''}. You have {view.recoveryCodesLeft} unused recovery{' '}
                {view.recoveryCodesLeft === 1 ? 'code' : 'codes'}.
              </p>
              <div class="form-actions">
                <form method="post" action="/-/account/security/recovery-codes">
                  <input type="hidden" name="_csrf" value={view.csrfToken} />
                  <button type="submit" class="button">
                    New recovery codes
                  </button>
                </form>
                <form method="post" action="/-/account/security/disable">
                  <input type="hidden" name="_csrf" value={view.csrfToken} />
                  <button type="submit" class="button button-quiet mfa-danger">
                    Turn off
                  </button>
                </form>
              </div>
            </>
          ) : (
            <>
              <p class="mfa-lead">Protect your account with a code from an authenticator app in addition to your password.</p>
              <div class="form-actions">
                <a class="button button-primary" href="/-/account/security/enroll">
                  Set up two-step verification
                </a>
              </div>
            </>
          )}
        </section>
        <section class="account-section" aria-labelledby="password-heading">
          <h2 class="account-heading" id="password-heading">
            Password
          </h2>
          <p class="mfa-lead">12 to 128 characters; passwords on the list of common passwords are refused.</p>
          <div class="form-actions">
            <a class="button" href="/-/account/security/password">
              Change password
            </a>
          </div>
        </section>
      </div>
    </PlainLayout>
  );
}

/** /-/account/security: MFA status and actions, password. */
export function renderAccountSecurityBody(view: AccountSecurityView): TrustedHtml {
  return toHtml(<AccountSecurity view={view} />);
}

function Reauth({ view }: { view: ReauthView }): JSX.Element {
  const invalid = view.error !== null;
  const title = view.password ? (view.providers.length > 0 ? 'Confirm it’s you' : 'Enter your password again') : 'Sign in again to confirm';
  return (
    <PlainLayout width="narrow">
      <div class="panel">
        <p class="eyebrow">Confirm it’s you</p>
        <h1 class="panel-title">{title}</h1>
        <p class="panel-lead">This action needs a recent sign-in. You won’t be asked again for a few minutes.</p>
        <ErrorRegion id="reauth-error" error={view.error} />
        {view.providers.map((provider) => (
          <form class="form" method="post" action="/-/reauth/sso">
            <input type="hidden" name="_csrf" value={view.csrfToken} />
            <input type="hidden" name="next" value={view.next} />
            <input type="hidden" name="org" value={provider.orgSlug} />
            <button type="submit" class="button button-primary button-block">
              Continue with {provider.host}
            </button>
            <p class="field-hint">{provider.orgName}’s single sign-on asks you to sign in there again.</p>
          </form>
        ))}
        {view.password ? (
          <form class="form" method="post" action="/-/reauth">
            <input type="hidden" name="_csrf" value={view.csrfToken} />
            <input type="hidden" name="next" value={view.next} />
            <div class="field">
              <label for="reauth-password">{view.providers.length > 0 ? 'Or your password' : 'Password'}</label>
              <input
                id="reauth-password"
                name="password"
                type="password"
                required
                autocomplete="current-password"
                aria-invalid={invalid ? 'true' : undefined}
                aria-describedby={invalid ? 'reauth-error' : undefined}
              />
            </div>
            {view.needsCode ? (
              <CodeField invalid={invalid} errorId="reauth-error" hint="The 6-digit code from your authenticator app." />
            ) : null}
            <div class="form-actions">
              <button type="submit" class={view.providers.length > 0 ? 'button' : 'button button-primary'}>
                Confirm
              </button>
              <a class="button button-quiet" href="/-/account/security">
                Cancel
              </a>
            </div>
          </form>
        ) : (
          <>
            {view.providers.length === 0 ? (
              <p class="field-hint" id="reauth-no-method">
                Your account has no password, and no identity provider it signs in with is available now. Sign out and sign in again,
                then retry within ten minutes.
              </p>
            ) : null}
            <div class="form-actions">
              <a class="button button-quiet" href="/-/account/security">
                Cancel
              </a>
            </div>
          </>
        )}
      </div>
    </PlainLayout>
  );
}

/** Re-authentication before a sensitive action (GET/POST /-/reauth). */
export function renderReauthBody(view: ReauthView): TrustedHtml {
  return toHtml(<Reauth view={view} />);
}

function ChangePassword({ view }: { view: ChangePasswordView }): JSX.Element {
  const invalid = view.error !== null;
  return (
    <PanelPage
      width="narrow"
      eyebrow="Your account"
      title="Change password"
      lead="Use 12 to 128 characters. A few unrelated words make a strong, memorable password."
    >
      <ErrorRegion id="password-error" error={view.error} />
      <form class="form" method="post" action="/-/account/security/password">
        <input type="hidden" name="_csrf" value={view.csrfToken} />
        <div class="field">
          <label for="current-password">Current password</label>
          <input id="current-password" name="current" type="password" required autocomplete="current-password" />
        </div>
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
            aria-describedby={invalid ? 'password-error' : undefined}
          />
        </div>
        <SubmitOrLeave submit="Change password" href="/-/account/security" />
      </form>
    </PanelPage>
  );
}

/** The change-password form (current password required). */
export function renderChangePasswordBody(view: ChangePasswordView): TrustedHtml {
  return toHtml(<ChangePassword view={view} />);
}
