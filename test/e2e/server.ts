import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createAppContext, type AppContext } from '../../src/app-context.ts';
import { upsertAccount } from '../../src/auth/accounts.ts';
import type { Config } from '../../src/config/config.ts';
import type { Role } from '../../src/db/schema.ts';
import { DEMO, importDemoProject } from '../../src/projects/demo-project.ts';
import { buildApp } from '../../src/web/app.ts';
import { databaseTargets } from '../helpers/databases.ts';
import { testConfig } from '../helpers/test-app.ts';
import type { Submission } from './forms.ts';

export const E2E_PASSWORD = 'e2e passphrase that is long';
/** Screenshots land here, one folder per test file. */
export const outputDir = (name: string) => {
  const dir = fileURLToPath(new URL(`../../test-output/e2e/${name}`, import.meta.url));
  mkdirSync(dir, { recursive: true });
  return dir;
};

/**
 * A real server on a loopback port with the demo project and one account per listed role (`{role}@zephyrcart.test`).
 * `submissions` records every form post (and every GET with a query) it answered, for `assertFormsSubmitted`.
 */
export async function startServer(
  roles: Role[],
  appOptions: Parameters<typeof buildApp>[1] = {},
  /** Settings over testConfig's (e.g. email). */
  config: Partial<Config> = {},
): Promise<{ url: string; context: AppContext; submissions: Submission[]; stop(): Promise<void> }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'docucommit-e2e-'));
  // embedded PGlite, in a data directory of its own on tmpfs (test/helpers/databases.ts)
  const { db, dispose } = await databaseTargets()[0]!.open();
  const context = await createAppContext({ ...testConfig(dataDir), ...config }, db);
  for (const role of roles) {
    await upsertAccount(db, { email: `${role}@zephyrcart.test`, name: `Zed ${role}`, orgSlug: DEMO.orgSlug, role, password: E2E_PASSWORD });
  }
  await importDemoProject(context, { name: 'E2E', email: 'e2e@zephyrcart.test' });
  const { app } = await buildApp(context, appOptions);
  const submissions: Submission[] = [];
  app.server.on('request', (request, response) => {
    const [path = '', query] = (request.url ?? '').split('?');
    const form = request.method === 'GET' || /^application\/x-www-form-urlencoded/.test(request.headers['content-type'] ?? '');
    if (!form) return;
    response.on('finish', () => submissions.push({ method: request.method ?? '', path, query: Boolean(query), status: response.statusCode }));
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    url,
    context,
    submissions,
    async stop() {
      await app.close();
      await context.close();
      await dispose();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
