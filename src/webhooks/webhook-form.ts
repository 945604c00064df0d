import { InvalidInputError } from '../errors.ts';
import { isWebhookEvent, WEBHOOK_EVENTS, type WebhookEventType } from './events.ts';
import { literalAddressProblem } from './http-delivery.ts';

/** What the endpoint form sends, validated. */
export interface WebhookInput {
  url: string;
  events: WebhookEventType[];
  active: boolean;
}

export type WebhookField = 'url' | 'events';

/** The form was read but some values are not acceptable: one message per field. */
export class WebhookValidationError extends InvalidInputError {
  constructor(readonly fieldErrors: Partial<Record<WebhookField, string>>) {
    super('Some webhook settings are not valid. Correct the fields marked below.');
  }
}

/** The submitted form as the page shows it again next to errors. */
export interface WebhookFormValues {
  url: string;
  events: string[];
  active: boolean;
}

const MAX_URL = 2000;

export function webhookFormValues(body: unknown): WebhookFormValues {
  const source = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const url = typeof source.url === 'string' ? source.url.slice(0, MAX_URL + 1) : '';
  const raw = source.events;
  const events = (Array.isArray(raw) ? raw : typeof raw === 'string' ? [raw] : []).filter((e): e is string => typeof e === 'string').slice(0, 50);
  return { url, events, active: source.active === 'on' };
}

/** Why a URL is not a webhook endpoint, or null. */
export function webhookUrlProblem(text: string, allowedHosts?: ReadonlySet<string>): string | null {
  if (text.length === 0) return 'Enter the endpoint’s URL, like https://hooks.example.com/docucommit.';
  if (text.length > MAX_URL) return `The URL is at most ${MAX_URL} characters.`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'Enter a full URL, like https://hooks.example.com/docucommit.';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'The URL must start with https:// (or http://).';
  if (url.username || url.password) return 'Leave credentials out of the URL: receivers check the signature instead.';
  if (url.hash) return 'The URL has no #fragment.';
  const refused = literalAddressProblem(url, allowedHosts);
  if (refused) return `Webhooks are not sent to ${refused.replace('_', '-')} addresses. Use the endpoint’s public address.`;
  return null;
}

/** Validate the endpoint form; throws WebhookValidationError with one message per wrong field. */
export function parseWebhookForm(body: unknown, allowedHosts?: ReadonlySet<string>): WebhookInput {
  const values = webhookFormValues(body);
  const errors: Partial<Record<WebhookField, string>> = {};
  const url = values.url.trim();
  const urlError = webhookUrlProblem(url, allowedHosts);
  if (urlError) errors.url = urlError;
  const unknown = values.events.find((e) => !isWebhookEvent(e));
  if (unknown !== undefined) errors.events = 'Choose events from the list.';
  else if (values.events.length === 0) errors.events = 'Choose at least one event.';
  if (Object.keys(errors).length > 0) throw new WebhookValidationError(errors);
  const chosen = new Set(values.events);
  return { url, events: WEBHOOK_EVENTS.filter((e) => chosen.has(e)), active: values.active };
}
