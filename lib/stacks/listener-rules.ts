/**
 * Listener rules and actions of the configuration → CDK: each condition kind onto its
 * `elbv2.ListenerCondition`, each action onto its `elbv2.ListenerAction`.
 */
import { Duration } from 'aws-cdk-lib';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type { RuleAction, RuleConditions } from '../config';

type ForwardAction = Extract<RuleAction, { forward: unknown }>;

/** The listener conditions of a rule, in a fixed order of kinds (the template does not depend on key order). */
export function listenerConditions(c: RuleConditions): elbv2.ListenerCondition[] {
  return [
    ...(c.hostHeaders ? [elbv2.ListenerCondition.hostHeaders(c.hostHeaders)] : []),
    ...(c.pathPatterns ? [elbv2.ListenerCondition.pathPatterns(c.pathPatterns)] : []),
    // One condition per header: different headers must all match, the values of one are alternatives.
    ...(c.httpHeaders ?? []).map((h) => elbv2.ListenerCondition.httpHeader(h.name, h.values)),
    ...(c.httpRequestMethods ? [elbv2.ListenerCondition.httpRequestMethods(c.httpRequestMethods)] : []),
    // One condition: the key/value pairs listed are alternatives, as ALB evaluates them.
    ...(c.queryStrings ? [elbv2.ListenerCondition.queryStrings(c.queryStrings.map((q) => ({ key: q.key, value: q.value })))] : []),
    ...(c.sourceIps ? [elbv2.ListenerCondition.sourceIps(c.sourceIps)] : []),
  ];
}

/**
 * A forward to the services' target groups (`targetGroups` holds every service by name): one
 * service is a plain forward (`TargetGroupArn`), several a weighted one (`ForwardConfig`), and
 * target-group stickiness makes either a weighted one, where the ALB keeps that setting.
 */
export function forwardAction(action: ForwardAction, targetGroups: Record<string, elbv2.IApplicationTargetGroup>): elbv2.ListenerAction {
  const weighted = Object.entries(action.forward).map(([service, weight]) => {
    const targetGroup = targetGroups[service];
    // The configuration's validation names unknown services; this only guards a caller that skipped it.
    if (!targetGroup) throw new Error(`forward names service ${JSON.stringify(service)}, which has no target group (services: ${Object.keys(targetGroups).join(', ')})`);
    return { targetGroup, weight };
  });
  const stickiness = action.groupStickinessSeconds;
  const options = stickiness === undefined ? {} : { stickinessDuration: Duration.seconds(stickiness) };
  return weighted.length === 1 ? elbv2.ListenerAction.forward([weighted[0].targetGroup], options) : elbv2.ListenerAction.weightedForward(weighted, options);
}

export function listenerAction(action: RuleAction, targetGroups: Record<string, elbv2.IApplicationTargetGroup>): elbv2.ListenerAction {
  if ('forward' in action) return forwardAction(action, targetGroups);
  const { statusCode, contentType, body } = action.fixedResponse;
  return elbv2.ListenerAction.fixedResponse(statusCode, { contentType, messageBody: body });
}
