import { randomBytes } from 'node:crypto';
import { createWriteStream, renameSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { createGzip } from 'node:zlib';
import { purgeDueOrganizations } from '../../organizations/deletion.ts';
import { startOrganizationExport } from '../../organizations/export.ts';
import { findOrganization } from '../../organizations/organizations.ts';
import { CliUsageError, say, type Command } from '../command.ts';
import { DATA_OPTIONS, withDataContext } from '../data-context.ts';

export const orgCommand: Command = {
  name: 'org',
  help: `Usage: docucommit org export --org SLUG --out FILE [--data DIR]
       docucommit org purge [--data DIR]

"export" writes one .tar.gz with everything the organization keeps here, in open formats: each project's
repository as a git bundle, the members and acknowledgments (JSON Lines and CSV), the whole audit log with its
hash chain, a README explaining each file and a manifest of their SHA-256 checksums. It is streamed to the file
(written under a temporary name, renamed when complete) and recorded in the organization's audit log.

"purge" removes now every organization whose deletion an owner scheduled more than 30 days ago (the server also
does this when it starts and once a day): its rows, repositories, rendered pages, search index and audit chain,
and the accounts of people who belonged to it only. See docs/organization-export-and-deletion.md.

Exit status: 0 on success, 1 when the export or a purge failed, 2 on wrong arguments or an unknown organization.

Examples:
  docucommit org export --org acme --out acme-export.tar.gz
  docucommit org purge
`,
  async run(args, io) {
    const [sub, ...rest] = args;
    if (sub === 'purge') {
      const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { ...DATA_OPTIONS } });
      if (positionals.length > 0) throw new CliUsageError(`unexpected argument "${positionals[0]}"`);
      return withDataContext(values, io, 'docucommit org purge', async (context, config) => {
        const purged = await purgeDueOrganizations({ db: context.db, dataDir: config.dataDir });
        for (const p of purged) {
          say(io.stdout, `Purged organization ${p.orgId}: ${p.projects} project(s), ${p.members} member(s), ${p.accountsDeleted} account(s) deleted, ${p.auditEvents} audit event(s).`);
        }
        if (purged.length === 0) say(io.stdout, 'No organization is due for deletion.');
        return 0;
      });
    }
    if (sub !== 'export') throw new CliUsageError(sub ? `unknown subcommand "${sub}"` : 'missing subcommand');
    const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { ...DATA_OPTIONS, org: { type: 'string' }, out: { type: 'string' } } });
    if (positionals.length > 0) throw new CliUsageError(`unexpected argument "${positionals[0]}"`);
    if (!values.org || !values.out) throw new CliUsageError('export needs --org and --out');
    const out = resolve(io.cwd ?? process.cwd(), values.out);
    return withDataContext(values, io, 'docucommit org export', async (context) => {
      const org = await findOrganization(context.db, values.org!);
      if (!org) {
        say(io.stderr, `No organization "${values.org}".`);
        return 2;
      }
      const started = await startOrganizationExport({ db: context.db, repositories: context.repositories }, { org: { id: org.id, slug: org.slug, name: org.name }, reader: 'operator' });
      const partial = `${out}.${randomBytes(4).toString('hex')}.partial`;
      const gzip = createGzip();
      const file = createWriteStream(partial, { mode: 0o600 });
      try {
        const [summary] = await Promise.all([
          started.write(gzip).catch((error: unknown) => {
            gzip.destroy(error as Error);
            throw error;
          }),
          pipeline(gzip, file),
        ]);
        renameSync(partial, out);
        say(io.stdout, `Wrote ${out}: ${summary.projects} project(s), ${summary.members} member(s), ${summary.acknowledgments} acknowledgment(s), ${summary.auditEvents} audit event(s), ${summary.files} files.`);
        if (!summary.auditChainIntact) say(io.stderr, 'Warning: the audit chain did not verify while it was exported (run "docucommit audit verify").');
        return 0;
      } catch (error) {
        rmSync(partial, { force: true });
        throw error;
      }
    });
  },
};
