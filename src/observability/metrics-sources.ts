import type { AppContext } from '../app-context.ts';
import { listenerBacklog } from '../changes/move-store.ts';
import { databaseLoad } from '../db/connection.ts';
import { gitSpawnCounts } from '../git/spawner-client.ts';
import { webhookBacklog } from '../webhooks/outbox.ts';
import { Metrics } from './metrics.ts';

/** Metrics reading this server's database, listener backlog, webhook outbox and git process counts. */
export function metricsFor(context: Pick<AppContext, 'db'>): Metrics {
  return new Metrics({
    listenerBacklog: () => listenerBacklog(context.db),
    databaseLoad: () => databaseLoad(context.db),
    gitProcesses: () => ({ ...gitSpawnCounts }),
    webhookBacklog: () => webhookBacklog(context.db),
  });
}
