import { parseArgs } from 'node:util';
import { pruneAuditLog } from '../../audit/retention.ts';
import { verifyAuditChain } from '../../audit/verify.ts';
import { findOrganization } from '../../organizations/organizations.ts';
import { CliUsageError, say, type Command } from '../command.ts';
import { DATA_OPTIONS, withDataContext } from '../data-context.ts';

export const auditCommand: Command = {
  name: 'audit',
  help: `Usage: docucommit audit verify [--org SLUG] [--data DIR]
       docucommit audit prune --org SLUG [--data DIR]

Recomputes the hash chain of the audit log: every event's hash over its stored fields, its link to the
previous event of its organization, and that sequence numbers run from 1 without gaps. Without --org every
chain is checked, including the one of events that belong to no organization (failed sign-ins of unknown
emails).

When older events were pruned, the check of that chain starts at the checkpoint event (audit.pruned) that
names the sequence number and hash of the last pruned event; the checkpoint is itself part of the chain.

"audit prune" removes the organization's events older than its retention (organization setting, at least 90
days; the server also prunes at start-up and once a day), leaving that checkpoint. Export evidence packs first
if you need older events.

Exit status: 0 when every checked chain is intact (the head of each chain is printed: note it somewhere else
to detect later removal of the newest events), 1 when a chain is broken (the first broken event is named),
2 on wrong arguments.

Example:
  docucommit audit verify --org acme
  docucommit audit prune --org acme
`,
  async run(args, io) {
    const [sub, ...rest] = args;
    if (sub !== 'verify' && sub !== 'prune') throw new CliUsageError(sub ? `unknown subcommand "${sub}"` : 'missing subcommand');
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      options: { ...DATA_OPTIONS, org: { type: 'string' } },
    });
    if (positionals.length > 0) throw new CliUsageError(`unexpected argument "${positionals[0]}"`);
    if (sub === 'prune' && values.org === undefined) throw new CliUsageError('prune needs --org SLUG');
    return withDataContext(values, io, `docucommit audit ${sub}`, async (context) => {
      let chain: string | 'all' = 'all';
      if (values.org !== undefined) {
        const org = await findOrganization(context.db, values.org);
        if (!org) {
          say(io.stderr, `No organization "${values.org}".`);
          return 2;
        }
        chain = org.id;
      }
      if (sub === 'prune') {
        const result = await pruneAuditLog(context.db, chain, { type: 'system', id: null, label: 'docucommit audit prune' });
        if (result.pruned === 0) say(io.stdout, `Nothing to prune: no event of ${values.org} is older than ${result.retentionDays} days.`);
        else say(io.stdout, `Pruned ${result.pruned} event(s) of ${values.org} older than ${result.retentionDays} days, through seq ${result.throughSeq}; checkpoint at seq ${result.checkpointSeq}.`);
        return 0;
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
        const from = head.checkpoint ? ` (events through seq ${head.checkpoint.throughSeq} pruned; continued from the checkpoint at seq ${head.checkpoint.seq})` : '';
        say(io.stdout, `  chain ${head.orgId ?? 'system'}: last seq ${head.seq}, hash ${head.hash}${from}`);
      }
      return 0;
    });
  },
};
