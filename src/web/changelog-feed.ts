/**
 * The Atom feed (RFC 4287) of an organization's public changelog: the newest page of the trust center's changes.
 * Every text and attribute is XML-escaped here; ids are `tag:` URIs (RFC 4151) that never change with the host.
 */
import { escapeHtml } from '../content/escape-html.ts';
import type { TrustCenterPage } from '../projects/trust-center.ts';
import { documentUrl } from './urls.ts';
import { changeHeadline, changelogFeedUrl, publicRedlineUrl, trustCenterUrl } from './views/trust-center.tsx';

/**
 * Text for XML content and attribute values: the one escaper (its `&quot;` and `&#39;` are XML as well), after
 * dropping the characters XML 1.0 forbids.
 */
export function xmlEscape(value: string): string {
  return escapeHtml(value.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, ''));
}

const tagId = (...parts: string[]) => `tag:docucommit,2026:${parts.map((p) => encodeURIComponent(p)).join('/')}`;

/** The feed's XML. `base`: the site's public address (absolute links), or '' for links relative to the feed. */
export function changelogAtom(page: TrustCenterPage, base: string): string {
  const org = page.org;
  const link = (path: string) => xmlEscape(`${base}${path}`);
  const updated = (page.newest ?? new Date(0)).toISOString();
  const entries = page.changes.map((change) => {
    const headline = changeHeadline(change);
    const document = documentUrl({ orgSlug: org.slug, slug: change.project.slug }, change.path);
    return [
      '  <entry>',
      `    <id>${xmlEscape(tagId(org.slug, change.project.slug, change.commit, change.path))}</id>`,
      `    <title>${xmlEscape(`${change.title}: ${headline}`)}</title>`,
      `    <updated>${change.at.toISOString()}</updated>`,
      `    <link rel="alternate" type="text/html" href="${link(publicRedlineUrl(org.slug, change.project.slug, change.commit, change.path))}"/>`,
      `    <link rel="related" type="text/html" href="${link(document)}"/>`,
      `    <summary>${xmlEscape(`${headline} — ${change.title} (${change.project.name})`)}</summary>`,
      '  </entry>',
    ].join('\n');
  });
  return [
    '<?xml version="1.0" encoding="utf-8"?>',
    '<feed xmlns="http://www.w3.org/2005/Atom">',
    `  <id>${xmlEscape(tagId(org.slug, 'changelog'))}</id>`,
    `  <title>${xmlEscape(`${org.name} Trust Center: changelog`)}</title>`,
    `  <updated>${updated}</updated>`,
    `  <author><name>${xmlEscape(org.name)}</name></author>`,
    `  <link rel="self" type="application/atom+xml" href="${link(changelogFeedUrl(org.slug))}"/>`,
    `  <link rel="alternate" type="text/html" href="${link(trustCenterUrl(org.slug))}"/>`,
    ...entries,
    '</feed>',
    '',
  ].join('\n');
}
