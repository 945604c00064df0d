import type { Command } from '../command.ts';
import { importCommand } from './import.ts';
import { renderCommand } from './render.ts';
import { serveCommand } from './serve.ts';
import { userCommand } from './user.ts';

/** Every subcommand, in the order `docucommit --help` lists them. */
export const commands: Command[] = [serveCommand, importCommand, userCommand, renderCommand];
