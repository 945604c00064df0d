import { createHmac, timingSafeEqual } from 'node:crypto';
import { InvalidCursorError } from '../../errors.ts';

/**
 * Opaque, tamper-evident cursors of the REST API's lists. A cursor is `<payload>.<mac>`: the position (an
 * offset, a page or an audit sequence number) in base64url JSON, and an HMAC (the server's secret) over it and
 * over what the list is: the operation, the token's owner and the filters. So a cursor cannot be forged or
 * altered, nor carried to another list, another person or other filters: each of those is `invalid_cursor`.
 * A cursor does not expire; it names a position, and what lies there is decided again on every request.
 */
export class Cursors {
  constructor(private readonly secret: Buffer) {}

  /** A cursor for `position` in the list `binding` names. */
  encode(binding: CursorBinding, position: string | number): string {
    const payload = Buffer.from(JSON.stringify({ p: position }), 'utf8').toString('base64url');
    return `${payload}.${this.mac(binding, payload)}`;
  }

  /** The position of a cursor handed out for `binding`, or InvalidCursorError. */
  decode(binding: CursorBinding, cursor: string): string | number {
    const dot = cursor.indexOf('.');
    if (dot <= 0 || cursor.length > 1000) throw new InvalidCursorError();
    const payload = cursor.slice(0, dot);
    const given = Buffer.from(cursor.slice(dot + 1), 'utf8');
    const expected = Buffer.from(this.mac(binding, payload), 'utf8');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new InvalidCursorError();
    try {
      const parsed = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { p?: unknown };
      if (typeof parsed.p === 'string' || (typeof parsed.p === 'number' && Number.isSafeInteger(parsed.p) && parsed.p >= 0)) return parsed.p;
    } catch {
      // a valid MAC over something that is not ours cannot happen; answered alike all the same
    }
    throw new InvalidCursorError();
  }

  /** An offset into a list (0 without a cursor). */
  offset(binding: CursorBinding, cursor: string | undefined): number {
    if (cursor === undefined) return 0;
    const position = this.decode(binding, cursor);
    if (typeof position !== 'number') throw new InvalidCursorError();
    return position;
  }

  private mac(binding: CursorBinding, payload: string): string {
    const bound = JSON.stringify([binding.operation, binding.userId, binding.filters ?? {}]);
    return createHmac('sha256', this.secret).update(`api-cursor\0${bound}\0${payload}`).digest('base64url').slice(0, 32);
  }
}

/** What a cursor belongs to: the list (operation id), whose it is, and the filters it was made with. */
export interface CursorBinding {
  operation: string;
  userId: string;
  filters?: Record<string, unknown>;
}

/** One page of an in-memory list from `offset`, and the offset of the next page (null at the end). */
export function pageOf<T>(items: readonly T[], offset: number, limit: number): { items: T[]; next: number | null } {
  const page = items.slice(offset, offset + limit);
  return { items: page, next: offset + limit < items.length ? offset + limit : null };
}
