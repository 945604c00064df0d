/**
 * Approval rules of change requests (issue #13), pure: which approvals a change needs before it may reach the
 * published branch, and whether the reviews it has meet them.
 *
 * - Each classification has a review setting: how many approvals, and the lowest role that counts. Defaults:
 *   public and internal publish directly; confidential needs 1 approval by a manager or above; restricted needs
 *   2 by admins or owners. Restricted can never go below 2 admin-or-owner approvals (the two-person rule).
 * - A document whose front matter names `approvers:` (emails or roles) also needs one approval from them.
 * - The strictest requirement of any document the change touches, before or after, decides: the largest count
 *   and the highest role; every `approvers:` list must be met as well.
 * - The author's approval never counts, one person counts once, and only approvals of the current head commit
 *   count (a new commit dismisses earlier ones). A standing "request changes" blocks the merge.
 */
import { isRole, roleAtLeast, type Role } from '../access/roles.ts';
import { CLASSIFICATION_ORDER } from '../content/classification.ts';
import type { Classification } from '../content/types.ts';

/** How one classification is reviewed: `approvals` 0 publishes directly. */
export interface ReviewSetting {
  approvals: number;
  minimumRole: Role;
}

export type ReviewSettings = Record<Classification, ReviewSetting>;

export const DEFAULT_REVIEW_SETTINGS: ReviewSettings = {
  public: { approvals: 0, minimumRole: 'manager' },
  internal: { approvals: 0, minimumRole: 'manager' },
  confidential: { approvals: 1, minimumRole: 'manager' },
  restricted: { approvals: 2, minimumRole: 'admin' },
};

/** The floor of the two-person rule: no setting makes restricted documents need less. */
export const TWO_PERSON_RULE: ReviewSetting = { approvals: 2, minimumRole: 'admin' };

/** The floor for confidential documents: review is always on, by people who may read them (manager or above). */
export const CONFIDENTIAL_FLOOR: ReviewSetting = { approvals: 1, minimumRole: 'manager' };

/** Most approvals a setting may ask for (beyond it a change could never be merged in a small organization). */
export const MAX_APPROVALS = 5;

/** One version (before or after the change) of a document the change touches. */
export interface TouchedVersion {
  classification: Classification;
  /** `approvers:` of its front matter: emails or role names. */
  approvers?: readonly string[];
}

export interface TouchedDocument {
  path: string;
  /** null when the change creates it. */
  before: TouchedVersion | null;
  /** null when the change deletes it. */
  after: TouchedVersion | null;
}

export interface Review {
  userId: string;
  email: string;
  /** The reviewer's role in the organization now (a former member has none and counts for nothing). */
  role: Role | null;
  verdict: 'approve' | 'request-changes';
  /** The head commit the review was given on. */
  commit: string;
  /** Set when an admin dismissed the review (with a reason). */
  dismissed?: boolean;
}

/** What the change needs. */
export interface Requirement {
  /** Approvals needed from distinct people of `minimumRole` or above (0: none). */
  approvals: number;
  minimumRole: Role;
  /** Each list needs one approval from one of its entries (an email, or a role meaning that role or above). */
  approverLists: { path: string; approvers: readonly string[] }[];
}

export interface Verdict {
  requirement: Requirement;
  /** Whether the change needs review at all (false: it may publish directly). */
  needsReview: boolean;
  /** Distinct people whose approval of the head counts toward `requirement.approvals`. */
  countingApprovals: string[];
  /** Lists not met yet. */
  missingApprovers: { path: string; approvers: readonly string[] }[];
  /** People whose "request changes" on any commit still stands. */
  blockedBy: string[];
  /** True when the rules are met and nothing blocks. */
  mergeable: boolean;
  /** Plain sentences of what is still needed ("1 more approval by a manager or above"). */
  outstanding: string[];
}

/**
 * The settings in force: what the organization chose, never below the floors — restricted keeps the two-person
 * rule (2 approvals by admins or owners), confidential is always reviewed (1 approval by a manager or above).
 * Anything unreadable in `chosen` falls back to the default of its classification.
 */
export function effectiveSettings(chosen: Partial<Record<Classification, Partial<ReviewSetting>>> = {}): ReviewSettings {
  const settings = {} as ReviewSettings;
  for (const classification of CLASSIFICATION_ORDER) {
    const fallback = DEFAULT_REVIEW_SETTINGS[classification];
    const given = chosen[classification];
    const approvals = Number.isInteger(given?.approvals) ? Math.min(Math.max(given!.approvals!, 0), MAX_APPROVALS) : fallback.approvals;
    const minimumRole = isRole(given?.minimumRole) && given.minimumRole !== 'viewer' ? given.minimumRole : fallback.minimumRole;
    settings[classification] = atLeast({ approvals, minimumRole }, FLOORS[classification]);
  }
  return settings;
}

const FLOORS: Record<Classification, ReviewSetting | null> = { public: null, internal: null, confidential: CONFIDENTIAL_FLOOR, restricted: TWO_PERSON_RULE };

function atLeast(setting: ReviewSetting, floor: ReviewSetting | null): ReviewSetting {
  if (!floor) return setting;
  return {
    approvals: Math.max(setting.approvals, floor.approvals),
    minimumRole: roleAtLeast(setting.minimumRole, floor.minimumRole) ? setting.minimumRole : floor.minimumRole,
  };
}

/** The floor no setting of `classification` goes below (null: review may be off). */
export function reviewFloor(classification: Classification): ReviewSetting | null {
  return FLOORS[classification];
}

/** The requirement of a change touching `documents` (see the module comment). */
export function requirementOf(documents: readonly TouchedDocument[], settings: ReviewSettings = effectiveSettings()): Requirement {
  let approvals = 0;
  let minimumRole: Role = 'viewer';
  const approverLists: Requirement['approverLists'] = [];
  for (const document of documents) {
    for (const version of [document.before, document.after]) {
      if (!version) continue;
      const setting = settings[version.classification];
      if (setting.approvals > 0) {
        approvals = Math.max(approvals, setting.approvals);
        if (!roleAtLeast(minimumRole, setting.minimumRole)) minimumRole = setting.minimumRole;
      }
      const approvers = (version.approvers ?? []).filter((a) => a.trim() !== '');
      if (approvers.length > 0 && !approverLists.some((l) => l.path === document.path && sameList(l.approvers, approvers))) {
        approverLists.push({ path: document.path, approvers });
      }
    }
  }
  return { approvals, minimumRole: approvals > 0 ? minimumRole : 'manager', approverLists };
}

/** Whether a change needs review before it reaches the published branch. */
export function needsReview(requirement: Requirement): boolean {
  return requirement.approvals > 0 || requirement.approverLists.length > 0;
}

/** Judges the reviews of a change whose head is `head` and whose author is `authorId`. */
export function judge(requirement: Requirement, reviews: readonly Review[], authorId: string, head: string): Verdict {
  const latest = latestPerPerson(reviews);
  const blockedBy = [...latest.values()].filter((r) => r.verdict === 'request-changes' && !r.dismissed).map((r) => r.email);
  // counted: approvals of the head, not by the author, by someone still a member
  const approvals = [...latest.values()].filter((r) => r.verdict === 'approve' && !r.dismissed && r.commit === head && r.userId !== authorId && r.role !== null);
  const counting = approvals.filter((r) => roleAtLeast(r.role!, requirement.minimumRole)).map((r) => r.email);
  const missingApprovers = requirement.approverLists.filter((list) => !approvals.some((r) => matchesApprover(r, list.approvers)));
  const outstanding: string[] = [];
  const more = requirement.approvals - counting.length;
  if (more > 0) outstanding.push(`${more} more approval${more === 1 ? '' : 's'} by ${article(requirement.minimumRole)} ${requirement.minimumRole} or above`);
  for (const list of missingApprovers) outstanding.push(`an approval by one of ${list.approvers.join(', ')} (for ${list.path})`);
  for (const who of blockedBy) outstanding.push(`${who} requested changes`);
  return {
    requirement,
    needsReview: needsReview(requirement),
    countingApprovals: counting,
    missingApprovers,
    blockedBy,
    mergeable: more <= 0 && missingApprovers.length === 0 && blockedBy.length === 0,
    outstanding,
  };
}

/** Each person's latest review (reviews are given oldest first). */
function latestPerPerson(reviews: readonly Review[]): Map<string, Review> {
  const latest = new Map<string, Review>();
  for (const review of reviews) latest.set(review.userId, review);
  return latest;
}

function matchesApprover(review: Review, approvers: readonly string[]): boolean {
  return approvers.some((entry) => {
    const value = entry.trim().toLowerCase();
    if (isRole(value)) return review.role !== null && roleAtLeast(review.role, value);
    return value === review.email.toLowerCase();
  });
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((entry, i) => entry === b[i]);
}

const article = (role: Role) => (/^[aeiou]/.test(role) ? 'an' : 'a');
