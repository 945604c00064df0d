/** The server-rendered views. Body renderers return a fragment; `renderPage` wraps one in the full document. */
export { renderPage } from './page.tsx';
export { renderDocumentBody } from './document.tsx';
export { renderSectionBody } from './section.tsx';
export { renderTagBody } from './tag.tsx';
export { renderProjectListBody } from './project-list.tsx';
export { renderLoginBody, renderLogoutBody } from './login.tsx';
export { renderErrorBody } from './error.tsx';
export type * from './types.ts';
