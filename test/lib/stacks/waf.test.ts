import { Match } from 'aws-cdk-lib/assertions';
import { BODY_TOO_LARGE_STATUS, CRS_BODY_SIZE_RULE, WAF_RULE_NAMES } from '../../../constructs/rate-limited-web-acl';
import type { ConfigOverrides } from '../../../lib/config';
import { synthStack } from '../../support/stack';

type Rule = {
  Name: string;
  Priority: number;
  Action?: { Block?: { CustomResponse?: { ResponseCode: number } } };
  Statement: {
    ManagedRuleGroupStatement?: { Name: string; RuleActionOverrides?: { Name: string; ActionToUse: Record<string, unknown> }[] };
    RegexMatchStatement?: { FieldToMatch: { SingleHeader: { Name: string } }; RegexString: string };
    RateBasedStatement?: {
      Limit: number;
      EvaluationWindowSec: number;
      AggregateKeyType: string;
      ScopeDownStatement?: { ByteMatchStatement: { SearchString: string; PositionalConstraint: string; TextTransformations: { Type: string }[] } };
    };
  };
};

function webAclRules(partial: ConfigOverrides = {}): Rule[] {
  const { template } = synthStack(partial);
  const acls = Object.values(template.findResources('AWS::WAFv2::WebACL')) as { Properties: { Rules: Rule[] } }[];
  expect(acls).toHaveLength(1);
  return acls[0].Properties.Rules;
}

const rules = webAclRules();
const rule = (name: string, list: Rule[] = rules): Rule => {
  const found = list.find((r) => r.Name === name);
  if (!found) throw new Error(`no rule ${name} in ${list.map((r) => r.Name).join(', ')}`);
  return found;
};

describe('WAF web ACL', () => {
  test('is regional, allows by default, and is attached to the load balancer', () => {
    const { template } = synthStack();
    template.hasResourceProperties('AWS::WAFv2::WebACL', { Scope: 'REGIONAL', DefaultAction: { Allow: {} } });
    const lbId = Object.keys(template.findResources('AWS::ElasticLoadBalancingV2::LoadBalancer'))[0];
    template.hasResourceProperties('AWS::WAFv2::WebACLAssociation', { ResourceArn: { Ref: lbId } });
  });

  test('rule priorities are unique', () => {
    expect(new Set(rules.map((r) => r.Priority)).size).toBe(rules.length);
  });
});

describe('request-body policy (finding 4)', () => {
  test('the Common Rule Set only counts bodies over 8 KB (SizeRestrictions_BODY), so uploads up to the limit pass', () => {
    const crs = rule(WAF_RULE_NAMES.commonRuleSet);
    expect(crs.Statement.ManagedRuleGroupStatement!.RuleActionOverrides).toEqual([{ Name: CRS_BODY_SIZE_RULE, ActionToUse: { Count: {} } }]);
  });

  test('a declared Content-Length above waf.maxBodyBytes (5 MiB) is blocked with 413, and the limit itself passes', () => {
    const size = rule(WAF_RULE_NAMES.bodySize);
    expect(size.Action).toEqual({ Block: { CustomResponse: { ResponseCode: BODY_TOO_LARGE_STATUS } } });
    const statement = size.Statement.RegexMatchStatement!;
    expect(statement.FieldToMatch).toEqual({ SingleHeader: { Name: 'content-length' } });
    const pattern = new RegExp(statement.RegexString);
    expect(pattern.test(String(5 * 1024 * 1024))).toBe(false);
    expect(pattern.test(String(5 * 1024 * 1024 + 1))).toBe(true);
    expect(pattern.test('8193')).toBe(false);
  });

  test('the body rule runs before the managed rule groups', () => {
    expect(rule(WAF_RULE_NAMES.bodySize).Priority).toBeLessThan(rule(WAF_RULE_NAMES.commonRuleSet).Priority);
  });

  test('waf.maxBodyBytes moves the limit; at 8 KB or less the managed body rule keeps blocking', () => {
    const larger = webAclRules({ waf: { maxBodyBytes: 100 * 1024 * 1024 } });
    const pattern = new RegExp(rule(WAF_RULE_NAMES.bodySize, larger).Statement.RegexMatchStatement!.RegexString);
    expect(pattern.test(String(100 * 1024 * 1024))).toBe(false);
    expect(pattern.test(String(100 * 1024 * 1024 + 1))).toBe(true);
    const small = webAclRules({ waf: { maxBodyBytes: 4096 } });
    expect(rule(WAF_RULE_NAMES.commonRuleSet, small).Statement.ManagedRuleGroupStatement!.RuleActionOverrides).toBeUndefined();
  });
});

describe('rate limits', () => {
  test('the defaults: API 600 per 60 s, auth 50 per 600 s, upload 20 per 600 s, by client IP on the decoded, normalized path', () => {
    const expected = { api: ['/api/', 600, 60], auth: ['/auth/', 50, 600], upload: ['/upload/', 20, 600] } as const;
    for (const [name, [prefix, limit, window]] of Object.entries(expected)) {
      const statement = rule(WAF_RULE_NAMES.path(name)).Statement.RateBasedStatement!;
      expect(statement).toMatchObject({ Limit: limit, EvaluationWindowSec: window, AggregateKeyType: 'IP' });
      expect(statement.ScopeDownStatement!.ByteMatchStatement).toMatchObject({ SearchString: prefix, PositionalConstraint: 'STARTS_WITH' });
      expect(statement.ScopeDownStatement!.ByteMatchStatement.TextTransformations.map((t) => t.Type)).toEqual(['URL_DECODE', 'NORMALIZE_PATH']);
      expect(rule(WAF_RULE_NAMES.path(name)).Action).toEqual({ Block: {} });
    }
  });

  test('a general per-IP limit over every path, after the path limits', () => {
    const general = rule(WAF_RULE_NAMES.general);
    expect(general.Statement.RateBasedStatement).toEqual({ Limit: 1200, EvaluationWindowSec: 60, AggregateKeyType: 'IP' });
    for (const name of ['api', 'auth', 'upload']) expect(rule(WAF_RULE_NAMES.path(name)).Priority).toBeLessThan(general.Priority);
  });

  test('waf.rateLimits and waf.generalRateLimit come from the config; no other path limits remain', () => {
    const custom = webAclRules({
      waf: { generalRateLimit: { limit: 5000, windowSeconds: 300 }, rateLimits: [{ name: 'login', pathPrefix: '/login', limit: 10, windowSeconds: 120 }] },
    });
    expect(rule(WAF_RULE_NAMES.general, custom).Statement.RateBasedStatement).toEqual({ Limit: 5000, EvaluationWindowSec: 300, AggregateKeyType: 'IP' });
    expect(rule(WAF_RULE_NAMES.path('login'), custom).Statement.RateBasedStatement).toMatchObject({ Limit: 10, EvaluationWindowSec: 120 });
    expect(custom.filter((r) => r.Statement.RateBasedStatement).map((r) => r.Name)).toEqual([WAF_RULE_NAMES.path('login'), WAF_RULE_NAMES.general]);
  });

  test('each rule has its own CloudWatch metric', () => {
    const { template } = synthStack();
    template.hasResourceProperties('AWS::WAFv2::WebACL', {
      Rules: Match.arrayWith([Match.objectLike({ Name: WAF_RULE_NAMES.path('auth'), VisibilityConfig: Match.objectLike({ MetricName: 'albatross-rate-auth' }) })]),
    });
    const metricNames = rules.map((r) => (r as unknown as { VisibilityConfig: { MetricName: string } }).VisibilityConfig.MetricName);
    expect(new Set(metricNames).size).toBe(rules.length);
  });
});
