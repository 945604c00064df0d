/**
 * The published branch: its head is a project's site (what readers see, what the editor commits to, what a
 * push must keep valid), and a new repository starts on it.
 */

/** The branch's short name. */
export const PUBLISHED_BRANCH = 'main';

/** The branch's full ref name. */
export const PUBLISHED_REF = `refs/heads/${PUBLISHED_BRANCH}`;
