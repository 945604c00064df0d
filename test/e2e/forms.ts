import assert from 'node:assert/strict';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Every HTML form of the product, and the browser test that submits it. `test/web/form-inventory.int.test.ts`
 * checks that each `<form` in src/web/views has an entry here and that every form route of the app is listed;
 * each named test file ends by checking that Chromium submitted the form's route there and was not refused.
 * A form whose action varies lists every route it can be sent to.
 */
export interface FormEntry {
  /** The file in src/web/views that holds the `<form`. */
  view: string;
  /** What the form does, in the product's words. */
  form: string;
  /** Each route the form can be sent to (`METHOD /pattern` as the app registers it) → the test/e2e file that does. */
  submittedBy: Record<string, string>;
}

export const FORMS: FormEntry[] = [
  { view: 'access-requests.tsx', form: 'request access to a document', submittedBy: { 'POST /:org/:project/-/access-requests': 'access-request.test.ts' } },
  { view: 'access-requests.tsx', form: 'approve an access request', submittedBy: { 'POST /:org/-/access-requests/:id/approve': 'access-request.test.ts' } },
  { view: 'access-requests.tsx', form: 'deny an access request', submittedBy: { 'POST /:org/-/access-requests/:id/deny': 'access-request.test.ts' } },
  { view: 'ask-for-access.tsx', form: 'ask for access to an address (no referring page)', submittedBy: { 'GET /:org/-/access-requests/ask': 'projects-and-asking.test.ts' } },
  { view: 'acknowledgments.tsx', form: 'acknowledge a document (banner)', submittedBy: { 'POST /:org/:project/-/acknowledge': 'acknowledgments.test.ts' } },
  { view: 'reviews.tsx', form: 'mark a document reviewed — no changes (review box)', submittedBy: { 'POST /:org/:project/-/review': 'reviews.test.ts' } },
  { view: 'account.tsx', form: 'end one session', submittedBy: { 'POST /-/account/sessions/revoke': 'account.test.ts' } },
  { view: 'account.tsx', form: 'end all other sessions', submittedBy: { 'POST /-/account/sessions/revoke-others': 'account.test.ts' } },
  { view: 'account.tsx', form: 'revoke a personal access token', submittedBy: { 'POST /-/account/tokens/:id/revoke': 'account.test.ts' } },
  { view: 'account.tsx', form: 'create a personal access token', submittedBy: { 'POST /-/account/tokens/new': 'account.test.ts' } },
  { view: 'account.tsx', form: 'change the email address', submittedBy: { 'POST /-/account/email': 'account.test.ts' } },
  { view: 'audit.tsx', form: 'filter the audit log', submittedBy: { 'GET /:org/-/audit': 'members.test.ts' } },
  { view: 'change-requests.tsx', form: 'open a change request', submittedBy: { 'POST /:org/:project/-/changes': 'change-requests.test.ts' } },
  {
    view: 'change-requests.tsx',
    form: 'comment, approve or request changes',
    submittedBy: {
      'POST /:org/:project/-/changes/:n/comment': 'change-requests.test.ts',
      'POST /:org/:project/-/changes/:n/approve': 'change-requests.test.ts',
      'POST /:org/:project/-/changes/:n/request-changes': 'change-requests.test.ts',
    },
  },
  { view: 'change-requests.tsx', form: 'dismiss a review', submittedBy: { 'POST /:org/:project/-/changes/:n/reviews/:id/dismiss': 'change-requests.test.ts' } },
  { view: 'change-requests.tsx', form: 'merge a change request', submittedBy: { 'POST /:org/:project/-/changes/:n/merge': 'change-requests.test.ts' } },
  { view: 'change-requests.tsx', form: 'close a change request', submittedBy: { 'POST /:org/:project/-/changes/:n/close': 'change-requests.test.ts' } },
  { view: 'change-requests.tsx', form: 'reopen a change request', submittedBy: { 'POST /:org/:project/-/changes/:n/reopen': 'change-requests.test.ts' } },
  { view: 'change-requests.tsx', form: 'edit another document in the draft (opens the editor on its path)', submittedBy: { 'GET /:org/:project/-/changes/:n/edit': 'draft-editing.test.ts' } },
  { view: 'change-requests.tsx', form: 'resolve conflicts with main', submittedBy: { 'POST /:org/:project/-/changes/:n/resolve': 'change-request-page.test.ts' } },
  { view: 'editor.tsx', form: 'save a document (edit or new)', submittedBy: { 'POST /:org/:project/-/edit/*': 'editor.test.ts', 'POST /:org/:project/-/new': 'editor.test.ts', 'POST /:org/:project/-/propose/*': 'change-requests.test.ts', 'POST /:org/:project/-/new/propose': 'editor.test.ts', 'POST /:org/:project/-/changes/:n/edit/*': 'draft-editing.test.ts', 'POST /:org/:project/-/changes/:n/new': 'draft-editing.test.ts' } },
  { view: 'editor.tsx', form: 'move or delete a document, or propose the move or deletion (protected main)', submittedBy: { 'POST /:org/:project/-/rename/*': 'editor.test.ts', 'POST /:org/:project/-/delete/*': 'editor.test.ts' } },
  { view: 'history.tsx', form: 'restore a version, or propose the restore (confirmation page, with a reason)', submittedBy: { 'POST /:org/:project/-/restore/:commit/*': 'history.test.ts' } },
  { view: 'history.tsx', form: 'compare two versions picked in the history list', submittedBy: { 'GET /:org/:project/-/compare': 'history.test.ts' } },
  { view: 'login.tsx', form: 'sign in', submittedBy: { 'POST /login': 'mfa.test.ts' } },
  { view: 'login.tsx', form: 'sign out (confirmation page)', submittedBy: { 'POST /logout': 'account.test.ts' } },
  { view: 'members.tsx', form: 'change a member’s role', submittedBy: { 'POST /:org/-/members/:userId/role': 'members.test.ts' } },
  { view: 'members.tsx', form: 'issue a password-reset link', submittedBy: { 'POST /:org/-/members/:userId/password-reset': 'new-password.test.ts' } },
  { view: 'members.tsx', form: 'remove a member', submittedBy: { 'POST /:org/-/members/:userId/remove': 'members.test.ts' } },
  { view: 'members.tsx', form: 'create an invitation link', submittedBy: { 'POST /:org/-/invitations': 'members.test.ts' } },
  { view: 'members.tsx', form: 'withdraw an invitation', submittedBy: { 'POST /:org/-/invitations/:id/revoke': 'members.test.ts' } },
  { view: 'members.tsx', form: 'accept an invitation (signed in)', submittedBy: { 'POST /invite/:token': 'members.test.ts' } },
  { view: 'members.tsx', form: 'accept an invitation (new account)', submittedBy: { 'POST /invite/:token': 'members.test.ts' } },
  { view: 'mfa.tsx', form: 'second step of sign-in', submittedBy: { 'POST /login/mfa': 'mfa.test.ts' } },
  {
    view: 'mfa.tsx',
    form: 'confirm TOTP enrollment (account page or required at sign-in)',
    submittedBy: { 'POST /-/account/security/enroll': 'mfa.test.ts', 'POST /login/mfa/enroll': 'members.test.ts' },
  },
  { view: 'mfa.tsx', form: 'regenerate recovery codes', submittedBy: { 'POST /-/account/security/recovery-codes': 'account.test.ts' } },
  { view: 'mfa.tsx', form: 'turn two-step verification off', submittedBy: { 'POST /-/account/security/disable': 'account.test.ts' } },
  { view: 'mfa.tsx', form: 'confirm identity (re-authentication)', submittedBy: { 'POST /-/reauth': 'account.test.ts' } },
  { view: 'mfa.tsx', form: 'confirm identity through a linked identity provider (re-authentication, “Continue with …”)', submittedBy: { 'POST /-/reauth/sso': 'sso-reauthentication.test.ts' } },
  { view: 'mfa.tsx', form: 'change the password', submittedBy: { 'POST /-/account/security/password': 'account.test.ts' } },
  {
    view: 'new-password.tsx',
    form: 'set a new password (first sign-in or reset link)',
    submittedBy: { 'POST /login/password': 'new-password.test.ts', 'POST /password-reset/:token': 'new-password.test.ts' },
  },
  { view: 'email.tsx', form: 'ask for a password-reset link (forgot password)', submittedBy: { 'POST /login/forgot': 'email.test.ts' } },
  { view: 'email.tsx', form: 'email notifications on or off (account page)', submittedBy: { 'POST /-/account/email-notifications': 'email.test.ts' } },
  { view: 'components.tsx', form: 'search one project (project navigation)', submittedBy: { 'GET /:org/:project/-/search': 'search.test.ts' } },
  { view: 'search.tsx', form: 'refine a search (query, project, tag)', submittedBy: { 'GET /-/search': 'search.test.ts', 'GET /:org/:project/-/search': 'search.test.ts' } },
  { view: 'page.tsx', form: 'search all projects (top bar)', submittedBy: { 'GET /-/search': 'search.test.ts' } },
  { view: 'page.tsx', form: 'sign out (top bar)', submittedBy: { 'POST /logout': 'mfa.test.ts' } },
  { view: 'project-settings.tsx', form: 'create a project', submittedBy: { 'POST /:org/-/projects': 'projects-and-asking.test.ts' } },
  { view: 'project-settings.tsx', form: 'rename a project, edit its description', submittedBy: { 'POST /:org/:project/-/settings': 'projects-and-asking.test.ts' } },
  { view: 'project-settings.tsx', form: 'delete a project', submittedBy: { 'POST /:org/:project/-/delete': 'projects-and-asking.test.ts' } },
  { view: 'evidence.tsx', form: 'download an evidence pack', submittedBy: { 'POST /:org/-/evidence': 'evidence.test.ts', 'POST /:org/-/evidence/register.pdf': 'evidence.test.ts' } },
  { view: 'organization-data.tsx', form: 'download the organization export', submittedBy: { 'POST /:org/-/data/export': 'organization-data.test.ts' } },
  { view: 'organization-data.tsx', form: 'delete the organization (type its slug)', submittedBy: { 'POST /:org/-/data/delete': 'organization-data.test.ts' } },
  { view: 'organization-data.tsx', form: 'cancel a scheduled deletion', submittedBy: { 'POST /:org/-/data/cancel-deletion': 'organization-data.test.ts' } },
  { view: 'settings.tsx', form: 'organization settings', submittedBy: { 'POST /:org/-/settings': 'members.test.ts' } },
  { view: 'settings.tsx', form: 'review before publishing (per classification)', submittedBy: { 'POST /:org/-/settings/review': 'settings.test.ts' } },
  { view: 'sso.tsx', form: 'sign in with SSO (choose the organization)', submittedBy: { 'POST /login/sso': 'sso.test.ts' } },
  { view: 'sso.tsx', form: 'single sign-on settings', submittedBy: { 'POST /:org/-/settings/sso': 'sso.test.ts' } },
  {
    view: 'webhooks.tsx',
    form: 'add a webhook, or change one (URL, events, on/off): one WebhookForm',
    submittedBy: { 'POST /:org/-/settings/webhooks': 'webhooks.test.ts', 'POST /:org/-/settings/webhooks/:webhook': 'webhooks.test.ts' },
  },
  { view: 'webhooks.tsx', form: 'redeliver a webhook delivery', submittedBy: { 'POST /:org/-/settings/webhooks/:webhook/deliveries/:delivery/redeliver': 'webhooks.test.ts' } },
  { view: 'webhooks.tsx', form: 'delete a webhook', submittedBy: { 'POST /:org/-/settings/webhooks/:webhook/delete': 'webhooks.test.ts' } },
];

/** Routes the app serves that no HTML form posts to, with the reason. */
export const NOT_FORMS: Record<string, string> = {
  'POST /:org/:project/-/preview': 'fetched by the editor script for the live preview',
  'POST /:org/:project.git/git-upload-pack': 'git smart HTTP',
  'POST /:org/:project.git/git-receive-pack': 'git smart HTTP',
  'POST /:org/:project.git': 'git smart HTTP: any other repository path is 404',
  'PUT /:org/:project.git': 'git smart HTTP: any other repository path is 404',
  'PATCH /:org/:project.git': 'git smart HTTP: any other repository path is 404',
  'DELETE /:org/:project.git': 'git smart HTTP: any other repository path is 404',
  'POST /:org/:project.git/*': 'git smart HTTP: any other repository path is 404',
  'PUT /:org/:project.git/*': 'git smart HTTP: any other repository path is 404',
  'PATCH /:org/:project.git/*': 'git smart HTTP: any other repository path is 404',
  'DELETE /:org/:project.git/*': 'git smart HTTP: any other repository path is 404',
  'POST /api/v1/*': 'REST API: any other address under /api/v1 is its JSON 404',
  'PUT /api/v1/*': 'REST API: any other address under /api/v1 is its JSON 404',
  'PATCH /api/v1/*': 'REST API: any other address under /api/v1 is its JSON 404',
  'DELETE /api/v1/*': 'REST API: any other address under /api/v1 is its JSON 404',
  'POST /api/v1/projects/:org/:project/change-requests': 'REST API (token only, JSON): test/web/api.int.test.ts',
  'POST /api/v1/projects/:org/:project/change-requests/:number/comments': 'REST API (token only, JSON): test/web/api.int.test.ts',
  'POST /api/v1/projects/:org/:project/change-requests/:number/approvals': 'REST API (token only, JSON): test/web/api.int.test.ts',
};

/** A request the e2e server answered: method, path (no query), whether it had a query, and the status. */
export interface Submission {
  method: string;
  path: string;
  query: boolean;
  status: number;
}

/** `/:org/-/members/:userId/role` → a regex for concrete paths. */
export function routePattern(route: string): RegExp {
  const source = route
    .split('/')
    .map((part) => (part === '*' ? '.+' : part.startsWith(':') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${source}$`);
}

/** Whether `submission` is a form being sent to `route` (`METHOD /pattern`), answered without refusal. */
export function submits(submission: Submission, route: string): boolean {
  const [method, pattern] = route.split(' ') as [string, string];
  if (submission.method !== method || submission.status >= 400) return false;
  if (method === 'GET' && !submission.query) return false;
  return routePattern(pattern).test(submission.path);
}

/** Assert that every form claimed by `testFile` (its `import.meta.url`) was submitted in this run. */
export function assertFormsSubmitted(submissions: Submission[], testFile: string): void {
  const name = basename(fileURLToPath(testFile));
  const claimed = FORMS.flatMap((form) => Object.entries(form.submittedBy).filter(([, file]) => file === name).map(([route]) => ({ form, route })));
  assert.ok(claimed.length > 0, `${name} claims no form in test/e2e/forms.ts`);
  const missing = claimed.filter(({ route }) => !submissions.some((s) => submits(s, route))).map(({ form, route }) => `${form.form}: ${route}`);
  assert.deepEqual(missing, [], `forms that ${name} should have submitted (and had accepted)`);
}
