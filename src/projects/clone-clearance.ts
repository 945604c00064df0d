/**
 * How sensitive a whole repository is, for clone and fetch (which hand out every document and all history).
 *
 * The rule (docs/security.md, "Git access"): the highest classification among
 *  - every document of the published snapshot, at its classification now, and
 *  - every other Markdown path that any ref's history ever held, at its newest version (for a deleted document:
 *    the classification it had when it was deleted).
 * An unreadable front matter counts as restricted, as when publishing. The answer is cached per set of ref
 * values, so it is computed once after each push or save, not per clone.
 */
import { classificationOf, stricter } from '../content/classification.ts';
import { isDocumentPath } from '../content/document-path.ts';
import type { Classification } from '../content/types.ts';
import { runGit } from '../git/run.ts';
import { parseDiffTree } from '../git/tree-diff.ts';
import type { ProjectRecord } from './projects.ts';
import type { Publisher } from './publisher.ts';
import type { RepositoryRegistry } from './repositories.ts';


/** The highest classification of each project's repository, cached per state of its refs. */
export class CloneClearance {
  private readonly cache = new Map<string, { refs: string; classification: Classification }>();

  constructor(
    private readonly repositories: RepositoryRegistry,
    private readonly publisher: Publisher,
  ) {}

  /** The classification a reader's clearance must cover to clone or fetch `project`. */
  async highestClassification(project: ProjectRecord): Promise<Classification> {
    const repository = await this.repositories.get(project);
    const refs = (await runGit({ gitDir: repository.path, args: ['for-each-ref', '--format=%(objectname) %(refname)'] })).stdout.toString('utf8');
    const cached = this.cache.get(project.id);
    if (cached && cached.refs === refs) return cached.classification;

    const snapshot = await this.publisher.publish(project);
    let highest: Classification = 'public';
    for (const doc of snapshot.documents.values()) highest = stricter(highest, doc.meta.classification);

    if (refs.trim() !== '' && highest !== 'restricted') {
      // newest first: the first version seen of a path is its newest (a deletion names the last content)
      const { stdout } = await runGit({
        gitDir: repository.path,
        args: ['log', '--all', '--format=', '--raw', '-z', '--no-renames', '--no-abbrev', '-m'],
        maxStdoutBytes: 512 * 1024 * 1024,
        timeoutMs: 120_000,
      });
      const newest = new Map<string, string>();
      for (const change of parseDiffTree(stdout)) {
        if (newest.has(change.path) || !isDocumentPath(change.path) || snapshot.documents.has(change.path)) continue;
        const oid = change.status === 'D' ? change.oldOid : change.newOid;
        const mode = change.status === 'D' ? change.oldMode : change.newMode;
        if (isDocumentPath(change.path, mode)) newest.set(change.path, oid);
      }
      for (const oid of new Set(newest.values())) {
        const source = (await repository.readBlob(oid)).toString('utf8');
        highest = stricter(highest, classificationOf(source));
        if (highest === 'restricted') break;
      }
    }
    this.cache.set(project.id, { refs, classification: highest });
    return highest;
  }
}
