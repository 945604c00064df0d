import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { createAppContext } from '../../src/app-context.ts';
import { openDatabase } from '../../src/db/connection.ts';
import { buildApp } from '../../src/web/app.ts';
import { FORMS, NOT_FORMS } from '../e2e/forms.ts';
import { testConfig } from '../helpers/test-app.ts';

const views = fileURLToPath(new URL('../../src/web/views/', import.meta.url));
const e2e = fileURLToPath(new URL('../e2e/', import.meta.url));

test('every <form> in the views is listed in test/e2e/forms.ts with the browser test that submits it', () => {
  const counted: Record<string, number> = {};
  for (const file of readdirSync(views).filter((name) => name.endsWith('.tsx'))) {
    const forms = readFileSync(join(views, file), 'utf8').match(/<form[\s>]/g)?.length ?? 0;
    if (forms > 0) counted[file] = forms;
  }
  const listed: Record<string, number> = {};
  for (const form of FORMS) listed[form.view] = (listed[form.view] ?? 0) + 1;
  assert.deepEqual(listed, counted, 'forms per view file: add an entry to FORMS (and a Chromium test) for each new form');

  const e2eFiles = readdirSync(e2e);
  for (const form of FORMS) {
    for (const file of Object.values(form.submittedBy)) {
      assert.ok(e2eFiles.includes(file), `${form.form}: ${file} does not exist`);
      const source = readFileSync(join(e2e, file), 'utf8');
      assert.match(source, /assertFormsSubmitted\(server\.submissions, import\.meta\.url\)/, `${file} must check its forms were submitted`);
    }
  }
});

test('every route a browser can post to is a listed form (or listed as not a form)', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'docucommit-forms-'));
  const db = await openDatabase({ kind: 'pglite', dataDir: null });
  // email on (SMTP_URL), so its routes (forgot password, the notifications form) are registered too
  const context = await createAppContext({ ...testConfig(dataDir), email: { smtpUrl: 'smtp://127.0.0.1:9', from: 'DocuCommit <docs@example.test>' } }, db);
  try {
    const { app, routes } = await buildApp(context);
    await app.close();
    const registered = new Set(routes.map((r) => `${r.method} ${r.url}`));
    const formRoutes = new Set(FORMS.flatMap((form) => Object.keys(form.submittedBy)));
    for (const route of formRoutes) assert.ok(registered.has(route), `${route} is in FORMS but not a route of the app`);
    for (const route of Object.keys(NOT_FORMS)) assert.ok(registered.has(route), `${route} is in NOT_FORMS but not a route of the app`);
    const unlisted = [...registered].filter((route) => /^(POST|PUT|PATCH|DELETE) /.test(route) && !formRoutes.has(route) && !(route in NOT_FORMS));
    assert.deepEqual(unlisted, [], 'state-changing routes that are neither a listed form nor in NOT_FORMS');
  } finally {
    await context.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
