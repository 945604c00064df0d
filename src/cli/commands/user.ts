import { parseArgs } from 'node:util';
import { isRole } from '../../access/roles.ts';
import { setAccountDisabled } from '../../auth/account-status.ts';
import { generatePassword, upsertAccount } from '../../auth/accounts.ts';
import { CliUsageError, say, type CliIO, type Command } from '../command.ts';
import { DATA_OPTIONS, withDataContext } from '../data-context.ts';

export const userCommand: Command = {
  name: 'user',
  help: `Usage: docucommit user add EMAIL --org SLUG --role ROLE [--name NAME] [--password-stdin [--must-change]]
                         [--reset-password] [--data DIR]
       docucommit user disable EMAIL [--reason TEXT] [--data DIR]
       docucommit user enable EMAIL [--data DIR]

Creates the account (or updates an existing one) and sets its membership in the organization.
ROLE is one of owner, admin, manager, member, viewer. The organization is created when missing.

Passwords: with --password-stdin the password is read from standard input (12 to 128 characters) and kept
as the operator chose it (for the operator's own account, or provisioning by a script); add --must-change to
have the person replace it at their first sign-in. Without it, a new account gets a generated one-time
password, printed once, which must be replaced at the first sign-in; an existing account keeps its password
unless --reset-password is given, which prints a new generated one (also replaced at the next sign-in).
Admins and owners can instead issue a password-reset link from the organization's members page.

disable: the account can no longer sign in; its sessions end at once and its personal access tokens stop
working (run while the server runs, it takes effect there at once; other servers sharing a PostgreSQL
database follow within the few seconds they keep a session in memory).
enable: undoes disable (sessions do not come back; the person signs in again).

Example:
  printf '%s' 'a long passphrase here' | docucommit user add ada@acme.test --org acme --role admin --password-stdin
`,
  async run(args, io) {
    const [sub, ...rest] = args;
    if (sub === 'disable' || sub === 'enable') return setDisabled(sub, rest, io);
    if (sub !== 'add') throw new CliUsageError(sub ? `unknown subcommand "${sub}"` : 'missing subcommand');
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      options: {
        ...DATA_OPTIONS,
        org: { type: 'string' },
        role: { type: 'string' },
        name: { type: 'string' },
        'password-stdin': { type: 'boolean' },
        'reset-password': { type: 'boolean' },
        'must-change': { type: 'boolean' },
      },
    });
    const [email, ...extra] = positionals;
    if (!email || extra.length > 0) throw new CliUsageError('give exactly one EMAIL');
    if (!values.org) throw new CliUsageError('--org is required');
    if (!isRole(values.role)) throw new CliUsageError('--role must be one of owner, admin, manager, member, viewer');
    const role = values.role;
    if (values['must-change'] && !values['password-stdin']) throw new CliUsageError('--must-change goes with --password-stdin (generated passwords are always replaced at first sign-in)');
    const password = values['password-stdin'] ? await readPassword(io) : undefined;
    const resetTo = !password && values['reset-password'] ? generatePassword() : undefined;
    return withDataContext(values, io, 'docucommit user add', async (context) => {
      const result = await upsertAccount(context.db, {
        email,
        orgSlug: values.org!,
        role,
        ...(values.name ? { name: values.name } : {}),
        ...((password ?? resetTo) !== undefined ? { password: (password ?? resetTo)! } : {}),
        mustChange: resetTo !== undefined || values['must-change'] === true,
        auditAs: { label: 'docucommit user add' },
      });
      say(io.stdout, `${result.created ? 'Created' : 'Updated'} ${result.user.email}: ${role} of ${values.org}`);
      const shown = result.generatedPassword ?? resetTo;
      if (shown) {
        say(io.stdout, `One-time password (shown only now): ${shown}`);
        say(io.stdout, 'It must be replaced by a password of their own at the first sign-in.');
      }
      return 0;
    });
  },
};

async function setDisabled(sub: 'disable' | 'enable', args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { ...DATA_OPTIONS, reason: { type: 'string' } },
  });
  const [email, ...extra] = positionals;
  if (!email || extra.length > 0) throw new CliUsageError('give exactly one EMAIL');
  return withDataContext(values, io, `docucommit user ${sub}`, async (context) => {
    const result = await setAccountDisabled(
      context.db,
      { email, disabled: sub === 'disable', actorLabel: `docucommit user ${sub}`, reason: values.reason ?? null },
      context.sessions,
    );
    const state = sub === 'disable' ? 'disabled' : 'enabled';
    say(io.stdout, result.changed ? `${email}: ${state}` : `${email} was already ${state}`);
    return 0;
  });
}

async function readPassword(io: CliIO): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of io.stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  const password = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  if (!password) throw new CliUsageError('--password-stdin given but standard input was empty');
  return password;
}
