import type { ContentError, NavNode, RenderedDocument } from '../../content/types.ts';
import type { ProjectAddress } from '../urls.ts';
import type { TrustedHtml } from '../../content/trusted-html.ts';

/** The signed-in person, as the top bar shows them. */
export interface ViewUser {
  name: string;
  email: string;
  /** Security events on the account since the user last viewed them: a dot in the top bar. */
  securityNotice?: boolean;
  /** Access requests waiting for this user's decision ("3", "99+") and where they are listed (top bar; none when 0). */
  waitingRequests?: { count: string; href: string } | null;
  /** Documents waiting for this user's acknowledgment ("2", "99+") and their list (top bar; none when 0). */
  openAcknowledgments?: { count: string; href: string } | null;
}

/** A project as pages refer to it. */
export interface ViewProject extends ProjectAddress {
  orgName: string;
  name: string;
}

export interface Breadcrumb {
  title: string;
  href: string;
}

/** Everything around a page's body: the full HTML document with its top bar. */
export interface PageFrame {
  title: string;
  user: ViewUser | null;
  /** CSRF token for the sign-out form; present when `user` is. */
  csrfToken: string | null;
  /** Body HTML produced by one of the body renderers below (already escaped/sanitized). */
  body: TrustedHtml;
}

/** Shared by pages inside a project: the project navigation column. */
export interface ProjectChrome {
  project: ViewProject;
  nav: NavNode[];
  /** Repository path of the current document, or folder path of the current section, to highlight it. */
  currentPath: string | null;
  breadcrumbs: Breadcrumb[];
  /** For editors, when the project has front-matter errors or broken links: the link to their list. */
  problems?: { count: number; href: string } | undefined;
  /** For editors: where to create a new document. */
  newDocumentHref?: string | undefined;
  /** For editors: the organization's "Reviews due" list. */
  reviewsHref?: string | undefined;
  /** For members: links to the organization's access requests, and to the request form when below admin. */
  accessRequests?: { canRequest: boolean; canManage?: boolean } | undefined;
  /** The as-of view: the day shown (its banner) and the same page as in effect today. */
  asOf?: { date: string; liveHref: string } | undefined;
}

/** A document page: the rendered document's own fields (its html is the only raw HTML a page contains). */
export interface DocumentView
  extends ProjectChrome,
    Pick<
      RenderedDocument,
      'path' | 'title' | 'tags' | 'classification' | 'date' | 'owner' | 'effective' | 'review_by' | 'toc' | 'html'
    > {
  /** For a document too large to render: a commit holding this version, whose source members may download. */
  sourceCommit?: string | null;
  /** A newer version takes effect on `date`: the notice, with the redline of what changes. */
  upcoming?: { date: string; compareHref: string } | null;
}

/** Problems only editors see, shown above a document or on a section page. */
export interface EditorNotices {
  errors: ContentError[];
  /** Broken links, missing images and unknown anchors (content/link-check.ts). */
  brokenLinks: { from: string; href: string; line?: number | null; message?: string }[];
}

export interface SectionView extends ProjectChrome {
  title: string;
  /** Documents and subsections directly in this folder, as the navigation orders them. */
  entries: NavNode[];
}

export interface TagView extends ProjectChrome {
  tag: string;
  documents: { path: string; title: string; date: string | null }[];
}

export interface TagIndexView extends ProjectChrome {
  /** Every tag of the documents the reader may read, with how many carry it, by name. */
  tags: { tag: string; count: number }[];
}

export interface ProjectListView {
  projects: (ViewProject & { documentCount: number; description: string | null })[];
  signedIn: boolean;
  /** Organizations where the reader may create projects (admins and owners). */
  newProjectIn?: { slug: string; name: string }[];
}

export interface LoginView {
  csrfToken: string;
  email: string;
  next: string;
  error: string | null;
  /** Link "Forgot password?" (only when email is configured). */
  forgotPassword?: boolean;
}

export interface ErrorView {
  status: number;
  title: string;
  message: string;
  requestId: string;
  /**
   * A 404 inside a project of the reader's organization: the access-request form for this address. Offered for
   * every address there alike (missing or hidden), so it reveals nothing.
   */
  askForAccessHref?: string | null;
}

export interface ProblemsView extends ProjectChrome {
  notices: EditorNotices;
}
