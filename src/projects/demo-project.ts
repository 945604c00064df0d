import { fileURLToPath } from 'node:url';
import type { AppContext } from '../app-context.ts';
import { upsertAccount } from '../auth/accounts.ts';
import { anyOrganizationExists } from '../organizations/organizations.ts';
import { importFolder } from './import-folder.ts';

/** The demo project shipped in examples/, imported on a fresh installation. */
export const DEMO = {
  folder: fileURLToPath(new URL('../../examples/zephyrcart-intranet', import.meta.url)),
  orgSlug: 'zephyrcart',
  orgName: 'ZephyrCart',
  projectSlug: 'intranet',
  projectName: 'ZephyrCart Intranet',
  ownerEmail: 'owner@zephyrcart.example',
} as const;

/**
 * On a fresh installation (no organization yet), import the demo project and create its owner account.
 * Returns the owner's sign-in details to show once, or null when the installation was not fresh.
 */
export async function importDemoIfFresh(context: AppContext): Promise<{ email: string; password: string } | null> {
  if (await anyOrganizationExists(context.db)) return null;
  const { generatedPassword } = await upsertAccount(context.db, {
    email: DEMO.ownerEmail,
    name: 'Demo Owner',
    orgSlug: DEMO.orgSlug,
    role: 'owner',
    auditAs: { label: 'first start' },
  });
  await importDemoProject(context);
  return generatedPassword ? { email: DEMO.ownerEmail, password: generatedPassword } : null;
}

/** Import (or re-import) the demo folder as the demo organization's project. */
export async function importDemoProject(
  context: Pick<AppContext, 'db' | 'repositories' | 'publisher' | 'branchMoves'>,
  author = { name: 'DocuCommit', email: 'docucommit@localhost' },
) {
  const result = await importFolder(context, {
    folder: DEMO.folder,
    orgSlug: DEMO.orgSlug,
    projectSlug: DEMO.projectSlug,
    projectName: DEMO.projectName,
    author,
    message: 'Import the demo project',
  });
  await context.db.updateTable('organizations').set({ name: DEMO.orgName }).where('slug', '=', DEMO.orgSlug).execute();
  return result;
}
