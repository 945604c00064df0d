/**
 * The project commands bound to their dependencies, for the routes: each takes `(actor, input)` and does
 * authorize → load → change → audit (one transaction) → cache invalidation (the project catalog).
 * Restoring a deleted project is an operator's command (restore-project.ts, CLI only).
 */
import type { UserActor } from '../../access/actor.ts';
import { changeProjectDetails, type ChangeProjectDetailsInput } from './change-project-details.ts';
import { createProject, type CreateProjectInput } from './create-project.ts';
import { deleteProject, type DeleteProjectInput } from './delete-project.ts';
import type { ProjectCommandDeps } from './deps.ts';

export type { ProjectCommandDeps } from './deps.ts';

export function projectCommands(deps: ProjectCommandDeps) {
  return {
    createProject: (actor: UserActor, input: CreateProjectInput) => createProject(deps, actor, input),
    changeProjectDetails: (actor: UserActor, input: ChangeProjectDetailsInput) => changeProjectDetails(deps, actor, input),
    deleteProject: (actor: UserActor, input: DeleteProjectInput) => deleteProject(deps, actor, input),
  };
}

export type ProjectCommands = ReturnType<typeof projectCommands>;
