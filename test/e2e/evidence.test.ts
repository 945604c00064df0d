import { writeFileSync } from 'node:fs';
import { pdfShows, pdfText } from '../helpers/pdf-text.ts';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { verifyEvidencePackFile } from '../../src/evidence/verify-pack.ts';
import { signIn, startChromium, stopChromium, watchPage, type E2eServer } from './session.ts';
import { assertFormsSubmitted } from './forms.ts';
import { outputDir } from './server.ts';

const shots = outputDir('evidence');
let browser: Browser;
let server: E2eServer;
const problems: string[] = [];

before(async () => ({ server, browser } = await startChromium(['owner'])));
after(() => stopChromium(server, browser));

async function signedIn(next: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  watchPage(page, problems);
  await signIn(page, server.url, { email: 'owner@zephyrcart.test', next });
  return page;
}

test('an owner keeps audit events longer in the settings form; shorter than 90 days is not accepted', async () => {
  const page = await signedIn('/zephyrcart/-/settings');
  const field = page.locator('input[name="audit_retention_days"]');
  assert.equal(await field.inputValue(), '90');
  // the browser itself refuses less than the minimum (the server refuses it too: test/web/settings.int)
  await field.fill('30');
  assert.equal(await field.evaluate((input: HTMLInputElement) => input.validity.rangeUnderflow), true);
  await field.fill('400');
  await page.screenshot({ path: join(shots, '1-retention.png'), fullPage: true });
  await Promise.all([page.waitForURL(/\/zephyrcart\/-\/settings\?done=saved$/), page.click('form button[type="submit"] >> text=Save settings')]);
  assert.equal(await page.locator('input[name="audit_retention_days"]').inputValue(), '400');
  await page.close();
});

test('an owner downloads an evidence pack that verifies offline', async () => {
  const page = await signedIn('/zephyrcart/-/evidence');
  assert.match(await page.locator('h1').innerText(), /Evidence for auditors/);
  await page.selectOption('select[name="project"]', 'intranet');
  await page.screenshot({ path: join(shots, '2-evidence-form.png'), fullPage: true });
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('form button[type="submit"] >> text=Download evidence pack')]);
  assert.match(download.suggestedFilename(), /^evidence-zephyrcart-intranet-\d{4}-\d{2}-\d{2}-\d{4}-\d{2}-\d{2}\.tar\.gz$/);
  const file = join(shots, 'pack.tar.gz');
  await download.saveAs(file);
  const verdict = await verifyEvidencePackFile(file);
  assert.equal(verdict.ok, true, verdict.problem);
  assert.ok((verdict.files ?? 0) > 10);
  // the key is published, and the page now names its fingerprint
  await page.goto(`${server.url}/zephyrcart/-/evidence`);
  assert.match(await page.locator('#key-heading + p').innerText(), new RegExp(verdict.fingerprint!));
  await page.screenshot({ path: join(shots, '3-evidence-key.png'), fullPage: true });
  await page.close();
});

test('an owner prints the policy register of a period as a PDF (the evidence form’s second button)', async () => {
  const page = await signedIn('/zephyrcart/-/evidence');
  await page.selectOption('select[name="project"]', 'intranet');
  // the PDF opens inline in Chromium's viewer: the bytes of the form's answer are kept on their way to it
  let pdf: Buffer = Buffer.alloc(0);
  let disposition = '';
  await page.route('**/zephyrcart/-/evidence/register.pdf', async (route) => {
    // printing starts the server's Chromium first: slow on a busy machine
    const answer = await route.fetch({ timeout: 120_000 }).catch(() => null);
    if (!answer) return route.abort();
    pdf = await answer.body();
    disposition = answer.headers()['content-disposition'] ?? '';
    await route.fulfill({ response: answer });
  });
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/zephyrcart/-/evidence/register.pdf') && r.request().method() === 'POST', { timeout: 120_000 }),
    page.click('form button[type="submit"] >> text=Policy register as PDF'),
  ]);
  assert.equal(response.status(), 200);
  assert.match(disposition, /^inline; filename="register-zephyrcart-intranet-\d{4}-\d{2}-\d{2}-\d{4}-\d{2}-\d{2}\.pdf"$/);
  writeFileSync(join(shots, 'register.pdf'), pdf);
  assert.equal(pdf.subarray(0, 5).toString('latin1'), '%PDF-');
  assert.ok(pdfShows(pdf, 'Policy register'), pdfText(pdf).slice(0, 500));
  assert.ok(pdfShows(pdf, 'intranet'), 'the project’s documents are listed');
  await page.close();
});

test('no console errors, every claimed form submitted', () => {
  assert.deepEqual(problems, []);
  assertFormsSubmitted(server.submissions, import.meta.url);
});
