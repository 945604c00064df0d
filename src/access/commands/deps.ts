import type { Db } from '../../db/connection.ts';
import type { DocumentLookup } from '../access-requests.ts';
import type { WaitingRequestCounts } from '../waiting-requests.ts';

/** What the access-request commands need. */
export interface AccessRequestCommandDeps {
  db: Db;
  /** The document at a path in the published snapshot (its title and classification), or null. */
  lookup: DocumentLookup;
  now: () => number;
  /** The top bar's cached counts of waiting requests: forgotten after every change. */
  waiting?: Pick<WaitingRequestCounts, 'forget'>;
}
