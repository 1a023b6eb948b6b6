/** The Lambda handler: SQS batch in, partial batch failures out. AWS mocked at the SDK boundary. */
import { AutoScalingClient, CompleteLifecycleActionCommand } from '@aws-sdk/client-auto-scaling';
import { ECSClient, ListContainerInstancesCommand } from '@aws-sdk/client-ecs';
import { DescribeTargetGroupsCommand, ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { mockClient } from 'aws-sdk-client-mock';
import type { Context, SQSEvent } from 'aws-lambda';
import { handler } from '../../lambda/drain-handler';

const autoScaling = mockClient(AutoScalingClient);
const elbv2 = mockClient(ElasticLoadBalancingV2Client);
mockClient(ECSClient).on(ListContainerInstancesCommand).resolves({ containerInstanceArns: [] });

const record = (messageId: string, instance: string) => ({
  messageId,
  body: JSON.stringify({ 'detail-type': 'EC2 Instance-terminate Lifecycle Action', detail: { EC2InstanceId: instance, LifecycleActionToken: `t-${messageId}`, LifecycleHookName: 'h', AutoScalingGroupName: 'asg' } }),
});
const context = { getRemainingTimeInMillis: () => 300_000 } as Context;

beforeAll(() => {
  process.env.POWERTOOLS_METRICS_NAMESPACE = 'Albatross';
  process.env.POWERTOOLS_DEV = 'true';
  elbv2.on(DescribeTargetGroupsCommand).resolves({ TargetGroups: [] });
});

test('completes each action; a record whose completion cannot be sent is reported as a batch failure', async () => {
  autoScaling.on(CompleteLifecycleActionCommand, { InstanceId: 'i-00000000' }).resolves({});
  autoScaling.on(CompleteLifecycleActionCommand, { InstanceId: 'i-11111111' }).rejects(Object.assign(new Error('unavailable'), { name: 'ServiceUnavailable' }));
  const log = jest.spyOn(console, 'error').mockImplementation(() => undefined);
  jest.spyOn(console, 'info').mockImplementation(() => undefined);
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
  const result = await handler({ Records: [record('m1', 'i-00000000'), record('m2', 'i-11111111')] } as unknown as SQSEvent, context);
  expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'm2' }]);
  expect(autoScaling.commandCalls(CompleteLifecycleActionCommand)).toHaveLength(2);
  log.mockRestore();
});
