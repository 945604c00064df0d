import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { authorize } from '../../access/authorize.ts';
import {
  assertDocumentPath,
  defaultMessage,
  ChangeRefusedError,
  FrontMatterRejectedError,
  type DocumentEditor,
  type EditableDocument,
} from '../../changes/editor.ts';
import type { ChangeRequests } from '../../changes/change-requests.ts';
import type { DraftEditor } from '../../changes/draft-editor.ts';
import { ReviewRequiredError } from '../../changes/protected-main.ts';
import { documentPathFromUrl } from '../../content/document-path.ts';
import { budgets, deadlineIn, renderWithinBudget } from '../../projects/budget-pool.ts';
import { ConflictError, InvalidInputError, NotFoundError } from '../../errors.ts';
import { BrokenLinksRefusedError } from '../../projects/link-gate.ts';
import type { ProjectRecord } from '../../projects/projects.ts';
import { editorIsland } from '../assets.ts';
import type { ResourceOpener } from '../open-resource.ts';
import { sessionCsrfToken } from '../csrf.ts';
import { sendPage } from '../page.ts';
import { contentSecurityPolicy } from '../security-headers.ts';
import type { GrantLookup } from '../reading-pages.ts';
import { documentUrl, projectUrl } from '../urls.ts';
import {
  renderDocumentChangeBody,
  renderEditorBody,
  renderSavedHiddenBody,
  type DocumentChangeView,
  type EditorView,
} from '../views/editor.tsx';
import type { ViewProject } from '../views/types.ts';
import type { TrustedHtml } from '../../content/trusted-html.ts';

interface Deps {
  open: ResourceOpener;
  editor: DocumentEditor;
  /** "Propose change" opens a change request for the draft it commits. */
  changeRequests: ChangeRequests;
  /** The editor on a change request's draft (continuing it, or adding a document to it). */
  drafts: DraftEditor;
  grantsFor: GrantLookup;
  secret: Buffer;
}

type ProjectParams = { org: string; project: string };
type PathParams = ProjectParams & { '*': string };
type DraftParams = PathParams & { n: string };

const text = (max: number) => z.string().max(max).default('');
const saveForm = z.object({ base: text(100), content: z.string().default(''), message: text(4000), editorial: z.literal('yes').optional() });
const createForm = z.object({ path: text(1000), content: z.string().default(''), message: text(4000) });
/** `propose=yes`: the form's "Propose change" button (a draft and a change request instead of publishing). */
const proposeField = z.literal('yes').optional();
const renameForm = z.object({ base: text(100), newPath: text(1000), message: text(4000), propose: proposeField });
const removeForm = z.object({ base: text(100), message: text(4000), propose: proposeField });
const previewBody = z.object({ path: z.string().max(1000).default('preview.md'), source: z.string().max(1024 * 1024) });

/** A 1 MB document, URL-encoded (non-ASCII text triples), with room for the other fields. */
const SAVE_BODY_LIMIT = 4 * 1024 * 1024;

/** A change by a role that may read but not edit (403). */
const EDIT_REFUSED = 'Your role can read documents but not edit them.';

/** Starter text of a new document. */
const NEW_DOCUMENT = '---\ntitle: Untitled\nclassification: internal\n---\n\nWrite here.\n';

/** The folder a new-document form starts in (`?folder=`), as the start of its path. */
function folderOf(value: unknown): string {
  const folder = typeof value === 'string' ? value.replace(/^\/+|\/+$/g, '').slice(0, 400) : '';
  return folder ? `${folder}/` : '';
}

type NewDocumentRefusal = InvalidInputError | ConflictError | ChangeRefusedError | BrokenLinksRefusedError;

/** Path, front matter, refused classification, links and "already exists": the author fixes these on the form. */
function isNewDocumentRefusal(error: unknown): error is NewDocumentRefusal {
  return error instanceof InvalidInputError || error instanceof ConflictError || error instanceof ChangeRefusedError || error instanceof BrokenLinksRefusedError;
}

/** The browser editor: edit + save, new document, rename/move, delete, and the live preview endpoint. */
export function registerEditorRoutes(app: FastifyInstance, deps: Deps): void {
  const { open, editor, secret } = deps;

  /**
   * The project (open-resource.ts: sign-in first, one 404 for outsiders) and the signed-in person with their
   * live grants. `edit`: a change (save, create, move, delete) by a read-only role is refused with 403 before
   * anything is read, the same for every path. Either refusal is recorded as access.denied by the error handler.
   */
  async function resolve(request: FastifyRequest<{ Params: ProjectParams }>, need: 'read' | 'edit' = 'read') {
    const { actor, project } = await open.project(request, 'read', { browserOnly: true });
    if (need === 'edit') authorize(actor, 'edit', { kind: 'project', orgId: project.orgId }, EDIT_REFUSED);
    const grants = await deps.grantsFor(actor, project);
    return { actor, project, grants, view: viewProject(project), csrfToken: sessionCsrfToken(secret, request.session!.idHash) };
  }

  /** The repository path of an editor URL, refusing hostile ones with a clear 400. */
  const pathOf = (request: FastifyRequest<{ Params: PathParams }>) => assertDocumentPath(documentPathFromUrl(request.params['*']));

  /**
   * The editor page, with its script: the CodeMirror island (or the plain script if it could not be bundled).
   * CodeMirror adds a <style> element at run time, so this response's policy allows styles carrying a fresh
   * nonce; scripts stay 'self' only.
   */
  async function sendEditor(request: FastifyRequest, reply: FastifyReply, view: EditorView, status = 200) {
    const title = view.mode === 'new' ? 'New document' : `${view.mode === 'conflict' ? 'Conflict' : 'Edit'}: ${view.title}`;
    const { asset } = await editorIsland();
    const styleNonce = randomBytes(18).toString('base64');
    reply.header('content-security-policy', contentSecurityPolicy({ styleNonce }));
    const body = renderEditorBody(view, { href: asset.href, styleNonce });
    return sendPage(request, reply, secret, { title: `${title} · ${view.project.name}`, body, status });
  }

  /**
   * The editor page's view, with its preview: the text is rendered once here, and that render also gives the
   * title when `doc` brings none. `previewPath`: the path the preview renders as (a new document's is `new.md`).
   */
  async function editorView(
    base: Pick<EditorView, 'project' | 'csrfToken'>,
    doc: Pick<EditableDocument, 'path' | 'source'> & { title?: string; base: string | null; previewPath?: string },
    extra: Partial<EditorView> = {},
  ): Promise<EditorView> {
    const shown = await preview(doc.previewPath ?? doc.path, doc.source);
    return {
      mode: 'edit',
      project: base.project,
      csrfToken: base.csrfToken,
      path: doc.path,
      title: doc.title ?? shown.previewTitle,
      base: doc.base,
      source: doc.source,
      message: defaultMessage('Update', doc.path),
      ...shown,
      errors: [],
      formError: null,
      ...extra,
    };
  }

  /** The new-document form (on main, or in a draft with `extra.draft`). */
  function newDocumentView(ctx: { view: EditorView['project']; csrfToken: string }, doc: { path: string; source: string; base: string | null }, extra: Partial<EditorView> = {}): Promise<EditorView> {
    return editorView({ project: ctx.view, csrfToken: ctx.csrfToken }, { ...doc, title: 'New document', previewPath: 'new.md' }, { mode: 'new', message: '', ...extra });
  }

  /** A refused new document's form again, the author's text kept, with what is wrong with it. */
  function refusedNewDocumentView(
    ctx: { view: EditorView['project']; csrfToken: string },
    form: { path: string; content: string; message: string },
    error: NewDocumentRefusal,
    extra: Partial<EditorView> = {},
  ): Promise<EditorView> {
    return newDocumentView(ctx, { path: form.path, source: form.content.replace(/\r\n?/g, '\n'), base: null }, {
      message: form.message,
      errors: error instanceof FrontMatterRejectedError ? error.errors : [],
      formError: error instanceof FrontMatterRejectedError ? null : error.message,
      ...extra,
    });
  }

  app.get<{ Params: PathParams }>('/:org/:project/-/edit/*', { config: { access: 'policy' } }, async (request, reply) => {
    const ctx = await resolve(request);
    const doc = await editor.open(ctx.project, ctx.actor, pathOf(request), ctx.grants);
    return sendEditor(request, reply, await editorView({ project: ctx.view, csrfToken: ctx.csrfToken }, doc, { review: doc.review }));
  });

  app.post<{ Params: PathParams }>('/:org/:project/-/edit/*', { config: { access: 'policy' }, bodyLimit: SAVE_BODY_LIMIT }, async (request, reply) => {
    const ctx = await resolve(request, 'edit');
    const path = pathOf(request);
    const form = parse(saveForm, request.body);
    const chrome = { project: ctx.view, csrfToken: ctx.csrfToken };
    try {
      const outcome = await editor.save(ctx.project, ctx.actor, { path, ...form, editorial: form.editorial === 'yes' }, ctx.grants);
      if (outcome.kind === 'conflict') {
        const view = await editorView(chrome, { path, source: outcome.mine, base: outcome.head }, {
          mode: 'conflict',
          message: form.message,
          editorial: form.editorial === 'yes',
          conflict: { current: outcome.current, diff: outcome.diff },
        });
        return sendEditor(request, reply, view, 409);
      }
      return afterSave(request, reply, ctx.view, outcome);
    } catch (error) {
      // the author keeps their text, with what is wrong with it (protected main: and the form proposes it instead)
      if (error instanceof FrontMatterRejectedError || error instanceof ChangeRefusedError || error instanceof ReviewRequiredError || error instanceof BrokenLinksRefusedError) {
        const source = form.content.replace(/\r\n?/g, '\n');
        const view = await editorView(chrome, { path, source, base: form.base }, {
          message: form.message,
          editorial: form.editorial === 'yes',
          errors: error instanceof FrontMatterRejectedError ? error.errors : [],
          formError: error instanceof FrontMatterRejectedError ? null : error.message,
          review: error instanceof ReviewRequiredError ? reviewOf(error) : null,
        });
        return sendEditor(request, reply, view, error.status);
      }
      throw error;
    }
  });

  /** The change request of a draft just proposed; the page to go to (its address, with the "opened" notice). */
  async function openProposal(ctx: Awaited<ReturnType<typeof resolve>>, branch: string, title: string): Promise<string> {
    const number = await deps.changeRequests.open(ctx.project, ctx.actor, { branch, title: title.slice(0, 200) }, ctx.grants);
    return `${projectUrl(ctx.view)}-/changes/${number}?notice=opened`;
  }

  /** A proposal's title: the author's message when they wrote one, else what it does. */
  const proposalTitle = (message: string, fallback: string, defaultText = fallback) =>
    message.trim() && message.trim() !== defaultText ? message.trim().split('\n', 1)[0]! : fallback;

  /** "Propose change": the text goes to a new draft branch with a change request, not to the published branch. */
  async function propose(
    request: FastifyRequest,
    reply: FastifyReply,
    ctx: Awaited<ReturnType<typeof resolve>>,
    input: { path: string; base: string | null; content: string; message: string; create: boolean },
  ) {
    const chrome = { project: ctx.view, csrfToken: ctx.csrfToken };
    try {
      const { branch } = await editor.propose(ctx.project, ctx.actor, input, ctx.grants);
      const path = input.path;
      const verb = input.create ? 'Create' : 'Update';
      return reply.redirect(await openProposal(ctx, branch, proposalTitle(input.message, `${verb} ${path}`, defaultMessage(verb, path))), 303);
    } catch (error) {
      if (error instanceof FrontMatterRejectedError || error instanceof ChangeRefusedError || error instanceof InvalidInputError || error instanceof ConflictError) {
        const source = input.content.replace(/\r\n?/g, '\n');
        const previewPath = input.create ? 'new.md' : undefined;
        const title = input.create ? 'New document' : (await render(input.path, source)).title;
        const view = await editorView(chrome, { path: input.path, title, source, base: input.base, previewPath }, {
          ...(input.create ? { mode: 'new' as const } : {}),
          message: input.message,
          errors: error instanceof FrontMatterRejectedError ? error.errors : [],
          formError: error instanceof FrontMatterRejectedError ? null : error.message,
        });
        return sendEditor(request, reply, view, error.status);
      }
      throw error;
    }
  }

  app.post<{ Params: PathParams }>('/:org/:project/-/propose/*', { config: { access: 'policy' }, bodyLimit: SAVE_BODY_LIMIT }, async (request, reply) => {
    const ctx = await resolve(request, 'edit');
    const form = parse(saveForm, request.body);
    return propose(request, reply, ctx, { path: pathOf(request), base: form.base, content: form.content, message: form.message, create: false });
  });

  // the new-document form's "Propose change": a draft that creates the document
  app.post<{ Params: ProjectParams }>('/:org/:project/-/new/propose', { config: { access: 'policy' }, bodyLimit: SAVE_BODY_LIMIT }, async (request, reply) => {
    const ctx = await resolve(request, 'edit');
    const form = parse(createForm.extend({ base: text(100) }), request.body);
    return propose(request, reply, ctx, { path: form.path, base: form.base || null, content: form.content, message: form.message, create: true });
  });

  app.get<{ Params: ProjectParams; Querystring: { folder?: string } }>(
    '/:org/:project/-/new',
    { config: { access: 'policy' } },
    async (request, reply) => {
      const ctx = await resolve(request);
      const base = await editor.startNew(ctx.project, ctx.actor);
      return sendEditor(request, reply, await newDocumentView(ctx, { path: folderOf(request.query.folder), source: NEW_DOCUMENT, base }));
    },
  );

  app.post<{ Params: ProjectParams }>('/:org/:project/-/new', { config: { access: 'policy' }, bodyLimit: SAVE_BODY_LIMIT }, async (request, reply) => {
    const ctx = await resolve(request, 'edit');
    const form = parse(createForm, request.body);
    try {
      const saved = await editor.create(ctx.project, ctx.actor, form, ctx.grants);
      return afterSave(request, reply, ctx.view, saved);
    } catch (error) {
      if (!isNewDocumentRefusal(error)) throw error;
      const view = await refusedNewDocumentView(ctx, form, error, { review: error instanceof ReviewRequiredError ? reviewOf(error) : null });
      return sendEditor(request, reply, view, error.status);
    }
  });

  for (const kind of ['rename', 'delete'] as const) {
    app.get<{ Params: PathParams }>(`/:org/:project/-/${kind}/*`, { config: { access: 'policy' } }, async (request, reply) => {
      const ctx = await resolve(request);
      const doc = await editor.open(ctx.project, ctx.actor, pathOf(request), ctx.grants);
      const view: DocumentChangeView = {
        kind,
        project: ctx.view,
        csrfToken: ctx.csrfToken,
        path: doc.path,
        title: doc.title,
        base: doc.base,
        newPath: doc.path,
        message: kind === 'rename' ? '' : defaultMessage('Delete', doc.path),
        error: null,
        review: doc.review,
      };
      return sendChange(request, reply, view);
    });
  }

  app.post<{ Params: PathParams }>('/:org/:project/-/rename/*', { config: { access: 'policy' } }, async (request, reply) => {
    const ctx = await resolve(request, 'edit');
    const path = pathOf(request);
    const form = parse(renameForm, request.body);
    const input = { path, base: form.base, newPath: form.newPath, message: form.message };
    try {
      if (form.propose === 'yes') {
        const { branch, newPath } = await editor.proposeRename(ctx.project, ctx.actor, input, ctx.grants);
        return reply.redirect(await openProposal(ctx, branch, proposalTitle(form.message, `Move ${path} to ${newPath}`)), 303);
      }
      const saved = await editor.rename(ctx.project, ctx.actor, input, ctx.grants);
      return afterSave(request, reply, ctx.view, saved);
    } catch (error) {
      // Only problems with the new path (or a refusal of the move) are shown on the form: the old path was authorized.
      if (!isChangeRefusal(error) || !isOidLike(form.base)) throw error;
      return sendChange(request, reply, await changeView(ctx, 'rename', path, form, error), error.status);
    }
  });

  app.post<{ Params: PathParams }>('/:org/:project/-/delete/*', { config: { access: 'policy' } }, async (request, reply) => {
    const ctx = await resolve(request, 'edit');
    const path = pathOf(request);
    const form = parse(removeForm, request.body);
    const input = { path, base: form.base, message: form.message };
    try {
      if (form.propose === 'yes') {
        const { branch } = await editor.proposeRemove(ctx.project, ctx.actor, input, ctx.grants);
        return reply.redirect(await openProposal(ctx, branch, proposalTitle(form.message, `Delete ${path}`, defaultMessage('Delete', path))), 303);
      }
      await editor.remove(ctx.project, ctx.actor, input, ctx.grants);
      return reply.redirect(projectUrl(ctx.view), 303);
    } catch (error) {
      // protected main, the link gate, a moved branch: the confirmation again, with why (and "Propose change")
      if (!isChangeRefusal(error) || !isOidLike(form.base)) throw error;
      return sendChange(request, reply, await changeView(ctx, 'delete', path, { ...form, newPath: path }, error), error.status);
    }
  });

  /** The rename or delete page again after a refusal, with the form as sent and why it was refused. */
  async function changeView(
    ctx: Awaited<ReturnType<typeof resolve>>,
    kind: 'rename' | 'delete',
    path: string,
    form: { newPath: string; message: string },
    error: InvalidInputError | ConflictError | ChangeRefusedError | BrokenLinksRefusedError,
  ): Promise<DocumentChangeView> {
    const doc = await editor.open(ctx.project, ctx.actor, path, ctx.grants);
    return {
      kind,
      project: ctx.view,
      csrfToken: ctx.csrfToken,
      path,
      title: doc.title,
      base: doc.base,
      newPath: form.newPath,
      message: form.message,
      error: error.message,
      review: error instanceof ReviewRequiredError ? reviewOf(error) : doc.review,
    };
  }

  // The live preview: same pipeline as publishing, sanitized HTML as JSON. CSRF via the x-csrf-token header.
  app.post<{ Params: ProjectParams }>('/:org/:project/-/preview', { config: { access: 'policy' } }, async (request, reply) => {
    const ctx = await resolve(request);
    authorize(ctx.actor, 'edit', { kind: 'project', orgId: ctx.project.orgId }, { hidden: true });
    const body = previewBody.safeParse(request.body ?? {});
    if (!body.success) throw new InvalidInputError('The preview request could not be read.');
    const path = /\.md$/i.test(body.data.path) ? body.data.path : 'preview.md';
    const rendered = await render(path, body.data.source);
    reply.header('cache-control', 'no-store');
    return reply.send({ html: rendered.html, title: rendered.title, classification: rendered.classification, errors: rendered.errors });
  });

  /** A change request's number from its URL (anything else is the one 404). */
  const numberOf = (value: string): number => {
    if (!/^[1-9][0-9]{0,8}$/.test(value)) throw new NotFoundError();
    return Number(value);
  };

  // the editor on a document of an open change request's draft: "Save to draft" continues it (a new commit on its
  // branch); a document the draft does not change yet is added to it by the save
  app.get<{ Params: DraftParams }>('/:org/:project/-/changes/:n/edit/*', { config: { access: 'policy' } }, async (request, reply) => {
    const ctx = await resolve(request);
    const doc = await deps.drafts.open(ctx.project, ctx.actor, numberOf(request.params.n), pathOf(request), ctx.grants);
    const view = await editorView({ project: ctx.view, csrfToken: ctx.csrfToken }, doc, { draft: doc.request });
    return sendEditor(request, reply, view);
  });

  // "Add a document to this draft" (the change request page's GET form): the editor on the path named
  app.get<{ Params: ProjectParams & { n: string }; Querystring: { path?: string } }>('/:org/:project/-/changes/:n/edit', { config: { access: 'policy' } }, async (request, reply) => {
    const ctx = await resolve(request);
    const number = numberOf(request.params.n);
    const path = assertDocumentPath(typeof request.query.path === 'string' ? request.query.path.trim().replace(/^\/+/, '') : '');
    return reply.redirect(`${projectUrl(ctx.view)}-/changes/${number}/edit/${path.split('/').map(encodeURIComponent).join('/')}`, 303);
  });

  // "New document in this draft": the editor's new-document form, saving to the draft
  app.get<{ Params: ProjectParams & { n: string }; Querystring: { folder?: string } }>('/:org/:project/-/changes/:n/new', { config: { access: 'policy' } }, async (request, reply) => {
    const ctx = await resolve(request);
    const draft = await deps.drafts.startNew(ctx.project, ctx.actor, numberOf(request.params.n), ctx.grants);
    return sendEditor(request, reply, await newDocumentView(ctx, { path: folderOf(request.query.folder), source: NEW_DOCUMENT, base: null }, { draft }));
  });

  app.post<{ Params: ProjectParams & { n: string } }>('/:org/:project/-/changes/:n/new', { config: { access: 'policy' }, bodyLimit: SAVE_BODY_LIMIT }, async (request, reply) => {
    const ctx = await resolve(request, 'edit');
    const number = numberOf(request.params.n);
    const form = parse(createForm, request.body);
    try {
      await deps.drafts.create(ctx.project, ctx.actor, { number, path: form.path, content: form.content, message: form.message }, ctx.grants);
      return reply.redirect(`${projectUrl(ctx.view)}-/changes/${number}?notice=updated`, 303);
    } catch (error) {
      if (!isNewDocumentRefusal(error)) throw error;
      const draft = await deps.drafts.request(ctx.project, ctx.actor, number, ctx.grants);
      return sendEditor(request, reply, await refusedNewDocumentView(ctx, form, error, { draft }), error.status);
    }
  });

  app.post<{ Params: DraftParams }>('/:org/:project/-/changes/:n/edit/*', { config: { access: 'policy' }, bodyLimit: SAVE_BODY_LIMIT }, async (request, reply) => {
    const ctx = await resolve(request, 'edit');
    const number = numberOf(request.params.n);
    const path = pathOf(request);
    const form = parse(saveForm, request.body);
    const chrome = { project: ctx.view, csrfToken: ctx.csrfToken };
    try {
      const outcome = await deps.drafts.save(ctx.project, ctx.actor, { number, path, base: form.base, content: form.content, message: form.message }, ctx.grants);
      if (outcome.kind === 'saved') return reply.redirect(`${projectUrl(ctx.view)}-/changes/${number}?notice=updated`, 303);
      const draft = await deps.drafts.request(ctx.project, ctx.actor, number, ctx.grants);
      const view = await editorView(chrome, { path, source: outcome.mine, base: outcome.head }, {
        mode: 'conflict',
        message: form.message,
        draft,
        conflict: { current: outcome.current, diff: outcome.diff },
      });
      return sendEditor(request, reply, view, 409);
    } catch (error) {
      // the author keeps their text, with what is wrong with it
      if (error instanceof FrontMatterRejectedError || error instanceof ChangeRefusedError || error instanceof BrokenLinksRefusedError || (error instanceof InvalidInputError && isOidLike(form.base))) {
        const draft = await deps.drafts.request(ctx.project, ctx.actor, number, ctx.grants);
        const source = form.content.replace(/\r\n?/g, '\n');
        const view = await editorView(chrome, { path, source, base: form.base }, {
          message: form.message,
          draft,
          errors: error instanceof FrontMatterRejectedError ? error.errors : [],
          formError: error instanceof FrontMatterRejectedError ? null : error.message,
        });
        return sendEditor(request, reply, view, error.status);
      }
      throw error;
    }
  });

  function sendChange(request: FastifyRequest, reply: FastifyReply, view: DocumentChangeView, status = 200) {
    const title = view.kind === 'rename' ? `Rename ${view.title}` : `Delete ${view.title}`;
    return sendPage(request, reply, secret, { title: `${title} · ${view.project.name}`, body: renderDocumentChangeBody(view), status });
  }

  function afterSave(
    request: FastifyRequest,
    reply: FastifyReply,
    project: ViewProject,
    saved: { path: string; readable: boolean; classification: string },
  ) {
    if (saved.readable) return reply.redirect(documentUrl(project, saved.path), 303);
    const body = renderSavedHiddenBody({ project, path: saved.path, classification: saved.classification });
    return sendPage(request, reply, secret, { title: `Saved · ${project.name}`, body });
  }
}

/** A render for the editor: a large document in a worker with the viewer's budget, a notice beyond it. */
function render(path: string, source: string) {
  return renderWithinBudget(path, source, deadlineIn(budgets.viewRenderMs));
}

/** The preview shown before any typing: the publishing pipeline's sanitized HTML and title. */
async function preview(path: string, source: string): Promise<{ previewHtml: TrustedHtml; previewTitle: string }> {
  const rendered = await render(path, source);
  return { previewHtml: rendered.html, previewTitle: rendered.title };
}

function parse<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  const parsed = schema.safeParse(body ?? {});
  if (!parsed.success) throw new InvalidInputError('The form could not be read. Reload the page and try again.');
  return parsed.data;
}

const isOidLike = (value: string) => /^[0-9a-f]{40}$/.test(value);

/** A refusal the rename and delete forms show on the page (path, protected main, link gate, change rules, a moved branch). */
const isChangeRefusal = (error: unknown): error is InvalidInputError | ConflictError | ChangeRefusedError | BrokenLinksRefusedError =>
  error instanceof InvalidInputError || error instanceof ConflictError || error instanceof ChangeRefusedError || error instanceof BrokenLinksRefusedError;

/** The editor's note of a refused publish: why the (first) document needs review. */
const reviewOf = (error: ReviewRequiredError): string => error.documents[0]?.reason ?? 'needs review before it is published';

function viewProject(project: ProjectRecord): ViewProject {
  return { orgSlug: project.orgSlug, orgName: project.orgName, slug: project.slug, name: project.name };
}
