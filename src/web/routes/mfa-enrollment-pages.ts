import type { FastifyReply, FastifyRequest } from 'fastify';
import QRCode from 'qrcode';
import type { AccountQueries } from '../../auth/account-queries.ts';
import { base32Encode, otpauthUri } from '../../auth/totp.ts';
import { sendPage } from '../page.ts';
import { renderMfaEnrollBody, renderRecoveryCodesBody } from '../views/index.ts';

/** What an enrollment page shows besides the key: where the form goes, and whether an organization forces it. */
export interface EnrollmentView {
  userId: string;
  email: string;
  csrfToken: string;
  action: string;
  next: string | null;
  forced: boolean;
  error: string | null;
}

async function qrFor(uri: string) {
  const qr = QRCode.create(uri, { errorCorrectionLevel: 'M' });
  return { size: qr.modules.size, modules: qr.modules.data };
}

/** Groups of four characters, as authenticator apps display keys. */
const groupSecret = (key: Buffer) => base32Encode(key).match(/.{1,4}/g)!.join(' ');

/** The page that shows the key being enrolled (as a QR code and as text) and asks for a code from it. */
export async function sendEnrollmentPage(
  request: FastifyRequest,
  reply: FastifyReply,
  secret: Buffer,
  queries: AccountQueries,
  view: EnrollmentView,
  status = 200,
) {
  const key = await queries.enrollmentKey(view.userId);
  const uri = otpauthUri(key, view.email);
  const body = renderMfaEnrollBody({
    csrfToken: view.csrfToken,
    action: view.action,
    next: view.next,
    secret: groupSecret(key),
    uri,
    qr: await qrFor(uri),
    error: view.error,
    forced: view.forced,
  });
  return sendPage(request, reply, secret, { title: 'Set up two-step verification', body, status });
}

/** The recovery codes, shown once: after an enrollment, or after new ones replaced the old. */
export function sendRecoveryCodesPage(
  request: FastifyRequest,
  reply: FastifyReply,
  secret: Buffer,
  view: { codes: string[]; continueHref: string; enrolled: boolean },
) {
  const { codes, continueHref, enrolled } = view;
  const body = renderRecoveryCodesBody({
    codes,
    title: enrolled ? 'Two-step verification is on' : 'New recovery codes',
    lead: enrolled
      ? 'If you lose your device, sign in with one of these recovery codes instead of an app code.'
      : 'Your previous recovery codes no longer work.',
    continueHref,
    continueLabel: enrolled ? 'I saved my codes — continue' : 'Back to security settings',
  });
  reply.header('cache-control', 'no-store');
  return sendPage(request, reply, secret, { title: 'Recovery codes', body });
}

/** The message for a wrong enrollment code. */
export const WRONG_ENROLLMENT_CODE = 'That code is not correct. Enter the code your app shows now.';
