import { parseArgs } from 'node:util';
import { verifyAuditChain } from '../../audit/verify.ts';
import { findOrganization } from '../../organizations/organizations.ts';
import { CliUsageError, say, type Command } from '../command.ts';
import { DATA_OPTIONS, withDataContext } from '../data-context.ts';

export const auditCommand: Command = {
  name: 'audit',
  summary: 'verify the tamper-evident audit log',
  help: `Usage: docucommit audit verify [--org SLUG] [--data DIR]

Recomputes the hash chain of the audit log: every event's hash over its stored fields, its link to the
previous event of its organization, and that sequence numbers run from 1 without gaps. Without --org every
chain is checked, including the one of events that belong to no organization (failed sign-ins of unknown
emails).

Exit status: 0 when every checked chain is intact (the head of each chain is printed: note it somewhere else
to detect later removal of the newest events), 1 when a chain is broken (the first broken event is named),
2 on wrong arguments.

Example:
  docucommit audit verify --org acme
`,
  runsInServer: () => true,
  async run(args, io) {
    const [sub, ...rest] = args;
    if (sub !== 'verify') throw new CliUsageError(sub ? `unknown subcommand "${sub}"` : 'missing subcommand');
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      options: { ...DATA_OPTIONS, org: { type: 'string' } },
    });
    if (positionals.length > 0) throw new CliUsageError(`unexpected argument "${positionals[0]}"`);
    return withDataContext(values, io, 'docucommit audit verify', async (context) => {
      let chain: string | 'all' = 'all';
      if (values.org !== undefined) {
        const org = await findOrganization(context.db, values.org);
        if (!org) {
          say(io.stderr, `No organization "${values.org}".`);
          return 2;
        }
        chain = org.id;
      }
      const result = await verifyAuditChain(context.db, chain);
      if (!result.ok) {
        const broken = result.firstBroken!;
        say(io.stdout, `BROKEN: ${result.checked} events verified before the first broken one.`);
        say(
          io.stdout,
          `First broken event: chain ${broken.orgId ?? 'system'}, seq ${broken.seq}, id ${broken.id}: ${broken.reason}`,
        );
        return 1;
      }
      say(io.stdout, `OK: ${result.checked} events verified in ${result.heads.length} chain(s).`);
      for (const head of result.heads) {
        say(io.stdout, `  chain ${head.orgId ?? 'system'}: last seq ${head.seq}, hash ${head.hash}`);
      }
      return 0;
    });
  },
};
