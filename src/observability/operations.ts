/**
 * Durations of the product's heavy operations (publish, import, merge), announced on a diagnostics channel so
 * that the code doing the work knows nothing of who listens: `/metrics` (metrics.ts) subscribes when it is on,
 * and with no subscriber an announcement costs one boolean check.
 */
import { channel } from 'node:diagnostics_channel';

export type OperationName = 'publish' | 'import' | 'merge';

export interface OperationTiming {
  operation: OperationName;
  seconds: number;
  outcome: 'ok' | 'error';
}

export const operationChannel = channel('docucommit:operation');

/** Run `work`, then announce how long it took and whether it threw. */
export async function timedOperation<T>(operation: OperationName, work: () => Promise<T>): Promise<T> {
  if (!operationChannel.hasSubscribers) return work();
  const start = process.hrtime.bigint();
  let outcome: OperationTiming['outcome'] = 'error';
  try {
    const result = await work();
    outcome = 'ok';
    return result;
  } finally {
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    operationChannel.publish({ operation, seconds, outcome } satisfies OperationTiming);
  }
}
