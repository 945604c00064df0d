import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Webhook signatures: HMAC-SHA256 with the endpoint's secret over `timestamp + "." + body`, sent as
 * `DocuCommit-Signature: t=<unix seconds>,v1=<hex>`. A receiver recomputes it over the raw body, compares in
 * constant time and refuses a timestamp too far from its own clock, so a captured request cannot be replayed
 * later. docs/webhooks.md shows the same verifier for receivers.
 */

export const SIGNATURE_HEADER = 'DocuCommit-Signature';
/** How far a timestamp may be from the receiver's clock (seconds) by default. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

/** A new endpoint secret: `whsec_` and 32 random bytes (base64url). The HMAC key is the whole string's UTF-8. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64url')}`;
}

/** The hex HMAC-SHA256 of `timestamp.body` under `secret`. */
export function signaturePayload(secret: string, timestamp: number, body: string | Buffer): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
}

/** The header value for a body sent at `timestamp` (unix seconds). */
export function signatureHeader(secret: string, timestamp: number, body: string | Buffer): string {
  return `t=${timestamp},v1=${signaturePayload(secret, timestamp, body)}`;
}

/**
 * Does `header` sign `body` with `secret`, at a timestamp within `toleranceSeconds` of `nowSeconds`?
 * Several `v1=` entries are accepted (any one matching suffices); anything malformed is false.
 */
export function verifyWebhookSignature(input: {
  secret: string;
  header: string | undefined;
  body: string | Buffer;
  nowSeconds?: number;
  toleranceSeconds?: number;
}): boolean {
  const { secret, header, body } = input;
  if (typeof header !== 'string' || header.length > 2000) return false;
  let timestamp: number | null = null;
  const signatures: string[] = [];
  for (const part of header.split(',')) {
    const at = part.indexOf('=');
    if (at < 0) return false;
    const key = part.slice(0, at).trim();
    const value = part.slice(at + 1).trim();
    if (key === 't') {
      if (!/^\d{1,12}$/.test(value)) return false;
      timestamp = Number(value);
    } else if (key === 'v1') {
      if (/^[0-9a-f]{64}$/.test(value)) signatures.push(value);
    }
  }
  if (timestamp === null || signatures.length === 0) return false;
  const now = input.nowSeconds ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - timestamp) > (input.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS)) return false;
  const expected = Buffer.from(signaturePayload(secret, timestamp, body), 'hex');
  return signatures.some((s) => timingSafeEqual(Buffer.from(s, 'hex'), expected));
}
