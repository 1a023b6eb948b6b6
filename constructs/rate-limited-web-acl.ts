import { Duration } from 'aws-cdk-lib';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import { COMMON_RULE_SET, CRS_BODY_SIZE_RULE } from '../lib/waf/common-rule-set';
import { greaterThanPattern, WAF_ALB_BODY_INSPECTION_BYTES } from '../lib/waf/content-length';
import { isRateLimit, RATE_LIMIT_RANGE, RATE_LIMIT_WINDOWS_SECONDS } from '../lib/waf/rate-based';

/** A per-IP request limit of a {@link RateLimitedWebAcl}. */
export interface RateLimit {
  /** Requests one IP address may send in `window` before WAF blocks it, 10 to 2,000,000,000. */
  readonly limit: number;
  /** The window WAF counts in: 1, 2, 5 or 10 minutes. */
  readonly window: Duration;
}

/** A per-IP request limit on the paths under a prefix. */
export interface PathRateLimit extends RateLimit {
  /** Names the rule (`RateLimit-<name>`) and its metric. */
  readonly name: string;
  /** The limit counts requests whose normalized, URL-decoded path starts with this. */
  readonly pathPrefix: string;
}

/** Properties of a {@link RateLimitedWebAcl}. */
export interface RateLimitedWebAclProps {
  /** ARN of the load balancer to protect. */
  readonly loadBalancerArn: string;
  /**
   * Largest request body, as its `Content-Length` declares it, in bytes; larger requests are
   * blocked with 413.
   * @default 5 MiB
   */
  readonly maxBodyBytes?: number;
  /**
   * Limit on all requests of one IP address.
   * @default 1200 per minute
   */
  readonly generalRateLimit?: RateLimit;
  /**
   * Stricter limits on paths (login, uploads), evaluated before the general limit.
   * @default - none
   */
  readonly pathRateLimits?: PathRateLimit[];
  /**
   * Prefix of the CloudWatch metric names of the ACL and its rules.
   * @default 'albatross'
   */
  readonly metricPrefix?: string;
}

/** Names of the web ACL's own rules, for tests, dashboards and log queries. */
export const WAF_RULE_NAMES = {
  bodySize: 'DeclaredBodySizeLimit',
  commonRuleSet: COMMON_RULE_SET.name,
  knownBadInputs: 'AWSManagedRulesKnownBadInputsRuleSet',
  general: 'GeneralRateLimit',
  path: (name: string): string => `RateLimit-${name}`,
} as const;

/** The Common Rule Set's rule that blocks every body over 8 KB (defined with the rule set's other facts). */
export { CRS_BODY_SIZE_RULE } from '../lib/waf/common-rule-set';

/** Status of a request blocked for its declared body size: 413 Content Too Large (RFC 9110). */
export const BODY_TOO_LARGE_STATUS = 413;

type Visibility = (name: string) => wafv2.CfnWebACL.VisibilityConfigProperty;

const DEFAULT_MAX_BODY_BYTES = 5 * 1024 * 1024;
const DEFAULT_GENERAL_RATE_LIMIT: RateLimit = { limit: 1200, window: Duration.minutes(1) };
export { RATE_LIMIT_WINDOWS_SECONDS };

/** WAF would reject any other window or limit only at deploy time. */
function rateLimitProblems(prop: string, limit: RateLimit): string[] {
  const found: string[] = [];
  const seconds: number = limit.window.isUnresolved() ? RATE_LIMIT_WINDOWS_SECONDS[0] : limit.window.toSeconds();
  if (!(RATE_LIMIT_WINDOWS_SECONDS as readonly number[]).includes(seconds)) found.push(`RateLimitedWebAcl ${prop}.window must be 1, 2, 5 or 10 minutes (got ${limit.window.toHumanString()})`);
  if (!isRateLimit(limit.limit)) found.push(`RateLimitedWebAcl ${prop}.limit must be an integer from ${RATE_LIMIT_RANGE.min} to ${RATE_LIMIT_RANGE.max} (got ${limit.limit})`);
  return found;
}

/**
 * A regional WAF web ACL on a load balancer: a limit on the declared body size, the AWS managed
 * common and known-bad-inputs rule sets, per-path and general per-IP rate limits.
 *
 * The Common Rule Set blocks any body over 8 KB (`SizeRestrictions_BODY`), the most WAF can see
 * of a body on an ALB; with a larger `maxBodyBytes` that rule only counts, and a rule on the
 * declared `Content-Length` blocks the larger bodies instead.
 */
export class RateLimitedWebAcl extends Construct {
  /** The web ACL. */
  readonly webAcl: wafv2.CfnWebACL;

  constructor(scope: Construct, id: string, props: RateLimitedWebAclProps) {
    super(scope, id);
    const prefix = props.metricPrefix ?? 'albatross';
    const visibility: Visibility = (name) => ({ cloudWatchMetricsEnabled: true, sampledRequestsEnabled: true, metricName: `${prefix}-${name}` });
    const maxBodyBytes = props.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    const pathLimits = props.pathRateLimits ?? [];
    const generalLimit = props.generalRateLimit ?? DEFAULT_GENERAL_RATE_LIMIT;
    this.node.addValidation({
      validate: () => [...pathLimits.flatMap((limit, i) => rateLimitProblems(`pathRateLimits[${i}]`, limit)), ...rateLimitProblems('generalRateLimit', generalLimit)],
    });
    this.webAcl = new wafv2.CfnWebACL(this, 'WebAcl', {
      scope: 'REGIONAL',
      defaultAction: { allow: {} },
      visibilityConfig: visibility('web-acl'),
      rules: [
        declaredBodySizeRule(maxBodyBytes, 5, visibility),
        managedRuleGroup(WAF_RULE_NAMES.commonRuleSet, 10, visibility('common'), commonRuleSetOverrides(maxBodyBytes)),
        managedRuleGroup(WAF_RULE_NAMES.knownBadInputs, 20, visibility('known-bad-inputs')),
        ...pathLimits.map((limit, i) => pathRateLimitRule(limit, 100 + i, visibility)),
        rateLimitRule(WAF_RULE_NAMES.general, generalLimit, 200, visibility('rate-limit')),
      ],
    });
    new wafv2.CfnWebACLAssociation(this, 'Association', {
      resourceArn: props.loadBalancerArn,
      webAclArn: this.webAcl.attrArn,
    });
  }
}

/** Bodies up to 8 KB are what the managed rule allows anyway; above that it must only count. */
function commonRuleSetOverrides(maxBodyBytes: number): wafv2.CfnWebACL.RuleActionOverrideProperty[] {
  return maxBodyBytes > WAF_ALB_BODY_INSPECTION_BYTES ? [{ name: CRS_BODY_SIZE_RULE, actionToUse: { count: {} } }] : [];
}

/** Blocks requests whose `Content-Length` declares more than `maxBodyBytes`, with 413. */
function declaredBodySizeRule(maxBodyBytes: number, priority: number, visibility: Visibility): wafv2.CfnWebACL.RuleProperty {
  return {
    name: WAF_RULE_NAMES.bodySize,
    priority,
    action: { block: { customResponse: { responseCode: BODY_TOO_LARGE_STATUS } } },
    visibilityConfig: visibility('body-size'),
    statement: {
      regexMatchStatement: {
        // CDK types SingleHeader as `any` and passes it through as written, so the key is spelled
        // the CloudFormation way; WAF matches header names case-insensitively, written in lower case.
        fieldToMatch: { singleHeader: { Name: 'content-length' } },
        regexString: greaterThanPattern(maxBodyBytes),
        textTransformations: [{ priority: 0, type: 'NONE' }],
      },
    },
  };
}

function rateLimitRule(
  name: string,
  limit: RateLimit,
  priority: number,
  visibilityConfig: wafv2.CfnWebACL.VisibilityConfigProperty,
  scopeDownStatement?: wafv2.CfnWebACL.StatementProperty,
): wafv2.CfnWebACL.RuleProperty {
  return {
    name,
    priority,
    action: { block: {} },
    visibilityConfig,
    statement: {
      rateBasedStatement: { limit: limit.limit, evaluationWindowSec: limit.window.toSeconds(), aggregateKeyType: 'IP', scopeDownStatement },
    },
  };
}

/**
 * The prefix is matched after URL decoding and path normalization, so `/%61uth/` and `//auth/./`
 * count against the `/auth/` limit as the application would read them.
 */
function pathRateLimitRule(limit: PathRateLimit, priority: number, visibility: Visibility): wafv2.CfnWebACL.RuleProperty {
  return rateLimitRule(WAF_RULE_NAMES.path(limit.name), limit, priority, visibility(`rate-${limit.name}`), {
    byteMatchStatement: {
      fieldToMatch: { uriPath: {} },
      positionalConstraint: 'STARTS_WITH',
      searchString: limit.pathPrefix,
      textTransformations: [
        { priority: 0, type: 'URL_DECODE' },
        { priority: 1, type: 'NORMALIZE_PATH' },
      ],
    },
  });
}

function managedRuleGroup(
  name: string,
  priority: number,
  visibilityConfig: wafv2.CfnWebACL.VisibilityConfigProperty,
  ruleActionOverrides: wafv2.CfnWebACL.RuleActionOverrideProperty[] = [],
): wafv2.CfnWebACL.RuleProperty {
  return {
    name,
    priority,
    overrideAction: { none: {} },
    visibilityConfig,
    statement: {
      managedRuleGroupStatement: { vendorName: 'AWS', name, ruleActionOverrides: ruleActionOverrides.length > 0 ? ruleActionOverrides : undefined },
    },
  };
}
