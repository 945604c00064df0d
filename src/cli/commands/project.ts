import { parseArgs } from 'node:util';
import { restoreProject } from '../../projects/commands/restore-project.ts';
import { listDeletedProjects, RETENTION_MS } from '../../projects/deleted-projects.ts';
import { findProject } from '../../projects/projects.ts';
import { CliUsageError, say, type Command } from '../command.ts';
import { DATA_OPTIONS, withDataContext } from '../data-context.ts';

export const projectCommand: Command = {
  name: 'project',
  help: `Usage: docucommit project deleted [--data DIR]
       docucommit project restore ORG/PROJECT [--data DIR]

Projects are created, renamed and deleted in the browser by admins and owners. A deleted project's repository
is kept in DIR/deleted-projects for 30 days, then purged (when the server starts, and daily while it runs).

deleted: lists the deleted projects still kept, with their deletion date and who deleted them.
restore: brings the most recently deleted ORG/PROJECT back, under the same address, with its whole history.
Its access requests and grants are not restored. While the server runs, the command runs inside it (through
its control socket) and the project is served at once.

Example:
  docucommit project restore acme/handbook
`,
  async run(args, io) {
    const [sub, ...rest] = args;
    if (sub !== 'deleted' && sub !== 'restore') throw new CliUsageError(sub ? `unknown subcommand "${sub}"` : 'missing subcommand');
    const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { ...DATA_OPTIONS } });
    if (sub === 'deleted') {
      if (positionals.length > 0) throw new CliUsageError('"deleted" takes no arguments');
      return withDataContext(values, io, 'docucommit project deleted', async (_context, config) => {
        const kept = listDeletedProjects(config.dataDir);
        if (kept.length === 0) say(io.stdout, 'No deleted projects are kept.');
        for (const m of kept) {
          const until = new Date(Date.parse(m.deletedAt) + RETENTION_MS).toISOString().slice(0, 10);
          say(io.stdout, `${m.orgSlug}/${m.slug}  "${m.name}"  deleted ${m.deletedAt.slice(0, 16).replace('T', ' ')} UTC by ${m.deletedBy}, kept until ${until}`);
        }
        return 0;
      });
    }
    const [address, ...extra] = positionals;
    const match = /^([a-z0-9][a-z0-9-]*)\/([a-z0-9][a-z0-9-]*)$/.exec(address ?? '');
    if (!match || extra.length > 0) throw new CliUsageError('give exactly one ORG/PROJECT');
    return withDataContext(values, io, 'docucommit project restore', async (context, config) => {
      const restored = await restoreProject(
        { db: context.db, dataDir: config.dataDir, reposDir: config.reposDir },
        { label: 'docucommit project restore' },
        { orgSlug: match[1]!, slug: match[2]! },
      );
      const project = await findProject(context.db, restored.orgSlug, restored.slug);
      if (project) await context.publisher.publish(project);
      say(io.stdout, `Restored ${restored.orgSlug}/${restored.slug} ("${restored.name}"), deleted ${restored.deletedAt.slice(0, 10)}.`);
      return 0;
    });
  },
};

