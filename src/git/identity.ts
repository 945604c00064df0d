/**
 * Author and committer identities for commits. Names and emails come from users; they reach git through
 * GIT_AUTHOR_* / GIT_COMMITTER_* variables, cleaned so they cannot break out of the commit header.
 */
import { InvalidInputError } from '../errors.ts';
import type { GitEnvKey } from './run.ts';

export interface Person {
  name: string;
  email: string;
  /** Defaults to now. */
  date?: Date;
}

const MAX_IDENTITY_LENGTH = 200;

/** Removes what could end or fake a header field: angle brackets, line breaks and other control characters. */
export function cleanIdentityPart(value: string): string {
  return String(value)
    .replace(/[<>\0-\x1f\x7f]/g, '')
    .trim()
    .slice(0, MAX_IDENTITY_LENGTH)
    .trim();
}

/** Formats a date the way git reads it unambiguously: seconds since the epoch, UTC. */
export function gitDate(date: Date): string {
  const ms = date instanceof Date ? date.getTime() : Number.NaN;
  if (!Number.isFinite(ms) || ms < 0) throw new InvalidInputError('Invalid commit date.');
  return `@${Math.floor(ms / 1000)} +0000`;
}

/** The environment that makes git record `person` as author or committer. */
export function identityEnv(role: 'AUTHOR' | 'COMMITTER', person: Person, now: Date): Partial<Record<GitEnvKey, string>> {
  const name = cleanIdentityPart(person?.name ?? '');
  const email = cleanIdentityPart(person?.email ?? '');
  const who = role === 'AUTHOR' ? 'author' : 'committer';
  if (!name) throw new InvalidInputError(`The ${who} needs a name.`);
  if (!email) throw new InvalidInputError(`The ${who} needs an email address.`);
  return {
    [`GIT_${role}_NAME`]: name,
    [`GIT_${role}_EMAIL`]: email,
    [`GIT_${role}_DATE`]: gitDate(person.date ?? now),
  };
}
