/**
 * Page URLs of a project. A document's URL is its repository path without `.md`; a folder's `index.md` is the
 * folder's own URL (with a trailing slash), so relative links written between files keep working in the browser.
 */
export interface ProjectAddress {
  orgSlug: string;
  slug: string;
}

const encodePath = (path: string): string => path.split('/').map(encodeURIComponent).join('/');

/** `/{org}/{project}/` */
export function projectUrl(project: ProjectAddress): string {
  return `/${encodeURIComponent(project.orgSlug)}/${encodeURIComponent(project.slug)}/`;
}

/** Repository path of a Markdown document → its page URL. */
export function documentUrl(project: ProjectAddress, path: string): string {
  const withoutExt = path.replace(/\.md$/i, '');
  if (withoutExt === 'index') return projectUrl(project);
  if (withoutExt.endsWith('/index')) return sectionUrl(project, withoutExt.slice(0, -'/index'.length));
  return projectUrl(project) + encodePath(withoutExt);
}

/** Folder path (no trailing slash) → its section URL. */
export function sectionUrl(project: ProjectAddress, folder: string): string {
  return folder === '' ? projectUrl(project) : projectUrl(project) + encodePath(folder) + '/';
}

/** `/{org}/{project}/-/tags/{tag}` */
export function tagUrl(project: ProjectAddress, tag: string): string {
  return `${projectUrl(project)}-/tags/${encodeURIComponent(tag)}`;
}
