import { randomBytes } from 'node:crypto';
import { createWriteStream, readFileSync, renameSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { createGzip } from 'node:zlib';
import { mfaSecretBox } from '../../auth/mfa.ts';
import { writeEvidencePack } from '../../evidence/evidence-pack.ts';
import { verifyEvidencePackFile } from '../../evidence/verify-pack.ts';
import { findOrganization } from '../../organizations/organizations.ts';
import { CliUsageError, say, type Command } from '../command.ts';
import { DATA_OPTIONS, withDataContext } from '../data-context.ts';

export const evidenceCommand: Command = {
  name: 'evidence',
  help: `Usage: docucommit evidence export --org SLUG --from DATE --to DATE [--project SLUG] --out FILE [--data DIR]
       docucommit evidence verify FILE [--key PUBLIC_KEY_FILE]

"export" writes one .tar.gz: the policy register (register.csv), every version of every document in effect
during the period (Markdown, rendered HTML, and its approval and acknowledgment record), the review events, the
organization's audit events of the period with their hash chain and the chain's head, and a manifest of every
file's SHA-256 signed with the organization's Ed25519 key (created on first use; its public key is in the pack
and served at /{organization}/-/evidence-key). Dates are YYYY-MM-DD, both days included (UTC). The export is
recorded in the audit log.

"verify" checks a pack offline, without a server: every file against the manifest, the manifest's signature,
and the audit chain's continuity (recomputed as "audit verify" does). With --key (the public key as served by
the server, obtained separately) it also checks that the pack was signed by that key. It names the first thing
that does not match.

Exit status: 0 when the pack is intact (verify) or written (export), 1 when something does not match or the
export failed, 2 on wrong arguments.

Examples:
  docucommit evidence export --org acme --from 2026-01-01 --to 2026-12-31 --out acme-2026.tar.gz
  docucommit evidence verify acme-2026.tar.gz --key acme-evidence-key.pem
`,
  async run(args, io) {
    const [sub, ...rest] = args;
    if (sub === 'verify') {
      const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { key: { type: 'string' } } });
      if (positionals.length !== 1) throw new CliUsageError('verify needs exactly one FILE');
      const cwd = io.cwd ?? process.cwd();
      const key = values.key !== undefined ? readFileSync(resolve(cwd, values.key), 'utf8') : undefined;
      const verdict = await verifyEvidencePackFile(resolve(cwd, positionals[0]!), key);
      if (!verdict.ok) {
        say(io.stdout, `NOT VERIFIED: ${verdict.problem}`);
        return 1;
      }
      const m = verdict.manifest!;
      say(io.stdout, `OK: ${verdict.files} files match the manifest; the signature verifies; ${verdict.auditEvents} audit events chain without a gap.`);
      say(io.stdout, `  organization ${m.organization.slug}${m.project ? `, project ${m.project}` : ''}, period ${m.from} to ${m.to}, generated ${m.generated_at}`);
      say(io.stdout, `  signing key SHA-256 ${verdict.fingerprint}${key === undefined ? ' (not compared: pass --key with the key served at /{organization}/-/evidence-key)' : ' (the key you gave)'}`);
      const chain = verdict.chain!;
      if (chain.head) say(io.stdout, `  audit chain head when exported: seq ${chain.head.seq}, hash ${chain.head.hash}`);
      if (chain.pruned_through) say(io.stdout, `  events through seq ${chain.pruned_through} had been pruned before this export`);
      return 0;
    }
    if (sub !== 'export') throw new CliUsageError(sub ? `unknown subcommand "${sub}"` : 'missing subcommand');
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      options: { ...DATA_OPTIONS, org: { type: 'string' }, project: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' }, out: { type: 'string' } },
    });
    if (positionals.length > 0) throw new CliUsageError(`unexpected argument "${positionals[0]}"`);
    if (!values.org || !values.from || !values.to || !values.out) throw new CliUsageError('export needs --org, --from, --to and --out');
    const out = resolve(io.cwd ?? process.cwd(), values.out);
    return withDataContext(values, io, 'docucommit evidence export', async (context, config) => {
      const org = await findOrganization(context.db, values.org!);
      if (!org) {
        say(io.stderr, `No organization "${values.org}".`);
        return 2;
      }
      // written under a temporary name, renamed when complete: a pack cut short never sits under the name asked for
      const partial = `${out}.${randomBytes(4).toString('hex')}.partial`;
      const gzip = createGzip();
      const file = createWriteStream(partial, { mode: 0o600 });
      try {
        const [summary] = await Promise.all([
          writeEvidencePack(
            { db: context.db, repositories: context.repositories, publisher: context.publisher, box: mfaSecretBox(config.mfaKeys) },
            { org: { id: org.id, slug: org.slug, name: org.name }, projectSlug: values.project ?? null, from: values.from!, to: values.to!, reader: 'operator' },
            gzip,
          ).catch((error: unknown) => {
            gzip.destroy(error as Error);
            throw error;
          }),
          pipeline(gzip, file),
        ]);
        renameSync(partial, out);
        say(io.stdout, `Wrote ${out}: ${summary.documents} document(s), ${summary.versions} version(s), ${summary.auditEvents} audit event(s), ${summary.files} files.`);
        say(io.stdout, `Signing key SHA-256 ${summary.fingerprint}.`);
        return 0;
      } catch (error) {
        rmSync(partial, { force: true });
        throw error;
      }
    });
  },
};
