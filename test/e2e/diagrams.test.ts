import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { importFolder } from '../../src/projects/import-folder.ts';
import { mermaidBundlePath } from '../../src/web/diagrams.ts';
import { launchChromium } from './browser.ts';
import { E2E_PASSWORD, outputDir, startServer } from './server.ts';

/**
 * Mermaid diagrams in Chromium. The drawing frame is tested with a stand-in bundle that behaves like Mermaid where
 * it matters to the policy (a `<style>` element inside the SVG and style attributes on its shapes), and the last
 * test draws a real diagram with the installed `mermaid` package (docs/dependencies.md).
 */
const shots = outputDir('diagrams');
const DIAGRAM = 'graph TD\n  A[Request] --> B{Approved?}\n  B -->|yes| C[Grant]\n  B -->|no| D[Deny]';
const DOC = `# Access flow\n\nHow a request is decided:\n\n\`\`\`mermaid\n${DIAGRAM}\n\`\`\`\n\nThe end.\n`;
const STAND_IN = `window.mermaid = {
  initialize() {},
  async render(id, text) {
    return { svg: '<svg xmlns="http://www.w3.org/2000/svg" id="' + id + '" width="320" height="140"><style>#' + id + ' text { fill: #114; font: 14px sans-serif; }</style>'
      + '<rect x="1" y="1" width="318" height="138" style="fill: #eef; stroke: #99c"></rect><text x="20" y="70">' + text.trim().split('\\n').length + ' lines drawn</text></svg>' };
  },
};
`;

let home: string;
let browser: Browser;
const servers: Awaited<ReturnType<typeof startServer>>[] = [];

before(async () => {
  home = mkdtempSync(join(tmpdir(), 'docucommit-diagrams-'));
  mkdirSync(join(home, 'docs'));
  writeFileSync(join(home, 'docs', 'flow.md'), DOC);
  writeFileSync(join(home, 'mermaid-stand-in.js'), STAND_IN);
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  for (const server of servers) await server.stop();
  rmSync(home, { recursive: true, force: true });
});

async function serverWith(mermaid: string | null) {
  const server = await startServer(['admin'], { mermaidBundlePath: mermaid });
  servers.push(server);
  const result = await importFolder(server.context, { folder: join(home, 'docs'), orgSlug: 'zephyrcart', projectSlug: 'flows', projectName: 'Flows', author: { name: 'E2E', email: 'e2e@zephyrcart.test' } });
  assert.deepEqual(result.linkProblems, []);
  return server;
}

/** Signs in and opens the document; collects every CSP violation and script error of the page and its frames. */
async function openDocument(server: { url: string }, options: { javaScript: boolean }): Promise<{ page: Page; problems: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 }, javaScriptEnabled: options.javaScript });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || /Content Security Policy/i.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  await page.goto(`${server.url}/login?next=${encodeURIComponent('/zephyrcart/flows/flow')}`);
  await page.fill('input[name="email"]', 'admin@zephyrcart.test');
  await page.fill('input[name="password"]', E2E_PASSWORD);
  await Promise.all([page.waitForURL(`${server.url}/zephyrcart/flows/flow`), page.click('form[action="/login"] button[type="submit"]')]);
  return { page, problems };
}

test('without JavaScript a diagram stays readable code', async () => {
  const server = await serverWith(join(home, 'mermaid-stand-in.js'));
  const { page, problems } = await openDocument(server, { javaScript: false });
  const code = page.locator('.doc-body pre > code.language-mermaid');
  assert.ok(await code.isVisible());
  assert.equal((await code.innerText()).trim(), DIAGRAM);
  assert.equal(await page.locator('iframe').count(), 0);
  await page.screenshot({ path: join(shots, '1-without-javascript.png'), fullPage: true });
  assert.deepEqual(problems, []);
  await page.context().close();
});

test('with the script, the diagram is drawn in the sandboxed frame in place of the code, and the policy reports nothing', async () => {
  const server = servers[0]!;
  const { page, problems } = await openDocument(server, { javaScript: true });
  const frame = page.locator('.doc-body iframe.diagram-frame:not(.diagram-frame-pending)');
  await frame.waitFor({ state: 'visible', timeout: 15_000 });
  assert.equal(await frame.getAttribute('sandbox'), 'allow-scripts');
  const svg = page.frameLocator('.doc-body iframe.diagram-frame').locator('svg');
  await svg.waitFor();
  assert.equal(await svg.locator('text').textContent(), '4 lines drawn');
  // the SVG's own <style> applied inside the frame (its policy allows Mermaid's inline styles)
  assert.equal(await svg.locator('text').evaluate((el) => getComputedStyle(el).fill), 'rgb(17, 17, 68)');
  assert.ok(await page.locator('.doc-body pre:has(code.language-mermaid)').isHidden(), 'the code gives way to the diagram');
  const box = await frame.boundingBox();
  assert.ok(box && box.height >= 140, `frame sized to the diagram (${box?.height})`);
  // the page's own policy is unchanged: no inline styles there
  const policy = (await page.request.get(`${server.url}/zephyrcart/flows/flow`)).headers()['content-security-policy'] ?? '';
  assert.match(policy, /style-src 'self';/);
  assert.match(policy, /frame-src 'self'/);
  await page.screenshot({ path: join(shots, '2-drawn.png'), fullPage: true });
  assert.deepEqual(problems, []);
  await page.context().close();
});

test('without Mermaid installed the code stays, and nothing fails', async () => {
  const server = await serverWith(null);
  const { page, problems } = await openDocument(server, { javaScript: true });
  const pre = page.locator('.doc-body pre:has(code.language-mermaid)');
  await page.waitForFunction(() => document.querySelector('.doc-body pre')?.getAttribute('data-diagram') === 'failed', undefined, { timeout: 15_000 });
  assert.ok(await pre.isVisible());
  assert.equal(await page.locator('iframe').count(), 0);
  // the frame's missing script is the one expected failure (a 404 of /-/vendor/mermaid.js)
  assert.deepEqual(problems.filter((p) => !/404|Failed to load resource/.test(p)), []);
  await page.context().close();
});

test('with the real mermaid package, a real diagram is drawn without a policy violation', async () => {
  const server = await serverWith(mermaidBundlePath());
  const { page, problems } = await openDocument(server, { javaScript: true });
  await page.locator('.doc-body iframe.diagram-frame:not(.diagram-frame-pending)').waitFor({ state: 'visible', timeout: 30_000 });
  const svg = page.frameLocator('.doc-body iframe.diagram-frame').locator('svg');
  assert.match((await svg.textContent()) ?? '', /Approved\?/);
  await page.screenshot({ path: join(shots, '3-real-mermaid.png'), fullPage: true });
  assert.deepEqual(problems, []);
  await page.context().close();
});
