import { parseArgs } from 'node:util';
import { normalizeEmail } from '../../auth/accounts.ts';
import {
  TOKEN_DEFAULT_DAYS,
  createToken,
  findToken,
  listTokens,
  normalizeScopes,
  parseExpiryDays,
  revokeToken,
  tokenStatus,
} from '../../auth/tokens.ts';
import type { Db } from '../../db/connection.ts';
import { NotFoundError } from '../../errors.ts';
import { CliUsageError, say, type Command } from '../command.ts';
import { DATA_OPTIONS, withDataContext } from '../data-context.ts';

const HELP = `Usage: docucommit token create EMAIL --scopes read[,write] [--expires 30d] [--name NAME] [--data DIR]
       docucommit token list EMAIL [--data DIR]
       docucommit token revoke ID [--data DIR]

Personal access tokens let a person use git over HTTP and the API. A token can do at most what its owner's
role allows in each organization, narrowed by its scopes: "read" (clone, pull, read) and "write" (push, edit;
implies read).

create   prints a new token ONCE on standard output; only its hash is stored. --expires is 1 to 365 days
         (default ${TOKEN_DEFAULT_DAYS}d). --name defaults to "Command line".
list     shows the account's tokens (id, name, prefix, scopes, dates, status), never the tokens themselves.
revoke   revokes the token with that id at once.

Exit codes: 0 done, 1 not found or invalid input, 2 wrong arguments.

Example:
  docucommit token create ada@acme.test --scopes read --expires 7d --name "CI clone"
`;

export const tokenCommand: Command = {
  name: 'token',
  help: HELP,
  async run(args, io) {
    const [sub, ...rest] = args;
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      options: {
        ...DATA_OPTIONS,
        scopes: { type: 'string' },
        expires: { type: 'string' },
        name: { type: 'string' },
      },
    });
    const [target, ...extra] = positionals;
    if (sub !== 'create' && sub !== 'list' && sub !== 'revoke') {
      throw new CliUsageError(sub ? `unknown subcommand "${sub}"` : 'missing subcommand');
    }
    if (!target || extra.length > 0) throw new CliUsageError(sub === 'revoke' ? 'give exactly one token ID' : 'give exactly one EMAIL');
    if (sub !== 'create' && (values.scopes || values.expires || values.name)) {
      throw new CliUsageError(`--scopes, --expires and --name only apply to "token create"`);
    }

    if (sub === 'create') {
      if (!values.scopes) throw new CliUsageError('--scopes is required (read, or read,write)');
      // Validate everything before claiming the data directory.
      const scopes = normalizeScopes(values.scopes.split(','));
      const days = values.expires === undefined ? TOKEN_DEFAULT_DAYS : parseExpiryDays(values.expires);
      const email = normalizeEmail(target);
      return withDataContext(values, io, 'docucommit token create', async (context) => {
        const userId = await activeUserId(context.db, email);
        const { token, summary } = await createToken(context.db, {
          userId,
          name: values.name ?? 'Command line',
          scopes,
          expiresInDays: days,
        });
        say(io.stderr, `Created token ${summary.id} for ${email}: scopes ${summary.scopes.join(',')}, expires ${summary.expiresAt.toISOString()}.`);
        say(io.stderr, 'Copy it now; it is not shown again:');
        say(io.stdout, token);
        return 0;
      });
    }

    if (sub === 'list') {
      const email = normalizeEmail(target);
      return withDataContext(values, io, 'docucommit token list', async (context) => {
        const userId = await activeUserId(context.db, email, { allowDisabled: true });
        const tokens = await listTokens(context.db, userId);
        if (tokens.length === 0) say(io.stdout, `${email} has no tokens.`);
        for (const t of tokens) {
          const lastUsed = t.lastUsedAt ? t.lastUsedAt.toISOString() : 'never';
          say(
            io.stdout,
            [t.id, tokenStatus(t), t.prefix + '…', t.scopes.join(','), `created ${t.createdAt.toISOString()}`, `expires ${t.expiresAt.toISOString()}`, `last used ${lastUsed}`, JSON.stringify(t.name)].join('  '),
          );
        }
        return 0;
      });
    }

    return withDataContext(values, io, 'docucommit token revoke', async (context) => {
      const found = await findToken(context.db, target);
      if (!found) throw new NotFoundError(`No token with id "${target}".`);
      const revoked = await revokeToken(context.db, { id: found.id, userId: found.userId });
      say(io.stdout, `Revoked token ${revoked.id} (${revoked.prefix}…, "${revoked.name}").`);
      return 0;
    });
  },
};

async function activeUserId(db: Db, email: string, options: { allowDisabled?: boolean } = {}): Promise<string> {
  const user = await db.selectFrom('users').select(['id', 'disabled_at']).where('email', '=', email).executeTakeFirst();
  if (!user) throw new NotFoundError(`No account with email ${email}.`);
  if (user.disabled_at && !options.allowDisabled) throw new NotFoundError(`The account ${email} is disabled.`);
  return user.id;
}
