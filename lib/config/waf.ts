/** The WAF web ACL in front of the load balancer: the request-body limit and the rate limits. */

import { z } from 'zod';
import { RATE_LIMIT_WINDOWS_SECONDS } from './allowed';
import { report, whenValid } from './checks';
import { integer, listOf, matching, oneOf, section, Settings } from './fields';
import { retiredSettings } from './retired';
import { greaterThanPattern, WAF_REGEX_MAX_LENGTH } from '../waf/content-length';
import { RATE_LIMIT_RANGE } from '../waf/rate-based';

/** Rule names are also metric names; WAF allows 128 characters, the prefix takes some. */
const RATE_LIMIT_NAME = /^[A-Za-z0-9_-]{1,64}$/;
/**
 * Each rule costs web ACL capacity units (WCU): a path limit about 24 (rate-based 2, prefix match 2,
 * two text transformations 10 each). Ten of them with the managed groups (common 700, known bad
 * inputs 200) keep the ACL within the 1,500 WCU of WAF's base price.
 */
const MAX_PATH_RATE_LIMITS = 10;

/** The fields of a per-client-IP request limit over a sliding window (a WAF rate-based rule). */
const rateLimitShape = {
  /** Requests per client IP in one window, 10–2000000000 (WAF's lowest limit is 10). */
  limit: integer(RATE_LIMIT_RANGE.min, RATE_LIMIT_RANGE.max),
  /** Length of the window WAF counts over, in seconds: 60, 120, 300 or 600. */
  windowSeconds: oneOf(RATE_LIMIT_WINDOWS_SECONDS),
};

/** A per-client-IP request limit over a sliding window (a WAF rate-based rule). */
export const rateLimitSchema = section(rateLimitShape);

/** A rate limit on the requests whose path starts with a prefix. */
export const pathRateLimitSchema = section({
  /** Name of the rule (`RateLimit-<name>`) and of its metric; letters, digits, `-` and `_`, unique. */
  name: matching(RATE_LIMIT_NAME, 'a name of 1–64 letters, digits, - and _'),
  /** Path prefix the limit applies to, after URL decoding and path normalization (`//a/./b` is `/a/b`). */
  pathPrefix: matching(/^\/[\x21-\x7e]{0,200}$/, 'a path prefix starting with / of printable characters'),
  ...rateLimitShape,
});

export type RateLimitConfig = Settings<z.output<typeof rateLimitSchema>>;
export type PathRateLimitConfig = Settings<z.output<typeof pathRateLimitSchema>>;

/** Requests per second a limit allows, to compare limits over different windows. */
function perSecond(limit: RateLimitConfig): number {
  return limit.limit / limit.windowSeconds;
}

/** The WAF web ACL in front of the load balancer. */
export const wafSchema = section({
  /**
   * Largest request body, in bytes, a request may declare in `Content-Length`; larger declared
   * bodies are blocked with 413. WAF inspects at most the first 8 KB of a body on an ALB, and the
   * size of a body sent without `Content-Length` (chunked) is never declared: past 8 KB the
   * application must enforce the limit too.
   * 0 to 2^53 − 1.
   * @default 5242880 (5 MiB)
   */
  maxBodyBytes: integer(0, Number.MAX_SAFE_INTEGER).superRefine((bytes, ctx) => {
    if (greaterThanPattern(bytes).length > WAF_REGEX_MAX_LENGTH) report(ctx, [], `needs a Content-Length pattern longer than the ${WAF_REGEX_MAX_LENGTH} characters WAF allows`);
  }, whenValid()),
  /**
   * The limit on all requests of one client IP, whatever the path. Its rate (limit / window) must
   * be at least that of every per-path limit, or the per-path limit could never be reached.
   * @default - 1200 per 60 s (20 requests/s)
   */
  generalRateLimit: rateLimitSchema,
  /**
   * Stricter limits per path prefix; a request counts against every limit whose prefix it matches.
   * At most 10.
   * @default - api: `/api/` 600 per 60 s (10/s); auth: `/auth/` 50 per 600 s (5/min); upload:
   * `/upload/` 20 per 600 s (2/min)
   */
  rateLimits: listOf(pathRateLimitSchema, 0, MAX_PATH_RATE_LIMITS, (got) => `must be a list of at most ${MAX_PATH_RATE_LIMITS} limits (got ${got})`),
})
  .superRefine((w, ctx) => {
    const names = new Set<string>();
    w.rateLimits.forEach((limit, i) => {
      if (names.has(limit.name)) report(ctx, ['rateLimits', i, 'name'], `must be unique (${JSON.stringify(limit.name)} is used twice)`);
      names.add(limit.name);
    });
  }, whenValid(['rateLimits', '*', 'name']))
  .superRefine((w, ctx) => {
    const general = w.generalRateLimit;
    w.rateLimits.forEach((limit, i) => {
      if (perSecond(limit) > perSecond(general)) {
        report(
          ctx,
          ['rateLimits', i],
          (at) => `allows ${limit.limit} per ${limit.windowSeconds} s, more than ${at('generalRateLimit')} (${general.limit} per ${general.windowSeconds} s), which would block first`,
        );
      }
    });
  }, whenValid(['generalRateLimit'], ['rateLimits', '*', 'limit'], ['rateLimits', '*', 'windowSeconds']));

// Settings replaced by `generalRateLimit` and `rateLimits`: a stale cdk.json must not pass silently.
const replacedBy = (at: (...path: (string | number)[]) => string) =>
  `was replaced by ${at('generalRateLimit')} { limit, windowSeconds } and ${at('rateLimits')}[] { name, pathPrefix, limit, windowSeconds }`;
retiredSettings.set(wafSchema, { rateLimitPer5Minutes: replacedBy, authRateLimitPer5Minutes: replacedBy, authPathPrefix: replacedBy });

export type WafConfig = Settings<z.output<typeof wafSchema>>;
