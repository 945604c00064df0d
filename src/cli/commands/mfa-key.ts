import { randomBytes } from 'node:crypto';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { resealAllSecrets, secretsByKey } from '../../auth/mfa.ts';
import { resealSsoSecrets, ssoSecretsByKey } from '../../auth/sso/secret-rotation.ts';
import { evidenceKeysByKey, resealEvidenceKeys } from '../../evidence/signing-key.ts';
import { SecretBox, secretKey } from '../../auth/secret-box.ts';
import { MFA_KEY_FILE, MFA_PREVIOUS_KEYS_FILE } from '../../config/config.ts';
import { CliUsageError, say, type Command } from '../command.ts';
import { DATA_OPTIONS, withDataContext } from '../data-context.ts';

/** Write a key file atomically with owner-only permissions. */
function writeKeyFile(path: string, keys: Buffer[]): void {
  const temporary = `${path}.tmp-${process.pid}`;
  writeFileSync(temporary, keys.map((k) => k.toString('base64')).join('\n') + '\n', { mode: 0o600 });
  renameSync(temporary, path);
}

export const mfaKeyCommand: Command = {
  name: 'mfa-key',
  help: `Usage: docucommit mfa-key status [--data DIR]
       docucommit mfa-key rotate [--data DIR]
       docucommit mfa-key generate

TOTP secrets are stored encrypted with AES-256-GCM. Each stored value names the key that sealed it (by a
fingerprint, never the key itself).

status    prints the current key's fingerprint and how many secrets each key sealed.

rotate    with the key in the data directory (DATA/mfa.key, the default): generates a new key, moves the
          old one to DATA/mfa.key.previous, re-encrypts every secret under the new key, and deletes the old
          key only once no secret needs it. Interrupted, it leaves both keys in place (everything still
          opens); run it again to finish. Stop the server first (the command claims the data directory).

          with DOCUCOMMIT_MFA_KEY set: the new key must already be configured. Set DOCUCOMMIT_MFA_KEY to the
          new key (see generate) and DOCUCOMMIT_MFA_PREVIOUS_KEYS to the old one (comma-separated base64) on
          every server and restart them; then run rotate, which re-encrypts every secret under the current
          key; then remove DOCUCOMMIT_MFA_PREVIOUS_KEYS.

generate  prints a new random key (base64) for DOCUCOMMIT_MFA_KEY.
`,
  async run(args, io) {
    const [sub, ...rest] = args;
    if (sub === 'generate') {
      say(io.stdout, randomBytes(32).toString('base64'));
      return 0;
    }
    if (sub !== 'status' && sub !== 'rotate') throw new CliUsageError(sub ? `unknown subcommand "${sub}"` : 'missing subcommand');
    const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { ...DATA_OPTIONS } });
    if (positionals.length > 0) throw new CliUsageError('unexpected arguments');
    return withDataContext(values, io, `docucommit mfa-key ${sub}`, async (context, config) => {
      const { current, previous } = config.mfaKeys;
      if (sub === 'status') {
        say(io.stdout, `Current key: ${secretKey(current).id}`);
        for (const key of previous) say(io.stdout, `Previous key: ${secretKey(key).id}`);
        const counts = await secretsByKey(context.db);
        if (counts.size === 0) say(io.stdout, 'No stored MFA secrets.');
        for (const [id, n] of await ssoSecretsByKey(context.db)) say(io.stdout, `${n} single sign-on secret(s) sealed under ${id}`);
        for (const [id, n] of await evidenceKeysByKey(context.db)) say(io.stdout, `${n} evidence signing key(s) sealed under ${id}`);
        for (const [id, n] of counts) say(io.stdout, `${n} secret(s) sealed under ${id}`);
        return 0;
      }
      const fromEnv = Boolean(io.env.DOCUCOMMIT_MFA_KEY);
      let box: SecretBox;
      if (fromEnv) {
        box = new SecretBox(secretKey(current), previous.map(secretKey));
      } else {
        const next = randomBytes(32);
        // The old key is kept on disk until every secret has moved to the new one.
        writeKeyFile(join(config.dataDir, MFA_PREVIOUS_KEYS_FILE), [current, ...previous]);
        writeKeyFile(join(config.dataDir, MFA_KEY_FILE), [next]);
        box = new SecretBox(secretKey(next), [current, ...previous].map(secretKey));
      }
      // TOTP secrets, and the single sign-on client secrets (and in-flight PKCE verifiers) and evidence signing keys
      // sealed with the same keys.
      const count = (await resealAllSecrets(context.db, box)) + (await resealSsoSecrets(context.db, box)) + (await resealEvidenceKeys(context.db, box));
      const sealedUnder = [...(await secretsByKey(context.db)).keys(), ...(await ssoSecretsByKey(context.db)).keys(), ...(await evidenceKeysByKey(context.db)).keys()];
      const left = [...new Set(sealedUnder)].filter((id) => id !== box.current.id);
      say(io.stdout, `Re-encrypted ${count} secret(s) under key ${box.current.id}.`);
      if (left.length > 0) {
        say(io.stderr, `Secrets under other keys remain (${left.join(', ')}); run the command again.`);
        return 1;
      }
      if (fromEnv) say(io.stdout, 'Every secret uses the current key: DOCUCOMMIT_MFA_PREVIOUS_KEYS can now be removed.');
      else rmSync(join(config.dataDir, MFA_PREVIOUS_KEYS_FILE), { force: true });
      return 0;
    });
  },
};
