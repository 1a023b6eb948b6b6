import {
  DescribeTagsCommand,
  DescribeTargetGroupAttributesCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  DescribeTargetGroupsCommand,
  TargetGroup,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { STACK_NAME_TAG } from '../alb/tags';
import { TARGET_GROUP_ATTRIBUTES, TARGET_GROUP_DEFAULTS } from '../alb/target-group-attributes';
import { RetryPolicy, withRetry } from './retry';
import { DrainTarget } from './target-id';

/** One place a target is registered: a target group and a port. */
export interface Registration {
  readonly targetGroupArn: string;
  readonly targetGroupName: string;
  readonly id: string;
  readonly port: number;
  /** As DescribeTargetHealth reported it when found. */
  readonly state: string;
  readonly deregistrationDelaySeconds: number;
}

/** Which target groups to look in. */
export interface RegistrationScope {
  /** Only these target groups (ARNs). */
  readonly targetGroupArns?: readonly string[];
  /** Only target groups of this CloudFormation stack (tag aws:cloudformation:stack-name, lib/alb/tags.ts). */
  readonly stackName?: string;
}

async function listTargetGroups(elbv2: ElasticLoadBalancingV2Client, scope: RegistrationScope, retry: RetryPolicy): Promise<TargetGroup[]> {
  const groups: TargetGroup[] = [];
  const input = scope.targetGroupArns?.length ? { TargetGroupArns: [...scope.targetGroupArns] } : { PageSize: 400 };
  // Paged by hand, so that each page is retried on throttling.
  let marker: string | undefined;
  do {
    const page = await withRetry(() => elbv2.send(new DescribeTargetGroupsCommand({ ...input, Marker: marker })), retry);
    groups.push(...(page.TargetGroups ?? []));
    marker = page.NextMarker;
  } while (marker);
  if (scope.stackName === undefined) return groups;
  const inStack = new Set<string>();
  for (let i = 0; i < groups.length; i += 20) {
    const arns = groups.slice(i, i + 20).map((g) => g.TargetGroupArn!);
    const tags = await withRetry(() => elbv2.send(new DescribeTagsCommand({ ResourceArns: arns })), retry);
    for (const description of tags.TagDescriptions ?? []) {
      if (description.Tags?.some((t) => t.Key === STACK_NAME_TAG && t.Value === scope.stackName)) inStack.add(description.ResourceArn!);
    }
  }
  return groups.filter((g) => inStack.has(g.TargetGroupArn!));
}

/** The deregistration delay of a target group, in seconds (300 when the attribute is absent). */
export async function deregistrationDelaySeconds(elbv2: ElasticLoadBalancingV2Client, targetGroupArn: string, retry: RetryPolicy = {}): Promise<number> {
  const attributes = await withRetry(() => elbv2.send(new DescribeTargetGroupAttributesCommand({ TargetGroupArn: targetGroupArn })), retry);
  const value = attributes.Attributes?.find((a) => a.Key === TARGET_GROUP_ATTRIBUTES.deregistrationDelaySeconds)?.Value;
  return value === undefined ? TARGET_GROUP_DEFAULTS.deregistrationDelaySeconds : Number(value);
}

/**
 * Every registration of the target in the scope's target groups: for an instance, every port it is
 * registered on (ECS bridge mode registers one per task); for ip:port, that one.
 */
export async function findRegistrations(
  elbv2: ElasticLoadBalancingV2Client,
  target: DrainTarget,
  scope: RegistrationScope = {},
  retry: RetryPolicy = {},
): Promise<Registration[]> {
  const found: Registration[] = [];
  for (const group of await listTargetGroups(elbv2, scope, retry)) {
    const arn = group.TargetGroupArn!;
    const health = await withRetry(() => elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: arn })), retry);
    const mine = (health.TargetHealthDescriptions ?? []).filter(
      (d) => d.Target?.Id === target.id && (target.kind === 'instance' || d.Target?.Port === target.port) && d.TargetHealth?.State !== 'unused',
    );
    if (mine.length === 0) continue;
    const delay = await deregistrationDelaySeconds(elbv2, arn, retry);
    for (const d of mine) {
      found.push({
        targetGroupArn: arn,
        targetGroupName: group.TargetGroupName ?? arn,
        id: d.Target!.Id!,
        port: d.Target!.Port ?? group.Port ?? 0,
        state: d.TargetHealth?.State ?? 'unknown',
        deregistrationDelaySeconds: delay,
      });
    }
  }
  return found;
}
