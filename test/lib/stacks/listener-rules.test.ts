/**
 * The configuration's rule conditions and actions onto the template: every condition kind, a
 * weighted forward with target-group stickiness, a single-service forward, a fixed response.
 */
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type { RuleAction, RuleConditions } from '../../../lib/config';
import { forwardAction, listenerAction, listenerConditions } from '../../../lib/stacks/listener-rules';
import { bareStack, loadBalancerIn, logicalIdOf, targetGroupsIn, vpcIn } from '../../constructs/support/fixture';

/** Every condition kind over two rules, each within the ALB's 5 condition values per rule. */
const REQUEST_CONDITIONS: RuleConditions = {
  pathPatterns: ['/api/*'],
  hostHeaders: ['api.example.com'],
  httpHeaders: [{ name: 'X-Canary', values: ['on', 'yes'] }, { name: 'X-Tenant', values: ['a*'] }],
};
const CLIENT_CONDITIONS: RuleConditions = {
  httpRequestMethods: ['GET', 'HEAD'],
  queryStrings: [{ key: 'version', value: '2' }, { value: 'beta' }],
  sourceIps: ['2001:db8::/32'],
};

function synth(rules: { priority: number; conditions: RuleConditions; action: RuleAction }[], defaultForward: Record<string, number>, groupStickinessSeconds?: number) {
  const stack = bareStack();
  const vpc = vpcIn(stack);
  const groups = targetGroupsIn(stack, vpc, ['web', 'web-canary', 'api']);
  const edge = loadBalancerIn(stack, { defaultAction: forwardAction({ forward: defaultForward, groupStickinessSeconds }, groups) }, vpc);
  for (const rule of rules) {
    new elbv2.ApplicationListenerRule(stack, `Rule${rule.priority}`, {
      listener: edge.httpsListener,
      priority: rule.priority,
      conditions: listenerConditions(rule.conditions),
      action: listenerAction(rule.action, groups),
    });
  }
  const arnOf = (name: string) => ({ Ref: logicalIdOf(stack, groups[name]) });
  return { template: Template.fromStack(stack), arnOf };
}

const { template, arnOf } = synth(
  [
    { priority: 5, conditions: REQUEST_CONDITIONS, action: { forward: { api: 1 } } },
    { priority: 6, conditions: CLIENT_CONDITIONS, action: { forward: { api: 3, web: 1 } } },
    { priority: 30, conditions: { pathPatterns: ['/maintenance'] }, action: { fixedResponse: { statusCode: 503, contentType: 'application/json', body: '{"status":"maintenance"}' } } },
  ],
  { web: 90, 'web-canary': 10 },
  3600,
);

test('every condition kind is written with its own config block; header and query-string values stay alternatives', () => {
  template.hasResourceProperties('AWS::ElasticLoadBalancingV2::ListenerRule', {
    Priority: 5,
    Conditions: [
      { Field: 'host-header', HostHeaderConfig: { Values: ['api.example.com'] } },
      { Field: 'path-pattern', PathPatternConfig: { Values: ['/api/*'] } },
      { Field: 'http-header', HttpHeaderConfig: { HttpHeaderName: 'X-Canary', Values: ['on', 'yes'] } },
      { Field: 'http-header', HttpHeaderConfig: { HttpHeaderName: 'X-Tenant', Values: ['a*'] } },
    ],
  });
  template.hasResourceProperties('AWS::ElasticLoadBalancingV2::ListenerRule', {
    Priority: 6,
    Conditions: [
      { Field: 'http-request-method', HttpRequestMethodConfig: { Values: ['GET', 'HEAD'] } },
      { Field: 'query-string', QueryStringConfig: { Values: [{ Key: 'version', Value: '2' }, { Value: 'beta' }] } },
      { Field: 'source-ip', SourceIpConfig: { Values: ['2001:db8::/32'] } },
    ],
  });
});

test('a rule forwards to a weighted set of services, without stickiness unless asked', () => {
  template.hasResourceProperties('AWS::ElasticLoadBalancingV2::ListenerRule', {
    Priority: 6,
    Actions: [
      {
        Type: 'forward',
        ForwardConfig: { TargetGroups: [{ TargetGroupArn: arnOf('api'), Weight: 3 }, { TargetGroupArn: arnOf('web'), Weight: 1 }], TargetGroupStickinessConfig: Match.absent() },
      },
    ],
  });
});

test('a forward to one service is a plain forward to its group', () => {
  template.hasResourceProperties('AWS::ElasticLoadBalancingV2::ListenerRule', {
    Priority: 5,
    Actions: [{ Type: 'forward', TargetGroupArn: arnOf('api'), ForwardConfig: Match.absent() }],
  });
});

test('a forward to one service with group stickiness keeps the stickiness (a weighted forward of one group)', () => {
  const { template: t, arnOf: arn } = synth([], { web: 1 }, 600);
  t.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
    Protocol: 'HTTPS',
    DefaultActions: [{ Type: 'forward', ForwardConfig: { TargetGroups: [{ TargetGroupArn: arn('web'), Weight: 1 }], TargetGroupStickinessConfig: { Enabled: true, DurationSeconds: 600 } } }],
  });
});

test('the default action forwards 90/10 to web and web-canary with target-group stickiness', () => {
  template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
    Protocol: 'HTTPS',
    DefaultActions: [
      {
        Type: 'forward',
        ForwardConfig: {
          TargetGroups: [
            { TargetGroupArn: arnOf('web'), Weight: 90 },
            { TargetGroupArn: arnOf('web-canary'), Weight: 10 },
          ],
          TargetGroupStickinessConfig: { Enabled: true, DurationSeconds: 3600 },
        },
      },
    ],
  });
});

test('without groupStickinessSeconds the forward has no stickiness block', () => {
  const { template: t } = synth([], { web: 1, api: 1 });
  const listener = Object.values(t.findResources('AWS::ElasticLoadBalancingV2::Listener')).find((l) => JSON.stringify(l).includes('ForwardConfig')) as { Properties: { DefaultActions: { ForwardConfig: Record<string, unknown> }[] } };
  expect(Object.keys(listener.Properties.DefaultActions[0].ForwardConfig)).toEqual(['TargetGroups']);
});

test('a fixed response answers with its status, content type and body', () => {
  template.hasResourceProperties('AWS::ElasticLoadBalancingV2::ListenerRule', {
    Priority: 30,
    Conditions: [{ Field: 'path-pattern', PathPatternConfig: { Values: ['/maintenance'] } }],
    Actions: [{ Type: 'fixed-response', FixedResponseConfig: { StatusCode: '503', ContentType: 'application/json', MessageBody: '{"status":"maintenance"}' } }],
  });
});

test('a forward naming a service without a target group throws, naming it and the services', () => {
  expect(() => listenerAction({ forward: { apii: 1 } }, {})).toThrow('forward names service "apii", which has no target group (services: )');
});
