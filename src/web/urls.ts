/**
 * Page URLs of a project. A document's URL is its repository path without `.md`; a folder's `index.md` is the
 * folder's own URL (with a trailing slash), so relative links written between files keep working in the browser.
 */
export interface ProjectAddress {
  orgSlug: string;
  slug: string;
  /** The as-of view's day (`YYYY-MM-DD`): its pages live under `/{org}/{project}/-/at/{day}/`. */
  at?: string;
}

const encodePath = (path: string): string => path.split('/').map(encodeURIComponent).join('/');

/** `/{org}/{project}/` */
export function projectUrl(project: ProjectAddress): string {
  return `/${encodeURIComponent(project.orgSlug)}/${encodeURIComponent(project.slug)}/`;
}

/** Where the project's reading pages start: `/{org}/{project}/`, or `/{org}/{project}/-/at/{day}/` as of a day. */
export function pagesUrl(project: ProjectAddress): string {
  return project.at === undefined ? projectUrl(project) : `${projectUrl(project)}-/at/${encodeURIComponent(project.at)}/`;
}

/** Repository path of a Markdown document → its page URL. */
export function documentUrl(project: ProjectAddress, path: string): string {
  const withoutExt = path.replace(/\.md$/i, '');
  if (withoutExt === 'index') return pagesUrl(project);
  if (withoutExt.endsWith('/index')) return sectionUrl(project, withoutExt.slice(0, -'/index'.length));
  return pagesUrl(project) + encodePath(withoutExt);
}

/** Folder path (no trailing slash) → its section URL. */
export function sectionUrl(project: ProjectAddress, folder: string): string {
  return folder === '' ? pagesUrl(project) : pagesUrl(project) + encodePath(folder) + '/';
}

/** `/{org}/{project}/-/tags/{tag}` */
export function tagUrl(project: ProjectAddress, tag: string): string {
  return `${pagesUrl(project)}-/tags/${encodeURIComponent(tag)}`;
}

/** `/{org}/{project}/-/compare/{from}..{to}/{path}`: the redline of one document between two commits. */
export function compareUrl(project: ProjectAddress, from: string, to: string, path: string): string {
  return `${projectUrl(project)}-/compare/${from}..${to}/${encodePath(path)}`;
}
