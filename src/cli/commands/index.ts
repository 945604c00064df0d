import type { Command } from '../command.ts';

/**
 * One subcommand as `docucommit --help` lists it, and its module, loaded only when the command runs: a process
 * loads what its own command needs (`render` no database, a command the running server carries out only the
 * control socket's client), not every package of the product (~1 s of CPU per start when it did).
 */
export interface CommandEntry {
  name: string;
  /** One line for the command list. */
  summary: string;
  /**
   * Whether this invocation may run inside a server that holds the data directory: it is then sent over the
   * server's control socket instead of being refused. Absent: never (the command claims the directory itself).
   */
  runsInServer?(args: string[]): boolean;
  /** The command itself (help and run). */
  load(): Promise<Command>;
}

/** Every subcommand, in the order `docucommit --help` lists them. */
export const commands: CommandEntry[] = [
  {
    name: 'serve',
    summary: 'start the web server',
    load: async () => (await import('./serve.ts')).serveCommand,
  },
  {
    name: 'import',
    summary: 'commit a folder of Markdown files into a project',
    runsInServer: () => true,
    load: async () => (await import('./import.ts')).importCommand,
  },
  {
    name: 'user',
    summary: 'create or update accounts and memberships',
    runsInServer: () => true,
    load: async () => (await import('./user.ts')).userCommand,
  },
  {
    name: 'token',
    summary: 'create, list and revoke personal access tokens',
    runsInServer: () => true,
    load: async () => (await import('./token.ts')).tokenCommand,
  },
  {
    name: 'render',
    summary: 'render Markdown files to sanitized HTML (or JSON) and report front matter errors',
    load: async () => (await import('./render.ts')).renderCommand,
  },
  {
    name: 'check',
    summary: 'check a folder of Markdown for broken links, missing images, unknown anchors and front matter errors',
    load: async () => (await import('./check.ts')).checkCommand,
  },
  {
    name: 'audit',
    summary: 'verify or prune the tamper-evident audit log',
    runsInServer: () => true,
    load: async () => (await import('./audit.ts')).auditCommand,
  },
  {
    name: 'evidence',
    summary: "export or check an auditor's evidence pack",
    runsInServer: (args) => args[0] === 'export',
    load: async () => (await import('./evidence.ts')).evidenceCommand,
  },
  {
    name: 'org',
    summary: 'export an organization, or purge organizations whose deletion is due',
    runsInServer: (args) => args[0] === 'export' || args[0] === 'purge',
    load: async () => (await import('./org.ts')).orgCommand,
  },
  {
    name: 'mfa-key',
    summary: 'show or rotate the key that encrypts MFA secrets',
    runsInServer: (args) => args[0] === 'status',
    load: async () => (await import('./mfa-key.ts')).mfaKeyCommand,
  },
  {
    name: 'project',
    summary: 'list and restore deleted projects',
    runsInServer: () => true,
    load: async () => (await import('./project.ts')).projectCommand,
  },
  {
    name: 'backup',
    summary: 'write one encrypted archive of the database and every repository',
    runsInServer: () => true,
    load: async () => (await import('./backup.ts')).backupCommand,
  },
  {
    name: 'restore',
    summary: 'bring a backup back into an empty data directory (and database)',
    load: async () => (await import('./backup.ts')).restoreCommand,
  },
];
