/** Parsing of raw commit objects as `cat-file --batch` returns them. */

export interface GitIdentity {
  name: string;
  email: string;
  time: Date;
  /** The recorded UTC offset, e.g. "+0200". */
  timezone: string;
}

export interface CommitInfo {
  oid: string;
  tree: string;
  parents: string[];
  author: GitIdentity;
  committer: GitIdentity;
  message: string;
}

const UNKNOWN: GitIdentity = { name: '', email: '', time: new Date(0), timezone: '+0000' };

/** Parses "Name <email> 1700000000 +0100" (git's ident line); lenient, since pushed commits can be odd. */
export function parseIdentity(value: string): GitIdentity {
  const open = value.indexOf('<');
  const close = value.indexOf('>', open + 1);
  if (open < 0 || close < 0) return { ...UNKNOWN, name: value.trim() };
  const [seconds, timezone] = value.slice(close + 1).trim().split(' ');
  const time = /^-?\d+$/.test(seconds ?? '') ? new Date(Number(seconds) * 1000) : new Date(0);
  return {
    name: value.slice(0, open).trim(),
    email: value.slice(open + 1, close),
    time: Number.isNaN(time.getTime()) ? new Date(0) : time,
    timezone: /^[+-]\d{4}$/.test(timezone ?? '') ? timezone! : '+0000',
  };
}

/** Parses a raw commit object: headers up to the first blank line, then the message. */
export function parseCommit(oid: string, raw: Buffer): CommitInfo {
  const text = raw.toString('utf8');
  const split = text.indexOf('\n\n');
  const headerText = split < 0 ? text : text.slice(0, split);
  const message = split < 0 ? '' : text.slice(split + 2);
  let tree = '';
  const parents: string[] = [];
  let author = UNKNOWN;
  let committer = UNKNOWN;
  for (const line of headerText.split('\n')) {
    if (line.startsWith(' ')) continue; // continuation of a multi-line header such as gpgsig
    const space = line.indexOf(' ');
    const key = space < 0 ? line : line.slice(0, space);
    const value = space < 0 ? '' : line.slice(space + 1);
    if (key === 'tree') tree = value;
    else if (key === 'parent') parents.push(value);
    else if (key === 'author') author = parseIdentity(value);
    else if (key === 'committer') committer = parseIdentity(value);
  }
  return { oid, tree, parents, author, committer, message };
}
