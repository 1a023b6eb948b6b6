/** The orchestrator's logic with AWS mocked at the SDK boundary (aws-sdk-client-mock). */
import { AutoScalingClient, CompleteLifecycleActionCommand, RecordLifecycleActionHeartbeatCommand } from '@aws-sdk/client-auto-scaling';
import { ECSClient, ListContainerInstancesCommand } from '@aws-sdk/client-ecs';
import {
  DeregisterTargetsCommand,
  DescribeTargetGroupAttributesCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { handleLifecycleMessage, LifecycleDeps } from '../../../lib/drain/lifecycle';

const elbv2 = mockClient(ElasticLoadBalancingV2Client);
const autoScaling = mockClient(AutoScalingClient);
const ecs = mockClient(ECSClient);
const sqs = mockClient(SQSClient);
const INSTANCE = 'i-0123456789abcdef0';
const TG = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/app/0000000000000001';
const event = JSON.stringify({
  'detail-type': 'EC2 Instance-terminate Lifecycle Action',
  source: 'aws.autoscaling',
  detail: { EC2InstanceId: INSTANCE, LifecycleActionToken: 'token-1', LifecycleHookName: 'TerminateHook', AutoScalingGroupName: 'asg', LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING' },
});
const noActiveAction = () => Object.assign(new Error('No active Lifecycle Action found with instance ID i-0123456789abcdef0'), { name: 'ValidationError' });

let counted: string[];
let t: number;
function deps(over: Partial<LifecycleDeps> = {}): LifecycleDeps {
  return {
    clients: { elbv2: new ElasticLoadBalancingV2Client({}), autoScaling: new AutoScalingClient({}), ecs: new ECSClient({}), sqs: new SQSClient({}) },
    queueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/drain',
    cluster: 'albatross',
    targetGroupArns: [TG],
    remainingMs: 300_000,
    pollMs: 1000,
    now: () => t,
    sleep: async (ms) => void (t += ms),
    log: () => undefined,
    count: (metric) => void counted.push(metric),
    ...over,
  };
}

beforeEach(() => {
  for (const m of [elbv2, autoScaling, ecs, sqs]) m.reset();
  counted = [];
  t = 1_000_000;
  elbv2.on(DescribeTargetGroupsCommand).resolves({ TargetGroups: [{ TargetGroupArn: TG, TargetGroupName: 'app' }] });
  elbv2.on(DescribeTargetGroupAttributesCommand).resolves({ Attributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: '30' }] });
  elbv2.on(DeregisterTargetsCommand).resolves({});
  ecs.on(ListContainerInstancesCommand).resolves({ containerInstanceArns: [] });
  autoScaling.on(CompleteLifecycleActionCommand).resolves({});
  autoScaling.on(RecordLifecycleActionHeartbeatCommand).resolves({});
  sqs.on(SendMessageCommand).resolves({});
});

function targetHealth(...states: string[]): void {
  let call = 0;
  elbv2.on(DescribeTargetHealthCommand).callsFake(() => {
    const state = states[Math.min(call++, states.length - 1)];
    return { TargetHealthDescriptions: state === 'gone' ? [] : [{ Target: { Id: INSTANCE, Port: 32768 }, TargetHealth: { State: state } }] };
  });
}

test('drains, then completes the lifecycle action with CONTINUE', async () => {
  targetHealth('healthy', 'draining', 'unused');
  expect(await handleLifecycleMessage(event, deps())).toBe('completed');
  expect(autoScaling.commandCalls(CompleteLifecycleActionCommand)[0].args[0].input).toEqual({
    AutoScalingGroupName: 'asg', LifecycleHookName: 'TerminateHook', LifecycleActionToken: 'token-1', InstanceId: INSTANCE, LifecycleActionResult: 'CONTINUE',
  });
  expect(elbv2.commandCalls(DeregisterTargetsCommand)).toHaveLength(1);
  expect(counted).toEqual(['DrainCompleted']);
});

test('a drain longer than the run records a heartbeat and re-queues itself with its start time', async () => {
  targetHealth('healthy', 'draining');
  expect(await handleLifecycleMessage(event, deps({ remainingMs: 25_000, safetyMarginMs: 20_000 }))).toBe('requeued');
  expect(autoScaling.commandCalls(RecordLifecycleActionHeartbeatCommand)).toHaveLength(1);
  expect(autoScaling.commandCalls(CompleteLifecycleActionCommand)).toHaveLength(0);
  const sent = sqs.commandCalls(SendMessageCommand)[0].args[0].input;
  const continuation = JSON.parse(sent.MessageBody!);
  expect(continuation).toMatchObject({ kind: 'albatross.drain.continue', startedAt: 1_000_000, attempt: 1, action: { LifecycleActionToken: 'token-1' } });
  expect(continuation.deregisteredAt).toEqual({ [`${TG}|${INSTANCE}|32768`]: 1_000_000 });
  expect(sent.DelaySeconds).toBe(5);

  // The next run resumes: the delay counts from the original start, then the action completes.
  elbv2.on(DescribeTargetHealthCommand).resolves({ TargetHealthDescriptions: [{ Target: { Id: INSTANCE, Port: 32768 }, TargetHealth: { State: 'draining' } }] });
  expect(await handleLifecycleMessage(sent.MessageBody!, deps())).toBe('completed');
  expect(t - 1_000_000).toBeLessThan(32_000);
});

test('a duplicate event for an action already completed is harmless', async () => {
  targetHealth('gone');
  autoScaling.on(CompleteLifecycleActionCommand).rejects(noActiveAction());
  expect(await handleLifecycleMessage(event, deps())).toBe('already-completed');
  expect(elbv2.commandCalls(DeregisterTargetsCommand)).toHaveLength(0);
  expect(counted).toEqual(['DrainAlreadyCompleted']);
});

test('a heartbeat on a completed action stops the loop instead of re-queuing', async () => {
  targetHealth('healthy', 'draining');
  autoScaling.on(RecordLifecycleActionHeartbeatCommand).rejects(noActiveAction());
  expect(await handleLifecycleMessage(event, deps({ remainingMs: 25_000, safetyMarginMs: 20_000 }))).toBe('already-completed');
  expect(sqs.commandCalls(SendMessageCommand)).toHaveLength(0);
});

test('an unexpected drain error still completes the action, and is logged and counted', async () => {
  elbv2.on(DescribeTargetGroupsCommand).rejects(Object.assign(new Error('User is not authorized'), { name: 'AccessDenied' }));
  const logged: string[] = [];
  expect(await handleLifecycleMessage(event, deps({ log: (level, message) => void logged.push(`${level}: ${message}`) }))).toBe('completed');
  expect(autoScaling.commandCalls(CompleteLifecycleActionCommand)).toHaveLength(1);
  expect(counted).toEqual(['DrainErrors', 'DrainCompleted']);
  expect(logged.some((l) => l.startsWith('error: drain failed'))).toBe(true);
});

test('when AWS cannot be reached to complete the action, the error propagates (SQS redelivers)', async () => {
  targetHealth('gone');
  autoScaling.on(CompleteLifecycleActionCommand).rejects(Object.assign(new Error('Service unavailable'), { name: 'ServiceUnavailable' }));
  await expect(handleLifecycleMessage(event, deps())).rejects.toThrow('Service unavailable');
});

test('messages that are not terminate actions (test notifications) are ignored', async () => {
  expect(await handleLifecycleMessage(JSON.stringify({ Event: 'autoscaling:TEST_NOTIFICATION' }), deps())).toBe('ignored');
  expect(autoScaling.commandCalls(CompleteLifecycleActionCommand)).toHaveLength(0);
});
