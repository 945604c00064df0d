import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from './browser.ts';
import { E2E_PASSWORD, startServer } from './server.ts';

/** What `startServer` answers: the server's address, its context, the forms it answered, `stop()`. */
export type E2eServer = Awaited<ReturnType<typeof startServer>>;

/**
 * A browser test file's set-up: a server (`startServer`'s arguments) and Debian's Chromium. Use it as
 * `before(async () => ({ server, browser } = await startChromium(['member'])))` with `after(() => stopChromium(server, browser))`.
 */
export async function startChromium(...args: Parameters<typeof startServer>): Promise<{ server: E2eServer; browser: Browser }> {
  const server = await startServer(...args);
  try {
    return { server, browser: await launchChromium() };
  } catch (error) {
    await server.stop();
    throw error;
  }
}

/** Closes the browser, then stops the server (either may be missing when the set-up failed). */
export async function stopChromium(server: E2eServer | undefined, browser: Browser | undefined): Promise<void> {
  await browser?.close();
  await server?.stop();
}

export interface WatchOptions {
  /** Put before each problem (a role, when several people use the site at once). */
  label?: string;
  /** Console errors that are expected (a status the server answers on purpose, which Chromium logs). */
  expectedConsole?: RegExp;
  /** Dialogs are problems too (and are dismissed). */
  dialogs?: boolean;
  /** Failed requests and responses of 400 and above are problems too. */
  failedRequests?: boolean;
}

/** Records in `problems` anything a page reports that a real user would never want: script errors, console errors… */
export function watchPage(page: Page, problems: string[], options: WatchOptions = {}): void {
  const label = options.label ? `${options.label} ` : '';
  page.on('console', (m) => {
    if (m.type() === 'error' && !options.expectedConsole?.test(m.text())) problems.push(`${label}console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`${label}pageerror: ${e.message}`));
  if (options.dialogs) {
    page.on('dialog', (d) => {
      problems.push(`${label}dialog: ${d.message()}`);
      void d.dismiss();
    });
  }
  if (options.failedRequests) {
    page.on('requestfailed', (r) => problems.push(`${label}request failed: ${r.url()}`));
    page.on('response', (r) => {
      if (r.status() >= 400) problems.push(`${label}${r.status()}: ${r.url()}`);
    });
  }
}

export interface SignIn {
  email: string;
  /** E2E_PASSWORD unless told. */
  password?: string;
  /** Where to go after signing in ('/login' without one). */
  next?: string;
  /**
   * 'login' (the default) opens /login?next=…; 'page' opens `next` itself, anonymously, and checks that it sends
   * to the sign-in form.
   */
  from?: 'login' | 'page';
  /** Wait for `next` after submitting (the default when there is a `next`). */
  wait?: boolean;
}

/** Signs in through the sign-in form of the server at `url`. */
export async function signIn(page: Page, url: string, { email, password = E2E_PASSWORD, next, from = 'login', wait = next !== undefined }: SignIn): Promise<void> {
  if (from === 'page') {
    assert.ok(next !== undefined, "from: 'page' needs a next");
    await page.goto(`${url}${next}`);
    assert.match(page.url(), /\/login\?next=/, 'an internal page asks an anonymous reader to sign in');
  } else {
    await page.goto(next === undefined ? `${url}/login` : `${url}/login?next=${encodeURIComponent(next)}`);
  }
  await page.fill('input[name="email"]', email);
  await page.fill('input[name="password"]', password);
  const submit = 'form[action="/login"] button[type="submit"]';
  if (wait && next !== undefined) await Promise.all([page.waitForURL(`${url}${next}`), page.click(submit)]);
  else await page.click(submit);
}
