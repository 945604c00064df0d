import { createPrivateKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
// oidc-provider ships no type declarations; the few calls made here are typed by hand below.
// @ts-expect-error no declarations
import ProviderModule from 'oidc-provider';

/** A person the test identity provider can sign in (by typing their `login` into its sign-in form). */
export interface TestIdentity {
  sub: string;
  email: string;
  email_verified?: boolean;
  name?: string;
  /** Sent as the `groups` claim (scope profile). */
  groups?: string[];
}

/** Change an ID token's payload before it leaves the token endpoint; re-signed with `key` (default: the provider's). */
export interface IdTokenTamper {
  payload?: (claims: Record<string, unknown>) => Record<string, unknown>;
  /** Sign with another key (same `kid`): the signature no longer verifies. */
  foreignKey?: boolean;
}

export interface TestProvider {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** People by login; add or change before a sign-in. */
  identities: Map<string, TestIdentity>;
  /** The `amr` the next sign-ins carry in their ID token. */
  amr: string[];
  /** Set to alter the next ID tokens (wrong audience, expired, other nonce, other key); null for honest tokens. */
  tamper: IdTokenTamper | null;
  /**
   * Behave like a provider that ignores `prompt=login` and `max_age`: both are dropped from authorization requests,
   * so a browser with a session at the provider is sent back without signing in again (its ID token carries the
   * old `auth_time`: every ID token names it, the client being registered with `require_auth_time`).
   */
  ignoreMaxAge: boolean;
  /** How long ago the next sign-ins at the provider say they happened (their `auth_time`); 0 for now. */
  loginAgeSeconds: number;
  stop(): Promise<void>;
}

interface OidcProvider {
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
  use(middleware: (ctx: { path: string; method: string; body: unknown }, next: () => Promise<void>) => Promise<void>): void;
  interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<{ uid: string; prompt: { name: string } }>;
  interactionFinished(req: IncomingMessage, res: ServerResponse, result: unknown, options?: unknown): Promise<void>;
  Grant: new (init: { clientId: string; accountId: string }) => { addOIDCScope(scope: string): void; save(): Promise<string> };
}
const Provider = ProviderModule as new (issuer: string, configuration: unknown) => OidcProvider;

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

function resign(idToken: string, tamper: IdTokenTamper, key: KeyObject, foreign: KeyObject): string {
  const [header, payload] = idToken.split('.') as [string, string];
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
  const input = `${header}.${b64(tamper.payload ? tamper.payload(claims) : claims)}`;
  return `${input}.${sign('sha256', Buffer.from(input), tamper.foreignKey ? foreign : key).toString('base64url')}`;
}

function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(new URLSearchParams(Buffer.concat(chunks).toString())));
    req.on('error', reject);
  });
}

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * A real OpenID Connect provider (`oidc-provider`) on a port-0 loopback HTTP server, with one confidential
 * client registered for `redirectUris`. Its sign-in page is a form with one field (the login of an identity);
 * consent is implied. Tests can alter the ID token after the provider signed it (`tamper`).
 */
export async function startTestProvider(options: { redirectUris: string[]; clientId?: string; clientSecret?: string }): Promise<TestProvider> {
  const clientId = options.clientId ?? 'docucommit-test';
  const clientSecret = options.clientSecret ?? 'test client secret that is long enough';
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const foreign = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'test-key', alg: 'RS256', use: 'sig' };
  const key = createPrivateKey({ key: jwk as import('node:crypto').JsonWebKey, format: 'jwk' });

  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | null = null;
  const server: Server = createServer((req, res) => {
    if (handler) handler(req, res);
    else res.writeHead(503).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const state: TestProvider = {
    issuer,
    clientId,
    clientSecret,
    identities: new Map(),
    amr: ['pwd'],
    tamper: null,
    ignoreMaxAge: false,
    loginAgeSeconds: 0,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const bySub = (sub: string) => [...state.identities.values()].find((identity) => identity.sub === sub);

  const provider = new Provider(issuer, {
    clients: [
      { client_id: clientId, client_secret: clientSecret, redirect_uris: options.redirectUris, grant_types: ['authorization_code'], response_types: ['code'], require_auth_time: true },
    ],
    jwks: { keys: [jwk] },
    cookies: { keys: ['test provider cookie key'] },
    claims: { openid: ['sub', 'amr'], email: ['email', 'email_verified'], profile: ['name', 'groups'] },
    // The claims of the requested scopes go into the ID token (as Okta, Entra and Google do for email).
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: false } },
    pkce: { required: () => true },
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    // First-party client: consent is implied for the scopes asked.
    async loadExistingGrant(ctx: { oidc: { client: { clientId: string }; session: { accountId: string }; provider: OidcProvider } }) {
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
      grant.addOIDCScope('openid email profile');
      await grant.save();
      return grant;
    },
    async findAccount(_ctx: unknown, sub: string) {
      const identity = bySub(sub);
      if (!identity) return undefined;
      return {
        accountId: sub,
        async claims() {
          const current = bySub(sub) ?? identity;
          return { sub, email: current.email, email_verified: current.email_verified ?? true, name: current.name ?? current.email, groups: current.groups ?? [] };
        },
      };
    },
  });
  provider.use(async (ctx, next) => {
    await next();
    const body = ctx.body as { id_token?: string } | undefined;
    if (ctx.method === 'POST' && ctx.path === '/token' && state.tamper && body && typeof body.id_token === 'string') {
      body.id_token = resign(body.id_token, state.tamper, key, foreign);
    }
  });
  const oidcHandler = provider.callback();

  handler = (req, res) => {
    if (state.ignoreMaxAge && (req.url ?? '').startsWith('/auth?')) {
      const url = new URL(req.url!, issuer);
      url.searchParams.delete('prompt');
      url.searchParams.delete('max_age');
      req.url = `${url.pathname}${url.search}`;
    }
    const match = /^\/interaction\/([A-Za-z0-9_-]+)(\/login)?$/.exec((req.url ?? '').split('?')[0]!);
    if (!match) return oidcHandler(req, res);
    void (async () => {
      try {
        const details = await provider.interactionDetails(req, res);
        if (req.method === 'POST' && match[2]) {
          const login = (await readForm(req)).get('login') ?? '';
          const identity = state.identities.get(login);
          if (!identity) {
            res.writeHead(200, { 'content-type': 'text/html' }).end(page(details.uid, 'Unknown login.'));
            return;
          }
          const ts = Math.floor(Date.now() / 1000) - state.loginAgeSeconds;
          await provider.interactionFinished(req, res, { login: { accountId: identity.sub, amr: state.amr, ts } }, { mergeWithLastSubmission: false });
          return;
        }
        res.writeHead(200, { 'content-type': 'text/html' }).end(page(details.uid, null));
      } catch (error) {
        res.writeHead(400, { 'content-type': 'text/plain' }).end(String(error));
      }
    })();
  };
  return state;
}

function page(uid: string, error: string | null): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Test identity provider</title></head><body>
<h1>Test identity provider</h1>${error ? `<p role="alert">${escape(error)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}/login"><label>Login <input name="login" autofocus></label>
<button type="submit">Sign in to the test provider</button></form></body></html>`;
}

/** A tiny cookie jar for following the provider's redirects with fetch. */
export class CookieJar {
  private readonly cookies = new Map<string, string>();
  store(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const at = pair.indexOf('=');
      if (at > 0) this.cookies.set(pair.slice(0, at).trim(), pair.slice(at + 1).trim());
    }
  }
  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

/**
 * Act as the browser at the provider: open the authorization URL, sign in as `login` (when the provider asks),
 * follow redirects until the provider sends the browser back to the redirect URI. Returns that URL (code, state,
 * iss). Pass a `jar` to keep the browser's session at the provider from one call to the next.
 */
export async function signInAtProvider(authorizationUrl: string, login: string, redirectUri: string, jar = new CookieJar()): Promise<URL> {
  let url = authorizationUrl;
  let form: URLSearchParams | null = null;
  for (let hop = 0; hop < 10; hop++) {
    const response = await fetch(url, {
      method: form ? 'POST' : 'GET',
      redirect: 'manual',
      headers: { cookie: jar.header(), ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
      ...(form ? { body: form.toString() } : {}),
    });
    jar.store(response);
    form = null;
    const location = response.headers.get('location');
    if (location) {
      const next = new URL(location, url);
      if (`${next.origin}${next.pathname}` === new URL(redirectUri).href) return next;
      url = next.href;
      continue;
    }
    const html = await response.text();
    const action = /<form method="post" action="([^"]+)"/.exec(html);
    if (!action) throw new Error(`the provider answered ${response.status} without a form: ${html.slice(0, 300)}`);
    url = new URL(action[1]!, url).href;
    form = new URLSearchParams({ login });
  }
  throw new Error('too many redirects at the provider');
}
