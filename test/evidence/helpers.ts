import type { UserActor } from '../../src/access/actor.ts';
import type { AppContext } from '../../src/app-context.ts';
import type { BranchMoved } from '../../src/changes/branch-moved.ts';
import { withUser, type Db } from '../../src/db/connection.ts';
import type { Role } from '../../src/db/schema.ts';
import type { ProjectRecord } from '../../src/projects/projects.ts';
import type { TestApp } from '../helpers/test-app.ts';

/** The account `{role}@{org}.test` as an actor (what the authentication plugin would build). */
export async function actorOf(db: Db, email: string): Promise<UserActor> {
  const user = await db.selectFrom('users').select(['id', 'email', 'name']).where('email', '=', email).executeTakeFirstOrThrow();
  const rows = await withUser(db, user.id, (trx) => trx.selectFrom('memberships').select(['org_id', 'role']).where('user_id', '=', user.id).execute());
  return { kind: 'user', userId: user.id, email: user.email, name: user.name, memberships: new Map(rows.map((r) => [r.org_id, r.role as Role])) };
}

let eventIds = 0;

/** Commit `files` to main of the project (as a push would) and the BranchMoved event the protocol would deliver. */
export async function commitAndEvent(
  t: TestApp,
  project: ProjectRecord,
  files: Record<string, string | null>,
  message: string,
  at = new Date(),
): Promise<BranchMoved> {
  const repository = await t.context.repositories.get(project);
  const old = await repository.headOf('main');
  const result = await repository.commitFiles({
    branch: 'main',
    expectedOld: old,
    mode: 'patch',
    changes: Object.entries(files).map(([path, content]) => (content === null ? { path, delete: true as const } : { path, content })),
    author: { name: 'Test Author', email: 'author@acme.test' },
    message,
  });
  return {
    id: String(++eventIds),
    orgId: project.orgId,
    projectId: project.id,
    ref: 'refs/heads/main',
    oldCommit: old,
    newCommit: result.commit,
    kind: 'push',
    actor: { type: 'user', id: 'test', label: 'author@acme.test' },
    changedPaths: Object.keys(files),
    pathsTruncated: false,
    recovered: false,
    at: at.toISOString(),
  };
}

/** A Markdown document asking `audience` to acknowledge it. */
export function askingDocument(title: string, audience: string, body = 'Read me.', classification = 'internal'): string {
  return `---\ntitle: ${title}\nclassification: ${classification}\nacknowledge: ${audience}\n---\n\n${body}\n`;
}

/**
 * Commit `files` to main through the branch-move protocol (journal, compare-and-swap, record, publish, listeners),
 * recorded as an import (fixture content), and wait until every listener has had the move.
 */
export async function commitThroughProtocol(
  t: { context: AppContext },
  project: ProjectRecord,
  files: Record<string, string | null>,
  message: string,
): Promise<string> {
  const repository = await t.context.repositories.get(project);
  const old = await repository.headOf('main');
  const author = { type: 'user' as const, id: 'test-author', label: 'author@test' };
  const result = await t.context.branchMoves.commit(
    project,
    repository,
    {
      branch: 'main',
      expectedOld: old,
      mode: 'patch',
      changes: Object.entries(files).map(([path, content]) => (content === null ? { path, delete: true as const } : { path, content })),
      author: { name: 'Test Author', email: 'author@test' },
      message,
    },
    {
      // fixture content, as an import: not a person's save, so protected main (documents that need review go
      // through a change request: changes/protected-main.ts) does not apply
      kind: 'import',
      actor: author,
      events: (commit) => ({ orgId: project.orgId, actor: author, action: 'document.saved', target: { type: 'commit', id: commit }, outcome: 'success' }),
    },
  );
  await t.context.branchMoves.idle();
  return result.commit!;
}

/** The head of main of a project. */
export async function headOf(t: { context: AppContext }, project: ProjectRecord): Promise<string> {
  return (await (await t.context.repositories.get(project)).headOf('main'))!;
}

/** Publish a new text of the document at `path` (`change` of the text on main) through the branch-move protocol. */
export async function rewriteThroughProtocol(
  t: { context: AppContext },
  project: ProjectRecord,
  path: string,
  change: (source: string) => string,
  message: string,
): Promise<string> {
  const repository = await t.context.repositories.get(project);
  const entry = await repository.entryAt(await headOf(t, project), path);
  const source = (await repository.readBlob(entry!.oid)).toString('utf8');
  return commitThroughProtocol(t, project, { [path]: change(source) }, message);
}
