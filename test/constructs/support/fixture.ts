/**
 * Constructs built the way a reuser builds them, without Albatross's configuration: a bare stack,
 * a VPC, a load balancer, ECS capacity.
 */
import { App, CfnElement, Stack } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import { EcsCapacity } from '../../../constructs/ecs-capacity';
import { SecureLoadBalancer, SecureLoadBalancerProps } from '../../../constructs/secure-load-balancer';
import { ServiceTargetGroup } from '../../../constructs/service-target-group';
import { WITHOUT_BUILTIN_VALIDATION } from '../../support/stack';

export const CERTIFICATE_ARN = 'arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-4000-8000-000000000000';

/** A stack in an app of its own; CDK's built-in CloudFormation validation is left to test/lib/stacks/cfn-validate.test.ts. */
export function bareStack(): Stack {
  return new Stack(new App(WITHOUT_BUILTIN_VALIDATION), 'Reuse', { env: { account: '123456789012', region: 'eu-west-1' } });
}

export function vpcIn(stack: Stack): ec2.Vpc {
  return new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
}

/** Synthesizes the app of `stack` and returns the error CDK raised. */
export function synthError(stack: Stack): string {
  try {
    (stack.node.root as App).synth();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('synth succeeded');
}

/** A load balancer whose HTTPS listener forwards to a target group `Group` unless `overrides` say otherwise. */
export function loadBalancerIn(stack: Stack, overrides: Partial<SecureLoadBalancerProps> = {}, vpc: ec2.IVpc = vpcIn(stack)): SecureLoadBalancer {
  return new SecureLoadBalancer(stack, 'Edge', {
    vpc,
    certificate: acm.Certificate.fromCertificateArn(stack, 'Certificate', CERTIFICATE_ARN),
    accessLogBucket: new s3.Bucket(stack, 'Logs'),
    ...('defaultAction' in overrides ? {} : { defaultTargetGroup: new ServiceTargetGroup(stack, 'Group', { vpc }).targetGroup }),
    ...overrides,
  });
}

/** Target groups by name, in `vpc`, none attached to a listener yet. */
export function targetGroupsIn(stack: Stack, vpc: ec2.IVpc, names: string[]): Record<string, elbv2.ApplicationTargetGroup> {
  return Object.fromEntries(names.map((name) => [name, new ServiceTargetGroup(stack, `Group-${name}`, { vpc }).targetGroup]));
}

export function capacityIn(stack: Stack, vpc: ec2.IVpc): EcsCapacity {
  return new EcsCapacity(stack, 'Capacity', { vpc, notificationTopic: new sns.Topic(stack, 'CapacityTopic') });
}

/** The logical id of the resource `construct` wraps (its default child). */
export function logicalIdOf(stack: Stack, construct: { node: { defaultChild?: unknown } }): string {
  return stack.getLogicalId(construct.node.defaultChild as CfnElement);
}
