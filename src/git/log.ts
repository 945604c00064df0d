/** The `git log` format we ask for, and its parser. */
import type { GitIdentity } from './commit-object.ts';

export interface LogEntry {
  oid: string;
  tree: string;
  parents: string[];
  author: GitIdentity;
  authorDate: Date;
  /** First line of the message. */
  subject: string;
}

// Fields are NUL-separated and `-z` ends each commit with NUL, so a record is exactly LOG_FIELDS pieces:
// unlike any printable separator, NUL cannot occur inside a field.
/** The git log arguments matching parseLog. */
export const LOG_FORMAT_ARGS = ['-z', '--date=format:%z', '--format=%H%x00%T%x00%P%x00%an%x00%ae%x00%at%x00%ad%x00%s'];
const LOG_FIELDS = 8;

/** Parses the output of `git log` run with LOG_FORMAT_ARGS. */
export function parseLog(output: Buffer): LogEntry[] {
  const parts = output.toString('utf8').split('\0');
  if (parts.at(-1) === '') parts.pop();
  if (parts.length % LOG_FIELDS !== 0) throw new Error('unexpected git log output');
  const entries: LogEntry[] = [];
  for (let i = 0; i < parts.length; i += LOG_FIELDS) {
    const [oid, tree, parents, name, email, seconds, timezone, subject] = parts.slice(i, i + LOG_FIELDS);
    const time = new Date(Number(seconds) * 1000);
    entries.push({
      oid: oid!,
      tree: tree!,
      parents: parents ? parents.split(' ') : [],
      author: { name: name!, email: email!, time, timezone: timezone! },
      authorDate: time,
      subject: subject!,
    });
  }
  return entries;
}
