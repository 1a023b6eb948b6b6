/** The Lambda handler: SQS batch in, partial batch failures out. AWS mocked at the SDK boundary. */
import { AutoScalingClient, CompleteLifecycleActionCommand, RecordLifecycleActionHeartbeatCommand } from '@aws-sdk/client-auto-scaling';
import { ECSClient, ListContainerInstancesCommand } from '@aws-sdk/client-ecs';
import { DescribeTargetGroupsCommand, ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import type { Context, SQSEvent } from 'aws-lambda';
import { handler } from '../../lambda/drain-handler';

const autoScaling = mockClient(AutoScalingClient);
const elbv2 = mockClient(ElasticLoadBalancingV2Client);
const ecs = mockClient(ECSClient);
const sqs = mockClient(SQSClient);
const QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/drain';

const body = (messageId: string, instance: string) =>
  JSON.stringify({ 'detail-type': 'EC2 Instance-terminate Lifecycle Action', detail: { EC2InstanceId: instance, LifecycleActionToken: `t-${messageId}`, LifecycleHookName: 'h', AutoScalingGroupName: 'asg' } });
const record = (messageId: string, instance: string) => ({ messageId, body: body(messageId, instance) });
const context = { getRemainingTimeInMillis: () => 300_000 } as Context;
const run = (...records: { messageId: string; body: string }[]) => handler({ Records: records } as unknown as SQSEvent, context);
const unavailable = () => Object.assign(new Error('unavailable'), { name: 'ServiceUnavailable' });
const noActiveAction = () => Object.assign(new Error('No active Lifecycle Action found with instance ID i-00000000'), { name: 'ValidationError' });

beforeAll(() => {
  process.env.POWERTOOLS_METRICS_NAMESPACE = 'Albatross';
  process.env.POWERTOOLS_DEV = 'true';
  process.env.QUEUE_URL = QUEUE_URL;
  for (const level of ['error', 'warn', 'info', 'log'] as const) jest.spyOn(console, level).mockImplementation(() => undefined);
});

beforeEach(() => {
  for (const m of [autoScaling, elbv2, ecs, sqs]) m.reset();
  elbv2.on(DescribeTargetGroupsCommand).resolves({ TargetGroups: [] });
  ecs.on(ListContainerInstancesCommand).resolves({ containerInstanceArns: [] });
  autoScaling.on(RecordLifecycleActionHeartbeatCommand).resolves({});
  autoScaling.on(CompleteLifecycleActionCommand).resolves({});
  sqs.on(SendMessageCommand).resolves({});
});

test('completes each action; a record whose completion cannot be sent is reported as a batch failure', async () => {
  autoScaling.on(CompleteLifecycleActionCommand, { InstanceId: 'i-11111111' }).rejects(unavailable());
  sqs.on(SendMessageCommand).rejects(unavailable()); // nor can it be re-queued
  const result = await run(record('m1', 'i-00000000'), record('m2', 'i-11111111'));
  expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'm2' }]);
  expect(autoScaling.commandCalls(CompleteLifecycleActionCommand)).toHaveLength(2);
});

test('each run that drains starts with a heartbeat for its action', async () => {
  await run(record('m1', 'i-00000000'));
  expect(autoScaling.commandCalls(RecordLifecycleActionHeartbeatCommand).map((c) => c.args[0].input)).toEqual([
    { AutoScalingGroupName: 'asg', LifecycleHookName: 'h', LifecycleActionToken: 't-m1', InstanceId: 'i-00000000' },
  ]);
});

test('a completion that fails is re-queued on the queue as complete-only, not left to the visibility timeout', async () => {
  autoScaling.on(CompleteLifecycleActionCommand).rejectsOnce(unavailable()).resolves({});
  const first = await run(record('m1', 'i-00000000'));
  expect(first.batchItemFailures).toEqual([]);
  const sent = sqs.commandCalls(SendMessageCommand)[0].args[0].input;
  expect(sent).toMatchObject({ QueueUrl: QUEUE_URL, DelaySeconds: 5 });
  expect(JSON.parse(sent.MessageBody!)).toMatchObject({ completeFailures: 1 });
  const second = await run({ messageId: 'm2', body: sent.MessageBody! });
  expect(second.batchItemFailures).toEqual([]);
  expect(autoScaling.commandCalls(CompleteLifecycleActionCommand)).toHaveLength(2);
  expect(elbv2.commandCalls(DescribeTargetGroupsCommand)).toHaveLength(1); // drained once
});

test('a message that is not JSON is ignored: no batch failure (no 5 redeliveries), no AWS call', async () => {
  const result = await run({ messageId: 'm1', body: '{"detail-type": "EC2 Instance-term' });
  expect(result.batchItemFailures).toEqual([]);
  expect(autoScaling.calls()).toHaveLength(0);
  expect(elbv2.calls()).toHaveLength(0);
});

test('two concurrent deliveries of the same event: one completes, the other finds it done; neither fails', async () => {
  autoScaling.on(CompleteLifecycleActionCommand).resolvesOnce({}).rejects(noActiveAction());
  const results = await Promise.all([run(record('m1', 'i-00000000')), run(record('m1', 'i-00000000'))]);
  expect(results.map((r) => r.batchItemFailures)).toEqual([[], []]);
  expect(autoScaling.commandCalls(CompleteLifecycleActionCommand)).toHaveLength(2);
  expect(sqs.commandCalls(SendMessageCommand)).toHaveLength(0);
});
