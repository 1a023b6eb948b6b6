import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import { PathRateLimitConfig, RateLimitConfig, WafConfig } from '../lib/config';
import { COMMON_RULE_SET, CRS_BODY_SIZE_RULE } from '../lib/waf/common-rule-set';
import { greaterThanPattern, WAF_ALB_BODY_INSPECTION_BYTES } from '../lib/waf/content-length';

/** Properties of a {@link RateLimitedWebAcl}. */
export interface RateLimitedWebAclProps {
  /** ARN of the load balancer to protect. */
  readonly loadBalancerArn: string;
  /** Body limit, general and per-path rate limits. */
  readonly settings: WafConfig;
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
    const s = props.settings;
    this.webAcl = new wafv2.CfnWebACL(this, 'WebAcl', {
      scope: 'REGIONAL',
      defaultAction: { allow: {} },
      visibilityConfig: visibility('web-acl'),
      rules: [
        declaredBodySizeRule(s.maxBodyBytes, 5, visibility),
        managedRuleGroup(WAF_RULE_NAMES.commonRuleSet, 10, visibility('common'), commonRuleSetOverrides(s.maxBodyBytes)),
        managedRuleGroup(WAF_RULE_NAMES.knownBadInputs, 20, visibility('known-bad-inputs')),
        ...s.rateLimits.map((limit, i) => pathRateLimitRule(limit, 100 + i, visibility)),
        rateLimitRule(WAF_RULE_NAMES.general, s.generalRateLimit, 200, visibility('rate-limit')),
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
  limit: RateLimitConfig,
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
      rateBasedStatement: { limit: limit.limit, evaluationWindowSec: limit.windowSeconds, aggregateKeyType: 'IP', scopeDownStatement },
    },
  };
}

/**
 * The prefix is matched after URL decoding and path normalization, so `/%61uth/` and `//auth/./`
 * count against the `/auth/` limit as the application would read them.
 */
function pathRateLimitRule(limit: PathRateLimitConfig, priority: number, visibility: Visibility): wafv2.CfnWebACL.RuleProperty {
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
