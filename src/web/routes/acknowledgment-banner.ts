import type { FastifyRequest } from 'fastify';
import type { Acknowledgments } from '../../evidence/acknowledgments.ts';
import { sessionCsrfToken } from '../csrf.ts';
import type { ShownDocument } from '../reading-pages.ts';
import { projectUrl } from '../urls.ts';
import { renderAckBanner } from '../views/acknowledgments.tsx';
import { redlineHref } from './acknowledgments.ts';

/**
 * The banner of a document page for the signed-in reader: "Read and acknowledge — due …" with the button, or a
 * quiet note that they did; null when the document asks nothing of them (or the count is unavailable: the page
 * is served without it, the organization's list still shows the task).
 */
export async function acknowledgmentBanner(
  request: FastifyRequest,
  acknowledgments: Acknowledgments,
  shown: ShownDocument,
  secret: Buffer,
): Promise<string | null> {
  const actor = request.actor;
  if (actor.kind !== 'user' || !request.session || actor.via) return null;
  let task;
  try {
    task = await acknowledgments.taskFor(actor, shown.project, shown.path);
  } catch (error) {
    request.log.error({ err: error, requestId: request.id }, 'acknowledgment banner unavailable');
    return null;
  }
  if (!task) return null;
  return renderAckBanner({
    status: task.status,
    dueAt: task.dueAt,
    overdue: task.overdue,
    action: `${projectUrl(shown.project)}-/acknowledge`,
    path: shown.path,
    // the version on the page: acknowledging it while a newer one is recorded answers 409 (acknowledgments.ts)
    blobId: shown.blobId,
    csrfToken: sessionCsrfToken(secret, request.session.idHash),
    redlineHref: redlineHref(task),
    lastAcknowledgedAt: task.lastAcknowledged?.at ?? null,
  });
}
