import type { BranchMoved, BranchMoveListener } from '../changes/branch-moved.ts';
import { isDocumentPath, isRegularFileMode } from '../content/document-path.ts';
import { parseFrontMatter } from '../content/front-matter.ts';
import { PUBLISHED_BRANCH } from '../content/published-branch.ts';
import type { Classification } from '../content/types.ts';
import { withOrg, type Db } from '../db/connection.ts';
import type { Repository } from '../git/repository.ts';
import type { RepositoryRegistry } from '../projects/repositories.ts';
import { enqueueWebhookEvent } from './outbox.ts';

const PUBLISHED_REF = `refs/heads/${PUBLISHED_BRANCH}`;

/** One document of a publish, as the payload lists it. */
interface PublishedDocument {
  path: string;
  change: 'added' | 'modified' | 'removed';
  /** The blob id of the new version (null when removed). */
  blob: string | null;
  /** Classification of the new version (of the old one when removed); an unreadable header counts as restricted. */
  classification: Classification;
  /** Only for a public document: everything else is named by its path alone. */
  title?: string;
}

/**
 * The branch-move listener of webhooks: a move of the published branch that changed documents becomes one
 * `document.published` event (project, old and new commit, each changed document's path, blob id and
 * classification; the title of public documents only; never any text). The move's durable delivery
 * (branch-moves.ts) was written in the transaction of the move itself, and the event is enqueued under the
 * key `move:<id>`, so a retried or replayed delivery enqueues nothing twice.
 */
export class WebhookPublishListener implements BranchMoveListener {
  readonly name = 'webhooks';

  constructor(
    private readonly db: Db,
    private readonly repositories: RepositoryRegistry,
    /** Called after something was enqueued (the dispatcher's nudge). */
    private readonly enqueued: () => void = () => {},
  ) {}

  async handle(event: BranchMoved): Promise<void> {
    if (event.ref !== PUBLISHED_REF) return;
    const found = await withOrg(this.db, event.orgId, async (trx) => ({
      project: await trx.selectFrom('projects').select(['id', 'slug', 'repo_dir']).where('org_id', '=', event.orgId).where('id', '=', event.projectId).executeTakeFirst(),
      wanted: await trx.selectFrom('webhooks').select('id').where('org_id', '=', event.orgId).where('active', '=', true).limit(1).executeTakeFirst(),
    }));
    // nobody listens (the common case): no git reads at all
    if (!found.project || !found.wanted) return;
    const repository = await this.repositories.get({ id: found.project.id, repoDir: found.project.repo_dir });
    const documents: PublishedDocument[] = [];
    for (const path of event.changedPaths) {
      if (!isDocumentPath(path)) continue;
      const document = await describe(repository, event, path);
      if (document) documents.push(document);
    }
    if (documents.length === 0 && !event.pathsTruncated) return;
    const count = await enqueueWebhookEvent(this.db, {
      orgId: event.orgId,
      type: 'document.published',
      actor: { type: event.actor.type, id: event.actor.id || null, label: event.actor.label || null },
      sourceKey: `move:${event.id}`,
      at: new Date(event.at),
      data: {
        project: { id: found.project.id, slug: found.project.slug },
        ref: event.ref,
        before: event.oldCommit,
        after: event.newCommit,
        kind: event.kind,
        documents,
        // more documents changed than are listed: fetch the comparison of `before` and `after` for the rest
        documents_truncated: event.pathsTruncated,
      },
    });
    if (count > 0) this.enqueued();
  }
}

async function describe(repository: Repository, event: BranchMoved, path: string): Promise<PublishedDocument | null> {
  const after = event.newCommit ? await repository.entryAt(event.newCommit, path).catch(() => null) : null;
  const before = event.oldCommit ? await repository.entryAt(event.oldCommit, path).catch(() => null) : null;
  const current = after?.type === 'blob' && isRegularFileMode(after.mode) ? after : null;
  const previous = before?.type === 'blob' && isRegularFileMode(before.mode) ? before : null;
  if (!current && !previous) return null;
  const header = await headerOf(repository, path, (current ?? previous)!.oid);
  const document: PublishedDocument = {
    path,
    change: current ? (previous ? 'modified' : 'added') : 'removed',
    blob: current?.oid ?? null,
    classification: header.classification,
  };
  if (header.classification === 'public' && current && header.title) document.title = header.title;
  return document;
}

async function headerOf(repository: Repository, path: string, oid: string): Promise<{ classification: Classification; title: string | null }> {
  try {
    const { data } = parseFrontMatter(path, (await repository.readBlob(oid)).toString('utf8'));
    if (!data) return { classification: 'restricted', title: null };
    return { classification: data.classification, title: data.title ?? null };
  } catch {
    return { classification: 'restricted', title: null };
  }
}
