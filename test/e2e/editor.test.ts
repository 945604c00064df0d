import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from './browser.ts';
import { E2E_PASSWORD, outputDir, startServer } from './server.ts';

const shots = outputDir('editor');
const DOC = '/zephyrcart/intranet/onboarding';
let browser: Browser;
let server: Awaited<ReturnType<typeof startServer>>;
/** Anything the page reports that a real user would never want: CSP violations, script errors, dialogs. */
const problems: string[] = [];

before(async () => {
  server = await startServer(['member']);
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

function watch(page: Page) {
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('dialog', (d) => {
    problems.push(`dialog: ${d.message()}`);
    void d.dismiss();
  });
}

async function signIn(page: Page, next: string) {
  await page.goto(`${server.url}${next}`);
  await page.fill('input[name="email"]', 'member@zephyrcart.test');
  await page.fill('input[name="password"]', E2E_PASSWORD);
  await Promise.all([page.waitForURL(`${server.url}${next}`), page.click('form[action="/login"] button[type="submit"]')]);
}

test('a member edits a page with the live preview, saves, and reads the new text', async () => {
  const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
  watch(page);
  await signIn(page, DOC);
  await page.screenshot({ path: join(shots, 'document-with-edit-link.png') });

  await Promise.all([page.waitForURL(/\/-\/edit\/onboarding\.md$/), page.click('a.doc-edit-link')]);
  assert.match(await page.locator('h1').first().innerText(), /Edit Onboarding/);
  const source = page.locator('textarea[name="content"]');
  assert.match(await source.inputValue(), /^---\ntitle: Onboarding\n/);
  // Side by side on a wide screen.
  const sourceBox = (await source.boundingBox())!;
  const previewBox = (await page.locator('.editor-preview').boundingBox())!;
  assert.ok(previewBox.x > sourceBox.x + sourceBox.width - 1, 'preview is to the right of the source');
  await page.screenshot({ path: join(shots, 'editor-desktop.png') });

  // Type at the end of the document: the preview follows.
  await source.click();
  await page.keyboard.press('Control+End');
  await page.keyboard.type('\n## Typed in the browser\n\nA **fresh** paragraph <script>window.owned = 1</script>\n');
  const heading = page.locator('.editor-preview h2', { hasText: 'Typed in the browser' });
  // The preview may refresh mid-typing; wait for the last thing typed to appear.
  await page.locator('.editor-preview strong', { hasText: 'fresh' }).waitFor({ timeout: 10_000 });
  assert.ok(await heading.isVisible());
  assert.equal(await page.locator('.editor-preview script').count(), 0, 'the preview is sanitized');
  assert.equal(await page.evaluate(() => (window as unknown as { owned?: number }).owned), undefined);
  assert.match(await page.locator('[data-preview-status]').innerText(), /up to date/);
  await heading.scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(shots, 'editor-preview-updated.png') });

  await page.fill('input[name="message"]', 'Add a section from the browser');
  await Promise.all([page.waitForURL(`${server.url}${DOC}`), page.click('form[data-editor] button[type="submit"]')]);
  assert.ok(await page.locator('.doc-body h2', { hasText: 'Typed in the browser' }).isVisible());
  await page.locator('.doc-body h2', { hasText: 'Typed in the browser' }).scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(shots, 'document-after-save.png') });
  await page.close();
  assert.deepEqual(problems, []);
});

test('on a phone the editor stacks source above preview; a stale save shows the conflict page', async () => {
  const page = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  watch(page);
  await signIn(page, `/zephyrcart/intranet/-/edit/onboarding.md`);
  const sourceBox = (await page.locator('textarea[name="content"]').boundingBox())!;
  const previewBox = (await page.locator('.editor-preview').boundingBox())!;
  assert.ok(previewBox.y >= sourceBox.y + sourceBox.height, 'preview below the source');
  assert.ok(sourceBox.width > 300, 'source uses the screen width');
  await page.screenshot({ path: join(shots, 'editor-phone.png') });
  await page.locator('.editor-pane-preview').scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(shots, 'editor-phone-preview.png') });
  await page.close();

  // Two tabs open the same version; the first saves, the second gets the conflict page with its text.
  const tabs = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
  const first = await tabs.newPage();
  const second = await tabs.newPage();
  watch(first);
  watch(second);
  await signIn(first, '/zephyrcart/intranet/-/edit/onboarding.md');
  await second.goto(`${server.url}/zephyrcart/intranet/-/edit/onboarding.md`);
  await first.locator('textarea[name="content"]').fill((await first.locator('textarea[name="content"]').inputValue()).replace('Welcome aboard!', 'Welcome aboard, tab one!'));
  await Promise.all([first.waitForURL(`${server.url}${DOC}`), first.click('form[data-editor] button[type="submit"]')]);
  const mine = (await second.locator('textarea[name="content"]').inputValue()).replace('Welcome aboard!', 'Welcome aboard, tab two!');
  await second.locator('textarea[name="content"]').fill(mine);
  await second.click('form[data-editor] button[type="submit"]');
  await second.locator('.conflict-notice').waitFor();
  assert.equal(await second.locator('textarea[name="content"]').inputValue(), mine);
  assert.ok(await second.locator('.diff-added', { hasText: 'tab two' }).isVisible());
  assert.ok(await second.locator('.diff-removed', { hasText: 'tab one' }).isVisible());
  await second.locator('.conflict-diff').scrollIntoViewIfNeeded();
  await second.screenshot({ path: join(shots, 'conflict-page.png'), fullPage: true });
  await tabs.close();
  // The conflict page is an HTTP 409 by design; Chromium reports any non-2xx document in the console.
  assert.deepEqual(problems.filter((p) => !/status of 409 \(Conflict\)/.test(p)), []);
});
