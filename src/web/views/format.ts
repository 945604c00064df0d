import type { Classification } from '../../content/types.ts';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** `2026-05-15` → `May 15, 2026`; anything that is not an ISO date is shown as written. */
export function formatDate(value: string): string {
  const m = ISO_DATE.exec(value);
  if (!m) return value;
  const month = MONTHS[Number(m[2]) - 1];
  if (!month) return value;
  return `${month} ${Number(m[3])}, ${m[1]}`;
}

/** The value for `<time datetime>`, only when the text is an ISO date. */
export function isoDate(value: string): string | undefined {
  return ISO_DATE.test(value) ? value : undefined;
}

export const CLASSIFICATION_LABELS: Record<Classification, string> = {
  public: 'Public',
  internal: 'Internal',
  confidential: 'Confidential',
  restricted: 'Restricted',
};

export const CLASSIFICATION_HINTS: Record<Classification, string> = {
  public: 'Anyone may read this page, including people outside the organization.',
  internal: 'Every member of the organization may read this page.',
  confidential: 'Managers and people with an access grant may read this page. Every read is audited.',
  restricted: 'Administrators and people with a two-person-approved grant may read this page. Every read is audited.',
};

export function plural(count: number, one: string, many: string): string {
  return `${count} ${count === 1 ? one : many}`;
}
