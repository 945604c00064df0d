import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, test } from 'node:test';
import { gunzipSync, gzipSync, createGzip } from 'node:zlib';
import { CHAIN_START, chainEvents, normalizeEvent, recordAuditEvent } from '../../src/audit/audit-log.ts';
import { pruneAuditLog } from '../../src/audit/retention.ts';
import { mfaSecretBox } from '../../src/auth/mfa.ts';
import { main } from '../../src/cli/main.ts';
import { withAuditChain } from '../../src/db/connection.ts';
import { Acknowledgments } from '../../src/evidence/acknowledgments.ts';
import { nextReviewDate } from '../../src/content/review-cadence.ts';
import { writeEvidencePack } from '../../src/evidence/evidence-pack.ts';
import { Reviews } from '../../src/evidence/reviews.ts';
import { manifestBytes, sha256, signManifest, type Manifest } from '../../src/evidence/manifest.ts';
import { publicKeyFingerprint } from '../../src/evidence/signing-key.ts';
import { readTar, TarWriter } from '../../src/evidence/tar.ts';
import { verifyEvidencePack, verifyEvidencePackFile } from '../../src/evidence/verify-pack.ts';
import { importFolder } from '../../src/projects/import-folder.ts';
import { findProject, type ProjectRecord } from '../../src/projects/projects.ts';
import { ensureOrganization } from '../../src/organizations/organizations.ts';
import { asDatabaseOwner, databaseTargets } from '../helpers/databases.ts';
import { createTestApp, csrfFrom, testConfig, type TestApp } from '../helpers/test-app.ts';
import { actorOf, commitThroughProtocol } from './helpers.ts';

const DAY = 24 * 60 * 60 * 1000;
const today = () => new Date().toISOString().slice(0, 10);
const yearAgo = () => new Date(Date.now() - 365 * DAY).toISOString().slice(0, 10);

/** Every file of a pack, in order. */
async function entriesOf(pack: Buffer): Promise<[string, Buffer][]> {
  const entries: [string, Buffer][] = [];
  await readTar(Readable.from([gunzipSync(pack)]), (name, data) => {
    entries.push([name, data]);
  });
  return entries;
}

/** A pack made of these files (what someone editing a pack produces). */
async function packOf(entries: [string, Buffer][]): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const out = new PassThrough();
  out.on('data', (chunk: Buffer) => chunks.push(chunk));
  const tar = new TarWriter(out, new Date());
  for (const [name, data] of entries) await tar.add(name, data);
  await tar.finish();
  return gzipSync(Buffer.concat(chunks));
}

const verifyBuffer = (pack: Buffer, key?: string) => verifyEvidencePack(Readable.from([pack]), key);

/** Run the CLI in-process, capturing output. */
async function cli(args: string[]) {
  let stdout = '';
  let stderr = '';
  const out = new PassThrough().on('data', (c) => (stdout += c));
  const err = new PassThrough().on('data', (c) => (stderr += c));
  const code = await main(args, { stdout: out, stderr: err, stdin: new PassThrough(), env: {} });
  return { code, stdout, stderr };
}

for (const target of databaseTargets()) {
  describe(`evidence pack: export, offline verification, access (${target.name})`, () => {
    let t: TestApp;
    let dispose: () => Promise<void>;
    let project: ProjectRecord;
    let work: string;
    let pack: Buffer;

    const exportPack = async (projectSlug: string | null, from = yearAgo(), to = today()) => {
      const org = { id: project.orgId, slug: 'acme', name: project.orgName };
      const file = join(work, `pack-${Math.random().toString(36).slice(2)}.tar.gz`);
      const gzip = createGzip();
      const [summary] = await Promise.all([
        writeEvidencePack({ db: t.context.db, repositories: t.context.repositories, publisher: t.context.publisher, box: mfaSecretBox(testConfig(work).mfaKeys) }, { org, projectSlug, from, to, reader: 'operator' }, gzip),
        pipeline(gzip, createWriteStream(file)),
      ]);
      return { file, summary, bytes: readFileSync(file) };
    };

    before(async () => {
      const opened = await target.open();
      dispose = opened.dispose;
      t = await createTestApp(opened.db);
      work = mkdtempSync(join(tmpdir(), 'dc-evidence-'));
      project = (await findProject(t.context.db, 'acme', 'handbook'))!;
      // a second project of the same organization, outside the scope of a handbook-only pack
      const other = join(work, 'other-project');
      mkdirSync(other);
      writeFileSync(join(other, 'secret-plan.md'), '---\ntitle: Other\n---\n\nOUT-OF-SCOPE-CANARY text.\n');
      await importFolder(t.context, { folder: other, orgSlug: 'acme', projectSlug: 'other', projectName: 'Other', author: { name: 'Bot', email: 'bot@acme.test' } });
      // a policy asking for acknowledgment, acknowledged by a member; then a change merged from a change request
      // (through the branch-move protocol: its record of publication is what "in effect" follows)
      await commitThroughProtocol(t, project, { 'policies/conduct.md': '---\ntitle: Code of conduct\nclassification: internal\nacknowledge: everyone\nowner: hr@acme.test\nreview_by: 2030-01-01\n---\n\nVersion one.\n' }, 'Add conduct policy');
      const acks = new Acknowledgments(t.context.db, () => null);
      const member = await actorOf(t.context.db, 'member@acme.test');
      const task = (await acks.taskFor(member, project, 'policies/conduct.md'))!;
      await acks.acknowledge(member, project, 'policies/conduct.md', task.currentBlob, { requestId: 'r', ip: '127.0.0.1' });
      await commitThroughProtocol(
        t,
        project,
        { 'policies/conduct.md': '---\ntitle: Code of conduct\nowner: hr@acme.test\nreview_every: 12 months\n---\n\nVersion two.\n' },
        'Merge change request !7\n\nChange-Request: 7\nApproved-by: Acme admin <admin@acme.test>',
      );
      ({ bytes: pack } = await exportPack('handbook'));
    });
    after(async () => {
      await t.close();
      await dispose();
      rmSync(work, { recursive: true, force: true });
    });

    test('the pack holds the register, every version with its record, reviews and the audit trail, and verifies', async () => {
      const entries = new Map(await entriesOf(pack));
      const names = [...entries.keys()];
      for (const name of ['register.csv', 'reviews.csv', 'audit/events.jsonl', 'audit/chain.json', 'manifest.json', 'manifest.sig', 'public-key.pem', 'README.txt']) {
        assert.ok(names.includes(name), name);
      }
      const conduct = names.filter((n) => n.startsWith('documents/handbook/policies/conduct.md/'));
      assert.equal(conduct.filter((n) => n.endsWith('.md')).length, 2, 'both versions in effect during the period');
      assert.equal(conduct.filter((n) => n.endsWith('.html')).length, 2);
      const records = conduct.filter((n) => n.endsWith('.record.json')).map((n) => JSON.parse(entries.get(n)!.toString('utf8')) as Record<string, unknown>);
      const first = records.find((r) => (r.acknowledgments as unknown[]).length > 0)!;
      assert.deepEqual((first.acknowledgments as { email: string }[]).map((a) => a.email), ['member@acme.test'], 'the acknowledgment of exactly that version');
      const second = records.find((r) => r !== first)!;
      assert.deepEqual(second.approvers, ['Acme admin <admin@acme.test>']);
      assert.deepEqual(second.acknowledgments, [], 'an acknowledgment never moves to another version');
      assert.ok(entries.get(conduct.find((n) => n.endsWith('.html'))!)!.toString().includes('<article>'));
      const register = entries.get('register.csv')!.toString('utf8');
      const row = register.split('\r\n').find((line) => line.includes('policies/conduct.md'))!;
      assert.match(row, /^handbook,policies\/conduct\.md,Code of conduct,hr@acme\.test,internal,[0-9a-f]{40},[0-9a-f]{40},/);
      assert.ok(row.includes('Acme admin <admin@acme.test>'), 'approvers of the version in effect');
      const nextYear = new Date(Date.now() + 365 * DAY).toISOString().slice(0, 4);
      assert.ok(row.includes(`,${nextYear}-`), `next review a year after the last: ${row}`);
      assert.match(entries.get('reviews.csv')!.toString(), /policies\/conduct\.md/);
      const events = entries.get('audit/events.jsonl')!.toString().trim().split('\n').map((l) => JSON.parse(l) as { action: string });
      assert.ok(events.some((e) => e.action === 'acknowledgment.recorded'));
      assert.ok(events.some((e) => e.action === 'evidence.exported'), 'the export itself is recorded, before the pack is written');

      const verdict = await verifyBuffer(pack);
      assert.equal(verdict.ok, true, verdict.problem);
      assert.equal(verdict.auditEvents, events.length);
      const served = await t.app.inject({ method: 'GET', url: '/acme/-/evidence-key' });
      assert.equal(served.statusCode, 200);
      assert.equal((await verifyBuffer(pack, served.body)).ok, true, 'signed by the key the server publishes');
    });

    test('changing one byte of any file makes verification fail, naming what does not match', async () => {
      const entries = await entriesOf(pack);
      for (const [index, [name, data]] of entries.entries()) {
        const altered = Buffer.from(data);
        const at = Math.floor(altered.length / 2);
        altered[at] = altered[at]! ^ 0x01;
        const copy = entries.map(([n, d], i): [string, Buffer] => [n, i === index ? altered : d]);
        const verdict = await verifyBuffer(await packOf(copy));
        assert.equal(verdict.ok, false, `a changed byte in ${name} went unnoticed`);
        const named = name === 'manifest.json' || name === 'manifest.sig' ? /manifest\.sig|manifest\.json/ : name === 'public-key.pem' ? /public-key\.pem/ : new RegExp(name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
        assert.match(verdict.problem!, named, `${name}: ${verdict.problem}`);
      }
    });

    test('a dropped audit event is found by the manifest, and by the chain even when a forger re-signs the pack', async () => {
      const entries = await entriesOf(pack);
      const dropOne = (data: Buffer) => {
        const lines = data.toString('utf8').split('\n');
        lines.splice(1, 1);
        return Buffer.from(lines.join('\n'), 'utf8');
      };
      const dropped = entries.map(([n, d]): [string, Buffer] => [n, n === 'audit/events.jsonl' ? dropOne(d) : d]);
      const plain = await verifyBuffer(await packOf(dropped));
      assert.equal(plain.ok, false);
      assert.match(plain.problem!, /^audit\/events\.jsonl: SHA-256 does not match the manifest/);

      // a forger without the organization's key: new manifest hashes, their own key and signature
      const forger = generateKeyPairSync('ed25519');
      const forgedKey = forger.publicKey.export({ type: 'spki', format: 'pem' }).toString();
      const manifest = JSON.parse(entries.find(([n]) => n === 'manifest.json')![1].toString()) as Manifest;
      const files = new Map(dropped);
      manifest.files = manifest.files.map((f) => ({ ...f, sha256: sha256(files.get(f.path)!), bytes: files.get(f.path)!.length }));
      manifest.public_key_sha256 = publicKeyFingerprint(forgedKey);
      const bytes = manifestBytes(manifest);
      const forged = dropped.map(([n, d]): [string, Buffer] => [n, n === 'manifest.json' ? bytes : n === 'manifest.sig' ? signManifest(bytes, forger.privateKey) : n === 'public-key.pem' ? Buffer.from(forgedKey) : d]);
      const chain = await verifyBuffer(await packOf(forged));
      assert.equal(chain.ok, false);
      assert.match(chain.problem!, /^audit chain broken at audit\/events\.jsonl line 2 \(seq \d+\): sequence gap/);
      // with the organization's key pinned, the forged signature is refused first
      const served = (await t.app.inject({ method: 'GET', url: '/acme/-/evidence-key' })).body;
      const pinned = await verifyBuffer(await packOf(forged), served);
      assert.match(pinned.problem!, /public-key\.pem .* is not the organization's key you gave/);
      assert.ok(createPublicKey(served));
    });

    test('an altered signature fails; the CLI exits 1 naming it, 0 with a summary for the intact pack', async () => {
      const entries = await entriesOf(pack);
      const otherSignature = signManifest(Buffer.from('something else'), generateKeyPairSync('ed25519').privateKey);
      const file = join(work, 'bad-signature.tar.gz');
      writeFileSync(file, await packOf(entries.map(([n, d]): [string, Buffer] => [n, n === 'manifest.sig' ? otherSignature : d])));
      const bad = await cli(['evidence', 'verify', file]);
      assert.equal(bad.code, 1);
      assert.match(bad.stdout, /^NOT VERIFIED: manifest\.sig: the signature of manifest\.json does not verify/);
      const good = join(work, 'good.tar.gz');
      writeFileSync(good, pack);
      const keyFile = join(work, 'key.pem');
      writeFileSync(keyFile, (await t.app.inject({ method: 'GET', url: '/acme/-/evidence-key' })).body);
      const ok = await cli(['evidence', 'verify', good, '--key', keyFile]);
      assert.equal(ok.code, 0, ok.stdout + ok.stderr);
      assert.match(ok.stdout, /^OK: \d+ files match the manifest; the signature verifies; \d+ audit events chain without a gap\./);
      assert.match(ok.stdout, /organization acme, project handbook/);
      assert.equal((await cli(['evidence', 'verify', join(work, 'nope.tar.gz')])).code, 1);
      writeFileSync(join(work, 'cut.tar.gz'), pack.subarray(0, Math.floor(pack.length / 2)));
      assert.match((await cli(['evidence', 'verify', join(work, 'cut.tar.gz')])).stdout, /NOT VERIFIED: the file is not a readable evidence pack/);
      assert.equal((await verifyEvidencePackFile(good)).ok, true);
    });

    test('a project pack holds no text of documents outside its scope', async () => {
      assert.ok(!gunzipSync(pack).includes('OUT-OF-SCOPE-CANARY'), 'handbook-only pack');
      const whole = await exportPack(null);
      assert.ok(gunzipSync(whole.bytes).includes('OUT-OF-SCOPE-CANARY'), 'the organization-wide pack does hold it (the canary is real)');
      assert.equal((await verifyBuffer(whole.bytes)).ok, true);
      await assert.rejects(exportPack('no-such-project'), /not found|NotFound/i);
      await assert.rejects(exportPack('handbook', '2026-02-30', today()), /not a date/);
      await assert.rejects(exportPack('handbook', today(), yearAgo()), /must end on or after/);
    });

    test('a pack made after pruning verifies from the checkpoint, and says events were pruned', async () => {
      const org = await ensureOrganization(t.context.db, 'pruned-org');
      const old = new Date(Date.now() - 150 * DAY).toISOString();
      const pending = [1, 2, 3].map((n) => normalizeEvent({ orgId: org.id, actor: { type: 'system', id: null }, action: 'settings.changed', outcome: 'success', details: { n } }));
      const { rows } = chainEvents(pending, CHAIN_START, old);
      await asDatabaseOwner(t.context.db, (owner) => owner.insertInto('audit_events').values(rows.map((row) => ({ ...row, details: JSON.stringify(row.details) }))).execute());
      await recordAuditEvent(t.context.db, { orgId: org.id, actor: { type: 'system', id: null }, action: 'settings.changed', outcome: 'success', details: { n: 4 } });
      assert.equal((await pruneAuditLog(t.context.db, org.id)).pruned, 3);
      const gzip = createGzip();
      const chunks: Buffer[] = [];
      gzip.on('data', (chunk: Buffer) => chunks.push(chunk));
      const ended = new Promise((resolve) => gzip.on('end', resolve));
      await writeEvidencePack(
        { db: t.context.db, repositories: t.context.repositories, publisher: t.context.publisher, box: mfaSecretBox(testConfig(work).mfaKeys) },
        { org: { id: org.id, slug: org.slug, name: org.name }, projectSlug: null, from: new Date(Date.now() - 200 * DAY).toISOString().slice(0, 10), to: today(), reader: 'operator' },
        gzip,
      );
      await ended;
      const verdict = await verifyBuffer(Buffer.concat(chunks));
      assert.equal(verdict.ok, true, verdict.problem);
      assert.equal(verdict.chain?.pruned_through, '3');
      assert.equal(verdict.chain?.anchor.seq, '3');
      assert.equal(verdict.auditEvents, 4, 'the kept event, the checkpoint, the key creation and the export');
    });

    test('the download: admins and owners only (member and manager refused, another organization 404), audited', async () => {
      const admin = await t.login('admin@acme.test');
      const page = await t.app.inject({ method: 'GET', url: '/acme/-/evidence', headers: { cookie: admin } });
      assert.equal(page.statusCode, 200);
      assert.match(page.body, /Download evidence pack/);
      const form = { from: yearAgo(), to: today(), project: 'handbook', _csrf: csrfFrom(page.body) };
      const download = await t.app.inject({ method: 'POST', url: '/acme/-/evidence', headers: { cookie: admin, 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams(form).toString() });
      assert.equal(download.statusCode, 200);
      assert.equal(download.headers['content-type'], 'application/gzip');
      assert.match(String(download.headers['content-disposition']), /attachment; filename="evidence-acme-handbook-/);
      assert.equal((await verifyBuffer(download.rawPayload)).ok, true);
      const exported = await withAuditChain(t.context.db, project.orgId, (trx) =>
        trx.selectFrom('audit_events').select(['actor_label', 'details']).where('org_id', '=', project.orgId).where('action', '=', 'evidence.exported').orderBy('seq', 'desc').limit(1).executeTakeFirstOrThrow(),
      );
      assert.equal(exported.actor_label, 'admin@acme.test');
      const bad = await t.app.inject({ method: 'POST', url: '/acme/-/evidence', headers: { cookie: admin, 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams({ ...form, from: 'yesterday' }).toString() });
      assert.equal(bad.statusCode, 400);
      assert.match(bad.body, /From must be a date/);

      for (const email of ['member@acme.test', 'manager@acme.test', 'viewer@acme.test']) {
        const cookie = await t.login(email);
        assert.equal((await t.app.inject({ method: 'GET', url: '/acme/-/evidence', headers: { cookie } })).statusCode, 404, email);
        const refused = await t.app.inject({ method: 'POST', url: '/acme/-/evidence', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams(form).toString() });
        assert.ok([403, 404].includes(refused.statusCode), `${email}: ${refused.statusCode}`);
        assert.notEqual(refused.headers['content-type'], 'application/gzip');
      }
      const globex = await t.login('member@globex.test');
      const outsider = await t.app.inject({ method: 'GET', url: '/acme/-/evidence', headers: { cookie: globex } });
      const missing = await t.app.inject({ method: 'GET', url: '/no-such-org/-/evidence', headers: { cookie: globex } });
      assert.equal(outsider.statusCode, 404);
      assert.equal(missing.statusCode, 404);
      // the public key: served for an organization that has one; no key and no organization look the same
      assert.equal((await t.app.inject({ method: 'GET', url: '/globex/-/evidence-key' })).statusCode, 404);
      assert.equal((await t.app.inject({ method: 'GET', url: '/no-such-org/-/evidence-key' })).statusCode, 404);
    });

    test('the register follows effective dates and recorded reviews (injected clock): a version effective after the period is not in effect; "Mark reviewed" is the last review', async () => {
      const POLICY = 'policies/travel-evidence.md';
      const day = (offset: number, from = Date.now()) => new Date(from + offset * DAY).toISOString().slice(0, 10);
      const source = (n: number, effective?: string) =>
        `---\ntitle: Travel rules\nowner: ops@acme.test\nreview_every: 6 months\n${effective ? `effective: ${effective}\n` : ''}---\n\nTRAVEL-VERSION-${n}.\n`;
      const v1 = await commitThroughProtocol(t, project, { [POLICY]: source(1) }, 'Add travel rules');
      const now = Date.now();
      const takesEffect = day(10, now);
      const v2 = await commitThroughProtocol(t, project, { [POLICY]: source(2, takesEffect) }, 'Travel rules v2, effective in ten days');
      const exportAt = async (clock: number, to: string) => {
        const gzip = createGzip();
        const chunks: Buffer[] = [];
        gzip.on('data', (chunk: Buffer) => chunks.push(chunk));
        const ended = new Promise((resolve) => gzip.on('end', resolve));
        await writeEvidencePack(
          { db: t.context.db, repositories: t.context.repositories, publisher: t.context.publisher, box: mfaSecretBox(testConfig(work).mfaKeys), now: () => new Date(clock) },
          { org: { id: project.orgId, slug: 'acme', name: project.orgName }, projectSlug: 'handbook', from: yearAgo(), to, reader: 'operator' },
          gzip,
        );
        await ended;
        const bytes = Buffer.concat(chunks);
        assert.equal((await verifyBuffer(bytes)).ok, true);
        return new Map(await entriesOf(bytes));
      };
      const registerRow = (entries: Map<string, Buffer>) => {
        const [header, ...lines] = entries.get('register.csv')!.toString('utf8').trim().split('\r\n');
        const line = lines.find((l) => l.startsWith(`handbook,${POLICY},`));
        assert.ok(line, 'the document is in the register');
        return Object.fromEntries(header!.split(',').map((name, i) => [name, line.split(',')[i]!]));
      };
      const versionFiles = (entries: Map<string, Buffer>) => [...entries.keys()].filter((n) => n.startsWith(`documents/handbook/${POLICY}/`) && n.endsWith('.md'));

      // the period ends today: v2 was published in it, but takes effect after it
      let entries = await exportAt(now, day(0, now));
      let row = registerRow(entries);
      assert.equal(row.version_commit, v1, 'the version in effect at the end of the period is the earlier one');
      assert.equal(row.effective, day(0, now), 'in effect since its publication today');
      assert.deepEqual(versionFiles(entries), [`documents/handbook/${POLICY}/${v1}.md`], 'the upcoming version was never in effect during the period');

      // twenty days on: v2 took effect on its date, and the period's versions are both
      entries = await exportAt(now + 20 * DAY, day(20, now));
      row = registerRow(entries);
      assert.equal(row.version_commit, v2);
      assert.equal(row.effective, takesEffect, 'the day it took effect: its effective date, after its publication');
      assert.deepEqual(versionFiles(entries).sort(), [`documents/handbook/${POLICY}/${v1}.md`, `documents/handbook/${POLICY}/${v2}.md`].sort());
      const record = JSON.parse(entries.get(`documents/handbook/${POLICY}/${v2}.record.json`)!.toString('utf8')) as { effective: string; in_effect_from: string };
      assert.equal(record.effective, takesEffect);
      assert.equal(record.in_effect_from, `${takesEffect}T00:00:00.000Z`);
      assert.equal(row.last_review, day(0, now), 'without a "Mark reviewed": the last published change');

      // "Mark reviewed — no changes" fifteen days on (its clock injected): the last review, the next one from it
      const reviews = new Reviews(t.context.db, t.context.repositories, t.context.branchMoves, (id) => t.context.publisher.snapshotOf(id), () => now + 15 * DAY);
      await reviews.markReviewed(await actorOf(t.context.db, 'admin@acme.test'), project, POLICY, { requestId: 'r', ip: '127.0.0.1' });
      await t.context.branchMoves.idle();
      entries = await exportAt(now + 20 * DAY, day(20, now));
      row = registerRow(entries);
      assert.equal(row.last_review, day(15, now), 'the review recorded by "Mark reviewed"');
      assert.equal(row.next_review, nextReviewDate({ reviewEvery: { count: 6, unit: 'month' }, lastReviewed: day(15, now) }));
      assert.equal(row.version_commit, v2, 'a review is not a new version');
      const marked = entries.get('reviews.csv')!.toString('utf8').split('\r\n').filter((l) => l.startsWith(`handbook,${POLICY},`) && l.endsWith(',marked'));
      assert.equal(marked.length, 1);
      assert.match(marked[0]!, /,admin@acme\.test,marked$/);
      // an export dated before the mark does not see it
      row = registerRow(await exportAt(now + 20 * DAY, day(5, now)));
      assert.equal(row.last_review, day(0, now));
      assert.equal(row.version_commit, v1, 'five days on, v2 is still upcoming');
    });
  });
}
