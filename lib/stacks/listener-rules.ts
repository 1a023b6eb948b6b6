/**
 * Listener rules and actions of the configuration → CDK: each condition kind onto its
 * `elbv2.ListenerCondition`, each action onto its `elbv2.ListenerAction`. Forwards are always
 * weighted (`ForwardConfig.TargetGroups`), one service or several, so the template has one shape
 * of forward for the local proxy and the drain to read.
 */
import { Duration } from 'aws-cdk-lib';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';

/** The conditions of a rule; the kinds present must all match, the values within one kind are alternatives. */
export interface RuleConditions {
  readonly pathPatterns?: string[];
  readonly hostHeaders?: string[];
  readonly httpHeaders?: { readonly name: string; readonly values: string[] }[];
  readonly httpRequestMethods?: string[];
  readonly queryStrings?: { readonly key?: string; readonly value: string }[];
  readonly sourceIps?: string[];
}

/** A forward to one service or a weighted set of them, by service name, with optional target-group stickiness. */
export interface ForwardAction {
  readonly forward: Record<string, number>;
  readonly groupStickinessSeconds?: number;
}

/** An answer the load balancer gives itself. */
export interface FixedResponseAction {
  readonly fixedResponse: { readonly statusCode: number; readonly contentType: string; readonly body: string };
}

export type RuleAction = ForwardAction | FixedResponseAction;

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

/** A weighted forward to the services' target groups; `targetGroups` holds every service by name. */
export function forwardAction(action: ForwardAction, targetGroups: Record<string, elbv2.IApplicationTargetGroup>): elbv2.ListenerAction {
  const weighted = Object.entries(action.forward).map(([service, weight]) => {
    const targetGroup = targetGroups[service];
    // The configuration's validation names unknown services; this only guards a caller that skipped it.
    if (!targetGroup) throw new Error(`forward names service ${JSON.stringify(service)}, which has no target group (services: ${Object.keys(targetGroups).join(', ')})`);
    return { targetGroup, weight };
  });
  const stickiness = action.groupStickinessSeconds;
  return elbv2.ListenerAction.weightedForward(weighted, stickiness === undefined ? {} : { stickinessDuration: Duration.seconds(stickiness) });
}

export function listenerAction(action: RuleAction, targetGroups: Record<string, elbv2.IApplicationTargetGroup>): elbv2.ListenerAction {
  if ('forward' in action) return forwardAction(action, targetGroups);
  const { statusCode, contentType, body } = action.fixedResponse;
  return elbv2.ListenerAction.fixedResponse(statusCode, { contentType, messageBody: body });
}
