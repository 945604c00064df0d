import type { Migration, MigrationProvider } from 'kysely';
import * as foundation from './001-foundation.ts';
import * as audit from './002-audit.ts';
import * as mfa from './003-mfa.ts';
import * as tokens from './004-tokens.ts';
import * as membersAccess from './005-members-access.ts';
import * as rowLevelSecurity from './006-row-level-security.ts';
import * as gitAuthThrottle from './007-git-auth-throttle.ts';
import * as securityNotices from './008-security-notices.ts';
import * as renderedStorage from './009-rendered-storage.ts';
import * as htmlPacks from './010-html-packs.ts';
import * as firstPasswordResets from './011-first-password-resets.ts';
import * as grantsThrottleImages from './012-grants-throttle-images.ts';
import * as auditChainHead from './013-audit-chain-head.ts';
import * as branchMoves from './014-branch-moves.ts';
import * as acknowledgments from './015-acknowledgments.ts';
import * as searchIndex from './016-search-index.ts';
import * as sso from './018-sso.ts';
import * as searchCappedMatches from './020-search-capped-matches.ts';
import * as auditAppendBatch from './019-audit-append-batch.ts';
import * as changeRequests from './022-change-requests.ts';
import * as reviewSettings from './024-review-settings.ts';
import * as documentReviews from './026-document-reviews.ts';
import * as auditRetentionEvidence from './027-audit-retention-evidence.ts';
import * as linkRefusalSearchHits from './028-link-refusal-search-hits.ts';
import * as apiRateLimits from './029-api-rate-limits.ts';
import * as readiness from './030-readiness.ts';
import * as listenerBacklog from './031-listener-backlog.ts';
import * as organizationDeletion from './038-organization-deletion.ts';
import * as auditAppendDurable from './041-audit-append-durable.ts';
import * as auditAppendCheaper from './042-audit-append-cheaper.ts';
import * as auditChainHeadFromTip from './043-audit-chain-head-from-tip.ts';
import * as changeRequestTimeline from './044-change-request-timeline.ts';
import * as webhooks from './034-webhooks.ts';
import * as ssoReauthentication from './040-sso-reauthentication.ts';
import * as email from './035-email.ts';

/** Every migration, in order. Names are permanent once released. */
const migrations: Record<string, Migration> = {
  '001-foundation': foundation,
  '002-audit': audit,
  '003-mfa': mfa,
  '004-tokens': tokens,
  '005-members-access': membersAccess,
  '006-row-level-security': rowLevelSecurity,
  '007-git-auth-throttle': gitAuthThrottle,
  '008-security-notices': securityNotices,
  '009-rendered-storage': renderedStorage,
  '010-html-packs': htmlPacks,
  '011-first-password-resets': firstPasswordResets,
  '012-grants-throttle-images': grantsThrottleImages,
  '013-audit-chain-head': auditChainHead,
  '014-branch-moves': branchMoves,
  '015-acknowledgments': acknowledgments,
  '016-search-index': searchIndex,
  '018-sso': sso,
  '019-audit-append-batch': auditAppendBatch,
  '020-search-capped-matches': searchCappedMatches,
  '022-change-requests': changeRequests,
  '024-review-settings': reviewSettings,
  '026-document-reviews': documentReviews,
  '027-audit-retention-evidence': auditRetentionEvidence,
  '028-link-refusal-search-hits': linkRefusalSearchHits,
  '029-api-rate-limits': apiRateLimits,
  '030-readiness': readiness,
  '031-listener-backlog': listenerBacklog,
  '034-webhooks': webhooks,
  '038-organization-deletion': organizationDeletion,
  '041-audit-append-durable': auditAppendDurable,
  '035-email': email,
  '040-sso-reauthentication': ssoReauthentication,
  '042-audit-append-cheaper': auditAppendCheaper,
  '043-audit-chain-head-from-tip': auditChainHeadFromTip,
  '044-change-request-timeline': changeRequestTimeline,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
};

/** The names of every migration this code knows, in order (readiness compares them with the database's). */
export const MIGRATION_NAMES: readonly string[] = Object.keys(migrations).sort();
