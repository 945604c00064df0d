/**
 * The order of classifications, from the most open to the strictest (`public` < `internal` < `confidential` <
 * `restricted`: the order of CLASSIFICATIONS), and a document's classification read from its source. The one
 * definition for the policy, the change rules, history and clone clearance.
 */
import { parseFrontMatter } from './front-matter.ts';
import { CLASSIFICATIONS, type Classification } from './types.ts';

/** Classifications from the most open to the strictest. */
export const CLASSIFICATION_ORDER: readonly Classification[] = CLASSIFICATIONS;

/** The place of `classification` in the order: 0 for public, 3 for restricted. */
export function classificationRank(classification: Classification): number {
  return CLASSIFICATION_ORDER.indexOf(classification);
}

/** True when `a` is stricter than `b` (`restricted` is stricter than `confidential`). */
export function isStricter(a: Classification, b: Classification): boolean {
  return classificationRank(a) > classificationRank(b);
}

/** The stricter of two classifications. */
export function stricter(a: Classification, b: Classification): Classification {
  return isStricter(b, a) ? b : a;
}

/** True when a reader cleared for `clearance` may read a document classified `classification`. */
export function clearanceCovers(clearance: Classification, classification: Classification): boolean {
  return classificationRank(clearance) >= classificationRank(classification);
}

/** A document's classification from its source; an unreadable front matter counts as restricted (fail closed). */
export function classificationOf(source: string): Classification {
  return parseFrontMatter('', source).data?.classification ?? 'restricted';
}
