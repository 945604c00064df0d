/**
 * Deterministic corpus generator for the benchmark: a policy handbook of N Markdown documents with YAML front
 * matter, spread over ~100 folders (some nested, each with an index.md), 2–8 KB per file.
 *
 * Same `{ documents, seed }` → byte-identical files (a seeded PRNG, never Math.random), so figures from two runs
 * or two machines measure the same input.
 *
 *   node --import tsx bench/corpus.ts OUT_DIR [--documents N] [--seed S]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, posix, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface CorpusOptions {
  /** Total Markdown files, index.md files included. Default 10,000. */
  documents?: number;
  /** PRNG seed. Default 1. */
  seed?: number;
}

export interface KnownDocument {
  /** Repository path, e.g. `security/access-control/password-policy.md`. */
  path: string;
  /** Front-matter title (plain ASCII: letters, digits, spaces, hyphens; needs no HTML escaping). */
  title: string;
}

export interface Corpus {
  dir: string;
  /** Every file written, as repository paths (`/`-separated, relative to `dir`), sorted. */
  paths: string[];
  /** A document classified `public` (not an index page): readable anonymously. */
  publicDocument: KnownDocument;
  /** A document classified `internal` (not an index page): readable by any member. */
  internalDocument: KnownDocument;
  folders: number;
  bytes: number;
  /** Counts per classification. */
  classifications: Record<Classification, number>;
  /** Relative links written, and how many of them point at files that do not exist. */
  links: number;
  brokenLinks: number;
}

type Classification = 'public' | 'internal' | 'confidential' | 'restricted';

// ---------------------------------------------------------------------------------------------------------------
// PRNG (sfc32 seeded through splitmix32): fast, good enough, and identical everywhere.

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    let s = seed >>> 0;
    const next = () => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    for (let i = 0; i < 12; i++) this.next();
  }

  /** Uniform in [0, 1). */
  next(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t / 4294967296;
  }

  /** Integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** `count` distinct items (order random). */
  sample<T>(items: readonly T[], count: number): T[] {
    const copy = [...items];
    const out: T[] = [];
    while (out.length < count && copy.length > 0) out.push(copy.splice(Math.floor(this.next() * copy.length), 1)[0]!);
    return out;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Vocabulary.

const TOP_SECTIONS = [
  'policies', 'security', 'people', 'finance', 'engineering', 'legal', 'operations', 'it',
  'facilities', 'compliance', 'privacy', 'procurement', 'sales', 'news',
];
const SUB_SECTIONS = [
  'access-control', 'incident-response', 'onboarding', 'offboarding', 'benefits', 'travel', 'expenses',
  'payroll', 'vendors', 'contracts', 'data-retention', 'backups', 'networking', 'endpoints', 'cloud',
  'code-review', 'release-process', 'on-call', 'architecture', 'standards', 'training', 'audits', 'risk',
  'business-continuity', 'physical-security', 'health-and-safety', 'recruiting', 'performance', 'leave',
  'remote-work', 'equipment', 'licensing', 'records', 'gdpr', 'soc2', 'iso27001', 'hipaa', 'cryptography',
  'identity', 'logging', 'monitoring', 'change-management', 'asset-management', 'suppliers', 'pricing',
  'customer-data', 'support', 'escalations', 'quality', 'workplace', 'ethics', 'whistleblowing', 'templates',
  'archive', 'guides', 'faq', 'forms', 'regional', 'emea', 'americas', 'apac',
];
const TITLE_SUBJECTS = [
  'Password', 'Access Review', 'Incident', 'Data Classification', 'Acceptable Use', 'Remote Access', 'Backup',
  'Encryption', 'Key Management', 'Vendor Risk', 'Travel', 'Expense', 'Procurement', 'Code Review',
  'Deployment', 'On-Call', 'Vulnerability', 'Patch Management', 'Logging', 'Retention', 'Privacy Notice',
  'Consent', 'Subject Access Request', 'Onboarding', 'Offboarding', 'Laptop', 'Mobile Device', 'Visitor',
  'Badge', 'Clean Desk', 'Change Approval', 'Asset Inventory', 'Business Continuity', 'Disaster Recovery',
  'Training', 'Parental Leave', 'Sick Leave', 'Overtime', 'Recruitment', 'Reference Check', 'Conflict of Interest',
  'Gift and Hospitality', 'Anti-Bribery', 'Whistleblowing', 'Records Management', 'Email', 'Social Media',
  'Third-Party Access', 'Firewall', 'Network Segmentation', 'Secrets Handling', 'Penetration Testing',
  'Customer Data', 'Support Escalation', 'Pricing Approval', 'Contract Signature', 'Audit Evidence',
];
const TITLE_KINDS = [
  'Policy', 'Standard', 'Procedure', 'Guideline', 'Checklist', 'Runbook', 'Handbook', 'Playbook', 'Overview',
  'Requirements', 'FAQ', 'Template', 'Process', 'Controls',
];
const TAGS = [
  'security', 'privacy', 'gdpr', 'soc2', 'iso27001', 'hr', 'finance', 'legal', 'engineering', 'operations',
  'it', 'onboarding', 'compliance', 'risk', 'audit', 'vendor', 'travel', 'benefits', 'incident', 'access',
  'encryption', 'backup', 'retention', 'training', 'remote', 'devices', 'network', 'cloud', 'release',
  'on-call', 'ethics', 'procurement', 'contracts', 'customers', 'support', 'facilities', 'safety', 'leave',
  'payroll', 'announcement',
];
const OWNERS = [
  'security@example.com', 'people-ops@example.com', 'finance@example.com', 'legal@example.com',
  'platform@example.com', 'it-helpdesk@example.com', 'compliance@example.com', 'privacy@example.com',
  'facilities@example.com', 'procurement@example.com',
];
const ACTORS = [
  'employees', 'contractors', 'managers', 'the security team', 'system owners', 'data owners', 'team leads',
  'the service desk', 'approvers', 'administrators', 'new starters', 'department heads', 'the on-call engineer',
  'the privacy officer', 'the finance controller', 'suppliers', 'visitors', 'auditors',
];
const VERBS = [
  'must review', 'should document', 'are responsible for', 'must not share', 'shall approve', 'may request',
  'must report', 'should rotate', 'must encrypt', 'are expected to verify', 'must retain', 'should escalate',
  'must complete', 'shall record', 'may delegate', 'must revoke', 'should test', 'must protect',
];
const OBJECTS = [
  'access rights', 'customer records', 'production credentials', 'incident reports', 'expense claims',
  'vendor contracts', 'backup media', 'encryption keys', 'audit evidence', 'change requests', 'personal data',
  'laptops and mobile devices', 'log files', 'travel bookings', 'security exceptions', 'training records',
  'service accounts', 'purchase orders', 'deployment pipelines', 'visitor badges', 'retention schedules',
  'risk assessments', 'support tickets', 'firewall rules',
];
const QUALIFIERS = [
  'at least once per quarter', 'within 24 hours', 'before the end of each month', 'without undue delay',
  'as part of the annual review', 'whenever a role changes', 'before access is granted', 'in the central register',
  'using the approved tooling', 'with a second approver', 'unless an exception is recorded',
  'according to the retention schedule', 'on the first working day', 'after every significant change',
  'in line with applicable law', 'through the service desk',
];
const CONNECTORS = [
  'In addition,', 'Where practical,', 'For the avoidance of doubt,', 'As a rule,', 'In exceptional cases,',
  'To reduce risk,', 'Unless stated otherwise,', 'Where this is not possible,', 'In every case,', 'Similarly,',
];
const HEADINGS = [
  'Purpose', 'Scope', 'Roles and responsibilities', 'Requirements', 'Procedure', 'Exceptions', 'Enforcement',
  'Definitions', 'Related documents', 'Review and approval', 'Background', 'Responsibilities of managers',
  'Reporting', 'Records', 'Training', 'Monitoring', 'Escalation path', 'Frequently asked questions',
  'Implementation notes', 'Revision history', 'Controls', 'Evidence', 'Timelines',
];
const SUBHEADINGS = [
  'Employees', 'Contractors', 'Managers', 'Systems in scope', 'Out of scope', 'Approval', 'Step by step',
  'When to escalate', 'Emergency access', 'Storage', 'Deletion', 'Tooling', 'Examples', 'Checklist',
  'Regional differences', 'Metrics', 'Notifications',
];
const CODE_TOKENS = [
  'MFA', 'SSO', 'sudo', 'ssh-keygen -t ed25519', 'config.yaml', 'RBAC', 'TLS 1.2', 'AES-256', '/etc/hosts',
  'git tag -s', 'kubectl', 'PR-1234', 'ACCESS_REVIEW', 'retention_days: 365', 'SIEM', 'VPN', 'OKTA-GROUP',
  'terraform plan', 'S3', 'P1', 'SEV-2', 'invoice.pdf', 'gpg --verify',
];
const WEEKDAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday'];
const NEWS_TOPICS = [
  'New Travel Portal', 'Quarterly Access Review', 'Office Move', 'Security Awareness Month', 'Updated Expense Limits',
  'Holiday Schedule', 'Benefits Enrolment', 'Phishing Exercise Results', 'New Hire Orientation', 'SOC 2 Audit Completed',
  'Laptop Refresh', 'Password Manager Rollout', 'Town Hall Summary', 'Privacy Training Due', 'VPN Maintenance',
];

// ---------------------------------------------------------------------------------------------------------------
// Plan: folders, then file paths, then content (links need every path to exist in the plan first).

interface Folder {
  path: string;
  depth: number;
  isNews: boolean;
  children: number;
}

export interface PlannedDoc {
  path: string;
  folder: string;
  title: string;
  isIndex: boolean;
  isNews: boolean;
  date: string | null;
  classification: Classification;
  sort: number | null;
}

const capitalize = (word: string) => word.charAt(0).toUpperCase() + word.slice(1);
const humanize = (name: string) => name.split('-').map(capitalize).join(' ').replace(/\bIt\b/, 'IT');
const slugify = (title: string) => title.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
const pad = (n: number) => String(n).padStart(2, '0');

function planFolders(rng: Rng, count: number): Folder[] {
  const top = TOP_SECTIONS.slice(0, Math.min(TOP_SECTIONS.length, Math.max(1, Math.ceil(count / 7))));
  const folders: Folder[] = top.map((name) => ({ path: name, depth: 1, isNews: name === 'news', children: 0 }));
  const taken = new Set(folders.map((f) => f.path));
  // News gets year folders; the rest get topic sub-sections, down to depth 3.
  const news = folders.find((f) => f.isNews);
  if (news) {
    for (const year of ['2023', '2024', '2025']) {
      if (folders.length >= count) break;
      folders.push({ path: `news/${year}`, depth: 2, isNews: true, children: 0 });
      taken.add(`news/${year}`);
    }
  }
  let guard = 0;
  while (folders.length < count && guard++ < count * 50) {
    const candidates = folders.filter((f) => !f.isNews && f.depth < 3 && f.children < 8);
    const parent = rng.chance(0.7) ? rng.pick(candidates.filter((f) => f.depth === 1)) ?? rng.pick(candidates) : rng.pick(candidates);
    if (!parent) break;
    const path = `${parent.path}/${rng.pick(SUB_SECTIONS)}`;
    if (taken.has(path)) continue;
    taken.add(path);
    parent.children++;
    folders.push({ path, depth: parent.depth + 1, isNews: false, children: 0 });
  }
  return folders;
}

function pickClassification(rng: Rng): Classification {
  const r = rng.next();
  if (r < 0.1) return 'public';
  if (r < 0.8) return 'internal';
  if (r < 0.95) return 'confidential';
  return 'restricted';
}

export function planDocuments(rng: Rng, documents: number): { folders: Folder[]; docs: PlannedDoc[] } {
  const folderCount = Math.max(1, Math.min(100, Math.floor((documents - 1) / 10)));
  const folders = planFolders(rng, folderCount);
  const docs: PlannedDoc[] = [];
  const taken = new Set<string>();
  const add = (doc: PlannedDoc) => {
    taken.add(doc.path);
    docs.push(doc);
  };

  // Project home and one index.md per folder. Index pages are internal (a section's landing page), except the
  // home and a few top-level sections, which are public (the trust-page part of the site).
  add({ path: 'index.md', folder: '', title: 'Company Handbook', isIndex: true, isNews: false, date: null, classification: 'public', sort: null });
  for (const folder of folders) {
    if (docs.length >= documents) break;
    const name = folder.path.split('/').pop()!;
    const classification: Classification = folder.depth === 1 && rng.chance(0.3) ? 'public' : 'internal';
    add({
      path: `${folder.path}/index.md`,
      folder: folder.path,
      title: /^\d{4}$/.test(name) ? `News ${name}` : humanize(name),
      isIndex: true,
      isNews: folder.isNews,
      date: null,
      classification,
      sort: rng.chance(0.5) ? rng.int(1, 100) : null,
    });
  }

  // Documents: folders weighted so that some sections are much bigger than others; ~8% are dated news posts.
  const weights = folders.map(() => 0.2 + rng.next() * rng.next() * 3);
  const total = weights.reduce((a, b) => a + b, 0);
  const newsFolders = folders.filter((f) => f.isNews && f.depth === 2);
  while (docs.length < documents) {
    const isNews = newsFolders.length > 0 && rng.chance(0.08);
    let folder: Folder;
    if (isNews) {
      folder = rng.pick(newsFolders);
    } else {
      let r = rng.next() * total;
      let i = 0;
      while (i < folders.length - 1 && (r -= weights[i]!) > 0) i++;
      folder = folders[i]!;
      if (folder.isNews) continue;
    }
    let title: string;
    let date: string | null = null;
    let base: string;
    if (isNews) {
      const year = folder.path.split('/').pop()!;
      date = `${year}-${pad(rng.int(1, 12))}-${pad(rng.int(1, 28))}`;
      title = `${rng.pick(NEWS_TOPICS)} ${rng.pick(['Announced', 'Update', 'Reminder', 'Recap', 'Starts Soon'])}`;
      base = `${date}-${slugify(title)}`;
    } else {
      title = `${rng.pick(TITLE_SUBJECTS)} ${rng.pick(TITLE_KINDS)}`;
      base = slugify(title);
    }
    let path = `${folder.path}/${base}.md`;
    for (let n = 2; taken.has(path); n++) path = `${folder.path}/${base}-${n}.md`;
    const suffix = /-(\d+)\.md$/.exec(path)?.[1];
    if (suffix) title = `${title} ${suffix}`;
    add({
      path,
      folder: folder.path,
      title,
      isIndex: false,
      isNews,
      date,
      classification: pickClassification(rng),
      sort: !isNews && rng.chance(0.3) ? rng.int(1, 50) : null,
    });
  }
  return { folders, docs };
}

// ---------------------------------------------------------------------------------------------------------------
// Content.

function sentence(rng: Rng): string {
  const parts = [capitalize(rng.pick(ACTORS)), rng.pick(VERBS), rng.pick(OBJECTS), rng.pick(QUALIFIERS)];
  let text = parts.join(' ');
  if (rng.chance(0.25)) text = `${rng.pick(CONNECTORS)} ${parts[0]!.toLowerCase()} ${parts.slice(1).join(' ')}`;
  if (rng.chance(0.15)) text += ` using \`${rng.pick(CODE_TOKENS)}\``;
  if (rng.chance(0.08)) text += ` (see **section ${rng.int(1, 9)}**)`;
  return text + '.';
}

function paragraph(rng: Rng, link: () => string | null): string {
  const sentences: string[] = [];
  const count = rng.int(2, 6);
  for (let i = 0; i < count; i++) {
    let s = sentence(rng);
    if (i === count - 1 && rng.chance(0.35)) {
      const l = link();
      if (l) s += ` Read more in ${l}.`;
    }
    sentences.push(s);
  }
  return sentences.join(' ');
}

function list(rng: Rng, link: () => string | null): string {
  const ordered = rng.chance(0.35);
  const task = !ordered && rng.chance(0.1);
  const items: string[] = [];
  const count = rng.int(3, 7);
  for (let i = 0; i < count; i++) {
    const marker = ordered ? `${i + 1}.` : task ? `- [${rng.chance(0.5) ? 'x' : ' '}]` : '-';
    let item = `${capitalize(rng.pick(OBJECTS))} ${rng.pick(QUALIFIERS)}`;
    if (rng.chance(0.15)) {
      const l = link();
      if (l) item += ` (${l})`;
    }
    items.push(`${marker} ${item}`);
  }
  return items.join('\n');
}

function table(rng: Rng): string {
  const rows = rng.int(3, 8);
  const lines = ['| Control | Owner | Frequency | Evidence |', '| :--- | --- | :---: | ---: |'];
  for (let i = 0; i < rows; i++) {
    lines.push(
      `| ${capitalize(rng.pick(OBJECTS))} | ${capitalize(rng.pick(ACTORS))} | ${rng.pick(['Daily', 'Weekly', 'Monthly', 'Quarterly', 'Yearly'])} | \`${rng.pick(CODE_TOKENS)}\` |`,
    );
  }
  return lines.join('\n');
}

function codeBlock(rng: Rng): string {
  const lines = [];
  for (let i = 0, n = rng.int(2, 6); i < n; i++) lines.push(`${rng.pick(['$', '#'])} ${rng.pick(CODE_TOKENS)}`);
  return ['```sh', ...lines, '```'].join('\n');
}

/** A relative href from `fromFolder` to `target` (a repository path). */
function relativeHref(fromFolder: string, target: string): string {
  return posix.relative(`/${fromFolder}`, `/${target}`);
}

function renderDoc(
  rng: Rng,
  doc: PlannedDoc,
  all: PlannedDoc[],
  byTop: Map<string, PlannedDoc[]>,
  stats: { links: number; broken: number },
): string {
  const targetBytes = rng.int(2048, 8192);
  const fm: string[] = ['---', `title: ${doc.title}`];
  if (doc.sort !== null) fm.push(`sort: ${doc.sort}`);
  const tags = rng.sample(TAGS, rng.int(1, 4));
  if (doc.isNews) tags.push('announcement');
  fm.push(`tags: [${[...new Set(tags)].join(', ')}]`);
  fm.push(`classification: ${doc.classification}`);
  if (doc.date) fm.push(`date: ${doc.date}`);
  if (!doc.isNews && rng.chance(0.6)) fm.push(`owner: ${rng.pick(OWNERS)}`);
  if (!doc.isNews && rng.chance(0.4)) {
    const year = rng.int(2022, 2025);
    fm.push(`effective: ${year}-${pad(rng.int(1, 12))}-${pad(rng.int(1, 28))}`);
    fm.push(`review_by: ${year + 1}-${pad(rng.int(1, 12))}-${pad(rng.int(1, 28))}`);
  }
  fm.push('---', '');

  // Links: mostly to documents in the same top-level section, some anywhere; ~3% to files that do not exist.
  const top = doc.folder.split('/')[0] ?? '';
  const near = byTop.get(top) ?? [];
  const link = (): string | null => {
    stats.links++;
    if (rng.chance(0.03)) {
      stats.broken++;
      return `[the old procedure](${relativeHref(doc.folder, `${top || 'archive'}/retired-${rng.int(1, 999)}.md`)})`;
    }
    const target = near.length > 1 && rng.chance(0.7) ? rng.pick(near) : rng.pick(all);
    if (target === doc) {
      stats.links--;
      return null;
    }
    const anchor = rng.chance(0.1) ? `#${slugify(rng.pick(HEADINGS))}` : '';
    return `[${target.title}](${relativeHref(doc.folder, target.path)}${anchor})`;
  };

  const body: string[] = [];
  if (rng.chance(0.3)) body.push(`# ${doc.title}`, '');
  body.push(paragraph(rng, link), '');
  if (doc.isIndex) {
    const children = all.filter((d) => d.folder === doc.folder && !d.isIndex).slice(0, 12);
    if (children.length > 0) {
      body.push('## In this section', '');
      for (const child of children) body.push(`- [${child.title}](${relativeHref(doc.folder, child.path)})`);
      stats.links += children.length;
      body.push('');
    }
  }
  const usedHeadings = new Set<string>();
  let size = fm.join('\n').length + body.join('\n').length;
  let sectionIndex = 0;
  while (size < targetBytes) {
    let heading = rng.pick(HEADINGS);
    if (usedHeadings.has(heading)) heading = `${heading} ${++sectionIndex}`;
    usedHeadings.add(heading);
    const block: string[] = [`## ${heading}`, '', paragraph(rng, link), ''];
    const extra = rng.next();
    if (extra < 0.3) block.push(list(rng, link), '');
    else if (extra < 0.42) block.push(table(rng), '');
    else if (extra < 0.48) block.push(codeBlock(rng), '');
    else if (extra < 0.54) block.push(`> **Note:** ${sentence(rng)}`, '');
    if (rng.chance(0.4)) {
      block.push(`### ${rng.pick(SUBHEADINGS)}`, '', paragraph(rng, link), '');
      if (rng.chance(0.3)) block.push(list(rng, link), '');
    }
    if (doc.isNews && rng.chance(0.3)) block.push(`Published on a ${rng.pick(WEEKDAYS)}. Questions go to ${rng.pick(OWNERS)}.`, '');
    body.push(...block);
    size += block.join('\n').length + 1;
  }
  return fm.join('\n') + body.join('\n').replace(/\n+$/, '') + '\n';
}

// ---------------------------------------------------------------------------------------------------------------

/** Write the corpus into `dir` (created if needed; existing files with the same names are overwritten). */
export function generateCorpus(dir: string, options: CorpusOptions = {}): Corpus {
  const documents = options.documents ?? 10_000;
  if (!Number.isInteger(documents) || documents < 3) throw new Error(`documents must be an integer ≥ 3, got ${documents}`);
  const rng = new Rng(options.seed ?? 1);
  const { folders, docs } = planDocuments(rng, documents);
  const stats = { links: 0, broken: 0 };
  const classifications: Record<Classification, number> = { public: 0, internal: 0, confidential: 0, restricted: 0 };
  const byTop = new Map<string, PlannedDoc[]>();
  for (const doc of docs) {
    if (!doc.folder) continue;
    const top = doc.folder.split('/')[0]!;
    const list = byTop.get(top) ?? [];
    list.push(doc);
    byTop.set(top, list);
  }
  let bytes = 0;
  const createdDirs = new Set<string>();
  for (const doc of docs) {
    const content = renderDoc(rng, doc, docs, byTop, stats);
    const file = join(dir, ...doc.path.split('/'));
    const parent = dirname(file);
    if (!createdDirs.has(parent)) {
      mkdirSync(parent, { recursive: true });
      createdDirs.add(parent);
    }
    writeFileSync(file, content);
    bytes += Buffer.byteLength(content);
    classifications[doc.classification]++;
  }
  const firstOf = (classification: Classification): KnownDocument => {
    // Prefer a plain (non-news, non-index) document at depth ≥ 2 so the page has breadcrumbs and navigation.
    const candidates = docs.filter((d) => d.classification === classification && !d.isIndex && !d.isNews);
    const doc = candidates.find((d) => d.folder.includes('/')) ?? candidates[0];
    if (!doc) throw new Error(`the corpus has no ${classification} document; use more documents`);
    return { path: doc.path, title: doc.title };
  };
  return {
    dir,
    paths: docs.map((d) => d.path).sort(),
    publicDocument: firstOf('public'),
    internalDocument: firstOf('internal'),
    folders: folders.length,
    bytes,
    classifications,
    links: stats.links,
    brokenLinks: stats.broken,
  };
}

// CLI: write a corpus to a folder (useful to look at it, or to import it by hand with `docucommit import`).
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const out = args.find((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--'));
  const flag = (name: string) => {
    const i = args.indexOf(`--${name}`);
    return i === -1 ? undefined : Number(args[i + 1]);
  };
  if (!out) {
    console.error('usage: node --import tsx bench/corpus.ts OUT_DIR [--documents N] [--seed S]');
    process.exit(2);
  }
  const corpus = generateCorpus(resolve(out), { documents: flag('documents') ?? 10_000, seed: flag('seed') ?? 1 });
  const { paths, ...summary } = corpus;
  console.log(JSON.stringify({ ...summary, files: paths.length }, null, 2));
}
