/**
 * LoadBalancedService without Albatross's configuration: two services on one cluster and one
 * capacity provider, each with its own task definition, container, target group and scaling.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { LoadBalancedService } from '../../constructs/load-balanced-service';
import { bareStack, capacityIn, loadBalancerIn, logicalIdOf, targetGroupsIn, vpcIn } from './support/fixture';

interface Built {
  stack: Stack;
  template: Template;
  groups: Record<string, elbv2.ApplicationTargetGroup>;
  services: Record<string, LoadBalancedService>;
}

/** `web` is the listener's default, `api` answers /api/*; both share the capacity. */
function twoServices(): Built {
  const stack = bareStack();
  const vpc = vpcIn(stack);
  const groups = targetGroupsIn(stack, vpc, ['web', 'api']);
  const edge = loadBalancerIn(stack, { defaultTargetGroup: groups.web }, vpc);
  edge.httpsListener.addAction('Api', { priority: 10, conditions: [elbv2.ListenerCondition.pathPatterns(['/api/*'])], action: elbv2.ListenerAction.forward([groups.api]) });
  const capacity = capacityIn(stack, vpc);
  const common = { cluster: capacity.cluster, capacityProvider: capacity.capacityProvider };
  const services = {
    web: new LoadBalancedService(stack, 'Web', {
      ...common,
      targetGroup: groups.web,
      image: ecs.ContainerImage.fromRegistry('traefik/whoami:v1.11.0'),
      environment: { WHOAMI_NAME: 'web' },
      desiredCount: 3,
      maxCount: 6,
      scaling: { cpuTargetPercent: 60, requestsPerTarget: 500 },
    }),
    api: new LoadBalancedService(stack, 'Api', {
      ...common,
      targetGroup: groups.api,
      image: ecs.ContainerImage.fromRegistry('example/api:2'),
      containerPort: 8080,
      scaling: { requestsPerTarget: 200, scaleInCooldown: Duration.minutes(10) },
    }),
  };
  return { stack, template: Template.fromStack(stack), groups, services };
}


const { stack, template, groups, services } = twoServices();

function serviceResource(name: string): { Properties: Record<string, unknown>; DependsOn?: string[] } {
  return template.findResources('AWS::ECS::Service')[logicalIdOf(stack, services[name].service)] as { Properties: Record<string, unknown>; DependsOn?: string[] };
}

test('each service has its own task definition and container, with its image, port and environment', () => {
  template.resourceCountIs('AWS::ECS::TaskDefinition', 2);
  template.hasResourceProperties('AWS::ECS::TaskDefinition', {
    NetworkMode: 'bridge',
    ContainerDefinitions: [
      Match.objectLike({ Image: 'traefik/whoami:v1.11.0', Environment: [{ Name: 'WHOAMI_NAME', Value: 'web' }], PortMappings: [{ ContainerPort: 80, HostPort: 0, Protocol: 'tcp' }] }),
    ],
  });
  template.hasResourceProperties('AWS::ECS::TaskDefinition', {
    ContainerDefinitions: [Match.objectLike({ Image: 'example/api:2', Environment: Match.absent(), PortMappings: [{ ContainerPort: 8080, HostPort: 0, Protocol: 'tcp' }] })],
  });
  const taskDefinitions = Object.keys(template.findResources('AWS::ECS::TaskDefinition'));
  const used = ['web', 'api'].map((name) => (serviceResource(name).Properties.TaskDefinition as { Ref: string }).Ref);
  expect(used.sort()).toEqual(taskDefinitions.sort());
});

test('each service registers in its own target group only', () => {
  for (const name of ['web', 'api']) {
    const loadBalancers = serviceResource(name).Properties.LoadBalancers as { TargetGroupArn: { Ref: string }; ContainerPort: number }[];
    expect(loadBalancers.map((l) => l.TargetGroupArn.Ref)).toEqual([logicalIdOf(stack, groups[name])]);
  }
  expect((serviceResource('api').Properties.LoadBalancers as { ContainerPort: number }[])[0].ContainerPort).toBe(8080);
});

test('both services place tasks with the one capacity provider of the one cluster', () => {
  template.resourceCountIs('AWS::ECS::Cluster', 1);
  template.resourceCountIs('AWS::ECS::CapacityProvider', 1);
  const providerId = Object.keys(template.findResources('AWS::ECS::CapacityProvider'))[0];
  const clusterId = Object.keys(template.findResources('AWS::ECS::Cluster'))[0];
  for (const name of ['web', 'api']) {
    expect(serviceResource(name).Properties).toMatchObject({ Cluster: { Ref: clusterId }, CapacityProviderStrategy: [{ CapacityProvider: { Ref: providerId }, Weight: 1 }] });
  }
});

test('each service scales on CPU and on the requests of its own target group', () => {
  template.resourceCountIs('AWS::ApplicationAutoScaling::ScalableTarget', 2);
  template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', { MinCapacity: 3, MaxCapacity: 6 });
  template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', { MinCapacity: 2, MaxCapacity: 20 });
  const policies = Object.values(template.findResources('AWS::ApplicationAutoScaling::ScalingPolicy')) as { Properties: { TargetTrackingScalingPolicyConfiguration: Record<string, unknown> } }[];
  const requestPolicies = policies.map((p) => p.Properties.TargetTrackingScalingPolicyConfiguration).filter((c) => JSON.stringify(c).includes('ALBRequestCountPerTarget'));
  expect(requestPolicies).toHaveLength(2);
  const byTarget = Object.fromEntries(requestPolicies.map((c) => [c.TargetValue as number, JSON.stringify(c.PredefinedMetricSpecification)]));
  // The resource label ends in the target group's full name: web's 500 counts on web, api's 200 on api.
  expect(byTarget[500]).toContain(logicalIdOf(stack, groups.web));
  expect(byTarget[500]).not.toContain(logicalIdOf(stack, groups.api));
  expect(byTarget[200]).toContain(logicalIdOf(stack, groups.api));
  expect(byTarget[200]).not.toContain(logicalIdOf(stack, groups.web));
  template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
    TargetTrackingScalingPolicyConfiguration: Match.objectLike({ TargetValue: 60, PredefinedMetricSpecification: { PredefinedMetricType: 'ECSServiceAverageCPUUtilization' } }),
  });
  template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
    TargetTrackingScalingPolicyConfiguration: Match.objectLike({ TargetValue: 200, ScaleInCooldown: 600, ScaleOutCooldown: 60 }),
  });
});

test('rollBackOnAlarms names the alarms, rolls back on them and creates the service after them', () => {
  const s = bareStack();
  const vpc = vpcIn(s);
  const group = targetGroupsIn(s, vpc, ['web']).web;
  loadBalancerIn(s, { defaultTargetGroup: group }, vpc);
  const capacity = capacityIn(s, vpc);
  const service = new LoadBalancedService(s, 'Web', { cluster: capacity.cluster, capacityProvider: capacity.capacityProvider, targetGroup: group, image: ecs.ContainerImage.fromRegistry('traefik/whoami:v1.11.0') });
  const alarm = new cloudwatch.Alarm(s, 'Errors', { alarmName: 'web-errors', metric: group.metrics.requestCount(), threshold: 1, evaluationPeriods: 1 });
  service.rollBackOnAlarms([alarm], ['web-errors']);
  const t = Template.fromStack(s);
  const resource = Object.values(t.findResources('AWS::ECS::Service'))[0] as { DependsOn: string[]; Properties: { DeploymentConfiguration: { Alarms: unknown } } };
  expect(resource.Properties.DeploymentConfiguration.Alarms).toEqual({ AlarmNames: ['web-errors'], Enable: true, Rollback: true });
  expect(resource.DependsOn).toContain(s.getLogicalId(alarm.node.defaultChild as cloudwatch.CfnAlarm));
});
