import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { findProject, type ProjectRecord } from '../../src/projects/projects.ts';
import { buildApp } from '../../src/web/app.ts';
import { CHROMIUM_MISSING_MESSAGE } from '../../src/web/pdf-renderer.ts';
import { commitThroughProtocol } from '../evidence/helpers.ts';
import { asDatabaseOwner, databaseTargets } from '../helpers/databases.ts';
import { pdfShows, pdfText } from '../helpers/pdf-text.ts';
import { createTestApp, csrfFrom, type TestApp } from '../helpers/test-app.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM}`;
const DAY = 24 * 60 * 60 * 1000;
const today = () => new Date().toISOString().slice(0, 10);
const yearAgo = () => new Date(Date.now() - 365 * DAY).toISOString().slice(0, 10);

for (const target of databaseTargets()) {
  describe(`PDF of the evidence pack's policy register (${target.name})`, { skip }, () => {
    let t: TestApp;
    let dispose: () => Promise<void>;
    let project: ProjectRecord;
    let admin: string;

    before(async () => {
      const opened = await target.open();
      dispose = opened.dispose;
      t = await createTestApp(opened.db, { config: { chromiumPath: CHROMIUM } });
      project = (await findProject(t.context.db, 'acme', 'handbook'))!;
      await commitThroughProtocol(
        t,
        project,
        { 'policies/register-canary.md': '---\ntitle: Registerable conduct policy\nclassification: internal\nowner: hr-canary@acme.test\nreview_every: 12 months\n---\n\nBODY-TEXT-NOT-IN-REGISTER.\n' },
        'Add conduct\n\nApproved-by: Acme approver <approver@acme.test>',
      );
      admin = await t.login('admin@acme.test');
    });
    after(async () => {
      await t.close();
      await dispose();
    });

    const post = (url: string, cookie: string, form: Record<string, string>) =>
      t.app.inject({ method: 'POST', url, headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams(form).toString() });
    const formOf = async (cookie: string, extra: Record<string, string> = {}) => {
      const page = await t.app.inject({ method: 'GET', url: '/acme/-/evidence', headers: { cookie } });
      assert.equal(page.statusCode, 200);
      assert.ok(page.body.includes('formaction="/acme/-/evidence/register.pdf"'), 'the evidence form has the register button');
      return { _csrf: csrfFrom(page.body), from: yearAgo(), to: today(), project: '', ...extra };
    };
    const registerEvents = () =>
      asDatabaseOwner(t.context.db, (owner) => owner.selectFrom('audit_events').select(['actor_label', 'details']).where('org_id', '=', project.orgId).where('action', '=', 'evidence.register_exported').execute());

    test('an admin gets the register as a PDF: its rows, and the organization, period and time in every page’s margins', async () => {
      const form = await formOf(admin);
      const before = (await registerEvents()).length;
      const response = await post('/acme/-/evidence/register.pdf', admin, form);
      assert.equal(response.statusCode, 200, response.body.slice(0, 300));
      assert.equal(response.headers['content-type'], 'application/pdf');
      assert.equal(response.headers['cache-control'], 'private, no-store');
      assert.match(response.headers['content-disposition'] as string, /^inline; filename="register-acme-\d{4}-\d{2}-\d{2}-\d{4}-\d{2}-\d{2}\.pdf"$/);
      const pdf = response.rawPayload;
      assert.equal(pdf.subarray(0, 5).toString('latin1'), '%PDF-');
      assert.ok(pdfShows(pdf, 'Policy register'), pdfText(pdf));
      assert.ok(pdfShows(pdf, 'Registerable conduct policy'), 'the document’s title');
      assert.ok(pdfShows(pdf, 'policies/register-canary.md'), 'its path');
      assert.ok(pdfShows(pdf, 'hr-canary@acme.test'), 'its owner');
      assert.ok(pdfShows(pdf, 'Acme approver <approver@acme.test>'), 'the approvers of the version in effect');
      // the margins: organization, period, generated-at
      assert.ok(pdfShows(pdf, `${form.from} to ${form.to}`), 'the period');
      assert.ok(pdfShows(pdf, `Generated ${new Date().toISOString().slice(0, 10)}`), 'when it was generated');
      assert.ok(pdfText(pdf).split('\n').filter((line) => line.includes(project.orgName)).length >= 2, 'the organization in the header (and the footer)');
      // a register lists documents; it prints none of their text
      assert.equal(pdfShows(pdf, 'BODY-TEXT-NOT-IN-REGISTER'), false);
      // recorded before it was read, like a pack
      const events = await registerEvents();
      assert.equal(events.length, before + 1);
      assert.equal(events.at(-1)!.actor_label, 'admin@acme.test');
      assert.match(JSON.stringify(events.at(-1)!.details), /"format":"pdf"/);
    });

    test('one project’s register leaves out the documents of the others; invalid dates show the form again', async () => {
      const response = await post('/acme/-/evidence/register.pdf', admin, await formOf(admin, { project: 'handbook' }));
      assert.equal(response.statusCode, 200);
      assert.ok(pdfShows(response.rawPayload, 'Registerable conduct policy'));
      const bad = await post('/acme/-/evidence/register.pdf', admin, await formOf(admin, { from: 'yesterday' }));
      assert.equal(bad.statusCode, 400);
      assert.match(bad.body, /From must be a date/);
      const unknown = await post('/acme/-/evidence/register.pdf', admin, await formOf(admin, { project: 'no-such-project' }));
      assert.equal(unknown.statusCode, 404);
    });

    test('refused like the evidence page: other roles and other organizations get the one 404, a forged form a 403, and nothing is recorded', async () => {
      const form = await formOf(admin);
      const before = (await registerEvents()).length;
      for (const email of ['manager@acme.test', 'member@acme.test', 'viewer@acme.test']) {
        const cookie = await t.login(email);
        const page = await t.app.inject({ method: 'GET', url: '/acme/-/evidence', headers: { cookie } });
        const refused = await post('/acme/-/evidence/register.pdf', cookie, { ...form, _csrf: csrfFrom(page.body) });
        assert.equal(refused.statusCode, 404, email);
        assert.notEqual(refused.headers['content-type'], 'application/pdf');
      }
      const globex = await t.login('member@globex.test');
      const globexPage = await t.app.inject({ method: 'GET', url: '/', headers: { cookie: globex } });
      const outsider = await post('/acme/-/evidence/register.pdf', globex, { ...form, _csrf: csrfFrom(globexPage.body) });
      assert.equal(outsider.statusCode, 404);
      // an admin of acme is nobody in globex
      assert.equal((await post('/globex/-/evidence/register.pdf', admin, form)).statusCode, 404);
      assert.equal((await post('/acme/-/evidence/register.pdf', admin, { ...form, _csrf: 'forged' })).statusCode, 403);
      const anonymous = await t.app.inject({ method: 'POST', url: '/acme/-/evidence/register.pdf', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams(form).toString() });
      assert.notEqual(anonymous.statusCode, 200);
      assert.equal((await registerEvents()).length, before);
    });

    test('without Chromium the register answers 503 with the message, after the same checks', async () => {
      const built = await buildApp({ ...t.context, config: { ...t.context.config, chromiumPath: '/nonexistent/chromium' } });
      try {
        const page = await built.app.inject({ method: 'GET', url: '/acme/-/evidence', headers: { cookie: admin } });
        const form = { _csrf: csrfFrom(page.body), from: yearAgo(), to: today(), project: '' };
        const response = await built.app.inject({ method: 'POST', url: '/acme/-/evidence/register.pdf', headers: { cookie: admin, 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams(form).toString() });
        assert.equal(response.statusCode, 503);
        assert.ok(response.body.includes(CHROMIUM_MISSING_MESSAGE.slice(0, 40)));
        const member = await t.login('member@acme.test');
        const memberPage = await built.app.inject({ method: 'GET', url: '/', headers: { cookie: member } });
        const refused = await built.app.inject({ method: 'POST', url: '/acme/-/evidence/register.pdf', headers: { cookie: member, 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams({ ...form, _csrf: csrfFrom(memberPage.body) }).toString() });
        assert.equal(refused.statusCode, 404);
      } finally {
        await built.app.close();
      }
    });
  });
}
