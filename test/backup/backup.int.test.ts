import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { createAppContext, reconcileSnapshots, type AppContext } from '../../src/app-context.ts';
import { writeBackup } from '../../src/backup/backup.ts';
import { main } from '../../src/cli/main.ts';
import { openControlSocket } from '../../src/cli/control/server.ts';
import { acquireDataDirLock, SERVER_PURPOSE } from '../../src/config/data-dir-lock.ts';
import { loadConfig } from '../../src/config/config.ts';
import { findProject } from '../../src/projects/projects.ts';
import { runGit } from '../../src/git/run.ts';
import { buildApp } from '../../src/web/app.ts';
import { fixtureProject, login } from '../helpers/test-app.ts';

const PASSPHRASE = 'correct horse battery staple backup';
const PASSWORD = 'a long enough password 1';
const TODAY = new Date().toISOString().slice(0, 10);
const CANARY = `canary-${randomBytes(8).toString('hex')}`;

/** Where a test's data lives: a data directory and, on PostgreSQL, a database of its own. */
interface Place {
  dataDir: string;
  env: NodeJS.ProcessEnv;
  dispose(): Promise<void>;
}

async function cli(args: string[], env: NodeJS.ProcessEnv, stdin = '') {
  let stdout = '';
  let stderr = '';
  const out = new PassThrough().on('data', (c) => (stdout += c));
  const err = new PassThrough().on('data', (c) => (stderr += c));
  const input = new PassThrough();
  input.end(stdin);
  const code = await main(args, { stdout: out, stderr: err, stdin: input, env });
  return { code, stdout, stderr };
}

const targets: Array<{ name: string; place(root: string, name: string): Promise<Place> }> = [
  {
    name: 'pglite',
    async place(root, name) {
      return { dataDir: join(root, name), env: {}, dispose: async () => {} };
    },
  },
];
if (process.env.TEST_DATABASE_URL) {
  const adminUrl = process.env.TEST_DATABASE_URL;
  targets.push({
    name: 'postgres',
    async place(root, name) {
      const database = `docucommit_backup_${randomBytes(6).toString('hex')}`;
      const admin = new Kysely<unknown>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: adminUrl, max: 1 }) }) });
      await sql.raw(`CREATE DATABASE ${database}`).execute(admin);
      const url = new URL(adminUrl);
      url.pathname = `/${database}`;
      return {
        dataDir: join(root, name),
        // the application role is cluster-wide and its password derived from the secret: the same secret as the
        // other tests' databases (test/helpers/databases.ts), so their connections keep logging in
        env: { DATABASE_URL: url.toString(), DOCUCOMMIT_SECRET: '\x07'.repeat(32) },
        async dispose() {
          await sql.raw(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).execute(admin);
          await admin.destroy();
        },
      };
    },
  });
}

async function openContext(place: Place): Promise<AppContext> {
  const context = await createAppContext(loadConfig({ dataDir: place.dataDir, env: place.env }));
  await reconcileSnapshots(context);
  return context;
}

/** One save of `file` on main through the branch-move protocol. */
async function save(context: AppContext, file: string, text: string): Promise<string> {
  const project = (await findProject(context.db, 'acme', 'handbook'))!;
  const repository = await context.repositories.get(project);
  const head = await repository.headOf('main');
  const result = await context.branchMoves.commit(
    project,
    repository,
    { branch: 'main', expectedOld: head, mode: 'patch', changes: [{ path: file, content: text }], author: { name: 'Saver', email: 'saver@acme.test' }, message: `Save ${file}` },
    {
      kind: 'import',
      actor: { type: 'system', id: '', label: 'test' },
      events: (commit) => ({
        orgId: project.orgId,
        actor: { type: 'system', id: null, label: 'test' },
        action: 'document.saved',
        target: { type: 'document', id: file, label: file },
        outcome: 'success',
        details: { commit },
      }),
    },
  );
  return result.commit!;
}

async function gitLines(gitDir: string, args: string[]): Promise<string[]> {
  return (await runGit({ gitDir, args })).stdout.toString('utf8').split('\n').filter(Boolean);
}

for (const target of targets) {
  describe(`docucommit backup and restore (${target.name})`, () => {
    let root: string;
    let source: Place;
    let identityFile: string;
    let recipient: string;
    const places: Place[] = [];
    const newPlace = async (name: string) => {
      const place = await target.place(root, name);
      places.push(place);
      return place;
    };

    before(async () => {
      root = mkdtempSync(join(tmpdir(), 'dc-backup-'));
      source = await newPlace('source');
      const identity = await generateIdentity();
      recipient = await identityToRecipient(identity);
      identityFile = join(root, 'key.txt');
      writeFileSync(identityFile, `# created for the test\n${identity}\n`, { mode: 0o600 });
      const imported = await cli(['import', fixtureProject('acme-handbook'), '--org', 'acme', '--project', 'handbook', '--data', source.dataDir], source.env);
      assert.equal(imported.code, 0, imported.stderr);
      const added = await cli(['user', 'add', 'ada@acme.test', '--org', 'acme', '--role', 'admin', '--password-stdin', '--data', source.dataDir], source.env, PASSWORD);
      assert.equal(added.code, 0, added.stderr);
      const token = await cli(['token', 'create', 'ada@acme.test', '--scopes', 'read', '--name', 'CI', '--data', source.dataDir], source.env);
      assert.equal(token.code, 0, token.stderr);
      const context = await openContext(source);
      try {
        await save(context, 'policies/canary.md', `---\ntitle: Canary\n---\n\n${CANARY}\n`);
        await sql`update organizations set session_idle_minutes = 45, session_absolute_minutes = 600 where slug = 'acme'`.execute(context.db);
      } finally {
        await context.close();
      }
      const exported = await cli(['evidence', 'export', '--org', 'acme', '--from', TODAY, '--to', TODAY, '--out', join(root, 'pack.tar.gz'), '--data', source.dataDir], source.env);
      assert.equal(exported.code, 0, exported.stderr);
    });
    after(async () => {
      for (const place of places) await place.dispose();
      rmSync(root, { recursive: true, force: true });
    });

    test('round trip: pages, history, audit chain, tokens, sessions policy and sealed keys intact; no plaintext in the archive', async () => {
      const archive = join(root, 'round-trip.age');
      const made = await cli(['backup', '--out', archive, '--recipient', recipient, '--data', source.dataDir], source.env);
      assert.equal(made.code, 0, made.stderr);
      assert.match(made.stdout, /Wrote .*round-trip\.age: \d+ tables \(\d+ rows\), 1 repositories/);
      if (source.env.DOCUCOMMIT_SECRET) {
        assert.match(made.stdout, /Key files in the archive: mfa\.key\./);
        assert.match(made.stdout, /Not in the archive \(keep them safe separately, a restore needs them\): DOCUCOMMIT_SECRET/);
      } else assert.match(made.stdout, /Key files in the archive: secret\.key, mfa\.key/);
      const bytes = readFileSync(archive);
      assert.ok(bytes.subarray(0, 21).toString() === 'age-encryption.org/v1');
      assert.equal(bytes.includes(Buffer.from(CANARY)), false, 'the canary is not in the archive in plaintext');
      assert.equal(bytes.includes(Buffer.from('ada@acme.test')), false);
      assert.equal(statSync(archive).mode & 0o077, 0, 'the archive is readable by its owner only');

      const restored = await newPlace('restored');
      const done = await cli(['restore', archive, '--data', restored.dataDir, '--identity', identityFile], restored.env);
      assert.equal(done.code, 0, done.stderr);
      assert.match(done.stdout, /Restored the backup of .* 1 repositories/);

      // the audit chain: intact, and the same heads as the source
      const sourceAudit = await cli(['audit', 'verify', '--data', source.dataDir], source.env);
      const restoredAudit = await cli(['audit', 'verify', '--data', restored.dataDir], restored.env);
      assert.equal(restoredAudit.code, 0, restoredAudit.stdout + restoredAudit.stderr);
      const heads = (out: string) => out.split('\n').filter((l) => l.includes('chain '));
      // the source also recorded the backup itself (instance.backup_created, the system chain's one event), after
      // the snapshot the archive holds
      const system = (line: string) => line.includes('chain system:');
      assert.deepEqual(heads(sourceAudit.stdout).filter(system).map((l) => /last seq (\d+)/.exec(l)?.[1]), ['1']);
      assert.deepEqual(heads(restoredAudit.stdout), heads(sourceAudit.stdout).filter((l) => !system(l)));

      // tokens and the MFA key (the evidence signing key sealed under it still opens: same fingerprint)
      const tokens = await cli(['token', 'list', 'ada@acme.test', '--data', restored.dataDir], restored.env);
      assert.equal(tokens.stdout, (await cli(['token', 'list', 'ada@acme.test', '--data', source.dataDir], source.env)).stdout);
      assert.match(tokens.stdout, /CI/);
      const packs = await Promise.all(
        [source, restored].map((p) => cli(['evidence', 'export', '--org', 'acme', '--from', TODAY, '--to', TODAY, '--out', join(root, `pack-${randomBytes(3).toString('hex')}.tar.gz`), '--data', p.dataDir], p.env)),
      );
      const fingerprint = (out: string) => /Signing key SHA-256 (\S+)/.exec(out)?.[1];
      assert.equal(packs[1]!.code, 0, packs[1]!.stderr);
      assert.equal(fingerprint(packs[1]!.stdout), fingerprint(packs[0]!.stdout));

      // history: the same refs and log; the repository is whole
      const sourceContext = await openContext(source);
      const restoredContext = await openContext(restored);
      try {
        const project = (await findProject(restoredContext.db, 'acme', 'handbook'))!;
        const sourceProject = (await findProject(sourceContext.db, 'acme', 'handbook'))!;
        const repoOf = (c: AppContext, p: typeof project) => c.repositories.pathOf(p);
        assert.deepEqual(await gitLines(repoOf(restoredContext, project), ['for-each-ref', '--format=%(objectname) %(refname)']), await gitLines(repoOf(sourceContext, sourceProject), ['for-each-ref', '--format=%(objectname) %(refname)']));
        assert.deepEqual(await gitLines(repoOf(restoredContext, project), ['log', '--format=%H %s', 'main']), await gitLines(repoOf(sourceContext, sourceProject), ['log', '--format=%H %s', 'main']));
        assert.equal(project.publishedCommit, sourceProject.publishedCommit);
        const policy = await sql<{ session_idle_minutes: number; session_absolute_minutes: number }>`select session_idle_minutes, session_absolute_minutes from organizations where slug = 'acme'`.execute(restoredContext.db);
        assert.deepEqual(policy.rows[0], { session_idle_minutes: 45, session_absolute_minutes: 600 });

        // pages: the restored server signs the user in and serves the document saved before the backup
        const built = await buildApp(restoredContext);
        try {
          const cookie = await login(built.app, 'ada@acme.test', PASSWORD);
          const page = await built.app.inject({ method: 'GET', url: '/acme/handbook/policies/canary', headers: { cookie } });
          assert.equal(page.statusCode, 200);
          assert.match(page.body, new RegExp(CANARY));
        } finally {
          await built.app.close();
        }
      } finally {
        await sourceContext.close();
        await restoredContext.close();
      }
    });

    test('a passphrase backup: the wrong passphrase, a cut or altered archive, and a non-empty target are refused and nothing is written', async () => {
      const archive = join(root, 'passphrase.age');
      const short = await cli(['backup', '--out', archive, '--passphrase-stdin', '--data', source.dataDir], source.env, 'too short');
      assert.equal(short.code, 1);
      assert.match(short.stderr, /at least 12 characters/);
      assert.equal(existsSync(archive), false);
      const made = await cli(['backup', '--out', archive, '--passphrase-stdin', '--data', source.dataDir], source.env, PASSPHRASE + '\n');
      assert.equal(made.code, 0, made.stderr);

      const wrong = await newPlace('wrong');
      const refused = await cli(['restore', archive, '--data', wrong.dataDir, '--passphrase-stdin'], wrong.env, 'not the passphrase at all');
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /the passphrase or key does not open this backup \(nothing was written\)/);
      assert.equal(existsSync(wrong.dataDir), false, 'no data directory was created');

      const bytes = readFileSync(archive);
      const cut = join(root, 'cut.age');
      writeFileSync(cut, bytes.subarray(0, bytes.length - 1000));
      const flipped = Buffer.from(bytes);
      flipped[Math.floor(flipped.length / 2)]! ^= 0x01;
      const altered = join(root, 'altered.age');
      writeFileSync(altered, flipped);
      for (const broken of [cut, altered]) {
        const out = await cli(['restore', broken, '--data', wrong.dataDir, '--passphrase-stdin'], wrong.env, PASSPHRASE);
        assert.equal(out.code, 1, out.stdout);
        assert.match(out.stderr, /damaged, cut short or was altered/);
        assert.equal(existsSync(wrong.dataDir), false, 'nothing was written');
        if (wrong.env.DATABASE_URL) {
          const tables = await tableCount(wrong.env.DATABASE_URL);
          assert.equal(tables, 0, 'the database is still empty');
        }
      }

      // a non-empty data directory (or database) is refused before the archive is opened
      mkdirSync(wrong.dataDir);
      writeFileSync(join(wrong.dataDir, 'notes.txt'), 'mine');
      const nonEmpty = await cli(['restore', archive, '--data', wrong.dataDir, '--passphrase-stdin'], wrong.env, PASSPHRASE);
      assert.equal(nonEmpty.code, 1);
      assert.match(nonEmpty.stderr, /is not empty .*notes\.txt.*restore only into an empty directory/);
      assert.deepEqual(readdirSync(wrong.dataDir), ['notes.txt']);
      rmSync(wrong.dataDir, { recursive: true });
      // the source's own (non-empty) database
      if (source.env.DATABASE_URL) {
        const intoUsed = await cli(['restore', archive, '--data', join(root, 'fresh'), '--passphrase-stdin'], source.env, PASSPHRASE);
        assert.equal(intoUsed.code, 1);
        assert.match(intoUsed.stderr, /the database is not empty/);
      }

      const good = await newPlace('good');
      const ok = await cli(['restore', archive, '--data', good.dataDir, '--passphrase-stdin'], good.env, PASSPHRASE);
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal((await cli(['audit', 'verify', '--data', good.dataDir], good.env)).code, 0);
    });

    test('a backup taken while saves go on restores to a consistent state: every recorded move is in the repository, and the ref is the last one recorded', async () => {
      const context = await openContext(source);
      const archive = join(root, 'concurrent.age');
      let saving = true;
      const saved: string[] = [];
      const saver = (async () => {
        for (let i = 0; saving || i < 3; i++) saved.push(await save(context, `news/busy-${i % 5}.md`, `---\ntitle: Busy ${i}\n---\n\nSave ${i}\n`));
      })();
      try {
        await new Promise((resolve) => setTimeout(resolve, 50));
        await writeBackup(context, context.config, { lock: { recipients: [recipient] } }, archive);
      } finally {
        saving = false;
        await saver;
        await context.close();
      }
      assert.ok(saved.length >= 3);
      const restored = await newPlace('concurrent');
      const done = await cli(['restore', archive, '--data', restored.dataDir, '--identity', identityFile], restored.env);
      assert.equal(done.code, 0, done.stderr);
      const restoredContext = await openContext(restored);
      try {
        const project = (await findProject(restoredContext.db, 'acme', 'handbook'))!;
        const gitDir = restoredContext.repositories.pathOf(project);
        const recorded = await ownerMoves(restoredContext, restored, project.id);
        assert.ok(recorded.length > 0);
        for (const move of recorded) {
          if (move.new_commit) assert.equal((await runGit({ gitDir, args: ['cat-file', '-t', move.new_commit] })).stdout.toString().trim(), 'commit');
        }
        const lastMain = recorded.filter((m) => m.ref === 'refs/heads/main').at(-1)!.new_commit;
        assert.equal((await gitLines(gitDir, ['rev-parse', 'refs/heads/main']))[0], lastMain, 'main is exactly the last move the database recorded');
        assert.equal((await cli(['audit', 'verify', '--data', restored.dataDir], restored.env)).code, 0);
      } finally {
        await restoredContext.close();
      }
    });

    if (target.name === 'pglite') {
      test('while a server holds the data directory, "backup" runs inside it (control socket), passphrase from standard input', async () => {
        const lock = acquireDataDirLock(source.dataDir, SERVER_PURPOSE);
        const context = await openContext(source);
        const socket = await openControlSocket(source.dataDir, (request) => main(request.argv, { ...request, env: {}, server: context }));
        const archive = join(root, 'from-server.age');
        try {
          const head = await save(context, 'news/while-serving.md', '---\ntitle: While serving\n---\n\nServed.\n');
          const made = await cli(['backup', '--out', archive, '--passphrase-stdin', '--data', source.dataDir], {}, PASSPHRASE);
          assert.equal(made.code, 0, made.stderr);
          assert.match(made.stdout, /Wrote .*from-server\.age/);
          const restored = await newPlace('from-server');
          const done = await cli(['restore', archive, '--data', restored.dataDir, '--passphrase-stdin'], restored.env, PASSPHRASE);
          assert.equal(done.code, 0, done.stderr);
          const project = (await findProject(context.db, 'acme', 'handbook'))!;
          const gitDir = join(restored.dataDir, 'repos', project.repoDir);
          assert.equal((await gitLines(gitDir, ['rev-parse', 'refs/heads/main']))[0], head);
        } finally {
          await socket.close();
          await context.close();
          lock.release();
        }
      });
    }
  });
}

async function tableCount(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: string }>(`select count(*)::text as n from pg_class where relnamespace = 'public'::regnamespace and relkind = 'r'`);
    return Number(rows[0]!.n);
  } finally {
    await client.end();
  }
}

/** branch_moves is a tenant table: read it as the owner. */
async function ownerMoves(context: AppContext, place: Place, projectId: string): Promise<Array<{ new_commit: string | null; ref: string }>> {
  if (place.env.DATABASE_URL) {
    const client = new pg.Client({ connectionString: place.env.DATABASE_URL });
    await client.connect();
    try {
      return (await client.query('select new_commit, ref from branch_moves where project_id = $1 order by id', [projectId])).rows;
    } finally {
      await client.end();
    }
  }
  return context.db.transaction().execute(async (trx) => {
    await sql`set local role none`.execute(trx);
    return (await sql<{ new_commit: string | null; ref: string }>`select new_commit, ref from branch_moves where project_id = ${projectId} order by id`.execute(trx)).rows;
  });
}
