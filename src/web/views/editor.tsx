/** The browser editor: source + live preview, the conflict page, new document, rename/move and delete. */
import type { JSX } from 'preact';
import { foldDiff, type DiffLine } from '../../changes/conflicts.ts';
import type { ContentError } from '../../content/types.ts';
import { documentUrl, projectUrl } from '../urls.ts';
import { PlainLayout } from './components.tsx';
import { toHtml } from './render.ts';
import { TrustedHtml } from './trusted-html.tsx';
import type { ViewProject } from './types.ts';
import type { TrustedHtml as TrustedHtmlString } from '../../content/trusted-html.ts';

const encodePath = (path: string): string => path.split('/').map(encodeURIComponent).join('/');

/** `/{org}/{project}/-/edit/{path}` (the repository path, `.md` included). */
export function editUrl(project: ViewProject | { orgSlug: string; slug: string }, path: string): string {
  return `${projectUrl(project)}-/edit/${encodePath(path)}`;
}

/** `/{org}/{project}/-/changes/{n}/new`: a new document in change request n's draft. */
export function draftNewUrl(project: ViewProject | { orgSlug: string; slug: string }, number: number): string {
  return `${projectUrl(project)}-/changes/${number}/new`;
}

/** `/{org}/{project}/-/changes/{n}/edit/{path}`: the editor on a document of change request n's draft. */
export function draftEditUrl(project: ViewProject | { orgSlug: string; slug: string }, number: number, path: string): string {
  return `${projectUrl(project)}-/changes/${number}/edit/${encodePath(path)}`;
}

/** Editor URLs of a project. */
export const editorUrls = {
  edit: editUrl,
  create: (project: ViewProject) => `${projectUrl(project)}-/new`,
  preview: (project: ViewProject) => `${projectUrl(project)}-/preview`,
  rename: (project: ViewProject, path: string) => `${projectUrl(project)}-/rename/${encodePath(path)}`,
  remove: (project: ViewProject, path: string) => `${projectUrl(project)}-/delete/${encodePath(path)}`,
  propose: (project: ViewProject, path: string) => `${projectUrl(project)}-/propose/${encodePath(path)}`,
  /** "Propose change" of the new-document form: a draft that creates the document. */
  proposeNew: (project: ViewProject) => `${projectUrl(project)}-/new/propose`,
};

/** The source editor page, for an existing document, a new one, or a save that lost a race. */
export interface EditorView {
  mode: 'edit' | 'new' | 'conflict';
  project: ViewProject;
  csrfToken: string;
  /** Repository path (for a new document: what was typed so far). */
  path: string;
  /** Title of the document as currently published (heading of the page). */
  title: string;
  /** Base commit the form saves against (the current head on a conflict page). */
  base: string | null;
  source: string;
  message: string;
  /** Sanitized HTML of `source` from the publishing pipeline (the preview shown before any typing). */
  previewHtml: TrustedHtmlString;
  /** The title `source` renders with. */
  previewTitle: string;
  /** Front matter problems that refused the save, as file:line messages. */
  errors: ContentError[];
  /** Any other reason the save was refused. */
  formError: string | null;
  conflict?: { current: 'present' | 'missing'; diff: DiffLine[] };
  /** "Editorial change" is ticked (edits only: a new document's first version always asks for acknowledgment). */
  editorial?: boolean;
  /**
   * Protected main: why publishing this document needs review. Set, the form proposes the change (a draft with a
   * change request) instead of publishing it, and says why.
   */
  review?: string | null;
  /**
   * The draft of an open change request is edited, not main: the form saves to the draft ("Save to draft"), and
   * neither publishes nor proposes. Links lead back to the change request.
   */
  draft?: { number: number; title: string; branch: string } | null;
}

/** The editor page's script: its URL, and the style nonce of this response (CodeMirror's run-time styles). */
export interface EditorScript {
  href: string;
  styleNonce: string;
}

function PageHead({ view, heading, lead }: { view: { project: ViewProject }; heading: string; lead?: JSX.Element | string }) {
  return (
    <header class="page-header editor-header">
      <p class="eyebrow">
        <a href={projectUrl(view.project)}>{view.project.name}</a>
      </p>
      <h1>{heading}</h1>
      {lead ? <p class="page-lead">{lead}</p> : null}
    </header>
  );
}

function ErrorList({ errors, formError }: { errors: ContentError[]; formError: string | null }) {
  if (errors.length === 0 && !formError) return null;
  return (
    <div class="form-error editor-errors" role="alert" id="editor-errors">
      {/* one paragraph per line (a refusal for broken links lists them as file:line: message) */}
      {formError ? formError.split('\n').map((line) => <p>{line}</p>) : null}
      {errors.length > 0 ? (
        <>
          <p>Nothing was saved: the front matter has problems.</p>
          <ul>
            {errors.map((e) => (
              <li>
                <code>{`${e.file}:${e.line}${e.column !== undefined ? `:${e.column}` : ''}`}</code>
                {`: ${e.message}`}
              </li>
            ))}
          </ul>
        </>
      ) : null}
    </div>
  );
}

function DiffView({ diff }: { diff: DiffLine[] }) {
  const mark = { same: ' ', removed: '−', added: '+' } as const;
  const added = diff.filter((l) => l.kind === 'added').length;
  const removed = diff.filter((l) => l.kind === 'removed').length;
  return (
    <section class="conflict-diff" aria-labelledby="conflict-diff-heading">
      <h2 id="conflict-diff-heading">
        Your text against the current version{' '}
        <span class="diff-stats">
          <span class="diff-stat-added">{`+${added}`}</span> <span class="diff-stat-removed">{`−${removed}`}</span>
        </span>
      </h2>
      <p class="field-hint">
        Lines marked <span class="diff-key-added">+</span> are only in your text; lines marked{' '}
        <span class="diff-key-removed">−</span> are only in the current version.
      </p>
      <pre class="diff" aria-label="Line diff">
        {foldDiff(diff).map((line) =>
          line.kind === 'skip' ? (
            <span class="diff-line diff-skip">{`⋯ ${line.count} unchanged lines\n`}</span>
          ) : (
            <span class={`diff-line diff-${line.kind}`}>{`${mark[line.kind]} ${line.text}\n`}</span>
          ),
        )}
      </pre>
    </section>
  );
}

function ConflictNotice({ view }: { view: EditorView }) {
  const conflict = view.conflict!;
  const page = view.draft ? `${projectUrl(view.project)}-/changes/${view.draft.number}` : documentUrl(view.project, view.path);
  return (
    <div class="conflict-notice" role="alert">
      <p class="conflict-title">
        {view.draft
          ? `Someone else saved the draft of !${view.draft.number} while you were editing. Your text was not saved.`
          : 'Someone else saved this document while you were editing. Your text was not saved.'}
      </p>
      <p>
        {conflict.current === 'present' ? (
          <>
            The <a href={page}>current version</a> is <code class="commit-id">{view.base?.slice(0, 12) ?? '—'}</code>. Your
            text is below, unchanged. Merge the other changes shown in the diff into it, then save again: the next save is
            based on the current version.
          </>
        ) : (
          // one text whether it was deleted, moved, or hidden from this author (hidden is missing)
          <>
            This document is no longer here: it was deleted or moved, or you may no longer open it. Your text is below,
            unchanged: copy it before you leave, or create a new document with it.
          </>
        )}
      </p>
    </div>
  );
}

function EditorForm({ view }: { view: EditorView }): JSX.Element {
  const draft = view.draft ?? null;
  const review = view.review && view.mode !== 'conflict' && !draft ? view.review : null;
  const proposeUrl = view.mode === 'new' ? editorUrls.proposeNew(view.project) : editorUrls.propose(view.project, view.path);
  const action = draft
    ? view.mode === 'new'
      ? draftNewUrl(view.project, draft.number)
      : draftEditUrl(view.project, draft.number, view.path)
    : review
      ? proposeUrl
      : view.mode === 'new'
        ? editorUrls.create(view.project)
        : editUrl(view.project, view.path);
  const cancel = draft ? `${projectUrl(view.project)}-/changes/${draft.number}` : view.mode === 'new' ? projectUrl(view.project) : documentUrl(view.project, view.path);
  return (
    <form class="editor-form" method="post" action={action} data-editor data-preview-url={editorUrls.preview(view.project)}>
      <input type="hidden" name="_csrf" value={view.csrfToken} />
      {view.base ? <input type="hidden" name="base" value={view.base} /> : null}
      {view.mode === 'new' ? (
        <div class="field editor-path">
          <label for="editor-path">Path</label>
          <input
            id="editor-path"
            name="path"
            required
            maxLength={500}
            spellcheck={false}
            autocapitalize="none"
            placeholder="policies/new-policy.md"
            value={view.path}
            aria-describedby="editor-path-hint"
          />
          <p class="field-hint" id="editor-path-hint">
            Folder and file name inside the project, ending in <code>.md</code>. Folders are created as needed.
          </p>
        </div>
      ) : (
        <input type="hidden" name="path" value={view.path} />
      )}
      <div class="editor-panes">
        <div class="editor-pane editor-pane-source">
          <div class="editor-pane-head">
            <label for="editor-source" id="editor-source-label">
              Markdown
            </label>
            <span class="editor-pane-hint">Front matter between the <code>---</code> lines</span>
          </div>
          <textarea
            id="editor-source"
            class="editor-source"
            name="content"
            rows={28}
            spellcheck={false}
            autocapitalize="none"
            data-editor-source
          >
            {/* the parser drops one newline right after <textarea>: this one, never the text's own */}
            {`\n${view.source}`}
          </textarea>
        </div>
        <div class="editor-pane editor-pane-preview">
          <div class="editor-pane-head">
            <span class="editor-pane-label" id="editor-preview-label">
              Preview
            </span>
            <span class="editor-pane-hint" data-preview-status aria-live="polite">
              {view.mode === 'conflict' ? 'Of your text' : draft ? 'As the draft will have it' : 'As it will be published'}
            </span>
          </div>
          <div class="editor-preview" aria-labelledby="editor-preview-label">
            <p class="editor-preview-title" data-preview-title>
              {view.previewTitle}
            </p>
            <TrustedHtml class="doc-body" html={view.previewHtml} />
          </div>
        </div>
      </div>
      <div class="editor-footer">
        <div class="field editor-message">
          <label for="editor-message">Commit message</label>
          <input id="editor-message" name="message" maxLength={2000} value={view.message} />
          {view.mode === 'new' || review || draft ? null : (
            <label class="editor-editorial">
              <input type="checkbox" name="editorial" value="yes" checked={view.editorial === true} aria-describedby="editor-editorial-hint" />
              <span>
                Editorial change{' '}
                <span class="field-hint" id="editor-editorial-hint">
                  — wording or formatting only: people who acknowledged this document are not asked again.
                </span>
              </span>
            </label>
          )}
        </div>
        {review ? (
          <p class="field-hint editor-review-note" id="editor-review-note" data-review-required>
            {`This document ${review}. It cannot be published directly: `}
            <strong>Propose change</strong> saves your text as a draft and opens a change request; it is published when
            reviewers approve it and it is merged.
          </p>
        ) : null}
        {draft ? (
          <p class="field-hint editor-draft-note" id="editor-draft-note" data-draft>
            {'Saving commits your text to the draft '}
            <code>{draft.branch}</code>
            {` of change request !${draft.number}: nothing is published. Approvals given so far stop counting.`}
          </p>
        ) : null}
        <div class="form-actions editor-actions">
          <span class="editor-shortcut" data-editor-shortcut hidden />
          {draft ? (
            <button type="submit" class="button button-primary" aria-describedby="editor-draft-note">
              {view.mode === 'conflict' ? 'Save my version to the draft' : view.mode === 'new' ? 'Add to draft' : 'Save to draft'}
            </button>
          ) : review ? (
            <button type="submit" class="button button-primary" aria-describedby="editor-review-note">
              Propose change
            </button>
          ) : (
            <>
              <button type="submit" class="button button-primary">
                {view.mode === 'new' ? 'Create document' : view.mode === 'conflict' ? 'Save my version' : 'Save'}
              </button>
              {view.mode !== 'conflict' ? (
                <button type="submit" class="button" formaction={proposeUrl}>
                  Propose change
                </button>
              ) : null}
            </>
          )}
          <a class="button button-quiet" href={cancel}>
            Cancel
          </a>
        </div>
      </div>
    </form>
  );
}

function EditorPage({ view, script }: { view: EditorView; script: EditorScript }): JSX.Element {
  const heading = view.mode === 'new' ? 'New document' : view.mode === 'conflict' ? `Conflict: ${view.title}` : `Edit ${view.title}`;
  const draft = view.draft ?? null;
  return (
    <PlainLayout width="wide">
      <div class="editor-page">
        <PageHead
          view={view}
          heading={heading}
          lead={
            view.mode === 'new' ? (
              draft ? (
                <span>
                  {'A new document in the draft of '}
                  <a href={`${projectUrl(view.project)}-/changes/${draft.number}`}>{`!${draft.number} ${draft.title}`}</a>
                  {'. Write Markdown with an optional YAML front matter header; the preview shows the page rendered.'}
                </span>
              ) : (
                'Write Markdown with an optional YAML front matter header; the preview shows the page as it will be published.'
              )
            ) : (
              <>
                <code class="editor-path-label">{view.path}</code>
                {draft ? (
                  <span class="editor-links editor-draft-of">
                    {'in the draft of '}
                    <a href={`${projectUrl(view.project)}-/changes/${draft.number}`}>{`!${draft.number} ${draft.title}`}</a>
                  </span>
                ) : view.mode === 'edit' ? (
                  <span class="editor-links">
                    <a href={editorUrls.rename(view.project, view.path)}>Rename or move</a>
                    <a class="editor-link-danger" href={editorUrls.remove(view.project, view.path)}>
                      Delete
                    </a>
                  </span>
                ) : null}
              </>
            )
          }
        />
        {view.conflict ? <ConflictNotice view={view} /> : null}
        <ErrorList errors={view.errors} formError={view.formError} />
        <EditorForm view={view} />
        {view.conflict ? <DiffView diff={view.conflict.diff} /> : null}
      </div>
      {/* The nonce is for styles only (script-src stays 'self'): the island hands it to CodeMirror's <style>. */}
      <script type="module" src={script.href} nonce={script.styleNonce} data-editor-island />
    </PlainLayout>
  );
}

/** The editor page body. */
export function renderEditorBody(view: EditorView, script: EditorScript): TrustedHtmlString {
  return toHtml(<EditorPage view={view} script={script} />);
}

/** Rename/move form and delete confirmation. */
export interface DocumentChangeView {
  kind: 'rename' | 'delete';
  project: ViewProject;
  csrfToken: string;
  path: string;
  title: string;
  base: string;
  newPath: string;
  message: string;
  error: string | null;
  /**
   * Protected main: why publishing this change needs review. Set, the form's only action is "Propose change" (a
   * draft with a change request); otherwise "Propose change" is offered beside the direct action.
   */
  review?: string | null;
}

function ChangePage({ view }: { view: DocumentChangeView }): JSX.Element {
  const rename = view.kind === 'rename';
  return (
    <PlainLayout width="normal">
      <PageHead
        view={view}
        heading={rename ? `Rename or move ${view.title}` : `Delete ${view.title}?`}
        lead={
          rename
            ? 'Give the document a new path. Its history stays with it; links to the old address stop working.'
            : 'The document disappears from the site. Its history is kept in the repository and it can be restored.'
        }
      />
      <div class="panel">
        <div class="form-error" role="alert">
          {view.error}
        </div>
        <form class="form" method="post" action={rename ? editorUrls.rename(view.project, view.path) : editorUrls.remove(view.project, view.path)}>
          <input type="hidden" name="_csrf" value={view.csrfToken} />
          <input type="hidden" name="base" value={view.base} />
          <div class="field">
            <span class="field-label">Current path</span>
            <code class="editor-path-label">{view.path}</code>
          </div>
          {rename ? (
            <div class="field">
              <label for="change-new-path">New path</label>
              <input id="change-new-path" name="newPath" required maxLength={500} spellcheck={false} autocapitalize="none" value={view.newPath} />
            </div>
          ) : null}
          <div class="field">
            <label for="change-message">Commit message</label>
            <input id="change-message" name="message" maxLength={2000} value={view.message} />
          </div>
          {view.review ? (
            <p class="field-hint editor-review-note" id="change-review-note" data-review-required>
              {`This document ${view.review}. It cannot be ${rename ? 'moved' : 'deleted'} directly: `}
              <strong>Propose change</strong> commits the {rename ? 'move' : 'deletion'} to a draft and opens a change request; it
              takes effect when reviewers approve it and it is merged.
            </p>
          ) : null}
          <div class="form-actions">
            {view.review ? (
              <button type="submit" class="button button-primary" name="propose" value="yes" aria-describedby="change-review-note">
                Propose change
              </button>
            ) : (
              <>
                <button type="submit" class={rename ? 'button button-primary' : 'button button-danger'}>
                  {rename ? 'Move document' : 'Delete document'}
                </button>
                <button type="submit" class="button" name="propose" value="yes">
                  Propose change
                </button>
              </>
            )}
            <a class="button button-quiet" href={editUrl(view.project, view.path)}>
              Cancel
            </a>
          </div>
        </form>
      </div>
    </PlainLayout>
  );
}

/** The rename/move form or the delete confirmation. */
export function renderDocumentChangeBody(view: DocumentChangeView): TrustedHtmlString {
  return toHtml(<ChangePage view={view} />);
}

/** After a save that left the document at a classification its author cannot read. */
export function renderSavedHiddenBody(view: { project: ViewProject; path: string; classification: string }): TrustedHtmlString {
  return toHtml(
    <PlainLayout width="normal">
      <PageHead view={view} heading="Saved" />
      <div class="panel">
        <p>
          Your change to <code>{view.path}</code> was saved. It is now classified <strong>{view.classification}</strong>,
          which your role cannot read, so the document is hidden from you from now on.
        </p>
        <p>
          <a class="button" href={projectUrl(view.project)}>
            Back to {view.project.name}
          </a>
        </p>
      </div>
    </PlainLayout>,
  );
}
