/** Data shapes produced by the content pipeline. Everything in content/ is pure: strings in, these out. */
import type { TrustedHtml } from './trusted-html.ts';

export const CLASSIFICATIONS = ['public', 'internal', 'confidential', 'restricted'] as const;
export type Classification = (typeof CLASSIFICATIONS)[number];

/** Roles a front matter `acknowledge:` list may name (the organization roles, DESIGN.md). */
export const AUDIENCE_ROLES = ['viewer', 'member', 'manager', 'admin', 'owner'] as const;
export type AudienceRole = (typeof AUDIENCE_ROLES)[number];
/** How often a document must be reviewed (`review_every: 12 months`). */
export interface ReviewInterval {
  count: number;
  unit: 'day' | 'week' | 'month' | 'year';
}

/** Who must acknowledge a document: every member, or the members holding one of the listed roles. */
export type AcknowledgeAudience = 'everyone' | AudienceRole[];

/** A problem in a source file, located precisely enough for an editor to fix it. */
export interface ContentError {
  file: string;
  /** 1-based line in the whole file (front matter included). */
  line: number;
  column?: number;
  message: string;
}

/** Validated front matter. Unknown keys are ignored. */
export interface FrontMatter {
  title?: string;
  sort?: number;
  tags: string[];
  classification: Classification;
  /** ISO date `YYYY-MM-DD` for dated posts. */
  date?: string;
  owner?: string;
  effective?: string;
  review_by?: string;
  /** Who must read and acknowledge each version (evidence/acknowledgments). */
  acknowledge?: AcknowledgeAudience;
  /** How often the document must be reviewed (review cadence; `review_by` is a fixed date instead). */
  review_every?: ReviewInterval;
  /** Who must approve a change of this document: emails, or roles (that role or above). */
  approvers?: string[];
}

export interface TocEntry {
  id: string;
  text: string;
  children: TocEntry[];
}

/**
 * A reference from one document to something in the same project: another document (or itself, `#anchor`), a
 * folder, or an attachment (a link to a PDF, an image).
 */
export interface DocumentLink {
  /** The href (or image src) as written in the source. */
  href: string;
  /** The repository path it resolves to, e.g. `policies/incident-response.md`, `images/diagram.png`. */
  target: string;
  anchor?: string;
  /** 1-based line in the whole file, when known. */
  line?: number;
  /** `image` for an image source; absent for a link. */
  kind?: 'image';
}

/** The result of rendering one Markdown file. Independent of the rest of the project (cacheable by blob id). */
export interface RenderedDocument {
  path: string;
  title: string;
  sort: number | null;
  tags: string[];
  /** When the front matter is invalid this is `restricted`: an unreadable header must not widen access. */
  classification: Classification;
  date: string | null;
  owner: string | null;
  effective: string | null;
  review_by: string | null;
  toc: TocEntry[];
  links: DocumentLink[];
  /** Ids of the document's headings: the anchors a link may point at. */
  anchors: string[];
  /** Sanitized HTML of the body (the leading H1 that supplied the title is removed). */
  html: TrustedHtml;
  errors: ContentError[];
  /** Set when rendering took longer than its budget: `html` is only a notice, `toc` and `links` are empty. */
  tooLarge?: true;
  /** Who the front matter asks to acknowledge the document (absent: nobody). */
  acknowledge?: AcknowledgeAudience;
  /** How often the document must be reviewed (absent: no cadence; `review_by` may still fix a date). */
  review_every?: ReviewInterval;
}

/** What the navigation builder needs to know about each readable document. */
export interface NavInput {
  path: string;
  title: string;
  sort: number | null;
  date: string | null;
}

export interface NavDocument {
  kind: 'document';
  path: string;
  title: string;
  sort: number | null;
  date: string | null;
}

export interface NavSection {
  kind: 'section';
  /** Folder path without trailing slash, e.g. `policies` or `handbook/engineering`. */
  path: string;
  title: string;
  sort: number | null;
  /** The folder's `index.md`, when it has one (and the reader may read it). */
  indexPath: string | null;
  /** True when the section's documents carry dates: listed newest first. */
  dated: boolean;
  children: NavNode[];
  /** Set on the stand-in for the entries a long list leaves out (web/reading-pages.ts `pruneNavigation`): how
   * many, all listed on the section page this node links to. */
  more?: number;
}

export type NavNode = NavDocument | NavSection;
