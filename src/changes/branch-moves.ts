/**
 * The branch-move protocol (work in progress: see branch-moved.ts for the event listeners receive).
 */
import type { BranchMoveListener } from './branch-moved.ts';

export class BranchMoves {
  readonly #listeners = new Map<string, BranchMoveListener>();

  /** Registers a listener (at start-up, before serving). Names are unique. */
  listen(listener: BranchMoveListener): void {
    if (this.#listeners.has(listener.name)) throw new Error(`branch-move listener ${listener.name} is registered twice`);
    this.#listeners.set(listener.name, listener);
  }

  get listeners(): readonly BranchMoveListener[] {
    return [...this.#listeners.values()];
  }
}
