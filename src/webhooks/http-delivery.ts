import { lookup as dnsLookup } from 'node:dns/promises';
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { refusedAddressClass } from './address-policy.ts';

/**
 * One POST to a webhook endpoint, safe from request forgery:
 * - http and https only, no credentials in the URL;
 * - the host is resolved here and every address it resolves to is checked (address-policy.ts); the connection
 *   then goes to the address that was checked (the socket's `lookup` answers with it), so a second, different
 *   answer from DNS (rebinding) is never used. An IP literal is checked as it is;
 * - hosts the operator allowlists (WEBHOOK_ALLOWED_HOSTS: e.g. an endpoint on the same network) skip the check,
 *   except cloud metadata addresses, which are never reached;
 * - no redirect is followed (a 3xx is a failed attempt), a fresh connection per attempt, a connect timeout and a
 *   total timeout, and at most `maxResponseBytes` of the answer read.
 * The outcome names an error class, never the response's text.
 */

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Resolves a host name to its addresses (default: the system resolver, like every other connection). */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

export const systemResolver: Resolver = async (hostname) =>
  (await dnsLookup(hostname, { all: true, verbatim: true })).map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));

export interface DeliveryLimits {
  connectTimeoutMs: number;
  totalTimeoutMs: number;
  maxResponseBytes: number;
}

export const DEFAULT_LIMITS: DeliveryLimits = { connectTimeoutMs: 5_000, totalTimeoutMs: 10_000, maxResponseBytes: 64 * 1024 };

export interface SendOptions {
  resolver?: Resolver;
  /** Lower-case hosts (`name` or `name:port`, IPv6 without brackets) whose addresses are not checked. */
  allowedHosts?: ReadonlySet<string>;
  limits?: Partial<DeliveryLimits>;
}

/** What happened to one attempt. `errorClass` is null exactly when the endpoint answered 2xx. */
export interface SendOutcome {
  ok: boolean;
  status: number | null;
  durationMs: number;
  errorClass: string | null;
}

class Refused extends Error {
  constructor(readonly errorClass: string) {
    super(errorClass);
  }
}

/** Whether `host` (as in the URL, lower case) on `port` is allowlisted. */
export function isAllowlisted(allowed: ReadonlySet<string> | undefined, hostname: string, port: string): boolean {
  if (!allowed || allowed.size === 0) return false;
  return allowed.has(hostname) || allowed.has(`${hostname}:${port}`);
}

/**
 * The address to connect to for `url`, checked: throws Refused with the error class otherwise. Exported for the
 * settings form, which refuses an IP literal it would never deliver to.
 */
export async function checkedAddress(url: URL, options: SendOptions): Promise<ResolvedAddress> {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Refused('invalid_url');
  if (url.username || url.password) throw new Refused('invalid_url');
  const hostname = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  const allowlisted = isAllowlisted(options.allowedHosts, hostname, port);
  const judge = (address: string) => {
    const refused = refusedAddressClass(address);
    if (refused === 'metadata' || (refused !== null && !allowlisted)) throw new Refused(`refused_${refused}`);
  };
  const family = isIP(hostname);
  if (family !== 0) {
    judge(hostname);
    return { address: hostname, family: family === 6 ? 6 : 4 };
  }
  let addresses: ResolvedAddress[];
  try {
    addresses = await (options.resolver ?? systemResolver)(hostname);
  } catch {
    throw new Refused('dns');
  }
  if (addresses.length === 0) throw new Refused('dns');
  // every answer is judged: a name with one private address among public ones is refused as a whole
  for (const a of addresses) judge(a.address);
  return addresses[0]!;
}

/** Why an address or URL is refused, or null (for forms: no network access, IP literals only). */
export function literalAddressProblem(url: URL, allowedHosts?: ReadonlySet<string>): string | null {
  const hostname = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (isIP(hostname) === 0) return null;
  const refused = refusedAddressClass(hostname);
  if (refused === null) return null;
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  return refused === 'metadata' || !isAllowlisted(allowedHosts, hostname, port) ? refused : null;
}

/** POST `body` with `headers` to `url` (see the module comment). Never throws. */
export async function sendWebhook(url: string, headers: Record<string, string>, body: string, options: SendOptions = {}): Promise<SendOutcome> {
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return { ok: false, status: null, durationMs: elapsed(), errorClass: 'invalid_url' };
  }
  let address: ResolvedAddress;
  try {
    address = await withTimeout(checkedAddress(target, options), limits.connectTimeoutMs, 'dns_timeout');
  } catch (error) {
    return { ok: false, status: null, durationMs: elapsed(), errorClass: error instanceof Refused ? error.errorClass : 'dns' };
  }
  // The socket connects to the address checked above, whatever DNS would answer now.
  const pinned: LookupFunction = (_hostname, opts, callback) => {
    if ((opts as { all?: boolean }).all) (callback as unknown as (e: null, a: ResolvedAddress[]) => void)(null, [address]);
    else callback(null, address.address, address.family);
  };
  return new Promise<SendOutcome>((resolve) => {
    let settled = false;
    let req: ClientRequest | null = null;
    const finish = (status: number | null, errorClass: string | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(total);
      clearTimeout(connect);
      req?.destroy();
      resolve({ ok: errorClass === null, status, durationMs: elapsed(), errorClass });
    };
    const total = setTimeout(() => finish(null, 'timeout'), limits.totalTimeoutMs);
    const connect = setTimeout(() => finish(null, 'connect_timeout'), limits.connectTimeoutMs);
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    try {
      req = send(target, {
        method: 'POST',
        agent: false,
        lookup: pinned,
        headers: { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) },
      });
    } catch {
      finish(null, 'invalid_url');
      return;
    }
    req.on('socket', (socket) => {
      if (!socket.connecting) clearTimeout(connect);
      else socket.once('connect', () => clearTimeout(connect));
    });
    req.on('response', (response: IncomingMessage) => {
      const status = response.statusCode ?? 0;
      let read = 0;
      const done = () => finish(status, status >= 200 && status < 300 ? null : status >= 300 && status < 400 ? 'redirect_not_followed' : 'http_status');
      response.on('data', (chunk: Buffer) => {
        read += chunk.length;
        // the answer matters only for its status: reading stops at the limit
        if (read >= limits.maxResponseBytes) done();
      });
      response.on('end', done);
      response.on('error', done);
      response.on('aborted', done);
    });
    req.on('error', (error: NodeJS.ErrnoException) => finish(null, networkErrorClass(error)));
    req.end(body);
  });
}

function networkErrorClass(error: NodeJS.ErrnoException): string {
  const code = error.code ?? '';
  if (code === 'ECONNREFUSED') return 'connection_refused';
  if (code === 'ECONNRESET' || code === 'EPIPE') return 'connection_reset';
  if (code === 'ETIMEDOUT') return 'connect_timeout';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'dns';
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return 'unreachable';
  if (/CERT|TLS|SSL|SELF_SIGNED/.test(code) || /certificate|TLS|SSL/i.test(error.message)) return 'tls';
  return 'network';
}

function withTimeout<T>(work: Promise<T>, ms: number, errorClass: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    work,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Refused(errorClass)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
