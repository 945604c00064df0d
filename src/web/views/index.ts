/** The server-rendered views. Body renderers return a fragment; `renderPage` wraps one in the full document. */
export { renderPage } from './page.tsx';
export { renderDocumentBody } from './document.tsx';
export { renderSectionBody } from './section.tsx';
export { renderProblemsBody } from './problems.tsx';
export { renderTagBody, renderTagIndexBody } from './tag.tsx';
export { renderProjectListBody } from './project-list.tsx';
export { renderLoginBody, renderLogoutBody } from './login.tsx';
export {
  renderAccountSecurityBody,
  renderChangePasswordBody,
  renderMfaChallengeBody,
  renderMfaEnrollBody,
  renderReauthBody,
  renderRecoveryCodesBody,
} from './mfa.tsx';
export type * from './mfa.tsx';
export { renderErrorBody } from './error.tsx';
export {
  renderAccountOverviewBody,
  renderAccountSessionsBody,
  renderAccountTokensBody,
  renderNewTokenBody,
  renderNewTokenFormBody,
} from './account.tsx';
export type * from './account.tsx';
export { renderAuditBody, type AuditPageView, type AuditEventRow } from './audit.tsx';
export type * from './types.ts';
export { renderEditorBody, renderDocumentChangeBody, renderSavedHiddenBody, editUrl } from './editor.tsx';
export type { EditorView, DocumentChangeView } from './editor.tsx';
export { renderHistoryBody, renderVersionBody, renderCommitsBody, historyUrl, versionUrl, compareUrl, commitsUrl } from './history.tsx';
export type { HistoryPageView, VersionPageView, CommitsPageView } from './history.tsx';
export { renderCompareBody, type CompareView } from './compare.tsx';
