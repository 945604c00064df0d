import { after, before } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import type { Db } from '../../src/db/connection.ts';
import type { DatabaseTarget } from './databases.ts';
import { createTestApp, csrfFrom, type TestApp } from './test-app.ts';

/** What `signedInApp` hands the test file; `t`, `db` and `cookies` are filled in by its `before` hook. */
export interface SignedInApp {
  t: TestApp;
  db: Db;
  /** Cookie header values: `owner`, `admin`, `manager`, `member`, `viewer` of acme, and `globex` (globex's member). */
  cookies: Record<string, string>;
  /** A GET, anonymous without a cookie. */
  get(url: string, cookie?: string): Promise<LightMyRequestResponse>;
  /** A form post as `who` (a key of `cookies`), with the CSRF token of their session. */
  post(url: string, who: string, fields: Record<string, string>): Promise<LightMyRequestResponse>;
}

/**
 * The set-up the HTTP tests share, registered as `before`/`after` hooks of the calling `describe`: createTestApp on
 * a fresh database of `target`, every acme role and globex's member signed in; afterwards the app closes (its branch
 * moves stopped first) and the database is disposed of.
 */
export function signedInApp(target: DatabaseTarget): SignedInApp {
  let dispose: (() => Promise<void>) | undefined;
  const handle = {
    cookies: {} as Record<string, string>,
    get: (url: string, cookie?: string) => handle.t.app.inject({ method: 'GET', url, headers: cookie ? { cookie } : {} }),
    post: async (url: string, who: string, fields: Record<string, string>) =>
      handle.t.app.inject({
        method: 'POST',
        url,
        headers: { cookie: handle.cookies[who]!, 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ _csrf: csrfFrom((await handle.get('/', handle.cookies[who])).body), ...fields }).toString(),
      }),
  } as SignedInApp;
  before(async () => {
    const opened = await target.open();
    dispose = opened.dispose;
    handle.db = opened.db;
    handle.t = await createTestApp(opened.db);
    for (const role of ['owner', 'admin', 'manager', 'member', 'viewer']) handle.cookies[role] = await handle.t.login(`${role}@acme.test`);
    handle.cookies.globex = await handle.t.login('member@globex.test');
  });
  after(async () => {
    await handle.t?.close();
    await dispose?.();
  });
  return handle;
}
