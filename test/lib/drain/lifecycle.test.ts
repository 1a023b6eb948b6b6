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
import { DURATION_ALARM_FRACTION, maxContinuations } from '../../../lib/drain/budget';
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
const noActiveAction = () => Object.assign(new Error('No active Lifecycle Action found with instance ID i-0123456789abcdef0'), { name: 'ValidationError', $metadata: { httpStatusCode: 400 } });
/** As the SDK throws a 503 of a Query API: modeled name, server fault, the HTTP status in $metadata. */
const unavailable = () => Object.assign(new Error('Service unavailable'), { name: 'ServiceUnavailable', $fault: 'server', $metadata: { httpStatusCode: 503 } });
const denied = () => Object.assign(new Error('User is not authorized'), { name: 'AccessDenied', $fault: 'client', $metadata: { httpStatusCode: 403 } });

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
    // Retries sleep on the same fake clock as the polls (the default), so deadlines bound them.
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
  expect(await handleLifecycleMessage(event, deps({ remainingMs: 25_000 }))).toBe('requeued');
  // One heartbeat at the start of the run, one before re-queuing.
  expect(autoScaling.commandCalls(RecordLifecycleActionHeartbeatCommand)).toHaveLength(2);
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
  expect(await handleLifecycleMessage(event, deps({ remainingMs: 25_000 }))).toBe('already-completed');
  expect(sqs.commandCalls(SendMessageCommand)).toHaveLength(0);
});

test('a heartbeat refused at the end of a run (action completed meanwhile) stops the loop instead of re-queuing', async () => {
  targetHealth('healthy', 'draining');
  autoScaling.on(RecordLifecycleActionHeartbeatCommand).resolvesOnce({}).rejects(noActiveAction());
  expect(await handleLifecycleMessage(event, deps({ remainingMs: 25_000 }))).toBe('already-completed');
  expect(elbv2.commandCalls(DeregisterTargetsCommand)).toHaveLength(1);
  expect(sqs.commandCalls(SendMessageCommand)).toHaveLength(0);
});

test('a drain error that is not transient (AccessDenied) hands over: heartbeat and continuation, never CONTINUE', async () => {
  elbv2.on(DescribeTargetGroupsCommand).rejects(denied());
  const logged: string[] = [];
  expect(await handleLifecycleMessage(event, deps({ log: (level, message) => void logged.push(`${level}: ${message}`) }))).toBe('handed-over');
  expect(autoScaling.commandCalls(CompleteLifecycleActionCommand)).toHaveLength(0);
  expect(autoScaling.commandCalls(RecordLifecycleActionHeartbeatCommand)).toHaveLength(2);
  expect(JSON.parse(sqs.commandCalls(SendMessageCommand)[0].args[0].input.MessageBody!)).toMatchObject({ attempt: 1, startedAt: 1_000_000 });
  expect(counted).toEqual(['DrainErrors', 'DrainHandedOver']);
  expect(logged).toContain('error: drain failed; handing over to the next run');
});

test('when AWS cannot be reached to complete the action nor to re-queue, the error propagates (SQS redelivers)', async () => {
  targetHealth('gone');
  autoScaling.on(CompleteLifecycleActionCommand).rejects(unavailable());
  sqs.on(SendMessageCommand).rejects(unavailable());
  const start = t;
  await expect(handleLifecycleMessage(event, deps())).rejects.toThrow('Service unavailable');
  // Retried until the Lambda's end (less a 5 s reserve), not beyond it.
  expect(t - start).toBeLessThanOrEqual(300_000 - 5_000);
  expect(autoScaling.commandCalls(CompleteLifecycleActionCommand).length).toBeGreaterThan(5);
});

test('messages that are not terminate actions (test notifications) are ignored', async () => {
  expect(await handleLifecycleMessage(JSON.stringify({ Event: 'autoscaling:TEST_NOTIFICATION' }), deps())).toBe('ignored');
  expect(autoScaling.commandCalls(CompleteLifecycleActionCommand)).toHaveLength(0);
});

describe('heartbeats and the run budget', () => {
  test('a run that drains starts with a heartbeat, before anything is deregistered', async () => {
    const order: string[] = [];
    autoScaling.on(RecordLifecycleActionHeartbeatCommand).callsFake(() => void order.push('heartbeat'));
    elbv2.on(DeregisterTargetsCommand).callsFake(() => void order.push('deregister'));
    autoScaling.on(CompleteLifecycleActionCommand).callsFake(() => void order.push('complete'));
    targetHealth('healthy', 'unused');
    expect(await handleLifecycleMessage(event, deps())).toBe('completed');
    expect(order).toEqual(['heartbeat', 'deregister', 'complete']);
  });

  test('the run ends before the heartbeat it sent runs out, even with Lambda time left', async () => {
    elbv2.on(DescribeTargetGroupAttributesCommand).resolves({ Attributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: '600' }] });
    targetHealth('healthy', 'draining');
    const start = t;
    expect(await handleLifecycleMessage(event, deps({ remainingMs: 900_000, functionTimeoutMs: 900_000, heartbeatTimeoutMs: 120_000 }))).toBe('requeued');
    // 120 s heartbeat − 30 s margin; without the bound the run would go on to 900 s − 135 s.
    expect(t - start).toBeLessThanOrEqual(90_000);
    expect(t - start).toBeGreaterThan(80_000);
  });

  test('a normal re-queued run ends below the duration alarm (90 % of the timeout)', async () => {
    elbv2.on(DescribeTargetGroupAttributesCommand).resolves({ Attributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: '3600' }] });
    targetHealth('healthy', 'draining');
    for (const timeoutMs of [60_000, 300_000, 900_000]) {
      const start = t;
      expect(await handleLifecycleMessage(event, deps({ remainingMs: timeoutMs, functionTimeoutMs: timeoutMs }))).toBe('requeued');
      // At least 10 s between the end of the drain and the alarm, for the heartbeat and the re-queue.
      expect(t - start).toBeLessThanOrEqual(DURATION_ALARM_FRACTION * timeoutMs - 10_000);
    }
  });

  test('a failed start heartbeat is logged and the drain goes on', async () => {
    autoScaling.on(RecordLifecycleActionHeartbeatCommand).rejects(unavailable());
    targetHealth('healthy', 'unused');
    const logged: string[] = [];
    expect(await handleLifecycleMessage(event, deps({ log: (level, message) => void logged.push(`${level}: ${message}`) }))).toBe('completed');
    expect(logged).toContain('warn: heartbeat failed; draining anyway');
    expect(elbv2.commandCalls(DeregisterTargetsCommand)).toHaveLength(1);
  });
});

describe('throttling and failed completions', () => {
  const throttling = () => Object.assign(new Error('Rate exceeded'), { name: 'Throttling', $metadata: { httpStatusCode: 400 } });

  test('CompleteLifecycleAction, the heartbeat and SendMessage are retried when throttled', async () => {
    targetHealth('healthy', 'draining');
    autoScaling.on(RecordLifecycleActionHeartbeatCommand).rejectsOnce(throttling()).resolves({});
    sqs.on(SendMessageCommand).rejectsOnce(throttling()).resolves({});
    expect(await handleLifecycleMessage(event, deps({ remainingMs: 25_000 }))).toBe('requeued');
    expect(sqs.commandCalls(SendMessageCommand)).toHaveLength(2);
    autoScaling.on(CompleteLifecycleActionCommand).rejectsOnce(throttling()).rejectsOnce(throttling()).resolves({});
    targetHealth('gone');
    expect(await handleLifecycleMessage(event, deps())).toBe('completed');
    expect(autoScaling.commandCalls(CompleteLifecycleActionCommand)).toHaveLength(3);
  });

  test('a completion that fails is re-queued as complete-only with a short delay, and the next run only completes', async () => {
    targetHealth('healthy', 'unused');
    autoScaling.on(CompleteLifecycleActionCommand).rejectsOnce(denied()).resolves({});
    expect(await handleLifecycleMessage(event, deps())).toBe('complete-requeued');
    const sent = sqs.commandCalls(SendMessageCommand)[0].args[0].input;
    expect(sent.DelaySeconds).toBe(5);
    expect(JSON.parse(sent.MessageBody!)).toMatchObject({ completeFailures: 1, action: { LifecycleActionToken: 'token-1' } });
    expect(counted).toContain('CompleteRequeued');

    const calls = () => elbv2.commandCalls(DescribeTargetGroupsCommand).length + autoScaling.commandCalls(RecordLifecycleActionHeartbeatCommand).length;
    const before = calls();
    expect(await handleLifecycleMessage(sent.MessageBody!, deps())).toBe('completed');
    expect(calls()).toBe(before); // no second drain, no heartbeat
    expect(autoScaling.commandCalls(CompleteLifecycleActionCommand)).toHaveLength(2);
  });

  test('after too many failed completions the error propagates (left to SQS and the DLQ)', async () => {
    autoScaling.on(CompleteLifecycleActionCommand).rejects(denied());
    const body = JSON.stringify({ kind: 'albatross.drain.continue', action: JSON.parse(event).detail, startedAt: 1, attempt: 0, completeFailures: 5 });
    await expect(handleLifecycleMessage(body, deps())).rejects.toThrow('User is not authorized');
    expect(sqs.commandCalls(SendMessageCommand)).toHaveLength(0);
  });
});

test('a message that is not JSON is logged and ignored, not retried', async () => {
  const logged: string[] = [];
  expect(await handleLifecycleMessage('not json {', deps({ log: (level, message) => void logged.push(`${level}: ${message}`) }))).toBe('ignored');
  expect(logged).toEqual(['info: ignored a message that is not a terminate lifecycle action']);
  expect(autoScaling.calls()).toHaveLength(0);
});

describe('the continuation cap and the drain timeout', () => {
  const continuation = (over: Record<string, unknown>) => JSON.stringify({ kind: 'albatross.drain.continue', action: JSON.parse(event).detail, startedAt: 0, attempt: 0, ...over });

  test('the cap is derived from the drain timeout (one run per 5 s requeue delay at most)', () => {
    expect(maxContinuations(4_230_000)).toBe(847);
    expect(maxContinuations(600_000, 10)).toBe(61);
  });

  test('at the cap the action is completed without draining, even when the start time was lost', async () => {
    targetHealth('healthy', 'draining');
    const cap = maxContinuations(600_000);
    expect(await handleLifecycleMessage(continuation({ attempt: cap }), deps({ drainTimeoutMs: 600_000 }))).toBe('completed');
    expect(elbv2.calls()).toHaveLength(0);
    expect(counted).toEqual(['DrainTimedOut', 'DrainErrors', 'DrainCompleted']);
    // One below the cap, it drains (and hands over: the drain is not over).
    expect(await handleLifecycleMessage(continuation({ attempt: cap - 1 }), deps({ drainTimeoutMs: 600_000, remainingMs: 40_000 }))).toBe('requeued');
    expect(elbv2.commandCalls(DeregisterTargetsCommand)).toHaveLength(1);
  });

  test('past the drain timeout (from the carried start) the action is completed without draining', async () => {
    expect(await handleLifecycleMessage(continuation({ startedAt: t - 600_001, attempt: 2 }), deps({ drainTimeoutMs: 600_000 }))).toBe('completed');
    expect(elbv2.calls()).toHaveLength(0);
    expect(autoScaling.commandCalls(CompleteLifecycleActionCommand)[0].args[0].input.LifecycleActionResult).toBe('CONTINUE');
  });
});
