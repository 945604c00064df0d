import type { Classification, ContentError, NavNode, TocEntry } from '../../content/types.ts';
import type { ProjectAddress } from '../urls.ts';

/** The signed-in person, as the top bar shows them. */
export interface ViewUser {
  name: string;
  email: string;
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
  body: string;
}

/** Shared by pages inside a project: the project navigation column. */
export interface ProjectChrome {
  project: ViewProject;
  nav: NavNode[];
  /** Repository path of the current document, or folder path of the current section, to highlight it. */
  currentPath: string | null;
  breadcrumbs: Breadcrumb[];
}

export interface DocumentView extends ProjectChrome {
  path: string;
  title: string;
  tags: string[];
  classification: Classification;
  date: string | null;
  owner: string | null;
  effective: string | null;
  review_by: string | null;
  toc: TocEntry[];
  /** Sanitized HTML from content/render (the only raw HTML a page contains). */
  html: string;
}

/** Problems only editors see, shown above a document or on a section page. */
export interface EditorNotices {
  errors: ContentError[];
  brokenLinks: { from: string; href: string }[];
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

export interface ProjectListView {
  projects: (ViewProject & { documentCount: number; description: string | null })[];
  signedIn: boolean;
}

export interface LoginView {
  csrfToken: string;
  email: string;
  next: string;
  error: string | null;
}

export interface ErrorView {
  status: number;
  title: string;
  message: string;
  requestId: string;
}
