/** Readable titles for files and folders that do not name themselves. */

/** `data-handling` → `Data handling`, `team_handbook` → `Team handbook`; a `.md` extension is dropped. */
export function humanizeName(name: string): string {
  const words = name.replace(/\.md$/i, '').replace(/[-_\s]+/g, ' ').trim();
  if (!words) return name;
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** The title a document gets from its path alone: its file name, or its folder's name for an `index.md`. */
export function titleFromPath(path: string): string {
  const parts = path.split('/').filter(Boolean);
  const file = parts[parts.length - 1] ?? '';
  if (/^index\.md$/i.test(file)) {
    const folder = parts[parts.length - 2];
    return folder ? humanizeName(folder) : 'Home';
  }
  return humanizeName(file);
}
