import { EmailPreferenceSection, type EmailPreferenceView } from './email.tsx';
import type { ComponentChildren, JSX } from 'preact';
import type { TokenScope } from '../../access/actor.ts';
import type { OrganizationLinks } from '../../access/view-links.ts';
import type { Role } from '../../db/schema.ts';
import { CopyButton, PlainLayout } from './components.tsx';
import { SubmitOrLeave } from './form-parts.tsx';
import { plural } from './format.ts';
import { toHtml } from './render.ts';
import type { TrustedHtml } from '../../content/trusted-html.ts';

/** The account pages: overview, sessions, personal access tokens. */

export interface AccountOverviewView {
  name: string;
  email: string;
  /** `links`: the organization's admin pages the policy opens to this role (access/view-links.ts). */
  memberships: { orgName: string; orgSlug: string; role: Role; links: OrganizationLinks }[];
  sessionCount: number;
  activeTokenCount: number;
  /** A fixed message after a change (e.g. the email address), or null. */
  notice?: string | null;
  /** The user's own recent security events (audit/security-notices.ts), newest first. */
  security?: SecurityActivityView;
  /** The email notifications form, when email is configured (SMTP_URL). */
  emailNotifications?: EmailPreferenceView | null;
}

export interface SecurityActivityView {
  /** How many arrived since the user last looked (the banner shows while above 0). */
  unseen: number;
  events: { summary: string; occurredAt: number; outcome: 'success' | 'failure' | 'denied'; ip: string | null; isNew: boolean }[];
}

export interface ChangeEmailView {
  csrfToken: string;
  currentEmail: string;
  /** What was typed, shown again with the error. */
  email: string;
  error: string | null;
}

export interface AccountSessionsView {
  csrfToken: string;
  sessions: { handle: string; createdAt: number; lastSeenAt: number; expiresAt: number; current: boolean }[];
  notice: string | null;
}

export interface AccountTokenRow {
  id: string;
  name: string;
  prefix: string;
  scopes: TokenScope[];
  createdAt: number;
  expiresAt: number;
  lastUsedAt: number | null;
  status: 'active' | 'expired' | 'revoked';
}

export interface TokenFormValues {
  name: string;
  access: 'read' | 'write';
  expiresDays: number;
}

export interface AccountTokensView {
  csrfToken: string;
  tokens: AccountTokenRow[];
  notice: string | null;
}

export interface NewTokenFormView {
  csrfToken: string;
  form: TokenFormValues;
  /** Problem with the submitted form, shown above it. */
  error: string | null;
  expiryChoices: number[];
}

export interface NewTokenView {
  token: string;
  name: string;
  scopes: TokenScope[];
  expiresAt: number;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number) => String(n).padStart(2, '0');

/** `Nov 22, 2026, 08:30 UTC` (server-rendered pages have no local time zone to use). */
function formatDateTime(ms: number): string {
  const d = new Date(ms);
  return `${MONTHS[d.getUTCMonth()]} ${d.getUTCDate()}, ${d.getUTCFullYear()}, ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())} UTC`;
}

function When({ ms }: { ms: number }): JSX.Element {
  return <time dateTime={new Date(ms).toISOString()}>{formatDateTime(ms)}</time>;
}

const ROLE_LABELS: Record<Role, string> = { owner: 'Owner', admin: 'Admin', manager: 'Manager', member: 'Member', viewer: 'Viewer' };
const SCOPE_LABELS: Record<'read' | 'write', string> = { read: 'Read only', write: 'Read and write' };
const scopeLabel = (scopes: TokenScope[]) => SCOPE_LABELS[scopes.includes('write') ? 'write' : 'read'];

type Tab = 'overview' | 'sessions' | 'tokens' | 'security';
const TABS: { id: Tab; label: string; href: string }[] = [
  { id: 'overview', label: 'Overview', href: '/-/account' },
  { id: 'sessions', label: 'Sessions', href: '/-/account/sessions' },
  { id: 'tokens', label: 'Access tokens', href: '/-/account/tokens' },
  { id: 'security', label: 'Password & MFA', href: '/-/account/security' },
];

function AccountLayout({ current, title, lead, children }: { current: Tab; title: string; lead: string; children: ComponentChildren }): JSX.Element {
  return (
    <PlainLayout width="normal">
      <div class="account-page">
        <header class="page-header">
          <p class="eyebrow">Your account</p>
          <h1>{title}</h1>
          <p class="page-lead">{lead}</p>
        </header>
        <nav class="account-tabs" aria-label="Account">
          {TABS.map((tab) => (
            <a class={tab.id === current ? 'account-tab is-current' : 'account-tab'} href={tab.href} aria-current={tab.id === current ? 'page' : undefined}>
              {tab.label}
            </a>
          ))}
        </nav>
        {children}
      </div>
    </PlainLayout>
  );
}

function Notice({ text }: { text: string | null }): JSX.Element | null {
  return text ? (
    <p class="form-notice" role="status">
      {text}
    </p>
  ) : null;
}

/** The organization's admin pages the policy opens to the member's role (the pages themselves ask again). */
function OrgAdminLinks({ slug, links }: { slug: string; links: OrganizationLinks }): JSX.Element | null {
  const base = `/${encodeURIComponent(slug)}/-`;
  const shown = [
    links.members ? <a href={`${base}/members`}>Members</a> : null,
    links.auditLog ? <a href={`${base}/audit`}>Audit log</a> : null,
    links.settings ? <a href={`${base}/settings`}>Settings</a> : null,
  ].filter((link) => link !== null);
  if (shown.length === 0) return null;
  return <span class="account-row-detail">{shown.flatMap((link, i) => (i === 0 ? [link] : [' · ', link]))}</span>;
}

const OUTCOME_LABELS: Record<'failure' | 'denied', string> = { failure: 'Failed', denied: 'Refused' };

/** The banner: some security events arrived since the user last looked. */
function SecurityBanner({ unseen }: { unseen: number }): JSX.Element | null {
  if (unseen === 0) return null;
  return (
    <p class="form-error security-banner" role="alert">
      {plural(unseen, 'new security event', 'new security events')} on your account since you last looked.{' '}
      <a href="#security-activity">Review them below</a>: if one was not you, change your password and sign out your
      other sessions.
    </p>
  );
}

/** The user's own recent security events: sign-ins, two-step verification, password, email and token changes. */
function SecurityActivity({ security }: { security: SecurityActivityView }): JSX.Element {
  return (
    <section class="account-section" id="security-activity" aria-labelledby="security-activity-heading">
      <h2 class="account-heading" id="security-activity-heading">
        Security activity
      </h2>
      <p class="text-muted">The last 30 days, newest first: what happened to your account and from which address.</p>
      {security.events.length === 0 ? (
        <p class="text-muted">No security events in the last 30 days.</p>
      ) : (
        <ul class="account-list security-activity">
          {security.events.map((event) => (
            <li class="account-row">
              <span class="account-row-main">
                <span class="account-row-title">
                  <span>{event.summary}</span>
                  {event.outcome === 'success' ? null : <span class="role-badge">{OUTCOME_LABELS[event.outcome]}</span>}
                  {event.isNew ? <span class="current-badge">New</span> : null}
                </span>
                <span class="account-row-detail">
                  <When ms={event.occurredAt} />
                  {event.ip ? ` · from ${event.ip}` : null}
                </span>
              </span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function Overview({ view }: { view: AccountOverviewView }): JSX.Element {
  return (
    <AccountLayout current="overview" title={view.name} lead={view.email}>
      <Notice text={view.notice ?? null} />
      {view.security ? <SecurityBanner unseen={view.security.unseen} /> : null}
      <section class="account-section" aria-labelledby="memberships-heading">
        <h2 class="account-heading" id="memberships-heading">
          Organizations
        </h2>
        {view.memberships.length === 0 ? (
          <p class="text-muted">You are not a member of any organization.</p>
        ) : (
          <ul class="account-list">
            {view.memberships.map((m) => (
              <li class="account-row">
                <span class="account-row-main">
                  <span class="account-row-title">{m.orgName}</span>
                  <span class="account-row-detail">{m.orgSlug}</span>
                  <OrgAdminLinks slug={m.orgSlug} links={m.links} />
                </span>
                <span class="role-badge">{ROLE_LABELS[m.role]}</span>
              </li>
            ))}
          </ul>
        )}
      </section>
      <section class="account-section" aria-labelledby="security-heading">
        <h2 class="account-heading" id="security-heading">
          Security
        </h2>
        <ul class="account-list">
          <li class="account-row">
            <span class="account-row-main">
              <a class="account-row-title" href="/-/account/sessions">
                Sessions
              </a>
              <span class="account-row-detail">Where you are signed in: {plural(view.sessionCount, 'active session', 'active sessions')}.</span>
            </span>
          </li>
          <li class="account-row">
            <span class="account-row-main">
              <a class="account-row-title" href="/-/account/tokens">
                Personal access tokens
              </a>
              <span class="account-row-detail">For git and the API: {plural(view.activeTokenCount, 'active token', 'active tokens')}.</span>
            </span>
          </li>
          <li class="account-row">
            <span class="account-row-main">
              <a class="account-row-title" href="/-/account/email">
                Email address
              </a>
              <span class="account-row-detail">The address you sign in with. Changing it asks for your password first.</span>
            </span>
          </li>
          <li class="account-row">
            <span class="account-row-main">
              <a class="account-row-title" href="/-/account/security">
                Password and two-factor authentication
              </a>
              <span class="account-row-detail">Change your password, set up or manage an authenticator app.</span>
            </span>
          </li>
        </ul>
      </section>
      {view.emailNotifications ? <EmailPreferenceSection view={view.emailNotifications} /> : null}
      {view.security ? <SecurityActivity security={view.security} /> : null}
    </AccountLayout>
  );
}

/** GET /-/account */
export function renderAccountOverviewBody(view: AccountOverviewView): TrustedHtml {
  return toHtml(<Overview view={view} />);
}

function Sessions({ view }: { view: AccountSessionsView }): JSX.Element {
  const others = view.sessions.filter((s) => !s.current).length;
  return (
    <AccountLayout current="sessions" title="Sessions" lead="Browsers where you are signed in. Revoke any you do not recognize.">
      <Notice text={view.notice} />
      <ul class="account-list">
        {view.sessions.map((s) => (
          <li class="account-row">
            <span class="account-row-main">
              <span class="account-row-title">
                <span>
                  Signed in <When ms={s.createdAt} />
                </span>
                {s.current ? <span class="current-badge">This browser</span> : null}
              </span>
              <span class="account-row-detail">
                Last active <When ms={s.lastSeenAt} /> · expires <When ms={s.expiresAt} />
              </span>
            </span>
            {s.current ? null : (
              <form class="account-row-action" method="post" action="/-/account/sessions/revoke">
                <input type="hidden" name="_csrf" value={view.csrfToken} />
                <input type="hidden" name="session" value={s.handle} />
                <button type="submit" class="button button-danger button-small">
                  Revoke
                </button>
              </form>
            )}
          </li>
        ))}
      </ul>
      <form class="account-actions" method="post" action="/-/account/sessions/revoke-others">
        <input type="hidden" name="_csrf" value={view.csrfToken} />
        <button type="submit" class="button" disabled={others === 0}>
          Sign out everywhere else
        </button>
        <span class="text-muted">{others === 0 ? 'No other sessions.' : `Ends ${plural(others, 'other session', 'other sessions')}.`}</span>
      </form>
    </AccountLayout>
  );
}

/** GET /-/account/sessions */
export function renderAccountSessionsBody(view: AccountSessionsView): TrustedHtml {
  return toHtml(<Sessions view={view} />);
}

const STATUS_LABELS = { active: 'Active', expired: 'Expired', revoked: 'Revoked' } as const;

function TokenList({ view }: { view: AccountTokensView }): JSX.Element {
  if (view.tokens.length === 0) {
    return <p class="empty">You have no tokens yet.</p>;
  }
  return (
    <ul class="account-list">
      {view.tokens.map((t) => (
        <li class={t.status === 'active' ? 'account-row' : 'account-row is-inactive'}>
          <span class="account-row-main">
            <span class="account-row-title">
              {t.name}
              <code class="token-prefix">{t.prefix}…</code>
              <span class={`status-badge status-${t.status}`}>{STATUS_LABELS[t.status]}</span>
            </span>
            <span class="account-row-detail">
              {scopeLabel(t.scopes)} · created <When ms={t.createdAt} /> · {t.status === 'expired' ? 'expired' : 'expires'} <When ms={t.expiresAt} />
            </span>
            <span class="account-row-detail">{t.lastUsedAt === null ? 'Never used' : <>Last used <When ms={t.lastUsedAt} /></>}</span>
          </span>
          {t.status === 'active' ? (
            <form class="account-row-action" method="post" action={`/-/account/tokens/${t.id}/revoke`}>
              <input type="hidden" name="_csrf" value={view.csrfToken} />
              <button type="submit" class="button button-danger button-small">
                Revoke
              </button>
            </form>
          ) : null}
        </li>
      ))}
    </ul>
  );
}

function Tokens({ view }: { view: AccountTokensView }): JSX.Element {
  return (
    <AccountLayout
      current="tokens"
      title="Personal access tokens"
      lead="Tokens let git and scripts act as you. A token never does more than your role allows, and only what its access permits."
    >
      <Notice text={view.notice} />
      <div class="account-toolbar">
        <h2 class="account-heading" id="tokens-heading">
          Your tokens
        </h2>
        <a class="button button-primary button-small" href="/-/account/tokens/new">
          New token
        </a>
      </div>
      <TokenList view={view} />
    </AccountLayout>
  );
}

/** GET /-/account/tokens */
export function renderAccountTokensBody(view: AccountTokensView): TrustedHtml {
  return toHtml(<Tokens view={view} />);
}

function NewTokenForm({ view }: { view: NewTokenFormView }): JSX.Element {
  const invalid = view.error !== null;
  return (
    <AccountLayout current="tokens" title="New access token" lead="The token is shown once, right after you create it.">
      <div class="panel">
        <div class="form-error" id="token-error" role="alert">
          {view.error}
        </div>
        <form class="form" method="post" action="/-/account/tokens/new">
          <input type="hidden" name="_csrf" value={view.csrfToken} />
          <div class="field">
            <label for="token-name">Name</label>
            <input
              id="token-name"
              name="name"
              type="text"
              required
              maxLength={100}
              value={view.form.name}
              aria-invalid={invalid ? 'true' : undefined}
              aria-describedby="token-name-hint"
            />
            <p class="field-hint" id="token-name-hint">
              What it is for, e.g. “Laptop git” or “CI pipeline”.
            </p>
          </div>
          <fieldset class="field choice-group">
            <legend>Access</legend>
            {(['read', 'write'] as const).map((access) => (
              <label class="choice">
                <input type="radio" name="access" value={access} checked={view.form.access === access} />
                <span class="choice-text">
                  <span class="choice-title">{SCOPE_LABELS[access]}</span>
                  <span class="choice-hint">
                    {access === 'read' ? 'Clone, pull and read documents.' : 'Also push and edit, where your role allows it.'}
                  </span>
                </span>
              </label>
            ))}
          </fieldset>
          <div class="field">
            <label for="token-expires">Expires after</label>
            <select id="token-expires" name="expires">
              {view.expiryChoices.map((days) => (
                <option value={String(days)} selected={days === view.form.expiresDays}>
                  {days === 365 ? '1 year' : plural(days, 'day', 'days')}
                </option>
              ))}
            </select>
          </div>
          <SubmitOrLeave submit="Create token" href="/-/account/tokens" />
        </form>
      </div>
    </AccountLayout>
  );
}

/** GET /-/account/tokens/new (after a recent re-authentication), and the form again after a failed POST. */
export function renderNewTokenFormBody(view: NewTokenFormView): TrustedHtml {
  return toHtml(<NewTokenForm view={view} />);
}

function NewToken({ view }: { view: NewTokenView }): JSX.Element {
  return (
    <AccountLayout current="tokens" title="Your new token" lead={`“${view.name}”: ${scopeLabel(view.scopes).toLowerCase()}, expires ${formatDateTime(view.expiresAt)}.`}>
      <div class="panel token-reveal">
        <p class="token-warning" role="status">
          Copy this token now. It is shown only once; DocuCommit keeps only a fingerprint of it.
        </p>
        <label class="token-label" for="new-token">
          Token
        </label>
        <div class="copy-row">
          <input id="new-token" class="token-value" type="text" readOnly value={view.token} spellcheck={false} autocomplete="off" />
          <CopyButton target="new-token" label="Copy token" />
        </div>
        <p class="field-hint">Copy it (or select it and press Ctrl+C or ⌘C). Store it in a password manager or your CI's secret store.</p>
        <p class="field-hint">When git asks for a password, paste the token (any username works).</p>
        <p class="form-actions">
          <a class="button button-primary" href="/-/account/tokens">
            Done
          </a>
        </p>
      </div>
    </AccountLayout>
  );
}

/** The result of creating a token: the only time the plaintext is ever shown. */
export function renderNewTokenBody(view: NewTokenView): TrustedHtml {
  return toHtml(<NewToken view={view} />);
}

function ChangeEmailForm({ view }: { view: ChangeEmailView }): JSX.Element {
  const invalid = view.error !== null;
  return (
    <AccountLayout current="overview" title="Change email address" lead={`You sign in as ${view.currentEmail}.`}>
      <div class="panel">
        <div class="form-error" id="email-error" role="alert">
          {view.error}
        </div>
        <form class="form" method="post" action="/-/account/email">
          <input type="hidden" name="_csrf" value={view.csrfToken} />
          <div class="field">
            <label for="new-email">New email address</label>
            <input
              id="new-email"
              name="email"
              type="email"
              required
              maxLength={254}
              autocomplete="email"
              value={view.email}
              aria-invalid={invalid ? 'true' : undefined}
              aria-describedby={invalid ? 'new-email-hint email-error' : 'new-email-hint'}
            />
            <p class="field-hint" id="new-email-hint">
              From now on you sign in with this address. DocuCommit sends no email, so check it carefully.
            </p>
          </div>
          <SubmitOrLeave submit="Change email address" href="/-/account" />
        </form>
      </div>
    </AccountLayout>
  );
}

/** GET /-/account/email (after a recent re-authentication), and the form again after a refused change. */
export function renderChangeEmailBody(view: ChangeEmailView): TrustedHtml {
  return toHtml(<ChangeEmailForm view={view} />);
}
