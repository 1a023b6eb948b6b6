/**
 * The services of a synthesized template, as the local stack runs them (compose, the demo): each
 * ECS service behind the load balancer, with the target groups it registers in and its desired
 * count, so that locally one sample app per desired task serves each group as on AWS.
 */
import { LoadBalancerModel, TargetGroupModel } from './model';
import { TemplateError } from './template';

const ECS_SERVICE = 'AWS::ECS::Service';

/** One service of the load balancer, and how many sample apps stand in for it. */
export interface ServiceModel {
  /**
   * The service's name: the short name of its target group (one group per service), else its
   * container's name, else its logical id (the first name no other service has).
   */
  readonly name: string;
  /** Logical id of the `AWS::ECS::Service`; absent for a group no ECS service registers in. */
  readonly logicalId?: string;
  /** Short names of the target groups its tasks register in. */
  readonly targetGroups: string[];
  /** The service's `DesiredCount` (ECS's 1 when absent; 1 for a group without a service). */
  readonly replicas: number;
  /** Health check paths of its groups, which its stand-in must answer with 200. */
  readonly healthCheckPaths: string[];
}

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

function desiredCount(value: unknown, what: string): number {
  if (value === undefined) return 1;
  const n = typeof value === 'number' || typeof value === 'string' ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < 0) throw new TemplateError(`${what}.DesiredCount must be a literal count (got ${JSON.stringify(value)})`);
  return n;
}

/** The groups of the model an ECS service's `LoadBalancers` entries name by `{Ref}`. */
function groupsOf(model: LoadBalancerModel, properties: Json): { groups: TargetGroupModel[]; container?: string } {
  const entries = Array.isArray(properties.LoadBalancers) ? properties.LoadBalancers.filter(isObject) : [];
  const groups: TargetGroupModel[] = [];
  for (const entry of entries) {
    const ref = isObject(entry.TargetGroupArn) ? entry.TargetGroupArn.Ref : undefined;
    const group = typeof ref === 'string' ? model.targetGroups[ref] : undefined;
    if (group && !groups.includes(group)) groups.push(group);
  }
  const container = entries.find((e) => typeof e.ContainerName === 'string')?.ContainerName as string | undefined;
  return { groups, container };
}

function service(name: string, groups: TargetGroupModel[], replicas: number, logicalId?: string): ServiceModel {
  const healthCheckPaths = [...new Set(groups.filter((g) => g.healthCheck.enabled).map((g) => g.healthCheck.path))];
  return { name, ...(logicalId ? { logicalId } : {}), targetGroups: groups.map((g) => g.name), replicas, healthCheckPaths };
}

/**
 * The services behind the model's load balancer, in template order: every ECS service registered in
 * one of its target groups, then one single-replica stand-in per group no ECS service registers in,
 * so that every group has a backend.
 */
export function readServices(template: unknown, model: LoadBalancerModel, source = 'template'): ServiceModel[] {
  const resources = isObject(template) && isObject(template.Resources) ? template.Resources : {};
  const services: ServiceModel[] = [];
  for (const [id, resource] of Object.entries(resources)) {
    if (!isObject(resource) || resource.Type !== ECS_SERVICE) continue;
    const properties = isObject(resource.Properties) ? resource.Properties : {};
    const { groups, container } = groupsOf(model, properties);
    if (groups.length === 0) continue;
    // Two services in one group (a blue/green pair) keep the group's name for the first only.
    const taken = (n: string) => services.some((s) => s.name === n);
    const preferred = groups.length === 1 ? groups[0].name : (container ?? id);
    const name = [preferred, container, id].find((n): n is string => n !== undefined && !taken(n)) ?? id;
    services.push(service(name, groups, desiredCount(properties.DesiredCount, `${source}: ECS service ${id}`), id));
  }
  const served = new Set(services.flatMap((s) => s.targetGroups));
  for (const group of Object.values(model.targetGroups)) if (!served.has(group.name)) services.push(service(group.name, [group], 1));
  return services;
}

/** The sample apps standing in for a service's tasks: `<service>-<n>`, n from 1, one per desired task. */
export function replicaNames(service: ServiceModel): string[] {
  return Array.from({ length: service.replicas }, (_, i) => `${service.name}-${i + 1}`);
}

/** Each target group's replicas, in the order the services list them (a group two services share gets both's). */
export function replicasByGroup(services: readonly ServiceModel[]): Map<string, string[]> {
  const byGroup = new Map<string, string[]>();
  for (const service of services) {
    for (const group of service.targetGroups) byGroup.set(group, [...(byGroup.get(group) ?? []), ...replicaNames(service)]);
  }
  return byGroup;
}
