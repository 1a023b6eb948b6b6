/**
 * ServiceAlarms without Albatross's configuration: per service (= per target group) 5xx rate, p95
 * latency and unhealthy hosts on that group's own metrics; the load balancer's own alarms once.
 */
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as sns from 'aws-cdk-lib/aws-sns';
import { ServiceAlarms } from '../../constructs/service-alarms';
import { bareStack, loadBalancerIn, logicalIdOf, targetGroupsIn, vpcIn } from './support/fixture';

type MetricStat = { Metric: { MetricName: string; Dimensions: { Name: string; Value: unknown }[] } };
type AlarmProperties = {
  AlarmName: string;
  MetricName?: string;
  Dimensions?: { Name: string; Value: unknown }[];
  ExtendedStatistic?: string;
  Threshold: number;
  Metrics?: { Id: string; Expression?: string; MetricStat?: MetricStat }[];
};

/** Twelve services: more than the nine one summed alarm allowed before. */
const SERVICES = ['web', 'web-canary', 'api', 'static', ...Array.from({ length: 8 }, (_, i) => `svc${i}`)];

function build(names: string[]): { stack: Stack; alarms: ServiceAlarms; groups: Record<string, elbv2.ApplicationTargetGroup>; byName: Record<string, AlarmProperties> } {
  const stack = bareStack();
  const vpc = vpcIn(stack);
  const groups = targetGroupsIn(stack, vpc, names);
  const edge = loadBalancerIn(stack, { defaultAction: elbv2.ListenerAction.weightedForward(names.slice(0, 5).map((n) => ({ targetGroup: groups[n], weight: 1 }))) }, vpc);
  names.slice(5).forEach((name, i) => {
    edge.httpsListener.addAction(`Rule-${name}`, { priority: i + 1, conditions: [elbv2.ListenerCondition.pathPatterns([`/${name}/*`])], action: elbv2.ListenerAction.forward([groups[name]]) });
  });
  const alarms = new ServiceAlarms(stack, 'Alarms', { loadBalancer: edge.loadBalancer, targetGroups: groups, topic: new sns.Topic(stack, 'Topic'), target5xxRatePercent: 2 });
  const resources = Template.fromStack(stack).findResources('AWS::CloudWatch::Alarm') as Record<string, { Properties: AlarmProperties }>;
  const byName = Object.fromEntries(Object.values(resources).map((r) => [r.Properties.AlarmName, r.Properties]));
  return { stack, alarms, groups, byName };
}

const { stack, alarms, groups, byName } = build(SERVICES);

/** The target group a dimension list names, by logical id (`TargetGroupFullName` of the group). */
function targetGroupOf(dimensions: { Name: string; Value: unknown }[]): string | undefined {
  const value = dimensions.find((d) => d.Name === 'TargetGroup')?.Value;
  return value === undefined ? undefined : (value as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
}

test('three alarms per service and three for the load balancer, no more', () => {
  expect(Object.keys(byName)).toHaveLength(3 * SERVICES.length + 3);
  expect(alarms.alarms).toHaveLength(3 * SERVICES.length + 3);
  for (const name of SERVICES) expect(alarms.serviceAlarms[name]).toHaveLength(3);
  expect(Object.keys(byName).filter((n) => !SERVICES.some((s) => n.startsWith(`Reuse-${s}-`))).sort()).toEqual(
    ['Reuse-LoadBalancer5xxRate', 'Reuse-RejectedConnections', 'Reuse-TargetConnectionErrors'],
  );
});

test.each(SERVICES)('%s: 5xx rate of its own group, within the 10 metrics CloudWatch allows an alarm', (name) => {
  const alarm = byName[`Reuse-${name}-Target5xxRate`];
  expect(alarm.Threshold).toBe(2);
  const metrics = alarm.Metrics!;
  expect(metrics.length).toBeLessThanOrEqual(10);
  expect(metrics.find((m) => m.Expression)!.Expression).toBe('IF(FILL(requests, 0) > 0, 100 * FILL(errors, 0) / FILL(requests, 0), 0)');
  const stats = Object.fromEntries(metrics.filter((m) => m.MetricStat).map((m) => [m.Id, m.MetricStat!.Metric]));
  expect(stats.errors.MetricName).toBe('HTTPCode_Target_5XX_Count');
  expect(stats.requests.MetricName).toBe('RequestCount');
  for (const metric of Object.values(stats)) expect(targetGroupOf(metric.Dimensions)).toBe(logicalIdOf(stack, groups[name]));
});

test.each(SERVICES)('%s: p95 latency and unhealthy hosts of its own group', (name) => {
  const latency = byName[`Reuse-${name}-TargetResponseTimeP95`];
  expect([latency.MetricName, latency.ExtendedStatistic, latency.Threshold]).toEqual(['TargetResponseTime', 'p95', 0.5]);
  expect(targetGroupOf(latency.Dimensions!)).toBe(logicalIdOf(stack, groups[name]));
  const unhealthy = byName[`Reuse-${name}-UnhealthyHosts`];
  expect([unhealthy.MetricName, unhealthy.Threshold]).toEqual(['UnHealthyHostCount', 0]);
  expect(targetGroupOf(unhealthy.Dimensions!)).toBe(logicalIdOf(stack, groups[name]));
});

test('the load balancer alarms are on the load balancer alone', () => {
  for (const name of ['Reuse-RejectedConnections', 'Reuse-TargetConnectionErrors']) {
    expect(byName[name].Dimensions!.map((d) => d.Name)).toEqual(['LoadBalancer']);
  }
  const elb = byName['Reuse-LoadBalancer5xxRate'].Metrics!.filter((m) => m.MetricStat);
  expect(elb.map((m) => m.MetricStat!.Metric.Dimensions.map((d) => d.Name))).toEqual([['LoadBalancer'], ['LoadBalancer']]);
});

test('a service deploy rolls back on its own 5xx rate and p95, and on the load balancer 5xx rate', () => {
  const { alarms: deployment, alarmNames } = alarms.deploymentAlarms('api');
  expect(alarmNames).toEqual(['Reuse-api-Target5xxRate', 'Reuse-api-TargetResponseTimeP95', 'Reuse-LoadBalancer5xxRate']);
  expect(deployment.map((a) => a.node.id)).toEqual(['api-Target5xxRate', 'api-TargetResponseTimeP95', 'LoadBalancer5xxRate']);
  expect(() => alarms.deploymentAlarms('nope')).toThrow('ServiceAlarms has no service "nope"');
});
