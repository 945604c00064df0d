/**
 * The browser editor on a change request's draft ("continues the draft they are on", issue #13): open a document
 * as the draft has it, and save new text to the draft (commands/save-to-draft.ts, through the branch-move
 * protocol). Any document of the draft's tree may be opened — one the draft already changes, or another one,
 * which the save then adds to the change request. Who may: see commands/save-to-draft.ts.
 */
import type { UserActor } from '../access/actor.ts';
import type { Grants } from '../access/policy.ts';
import type { Classification } from '../content/types.ts';
import type { LinkGate } from '../projects/link-gate.ts';
import type { ProjectRecord } from '../projects/projects.ts';
import type { RepositoryRegistry } from '../projects/repositories.ts';
import type { BranchMoves } from './branch-moves.ts';
import type { ChangeRequests } from './change-requests.ts';
import { createInDraft, type CreateInDraftInput } from './commands/create-in-draft.ts';
import { openDraftDocument, openDraftRequest, saveToDraft, type DraftConflict, type DraftEditDeps, type DraftSaved, type SaveToDraftInput } from './commands/save-to-draft.ts';

export type { DraftConflict, DraftSaved } from './commands/save-to-draft.ts';

/** A document of a draft as the editor opens it. */
export interface DraftDocument {
  path: string;
  /** The draft's head the text was read from: the form sends it back as the save's expected old value. */
  base: string;
  source: string;
  classification: Classification;
  request: { number: number; title: string; branch: string };
}

export class DraftEditor {
  readonly #deps: DraftEditDeps;

  constructor(deps: { repositories: RepositoryRegistry; branchMoves: BranchMoves; changeRequests: Pick<ChangeRequests, 'get' | 'sources'>; linkGate?: Pick<LinkGate, 'assertEditAllowed'> }) {
    this.#deps = deps;
  }

  /** The draft's version of a document, for the edit form: 404 for what the person may not see, 403 for what they may not change. */
  async open(project: ProjectRecord, actor: UserActor, number: number, path: string, grants: Grants): Promise<DraftDocument> {
    const opened = await openDraftDocument(this.#deps, actor, project, number, path, grants);
    const { request } = opened;
    return {
      path: opened.path,
      base: opened.head,
      source: opened.current.source,
      classification: opened.current.classification,
      request: { number: request.number, title: request.title, branch: request.branch },
    };
  }

  /** The request a new document is added to, for the empty form: 404 for who may not see it, 403 for who may not change its draft. */
  async startNew(project: ProjectRecord, actor: UserActor, number: number, grants: Grants): Promise<DraftDocument['request']> {
    const request = await openDraftRequest(this.#deps, actor, project, number, grants);
    return { number: request.number, title: request.title, branch: request.branch };
  }

  /** The change request's title and branch (for a page after a refusal, the request already seen). */
  async request(project: ProjectRecord, actor: UserActor, number: number, grants: Grants): Promise<DraftDocument['request']> {
    const request = await this.#deps.changeRequests.get(project, actor, number, grants);
    return { number: request.number, title: request.title, branch: request.branch };
  }

  /** commands/create-in-draft.ts */
  create(project: ProjectRecord, actor: UserActor, input: Omit<CreateInDraftInput, 'project' | 'grants'>, grants: Grants): Promise<DraftSaved> {
    return createInDraft(this.#deps, actor, { ...input, project, grants });
  }

  /** commands/save-to-draft.ts */
  save(project: ProjectRecord, actor: UserActor, input: Omit<SaveToDraftInput, 'project' | 'grants'>, grants: Grants): Promise<DraftSaved | DraftConflict> {
    return saveToDraft(this.#deps, actor, { ...input, project, grants });
  }
}
