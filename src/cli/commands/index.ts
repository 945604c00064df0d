import type { Command } from '../command.ts';
import { auditCommand } from './audit.ts';
import { backupCommand, restoreCommand } from './backup.ts';
import { checkCommand } from './check.ts';
import { evidenceCommand } from './evidence.ts';
import { importCommand } from './import.ts';
import { mfaKeyCommand } from './mfa-key.ts';
import { orgCommand } from './org.ts';
import { projectCommand } from './project.ts';
import { renderCommand } from './render.ts';
import { serveCommand } from './serve.ts';
import { tokenCommand } from './token.ts';
import { userCommand } from './user.ts';

/** Every subcommand, in the order `docucommit --help` lists them. */
export const commands: Command[] = [serveCommand, importCommand, userCommand, tokenCommand, renderCommand, checkCommand, auditCommand, evidenceCommand, orgCommand, mfaKeyCommand, projectCommand, backupCommand, restoreCommand];
