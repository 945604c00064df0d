import type { ApiOperation } from '../../api/operation.ts';
import { changeRequestOperations } from './change-requests.ts';
import type { ApiDeps } from './deps.ts';
import { documentOperations } from './documents.ts';
import { recordOperations } from './records.ts';

export type { ApiDeps } from './deps.ts';

/** Every operation of the REST API, in the order the OpenAPI document lists them. */
export function apiOperations(deps: ApiDeps): ApiOperation[] {
  return [...documentOperations(deps), ...changeRequestOperations(deps), ...recordOperations(deps)];
}
