import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { createAppContext, type AppContext } from '../../src/app-context.ts';
import { upsertAccount } from '../../src/auth/accounts.ts';
import type { Config } from '../../src/config/config.ts';
import type { Db } from '../../src/db/connection.ts';
import type { Role } from '../../src/db/schema.ts';
import { importFolder } from '../../src/projects/import-folder.ts';
import { buildApp, type BuiltApp } from '../../src/web/app.ts';

export const PASSWORD = 'correct horse battery staple';
export const fixtureProject = (name: string) =>
  fileURLToPath(new URL(`../fixtures/projects/${name}`, import.meta.url));

/** A throwaway configuration in a temporary data directory. */
export function testConfig(dataDir: string): Config {
  return {
    dataDir,
    reposDir: join(dataDir, 'repos'),
    databaseUrl: null,
    databaseAppUrl: null,
    host: '127.0.0.1',
    port: 0,
    publicUrl: null,
    secure: false,
    secret: Buffer.alloc(32, 7),
    mfaKeys: { current: Buffer.alloc(32, 9), previous: [] },
    securityContact: null,
  };
}

export interface TestApp {
  app: FastifyInstance;
  built: BuiltApp;
  context: AppContext;
  dataDir: string;
  /** Sign in and return the Cookie header value. */
  login(email: string, password?: string): Promise<string>;
  close(): Promise<void>;
}

/**
 * The app on a fresh database with two organizations: acme (handbook fixture, one account per role,
 * `{role}@acme.test`) and globex (wiki fixture, `member@globex.test`).
 */
export async function createTestApp(
  db: Db,
  /** `config`: settings over testConfig's (e.g. email); `app`: buildApp's options. */
  options: { config?: Partial<Config>; app?: Parameters<typeof buildApp>[1] } = {},
): Promise<TestApp> {
  const dataDir = mkdtempSync(join(tmpdir(), 'docucommit-test-'));
  const context = await createAppContext({ ...testConfig(dataDir), ...options.config }, db);
  const roles: Role[] = ['owner', 'admin', 'manager', 'member', 'viewer'];
  for (const role of roles) {
    await upsertAccount(db, { email: `${role}@acme.test`, orgSlug: 'acme', role, password: PASSWORD, name: `Acme ${role}` });
  }
  await upsertAccount(db, { email: 'member@globex.test', orgSlug: 'globex', role: 'member', password: PASSWORD });
  const author = { name: 'Fixture Bot', email: 'bot@acme.test' };
  await importFolder(context, { folder: fixtureProject('acme-handbook'), orgSlug: 'acme', projectSlug: 'handbook', projectName: 'Acme Handbook', author });
  await importFolder(context, { folder: fixtureProject('globex-wiki'), orgSlug: 'globex', projectSlug: 'wiki', projectName: 'Globex Wiki', author });
  const built = await buildApp(context, options.app);
  const app = built.app;
  return {
    app,
    built,
    context,
    dataDir,
    login: (email, password = PASSWORD) => login(app, email, password),
    async close() {
      await app.close();
      // as the server's own shutdown does (app-context.ts): listener deliveries still running (the fixture imports',
      // a test's saves) finish before the repositories and the database they use are closed under them
      await context.branchMoves.stop();
      await context.repositories.closeAll();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Cookies set by a response, as a Cookie header value (name=value; ...). */
export function cookiesOf(response: LightMyRequestResponse): string {
  return response.cookies.map((c) => `${c.name}=${c.value}`).join('; ');
}

/** The hidden CSRF field of a rendered form. */
export function csrfFrom(html: string): string {
  const match = /name="_csrf" value="([^"]+)"/.exec(html);
  if (!match) throw new Error('no CSRF field in page');
  return match[1]!;
}

/** Fill in and send the login form, as a browser would; the response, whatever it is. */
export async function submitLogin(app: FastifyInstance, email: string, password = PASSWORD): Promise<LightMyRequestResponse> {
  const form = await app.inject({ method: 'GET', url: '/login' });
  return app.inject({
    method: 'POST',
    url: '/login',
    headers: { cookie: cookiesOf(form), 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ email, password, _csrf: csrfFrom(form.body), next: '/' }).toString(),
  });
}

/** Sign in through the login form, as a browser would; the session cookie. */
export async function login(app: FastifyInstance, email: string, password: string): Promise<string> {
  const response = await submitLogin(app, email, password);
  if (response.statusCode !== 303) throw new Error(`login of ${email} failed with ${response.statusCode}`);
  const session = response.cookies.find((c) => c.name === 'dc_session');
  if (!session) throw new Error('no session cookie after login');
  return `dc_session=${session.value}`;
}
