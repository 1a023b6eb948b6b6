import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import { WafConfig } from '../lib/config';

/** Properties of a {@link RateLimitedWebAcl}. */
export interface RateLimitedWebAclProps {
  /** ARN of the load balancer to protect. */
  readonly loadBalancerArn: string;
  /** Rate limits and the auth path. */
  readonly settings: WafConfig;
  /**
   * Prefix of the CloudWatch metric names of the ACL and its rules.
   * @default 'albatross'
   */
  readonly metricPrefix?: string;
}

/**
 * A regional WAF web ACL on a load balancer: AWS managed common and known-bad-inputs rule sets,
 * a stricter per-IP rate limit on the authentication path, and a general per-IP rate limit.
 */
export class RateLimitedWebAcl extends Construct {
  /** The web ACL. */
  readonly webAcl: wafv2.CfnWebACL;

  constructor(scope: Construct, id: string, props: RateLimitedWebAclProps) {
    super(scope, id);
    const prefix = props.metricPrefix ?? 'albatross';
    const visibility = (name: string): wafv2.CfnWebACL.VisibilityConfigProperty => ({
      cloudWatchMetricsEnabled: true,
      sampledRequestsEnabled: true,
      metricName: `${prefix}-${name}`,
    });
    const s = props.settings;
    this.webAcl = new wafv2.CfnWebACL(this, 'WebAcl', {
      scope: 'REGIONAL',
      defaultAction: { allow: {} },
      visibilityConfig: visibility('web-acl'),
      rules: [
        managedRuleGroup('AWSManagedRulesCommonRuleSet', 10, visibility('common')),
        managedRuleGroup('AWSManagedRulesKnownBadInputsRuleSet', 20, visibility('known-bad-inputs')),
        {
          name: 'AuthPathRateLimit',
          priority: 30,
          action: { block: {} },
          visibilityConfig: visibility('auth-rate-limit'),
          statement: {
            rateBasedStatement: {
              limit: s.authRateLimitPer5Minutes,
              aggregateKeyType: 'IP',
              scopeDownStatement: {
                byteMatchStatement: {
                  fieldToMatch: { uriPath: {} },
                  positionalConstraint: 'STARTS_WITH',
                  searchString: s.authPathPrefix,
                  textTransformations: [{ priority: 0, type: 'NONE' }],
                },
              },
            },
          },
        },
        {
          name: 'GeneralRateLimit',
          priority: 40,
          action: { block: {} },
          visibilityConfig: visibility('rate-limit'),
          statement: { rateBasedStatement: { limit: s.rateLimitPer5Minutes, aggregateKeyType: 'IP' } },
        },
      ],
    });
    new wafv2.CfnWebACLAssociation(this, 'Association', {
      resourceArn: props.loadBalancerArn,
      webAclArn: this.webAcl.attrArn,
    });
  }
}

function managedRuleGroup(
  name: string,
  priority: number,
  visibilityConfig: wafv2.CfnWebACL.VisibilityConfigProperty,
): wafv2.CfnWebACL.RuleProperty {
  return {
    name,
    priority,
    overrideAction: { none: {} },
    visibilityConfig,
    statement: { managedRuleGroupStatement: { vendorName: 'AWS', name } },
  };
}
