/**
 * Fault injection at the SDK boundary (aws-sdk-client-mock): each transient error the SDK
 * classifies as retryable, in each phase of a drain. Invariant: the action is completed with
 * CONTINUE only after the drain really ended — deregistered, and every task stopped — and a
 * persistent fault ends the run with a heartbeat and a hand-over, never with CONTINUE.
 */
import { AutoScalingClient, CompleteLifecycleActionCommand, RecordLifecycleActionHeartbeatCommand } from '@aws-sdk/client-auto-scaling';
import { DescribeContainerInstancesCommand, DescribeTasksCommand, ECSClient, ListContainerInstancesCommand, ListTasksCommand, UpdateContainerInstancesStateCommand } from '@aws-sdk/client-ecs';
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
import { TRANSIENT_ERRORS } from '../../support/aws-errors';

const elbv2 = mockClient(ElasticLoadBalancingV2Client);
const autoScaling = mockClient(AutoScalingClient);
const ecs = mockClient(ECSClient);
const sqs = mockClient(SQSClient);
const INSTANCE = 'i-0123456789abcdef0';
const TG = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/app/0000000000000001';
const CI = 'arn:aws:ecs:eu-west-1:123456789012:container-instance/albatross/1';
const event = JSON.stringify({
  'detail-type': 'EC2 Instance-terminate Lifecycle Action',
  detail: { EC2InstanceId: INSTANCE, LifecycleActionToken: 'token-1', LifecycleHookName: 'TerminateHook', AutoScalingGroupName: 'asg' },
});

let t: number;
/** What AWS has seen so far; copied when CompleteLifecycleAction is sent. */
let world: { deregistered: boolean; tasksStopped: boolean; describeTasks: number };
let atComplete: (typeof world)[];
/** The fault to inject: the first `times` calls of `phase` throw `error`. */
let fault: { phase: string; error: () => Error; times: number } | undefined;

/** Throws the injected fault when this call belongs to its phase and it has not run out. */
function inject(phase: string): void {
  if (fault?.phase === phase && fault.times > 0) {
    fault.times--;
    throw fault.error();
  }
}

function deps(over: Partial<LifecycleDeps> = {}): LifecycleDeps {
  return {
    clients: { elbv2: new ElasticLoadBalancingV2Client({}), autoScaling: new AutoScalingClient({}), ecs: new ECSClient({}), sqs: new SQSClient({}) },
    queueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/drain',
    cluster: 'albatross',
    targetGroupArns: [TG],
    remainingMs: 300_000,
    functionTimeoutMs: 300_000,
    heartbeatTimeoutMs: 600_000,
    pollMs: 1000,
    now: () => t,
    sleep: async (ms) => void (t += ms),
    random: () => 0.5,
    log: () => undefined,
    count: () => undefined,
    ...over,
  };
}

/**
 * One registration (delay 30 s) and an ACTIVE container instance whose service task stops on the
 * third look after DRAINING. Every answer passes through inject(phase) first.
 */
beforeEach(() => {
  for (const m of [elbv2, autoScaling, ecs, sqs]) m.reset();
  t = 1_000_000;
  fault = undefined;
  world = { deregistered: false, tasksStopped: false, describeTasks: 0 };
  atComplete = [];
  elbv2.on(DescribeTargetGroupsCommand).callsFake(() => (inject('DescribeTargetGroups'), { TargetGroups: [{ TargetGroupArn: TG, TargetGroupName: 'app' }] }));
  elbv2.on(DescribeTargetGroupAttributesCommand).callsFake(() => (inject('DescribeTargetGroupAttributes'), { Attributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: '30' }] }));
  elbv2.on(DescribeTargetHealthCommand).callsFake((input: { Targets?: unknown[] }) => {
    inject(input.Targets ? 'DescribeTargetHealth (poll)' : 'DescribeTargetHealth (find)');
    return { TargetHealthDescriptions: [{ Target: { Id: INSTANCE, Port: 32768 }, TargetHealth: { State: world.deregistered ? 'draining' : 'healthy' } }] };
  });
  elbv2.on(DeregisterTargetsCommand).callsFake(() => {
    inject('DeregisterTargets');
    world.deregistered = true;
    return {};
  });
  ecs.on(ListContainerInstancesCommand).callsFake(() => (inject('ListContainerInstances'), { containerInstanceArns: [CI] }));
  ecs.on(DescribeContainerInstancesCommand).callsFake(() => (inject('DescribeContainerInstances'), { containerInstances: [{ containerInstanceArn: CI, status: 'ACTIVE' }] }));
  ecs.on(UpdateContainerInstancesStateCommand).callsFake(() => (inject('UpdateContainerInstancesState'), {}));
  ecs.on(ListTasksCommand).callsFake((input: { desiredStatus?: string }) => (inject('ListTasks'), { taskArns: input.desiredStatus === 'STOPPED' ? ['arn:task/a'] : [] }));
  ecs.on(DescribeTasksCommand).callsFake(() => {
    inject('DescribeTasks');
    world.tasksStopped = ++world.describeTasks >= 3;
    return { tasks: [{ taskArn: 'arn:task/a', group: 'service:app', lastStatus: world.tasksStopped ? 'STOPPED' : 'DEACTIVATING' }] };
  });
  autoScaling.on(RecordLifecycleActionHeartbeatCommand).callsFake(() => (inject('RecordLifecycleActionHeartbeat'), {}));
  autoScaling.on(CompleteLifecycleActionCommand).callsFake(() => {
    inject('CompleteLifecycleAction');
    atComplete.push({ ...world });
    return {};
  });
  sqs.on(SendMessageCommand).callsFake(() => (inject('SendMessage'), {}));
});

const DRAIN_PHASES = [
  'DescribeTargetGroups',
  'DescribeTargetHealth (find)',
  'DescribeTargetGroupAttributes',
  'ListContainerInstances',
  'DescribeContainerInstances',
  'UpdateContainerInstancesState',
  'ListTasks',
  'DescribeTasks',
  'DeregisterTargets',
  'DescribeTargetHealth (poll)',
];
const ERRORS = Object.entries(TRANSIENT_ERRORS);

describe.each(DRAIN_PHASES)('a transient fault in %s', (phase) => {
  test.each(ERRORS)('%s once: retried; CONTINUE only after deregistration and the tasks stopped', async (_name, error) => {
    fault = { phase, error, times: 1 };
    expect(await handleLifecycleMessage(event, deps())).toBe('completed');
    expect(fault.times).toBe(0); // the fault was hit
    expect(atComplete).toEqual([{ deregistered: true, tasksStopped: true, describeTasks: expect.any(Number) }]);
  });

  test('for the whole run: no CONTINUE; a heartbeat and a hand-over carrying the start (and deregistration) times', async () => {
    fault = { phase, error: TRANSIENT_ERRORS['HTTP 503 ServiceUnavailable'], times: Infinity };
    expect(await handleLifecycleMessage(event, deps())).toBe('handed-over');
    expect(autoScaling.commandCalls(CompleteLifecycleActionCommand)).toHaveLength(0);
    // One heartbeat at the start, one before the hand-over.
    expect(autoScaling.commandCalls(RecordLifecycleActionHeartbeatCommand)).toHaveLength(2);
    const sent = sqs.commandCalls(SendMessageCommand).map((c) => JSON.parse(c.args[0].input.MessageBody!));
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ kind: 'albatross.drain.continue', attempt: 1, startedAt: 1_000_000, action: { LifecycleActionToken: 'token-1' } });
    const deregisteredAt = sent[0].deregisteredAt as Record<string, number>;
    expect(Object.keys(deregisteredAt).length > 0).toBe(phase === 'DescribeTargetHealth (poll)');
    // The run stopped at its deadline (300 s − 45 s margin), not at the first error.
    expect(t - 1_000_000).toBeGreaterThanOrEqual(250_000);
    expect(t - 1_000_000).toBeLessThanOrEqual(295_000);
  });
});

describe.each(['RecordLifecycleActionHeartbeat', 'CompleteLifecycleAction'])('a transient fault in %s', (phase) => {
  test.each(ERRORS)('%s once: retried, the action completed once the drain ended', async (_name, error) => {
    fault = { phase, error, times: 1 };
    expect(await handleLifecycleMessage(event, deps())).toBe('completed');
    expect(fault.times).toBe(0);
    expect(atComplete.slice(-1)).toEqual([{ deregistered: true, tasksStopped: true, describeTasks: expect.any(Number) }]);
  });
});

describe('a transient fault in SendMessage (the hand-over of a drain longer than a run)', () => {
  test.each(ERRORS)('%s once: retried, the continuation is sent; no CONTINUE', async (_name, error) => {
    world.describeTasks = -1000; // tasks that do not stop within this run
    fault = { phase: 'SendMessage', error, times: 1 };
    expect(await handleLifecycleMessage(event, deps({ remainingMs: 60_000, functionTimeoutMs: 60_000 }))).toBe('requeued');
    expect(fault.times).toBe(0);
    expect(sqs.commandCalls(SendMessageCommand)).toHaveLength(2);
    expect(autoScaling.commandCalls(CompleteLifecycleActionCommand)).toHaveLength(0);
  });
});

test('the heartbeat failing for the whole run: the drain goes on, and still hands over rather than releasing', async () => {
  fault = { phase: 'RecordLifecycleActionHeartbeat', error: TRANSIENT_ERRORS['HTTP 503 ServiceUnavailable'], times: Infinity };
  world.describeTasks = -1000; // tasks that do not stop within this run
  const outcome = await handleLifecycleMessage(event, deps({ remainingMs: 120_000, functionTimeoutMs: 120_000 }));
  expect(outcome).toBe('requeued');
  expect(elbv2.commandCalls(DescribeTargetGroupsCommand)).toHaveLength(1); // it drained
  expect(autoScaling.commandCalls(CompleteLifecycleActionCommand)).toHaveLength(0);
  expect(sqs.commandCalls(SendMessageCommand)).toHaveLength(1);
});

test('SendMessage failing for the whole run: the error propagates (the handler has SQS redeliver) — no CONTINUE', async () => {
  fault = { phase: 'SendMessage', error: TRANSIENT_ERRORS['SQS RequestThrottled'], times: Infinity };
  world.describeTasks = -1000;
  await expect(handleLifecycleMessage(event, deps({ remainingMs: 60_000, functionTimeoutMs: 60_000 }))).rejects.toThrow();
  expect(autoScaling.commandCalls(CompleteLifecycleActionCommand)).toHaveLength(0);
  expect(t - 1_000_000).toBeLessThanOrEqual(60_000 - 5_000);
});
