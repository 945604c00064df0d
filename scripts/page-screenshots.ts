// Full-page Chromium screenshots of representative pages, for checking that a CSS or view refactor changes nothing
// visible: `node --import tsx scripts/page-screenshots.ts shoot DIR` before and after, then
// `node --import tsx scripts/page-screenshots.ts compare BEFORE AFTER` (pixel by pixel, pngjs).
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import type { UserActor } from '../src/access/actor.ts';
import { findProject } from '../src/projects/projects.ts';
import { signIn, startChromium, stopChromium } from '../test/e2e/session.ts';

const P = '/zephyrcart/intranet';
const pages: Record<string, string> = {
  document: `${P}/policies/code-of-conduct`,
  section: `${P}/policies`,
  search: '/-/search?q=policy',
  'project-search': `${P}/-/search?q=data`,
  audit: '/zephyrcart/-/audit',
  'audit-filtered': '/zephyrcart/-/audit?action=document.read',
  settings: '/zephyrcart/-/settings',
  sso: '/zephyrcart/-/settings/sso',
  account: '/-/account',
  security: '/-/account/security',
  sessions: '/-/account/sessions',
  tokens: '/-/account/tokens',
  'new-token': '/-/account/tokens/new',
  enroll: '/-/account/security/enroll',
  password: '/-/account/security/password',
  'change-requests': `${P}/-/changes`,
  'change-request': `${P}/-/changes/1`,
  history: `${P}/-/history/policies/code-of-conduct.md`,
  commits: `${P}/-/commits`,
  members: '/zephyrcart/-/members',
  evidence: '/zephyrcart/-/evidence',
  webhooks: '/zephyrcart/-/settings/webhooks',
  'project-settings': `${P}/-/settings`,
  problems: `${P}/-/problems`,
  editor: `${P}/-/edit/policies/code-of-conduct.md`,
  'access-requests': '/zephyrcart/-/access-requests',
  acknowledgments: '/zephyrcart/-/acknowledgments',
  reviews: '/zephyrcart/-/reviews',
  data: '/zephyrcart/-/data',
  projects: '/zephyrcart/-/projects/new',
  tags: `${P}/-/tags`,
};

async function shoot(dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const { server, browser } = await startChromium(['owner']);
  try {
    // one change request, so that its list and page have something to show
    const project = (await findProject(server.context.db, 'zephyrcart', 'intranet'))!;
    const repository = await server.context.repositories.get(project);
    const user = await server.context.db.selectFrom('users').select(['id', 'name']).where('email', '=', 'owner@zephyrcart.test').executeTakeFirstOrThrow();
    const owner: UserActor = { kind: 'user', userId: user.id, email: 'owner@zephyrcart.test', name: user.name ?? 'Zed owner', memberships: new Map([[project.orgId, 'owner']]) };
    const main = (await repository.headOf('main'))!;
    const text = (await repository.readBlob((await repository.entryAt(main, 'onboarding.md'))!.oid)).toString('utf8');
    await server.context.branchMoves.commit(
      project,
      repository,
      { branch: 'draft-a', expectedOld: null, startFrom: main, mode: 'patch', changes: [{ path: 'onboarding.md', content: `${text}\nA new line.\n` }], author: { name: 'Zed owner', email: owner.email }, message: 'Edit' },
      { kind: 'save', actor: { type: 'user', id: user.id, label: owner.email }, events: () => [] },
    );
    await server.context.branchMoves.idle();
    await server.context.changeRequests.open(project, owner, { branch: 'draft-a', title: 'Onboarding line', description: 'A **small** change.' }, new Set());

    const anonymous = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await anonymous.goto(`${server.url}/login`);
    await anonymous.screenshot({ path: join(dir, 'login.png'), fullPage: true });
    await anonymous.goto(`${server.url}/login/forgot`);
    await anonymous.screenshot({ path: join(dir, 'forgot.png'), fullPage: true });
    await anonymous.goto(`${server.url}${P}/policies/security-policy`);
    await anonymous.screenshot({ path: join(dir, 'public.png'), fullPage: true });
    await anonymous.close();

    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await signIn(page, server.url, { email: 'owner@zephyrcart.test' });
    await page.waitForLoadState('networkidle');
    // the first sign-in may ask for a new password, then MFA enrolment: shoot what it shows first
    await page.screenshot({ path: join(dir, 'after-sign-in.png'), fullPage: true });
    for (const [name, path] of Object.entries(pages)) {
      await page.goto(`${server.url}${path}`);
      await page.waitForLoadState('networkidle');
      await page.screenshot({ path: join(dir, `${name}.png`), fullPage: true, animations: 'disabled', caret: 'hide' });
    }
    await page.close();
  } finally {
    await stopChromium(server, browser);
  }
}

function compare(before: string, after: string): number {
  let differing = 0;
  for (const file of readdirSync(before).filter((f) => f.endsWith('.png')).sort()) {
    const a = PNG.sync.read(readFileSync(join(before, file)));
    let b: PNG;
    try {
      b = PNG.sync.read(readFileSync(join(after, file)));
    } catch {
      console.log(`${file}: missing after`);
      differing++;
      continue;
    }
    if (a.width !== b.width || a.height !== b.height) {
      console.log(`${file}: size ${a.width}x${a.height} -> ${b.width}x${b.height}`);
      differing++;
      continue;
    }
    let pixels = 0;
    const rows = new Set<number>();
    const diff = new PNG({ width: a.width, height: a.height });
    for (let i = 0; i < a.data.length; i += 4) {
      const same = a.data[i] === b.data[i] && a.data[i + 1] === b.data[i + 1] && a.data[i + 2] === b.data[i + 2] && a.data[i + 3] === b.data[i + 3];
      if (!same) {
        pixels++;
        rows.add(Math.floor(i / 4 / a.width));
      }
      diff.data[i] = same ? a.data[i]! >> 2 : 255;
      diff.data[i + 1] = same ? a.data[i + 1]! >> 2 : 0;
      diff.data[i + 2] = same ? a.data[i + 2]! >> 2 : 0;
      diff.data[i + 3] = 255;
    }
    if (pixels) {
      writeFileSync(join(after, `${file}.diff.png`), PNG.sync.write(diff));
      differing++;
    }
    console.log(`${file}: ${a.width}x${a.height} ${pixels ? `${pixels} pixels differ, rows ${rowRanges([...rows])}` : 'identical'}`);
  }
  return differing;
}

/** 3, 4, 5, 9 → "3-5, 9" */
function rowRanges(rows: number[]): string {
  const ranges: string[] = [];
  for (const row of rows.sort((x, y) => x - y)) {
    const last = ranges.at(-1)?.split('-');
    if (last && Number(last.at(-1)) === row - 1) ranges[ranges.length - 1] = `${last[0]}-${row}`;
    else ranges.push(String(row));
  }
  return ranges.join(', ');
}

const [command, first, second] = process.argv.slice(2);
if (command === 'shoot' && first) await shoot(first);
else if (command === 'compare' && first && second) process.exitCode = compare(first, second) ? 1 : 0;
else console.error('usage: page-screenshots.ts shoot DIR | compare BEFORE AFTER');
