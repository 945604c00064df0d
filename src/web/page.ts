import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Session } from '../auth/sessions.ts';
import { sessionCsrfToken } from './csrf.ts';
import { PageCache } from './page-cache.ts';
import { renderPage } from './views/index.ts';
import { renderText } from './views/render.ts';
import type { PageFrame } from './views/types.ts';
import type { TrustedHtml } from '../content/trusted-html.ts';

/**
 * The page frame (head, top bar, `<main>`) as a template compiled once from `renderPage`: the views render it
 * with marker values, and each request only fills in its title, user and CSRF token (escaped exactly as Preact
 * escapes them) around the already encoded body. No per-request Preact render, no re-encoding of the body.
 */
type Slot = 'title' | 'name' | 'email' | 'csrf' | 'waiting' | 'waitingHref' | 'acks' | 'acksHref' | 'body';

const MARKERS: Record<Slot, string> = {
  title: '\uE000title\uE000',
  waiting: '\uE000waiting\uE000',
  waitingHref: '\uE000waitingHref\uE000',
  acks: '\uE000acks\uE000',
  acksHref: '\uE000acksHref\uE000',
  name: '\uE000name\uE000',
  email: '\uE000email\uE000',
  csrf: '\uE000csrf\uE000',
  body: '\uE000body\uE000',
};

interface FrameTemplate {
  /** Static text and slots before the body, alternating: staticBytes[i], slots[i], staticBytes[i + 1], …; the
   * static text is encoded once (a request encodes only its slot values). */
  staticBytes: Buffer[];
  slots: Exclude<Slot, 'body'>[];
  /** Everything after the body, encoded once. */
  tail: Buffer;
}

function compile(signedIn: boolean, securityNotice = false, waiting = false, acks = false): FrameTemplate {
  const html = renderPage({
    title: MARKERS.title,
    // the body's place in the template: replaced by each page's own body (see framePage and sendPage)
    body: MARKERS.body as TrustedHtml,
    user: signedIn
      ? {
          name: MARKERS.name,
          email: MARKERS.email,
          securityNotice,
          waitingRequests: waiting ? { count: MARKERS.waiting, href: MARKERS.waitingHref } : null,
          openAcknowledgments: acks ? { count: MARKERS.acks, href: MARKERS.acksHref } : null,
        }
      : null,
    csrfToken: signedIn ? MARKERS.csrf : null,
  });
  const pattern = /\uE000(title|name|email|csrf|waiting|waitingHref|acksHref|acks|body)\uE000/g;
  const statics: string[] = [];
  const slots: Exclude<Slot, 'body'>[] = [];
  let last = 0;
  let tail: string | null = null;
  for (const match of html.matchAll(pattern)) {
    const slot = match[1] as Slot;
    if (tail !== null) throw new Error(`page frame: ${slot} after the body cannot be templated`);
    statics.push(html.slice(last, match.index));
    last = match.index + match[0].length;
    if (slot === 'body') tail = '';
    else slots.push(slot);
  }
  if (tail === null) throw new Error('page frame: no body slot');
  return { staticBytes: statics.map((text) => Buffer.from(text, 'utf8')), slots, tail: Buffer.from(html.slice(last), 'utf8') };
}

// Compiled on first use: importing this module renders nothing (the CLI imports it without serving pages).
// Signed-in frames by [security notice][waiting requests][open acknowledgments], each compiled when first needed.
let templates: { signedIn: Map<number, FrameTemplate>; anonymous: FrameTemplate } | null = null;
const frameTemplates = () => (templates ??= { signedIn: new Map<number, FrameTemplate>(), anonymous: compile(false) });
function signedInTemplate(notice: boolean, waiting: boolean, acks = false): FrameTemplate {
  const key = (notice ? 1 : 0) | (waiting ? 2 : 0) | (acks ? 4 : 0);
  const all = frameTemplates().signedIn;
  let template = all.get(key);
  if (!template) {
    template = compile(true, notice, waiting, acks);
    all.set(key, template);
  }
  return template;
}

/**
 * Slot values as the renderer escapes them, encoded: a signed-in page repeats its title, the user's name, email
 * and CSRF token on every view (escaping each through Preact and encoding it showed in the signed-in page's
 * profile). Bounded: emptied when full.
 */
const escapedValues = new Map<string, Buffer>();
const ESCAPED_VALUES_MAX = 10_000;

function escapedBytes(value: string): Buffer {
  let bytes = escapedValues.get(value);
  if (bytes === undefined) {
    bytes = Buffer.from(renderText(value), 'utf8');
    if (escapedValues.size >= ESCAPED_VALUES_MAX) escapedValues.clear();
    escapedValues.set(value, bytes);
  }
  return bytes;
}

/**
 * The page as bytes: the encoded statics with the escaped slot values between them, then the body (one buffer, or
 * its parts: a body with a banner put in its slot) and the tail, copied once into one Buffer (the head's static
 * text is never encoded again).
 */
function pageBytes(template: FrameTemplate, values: Record<Exclude<Slot, 'body'>, string>, body: Buffer | readonly Buffer[]): Buffer {
  const parts: Buffer[] = [template.staticBytes[0]!];
  let length = parts[0]!.length;
  for (let i = 0; i < template.slots.length; i++) {
    const value = escapedBytes(values[template.slots[i]!]);
    const next = template.staticBytes[i + 1]!;
    parts.push(value, next);
    length += value.length + next.length;
  }
  if (Buffer.isBuffer(body)) {
    parts.push(body);
    length += body.length;
  } else {
    for (const part of body) {
      parts.push(part);
      length += part.length;
    }
  }
  parts.push(template.tail);
  return Buffer.concat(parts, length + template.tail.length);
}

/** The full page for a frame, exactly as `renderPage` writes it (tests compare the two). */
export function framePage(frame: PageFrame): Buffer {
  const waiting = frame.user?.waitingRequests ?? null;
  const acks = frame.user?.openAcknowledgments ?? null;
  const template = frame.user ? signedInTemplate(frame.user.securityNotice === true, waiting !== null, acks !== null) : frameTemplates().anonymous;
  return pageBytes(
    template,
    {
      title: frame.title,
      name: frame.user?.name ?? '',
      email: frame.user?.email ?? '',
      csrf: frame.csrfToken ?? '',
      waiting: waiting?.count ?? '',
      waitingHref: waiting?.href ?? '',
      acks: acks?.count ?? '',
      acksHref: acks?.href ?? '',
    },
    Buffer.from(frame.body, 'utf8'),
  );
}

/** Whole anonymous pages (nothing per request in them), by the body's cache key; the title is checked on a hit. */
const anonymousPages = new PageCache<{ title: string; html: Buffer }>(24 * 1024 * 1024, (entry) => entry.html.length);

/** The session's CSRF token, computed once per session object (the session store reuses it while cached). */
const csrfTokens = new WeakMap<Session, string>();

function csrfTokenOf(secret: Buffer, session: Session): string {
  let token = csrfTokens.get(session);
  if (token === undefined) {
    token = sessionCsrfToken(secret, session.idHash);
    csrfTokens.set(session, token);
  }
  return token;
}

/**
 * Wrap a rendered body in the page frame for this request's user and send it. `cacheKey` (a reading page's
 * body cache key) lets an anonymous reader's whole page be cached; signed-in pages are framed per request.
 */
export function sendPage(
  request: FastifyRequest,
  reply: FastifyReply,
  secret: Buffer,
  page: {
    title: string;
    /** The rendered body: HTML, its bytes, or its bytes in parts (copied once, with the frame). */
    body: TrustedHtml | Buffer | readonly Buffer[];
    status?: number;
    cacheKey?: string;
    /** a secret in the address or page */
    noStore?: boolean;
  },
): FastifyReply {
  const session = request.session;
  const frames = frameTemplates();
  // the top bar's dot for new security activity (routes/account.ts sets it), the count of access requests
  // waiting for this user (routes/access-requests.ts sets it) and of documents to acknowledge (routes/acknowledgments.ts)
  const waiting = request.waitingRequests;
  const acks = request.openAcknowledgments;
  const ANONYMOUS = frames.anonymous;
  let html: Buffer;
  if (session) {
    html = pageBytes(
      signedInTemplate(request.securityNotice, waiting !== null, acks !== null),
      {
        title: page.title,
        name: session.actor.name,
        email: session.actor.email,
        csrf: csrfTokenOf(secret, session),
        waiting: waiting?.count ?? '',
        waitingHref: waiting?.href ?? '',
        acks: acks?.count ?? '',
        acksHref: acks?.href ?? '',
      },
      toBuffer(page.body),
    );
  } else {
    const key = page.cacheKey;
    const cached = key === undefined ? undefined : anonymousPages.get(key);
    if (cached !== undefined && cached.title === page.title) {
      html = cached.html;
    } else {
      html = pageBytes(ANONYMOUS, { title: page.title, name: '', email: '', csrf: '', waiting: '', waitingHref: '', acks: '', acksHref: '' }, toBuffer(page.body));
      if (key !== undefined) anonymousPages.set(key, { title: page.title, html });
    }
  }
  // Pages behind sign-in must not stay in shared or browser caches.
  reply.header('cache-control', session || page.noStore ? 'no-store' : 'no-cache');
  return reply.code(page.status ?? 200).type('text/html; charset=utf-8').send(html);
}

function toBuffer(body: TrustedHtml | Buffer | readonly Buffer[]): Buffer | readonly Buffer[] {
  return typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
}
