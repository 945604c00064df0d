import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createAppContext, type AppContext } from '../../src/app-context.ts';
import { renderDocument } from '../../src/content/render-document.ts';
import { openDatabase } from '../../src/db/connection.ts';
import { diagramFrameScript, diagramScript } from '../../src/web/assets.ts';
import { buildApp } from '../../src/web/app.ts';
import { DIAGRAM_FRAME_POLICY, MERMAID_URL, mermaidBundle } from '../../src/web/diagrams.ts';
import { testConfig } from '../helpers/test-app.ts';

describe('Mermaid diagrams: the server side', () => {
  let dir: string;
  let context: AppContext;
  let withMermaid: Awaited<ReturnType<typeof buildApp>>['app'];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'docucommit-diagrams-int-'));
    writeFileSync(join(dir, 'stand-in.js'), 'window.mermaid = { initialize() {}, async render() { return { svg: "<svg></svg>" }; } };\n');
    const db = await openDatabase({ kind: 'pglite', dataDir: null });
    context = await createAppContext(testConfig(join(dir, 'data')), db);
    withMermaid = (await buildApp(context, { mermaidBundlePath: join(dir, 'stand-in.js') })).app;
  });
  after(async () => {
    await withMermaid.close();
    await context.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a mermaid block is plain, escaped code: readable without JavaScript, nothing in it runs', () => {
    const { html } = renderDocument('flow.md', '# Flow\n\n```mermaid\ngraph TD\n  A["<script>alert(1)</script>"] --> B\n```\n');
    assert.match(html, /<pre><code class="language-mermaid">graph TD\n {2}A\["&lt;script&gt;alert\(1\)&lt;\/script&gt;"\] --&gt; B\n<\/code><\/pre>/);
    assert.doesNotMatch(html, /<script/);
  });

  test('the drawing frame: sandboxed, framed by our pages only, scripts from our origin only, no inline script, no eval', async () => {
    const res = await withMermaid.inject({ method: 'GET', url: '/-/diagram' });
    assert.equal(res.statusCode, 200);
    const policy = String(res.headers['content-security-policy']);
    assert.equal(policy, DIAGRAM_FRAME_POLICY);
    assert.match(policy, /(^|; )sandbox allow-scripts($|;)/);
    assert.doesNotMatch(policy, /allow-same-origin|unsafe-eval/);
    assert.match(policy, /script-src 'self'(;|$)/);
    assert.match(policy, /frame-ancestors 'self'/);
    assert.match(policy, /default-src 'none'/);
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    // every script of the page has a src, on our origin
    const scripts = [...res.body.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    assert.equal(scripts.length, 2);
    for (const [, attributes, body] of scripts) {
      assert.equal(body, '');
      assert.match(attributes!, /src="\/-\//);
    }
    assert.ok(res.body.includes(`src="${MERMAID_URL}"`) && res.body.includes(`src="${diagramFrameScript.href}"`));
  });

  test('Mermaid is served from our origin when installed (loadable by the sandboxed frame), nothing otherwise (the route answers 404: e2e diagrams.test.ts)', async () => {
    const served = await withMermaid.inject({ method: 'GET', url: MERMAID_URL });
    assert.equal(served.statusCode, 200);
    assert.match(String(served.headers['content-type']), /^text\/javascript/);
    assert.equal(served.headers['cross-origin-resource-policy'], 'cross-origin');
    assert.match(served.body, /window\.mermaid/);
    assert.equal(await mermaidBundle(null), null);
    assert.equal(await mermaidBundle(join(dir, 'no-such-file.js')), null);
    const frameScript = await withMermaid.inject({ method: 'GET', url: diagramFrameScript.href });
    assert.equal(frameScript.headers['cross-origin-resource-policy'], 'cross-origin');
    // the other assets stay same-origin
    const loader = await withMermaid.inject({ method: 'GET', url: diagramScript.href });
    assert.equal(loader.headers['cross-origin-resource-policy'], 'same-origin');
  });

  test('pages keep their policy: no inline style or script; only frames of our origin (the diagram frame)', async () => {
    const res = await withMermaid.inject({ method: 'GET', url: '/login' });
    const policy = String(res.headers['content-security-policy']);
    assert.match(policy, /style-src 'self'(;|$)/);
    assert.match(policy, /script-src 'self'(;|$)/);
    assert.match(policy, /frame-src 'self'(;|$)/);
    assert.match(policy, /frame-ancestors 'none'/);
    assert.equal(res.headers['x-frame-options'], 'DENY');
    assert.ok(res.body.includes(`<script type="module" src="${diagramScript.href}"></script>`));
  });
});
