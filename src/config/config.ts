import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { InvalidInputError } from '../errors.ts';

/** Validated configuration, built once at start from flags and the environment. */
export interface Config {
  dataDir: string;
  reposDir: string;
  /** PostgreSQL connection string; null means embedded PGlite in `dataDir/db`. */
  databaseUrl: string | null;
  /**
   * PostgreSQL connection string the application runs on, logging in as the unprivileged docucommit_app role;
   * `databaseUrl` then serves migrations only. Null: derived from `databaseUrl` and `secret` (db/app-role-login.ts).
   */
  databaseAppUrl: string | null;
  host: string;
  port: number;
  /** Public base URL (e.g. https://docs.example.com). Decides Secure/__Host- cookies and HSTS. */
  publicUrl: string | null;
  /** Whether the server is reached over https (from publicUrl). */
  secure: boolean;
  /** Key for HMACs (CSRF tokens). From DOCUCOMMIT_SECRET or `dataDir/secret.key`. */
  secret: Buffer;
  /**
   * AES-256 keys for MFA secrets at rest: `current` seals, `previous` still open (during a rotation).
   * From DOCUCOMMIT_MFA_KEY / DOCUCOMMIT_MFA_PREVIOUS_KEYS (base64), else `dataDir/mfa.key` (+ `mfa.key.previous`).
   */
  mfaKeys: MfaKeys;
  /**
   * Where to report vulnerabilities (/.well-known/security.txt): comma-separated mailto:, https: or tel: URIs
   * from DOCUCOMMIT_SECURITY_CONTACT; null when unset (a default is derived, and the server warns at start).
   */
  securityContact: string | null;
  /**
   * Prometheus metrics: off unless METRICS_TOKEN (32+ characters; `/metrics` on the server then asks for it as
   * a Bearer token) or METRICS_LISTEN (`host:port` of a separate listener serving only `/metrics`) is set.
   */
  metrics?: MetricsConfig;
  /**
   * Hosts webhooks may reach although they resolve to loopback, private or link-local addresses (never cloud
   * metadata): `name` or `name:port`, comma-separated, from WEBHOOK_ALLOWED_HOSTS. An operator's decision, not an
   * organization admin's: on a shared server, one organization's admin must not reach the server's own network.
   */
  webhookAllowedHosts?: string[];
  /**
   * Email notifications (docs/email.md): on when SMTP_URL is set (smtp:// or smtps://, credentials in the URL),
   * sent from SMTP_FROM (default `DocuCommit <docucommit@` + the public host + `>`). Null or absent: off.
   */
  email?: EmailConfig | null;
  /**
   * The Chromium that prints PDFs (web/pdf-renderer.ts): CHROMIUM_PATH, an absolute path, else `/usr/bin/chromium`.
   * Absent (tests' configurations): that default.
   */
  chromiumPath?: string;
}

export const DEFAULT_CHROMIUM_PATH = '/usr/bin/chromium';

export interface EmailConfig {
  smtpUrl: string;
  from: string;
  /** How long non-urgent notifications of one person wait to go out as one digest (EMAIL_DIGEST_MINUTES, default 10). */
  digestWindowMs?: number;
}

export interface MetricsConfig {
  token: string | null;
  listen: { host: string; port: number } | null;
}

export interface MfaKeys {
  current: Buffer;
  previous: Buffer[];
}

const schema = z.object({
  dataDir: z.string().min(1),
  databaseUrl: z.string().url().nullable(),
  databaseAppUrl: z.string().url().nullable(),
  host: z.string().min(1),
  port: z.coerce.number().int().min(0).max(65535),
  publicUrl: z.string().url().nullable(),
  securityContact: z
    .string()
    .refine((value) => value.split(',').every((uri) => isSecurityContact(uri.trim())), {
      message: 'must be mailto:, https: or tel: URIs, comma-separated',
    })
    .nullable(),
});

/** One contact URI of security.txt (RFC 9116): printable ASCII without spaces (nothing that could break the file). */
function isSecurityContact(uri: string): boolean {
  return /^[\x21-\x7e]+$/.test(uri) && /^(mailto:[^@]+@[^@]+|https:\/\/.+|tel:\+?[0-9().-]+)$/.test(uri);
}

export interface ConfigSources {
  dataDir?: string | undefined;
  port?: string | number | undefined;
  host?: string | undefined;
  env: NodeJS.ProcessEnv;
}

/** Resolve configuration: flags win over the environment, which wins over defaults. */
export function loadConfig(sources: ConfigSources): Config {
  const { env } = sources;
  const parsed = schema.safeParse({
    dataDir: sources.dataDir ?? env.DOCUCOMMIT_DATA ?? './data',
    databaseUrl: env.DATABASE_URL || null,
    databaseAppUrl: env.DATABASE_APP_URL || null,
    host: sources.host ?? env.HOST ?? '127.0.0.1',
    port: sources.port ?? env.PORT ?? 3000,
    publicUrl: env.DOCUCOMMIT_PUBLIC_URL || null,
    securityContact: env.DOCUCOMMIT_SECURITY_CONTACT?.trim() || null,
  });
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new InvalidInputError(`invalid configuration: ${first?.path.join('.')}: ${first?.message}`);
  }
  if (parsed.data.databaseAppUrl && !parsed.data.databaseUrl) {
    throw new InvalidInputError('invalid configuration: DATABASE_APP_URL needs DATABASE_URL (the owner, for migrations)');
  }
  const dataDir = resolve(parsed.data.dataDir);
  return {
    ...parsed.data,
    dataDir,
    reposDir: join(dataDir, 'repos'),
    secure: parsed.data.publicUrl?.startsWith('https:') ?? false,
    secret: loadSecret(dataDir, env.DOCUCOMMIT_SECRET),
    mfaKeys: loadMfaKeys(dataDir, env),
    metrics: loadMetricsConfig(env),
    webhookAllowedHosts: parseAllowedHosts(env.WEBHOOK_ALLOWED_HOSTS ?? ''),
    email: loadEmailConfig(env, parsed.data.publicUrl),
    chromiumPath: loadChromiumPath(env),
  };
}

/** CHROMIUM_PATH: an absolute path (a relative one would depend on the server's working directory). */
function loadChromiumPath(env: NodeJS.ProcessEnv): string {
  const path = env.CHROMIUM_PATH?.trim();
  if (!path) return DEFAULT_CHROMIUM_PATH;
  if (!path.startsWith('/') || /[\0\r\n]/.test(path)) throw new InvalidInputError('CHROMIUM_PATH must be an absolute path, like /usr/bin/chromium');
  return path;
}

/** WEBHOOK_ALLOWED_HOSTS: lower-case `host` or `host:port` entries (IPv6 in brackets, stored without them). */
export function parseAllowedHosts(text: string): string[] {
  const hosts: string[] = [];
  for (const entry of text.split(',').map((e) => e.trim().toLowerCase()).filter(Boolean)) {
    const match = /^(?:\[([0-9a-f:.]+)\]|([a-z0-9.-]+))(?::([0-9]{1,5}))?$/.exec(entry);
    if (!match) throw new InvalidInputError(`WEBHOOK_ALLOWED_HOSTS: ${JSON.stringify(entry.slice(0, 100))} is not host or host:port`);
    const host = match[1] ?? match[2]!;
    hosts.push(match[3] ? `${host}:${match[3]}` : host);
  }
  return hosts;
}

function loadMetricsConfig(env: NodeJS.ProcessEnv): MetricsConfig {
  const token = env.METRICS_TOKEN || null;
  if (token !== null && (token.length < 32 || !/^[\x21-\x7e]+$/.test(token))) {
    throw new InvalidInputError('METRICS_TOKEN must be at least 32 printable characters without spaces');
  }
  let listen: MetricsConfig['listen'] = null;
  if (env.METRICS_LISTEN) {
    const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]+)):([0-9]{1,5})$/.exec(env.METRICS_LISTEN.trim());
    const port = match ? Number(match[3]) : NaN;
    if (!match || port < 1 || port > 65535) throw new InvalidInputError('METRICS_LISTEN must be host:port, e.g. 127.0.0.1:9464');
    listen = { host: match[1] ?? match[2]!, port };
  }
  return { token, listen };
}

function loadEmailConfig(env: NodeJS.ProcessEnv, publicUrl: string | null): EmailConfig | null {
  const smtpUrl = env.SMTP_URL?.trim();
  if (!smtpUrl) return null;
  let url: URL;
  try {
    url = new URL(smtpUrl);
  } catch {
    // never echo the value: it may carry the SMTP password
    throw new InvalidInputError('SMTP_URL must be a URL like smtp://user:password@mail.example.com:587');
  }
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') throw new InvalidInputError('SMTP_URL must start with smtp:// or smtps://');
  const from = env.SMTP_FROM?.trim() || `DocuCommit <docucommit@${publicUrl ? new URL(publicUrl).hostname : 'localhost'}>`;
  if (/[\r\n]/.test(from) || !/@/.test(from)) throw new InvalidInputError('SMTP_FROM must be one address, like DocuCommit <docs@example.com>');
  const minutes = env.EMAIL_DIGEST_MINUTES?.trim() ? Number(env.EMAIL_DIGEST_MINUTES) : 10;
  if (!Number.isInteger(minutes) || minutes < 0 || minutes > 1440) throw new InvalidInputError('EMAIL_DIGEST_MINUTES must be a whole number of minutes from 0 to 1440');
  return { smtpUrl, from, digestWindowMs: minutes * 60_000 };
}

/** The HMAC key: from the environment, else created once in the data directory with owner-only permissions. */
function loadSecret(dataDir: string, fromEnv: string | undefined): Buffer {
  if (fromEnv) {
    if (fromEnv.length < 32) throw new InvalidInputError('DOCUCOMMIT_SECRET must be at least 32 characters');
    return Buffer.from(fromEnv, 'utf8');
  }
  const file = join(dataDir, 'secret.key');
  if (existsSync(file)) return Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(32);
  writeFileSync(file, secret.toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
  return secret;
}

export const MFA_KEY_FILE = 'mfa.key';
export const MFA_PREVIOUS_KEYS_FILE = 'mfa.key.previous';

function decodeMfaKey(text: string, where: string): Buffer {
  const key = Buffer.from(text.trim(), 'base64');
  if (key.length !== 32) throw new InvalidInputError(`${where} must be 32 bytes in base64`);
  return key;
}

/** MFA encryption keys: from the environment, else created once in the data directory (owner-only). */
export function loadMfaKeys(dataDir: string, env: NodeJS.ProcessEnv): MfaKeys {
  if (env.DOCUCOMMIT_MFA_KEY) {
    const previous = (env.DOCUCOMMIT_MFA_PREVIOUS_KEYS ?? '').split(',').filter((k) => k.trim());
    return {
      current: decodeMfaKey(env.DOCUCOMMIT_MFA_KEY, 'DOCUCOMMIT_MFA_KEY'),
      previous: previous.map((k) => decodeMfaKey(k, 'DOCUCOMMIT_MFA_PREVIOUS_KEYS')),
    };
  }
  const file = join(dataDir, MFA_KEY_FILE);
  const previousFile = join(dataDir, MFA_PREVIOUS_KEYS_FILE);
  const previous = existsSync(previousFile)
    ? readFileSync(previousFile, 'utf8').split('\n').filter((k) => k.trim()).map((k) => decodeMfaKey(k, previousFile))
    : [];
  if (existsSync(file)) return { current: decodeMfaKey(readFileSync(file, 'utf8'), file), previous };
  mkdirSync(dataDir, { recursive: true });
  const key = randomBytes(32);
  writeFileSync(file, key.toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
  return { current: key, previous };
}
