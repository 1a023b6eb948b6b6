/**
 * The handler's wiring (handler → lifecycle → engine → clients), AWS mocked at the SDK boundary and
 * the clock faked (jest modern timers move Date.now and setTimeout together): the budget comes
 * from context.getRemainingTimeInMillis and the environment, the scope from the environment, and
 * a drain spread over several runs keeps its start and deregistration times while the clock moves.
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
import { ChangeMessageVisibilityCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import type { Context, SQSEvent, SQSBatchResponse } from 'aws-lambda';
import { handler } from '../../lambda/drain-handler';

const autoScaling = mockClient(AutoScalingClient);
const elbv2 = mockClient(ElasticLoadBalancingV2Client);
const ecs = mockClient(ECSClient);
const sqs = mockClient(SQSClient);
const INSTANCE = 'i-0123456789abcdef0';
const TG_A = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/a/0000000000000001';
const TG_B = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/b/0000000000000002';
const CI = 'arn:aws:ecs:eu-west-1:123456789012:container-instance/c1/1';
const T0 = Date.UTC(2026, 0, 1);
const event = JSON.stringify({
  'detail-type': 'EC2 Instance-terminate Lifecycle Action',
  time: new Date(T0).toISOString(),
  detail: { EC2InstanceId: INSTANCE, LifecycleActionToken: 'token-1', LifecycleHookName: 'h', AutoScalingGroupName: 'asg' },
});

/** Runs the handler once, advancing the fake clock until it returns (bounded: never hangs). */
async function run(body: string, remainingMs: number): Promise<SQSBatchResponse> {
  const started = Date.now();
  const context = { getRemainingTimeInMillis: () => remainingMs - (Date.now() - started) } as Context;
  let result: SQSBatchResponse | undefined;
  const done = handler({ Records: [{ messageId: 'm', receiptHandle: 'rh-1', body }] } as unknown as SQSEvent, context).then((r) => (result = r));
  for (let i = 0; i < 5000 && result === undefined; i++) await jest.advanceTimersByTimeAsync(250);
  await done;
  return result!;
}

const sentBodies = () => sqs.commandCalls(SendMessageCommand).map((c) => JSON.parse(c.args[0].input.MessageBody!));
let tasksStopAt = Infinity;
let deregisterCalls: number[];

beforeAll(() => {
  process.env.POWERTOOLS_METRICS_NAMESPACE = 'Albatross';
  process.env.POWERTOOLS_DEV = 'true';
  process.env.QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/drain';
  for (const level of ['error', 'warn', 'info', 'log'] as const) jest.spyOn(console, level).mockImplementation(() => undefined);
});

beforeEach(() => {
  jest.useFakeTimers({ now: T0 });
  for (const m of [autoScaling, elbv2, ecs, sqs]) m.reset();
  process.env.CLUSTER_NAME = 'c1';
  process.env.TARGET_GROUP_ARNS = `${TG_A},${TG_B}`;
  process.env.FUNCTION_TIMEOUT_SECONDS = '100';
  delete process.env.HEARTBEAT_TIMEOUT_SECONDS;
  delete process.env.DRAIN_TIMEOUT_SECONDS;
  tasksStopAt = Infinity;
  deregisterCalls = [];
  elbv2.on(DescribeTargetGroupsCommand).resolves({ TargetGroups: [{ TargetGroupArn: TG_A, TargetGroupName: 'a' }] });
  elbv2.on(DescribeTargetGroupAttributesCommand).resolves({ Attributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: '30' }] });
  elbv2.on(DescribeTargetHealthCommand).callsFake((input: { Targets?: unknown[] }) => ({
    TargetHealthDescriptions: [{ Target: { Id: INSTANCE, Port: 32768 }, TargetHealth: { State: input.Targets && deregisterCalls.length ? 'draining' : 'healthy' } }],
  }));
  elbv2.on(DeregisterTargetsCommand).callsFake(() => void deregisterCalls.push(Date.now()));
  ecs.on(ListContainerInstancesCommand).resolves({ containerInstanceArns: [CI] });
  ecs.on(DescribeContainerInstancesCommand).resolves({ containerInstances: [{ containerInstanceArn: CI, status: 'ACTIVE' }] });
  ecs.on(UpdateContainerInstancesStateCommand).resolves({});
  ecs.on(ListTasksCommand).callsFake((input: { desiredStatus?: string }) => ({ taskArns: input.desiredStatus === 'RUNNING' ? ['arn:task/web'] : [] }));
  ecs.on(DescribeTasksCommand).callsFake(() => ({ tasks: [{ taskArn: 'arn:task/web', group: 'service:web', lastStatus: Date.now() >= tasksStopAt ? 'STOPPED' : 'RUNNING' }] }));
  autoScaling.on(RecordLifecycleActionHeartbeatCommand).resolves({});
  autoScaling.on(CompleteLifecycleActionCommand).resolves({});
  sqs.on(SendMessageCommand).resolves({});
  sqs.on(ChangeMessageVisibilityCommand).resolves({});
});

afterEach(() => jest.useRealTimers());

describe('the budget: from context.getRemainingTimeInMillis and the environment', () => {
  test('a full run of a 100 s function hands over at 100 s − 30 s margin', async () => {
    await run(event, 100_000);
    expect(sentBodies()).toHaveLength(1);
    expect(Date.now() - T0).toBeGreaterThanOrEqual(70_000);
    expect(Date.now() - T0).toBeLessThan(72_000);
  });

  test('a run that starts with 50 s left hands over by then, keeping the margin of the configured timeout', async () => {
    await run(event, 50_000);
    expect(Date.now() - T0).toBeGreaterThanOrEqual(20_000);
    expect(Date.now() - T0).toBeLessThan(22_000);
  });

  test('HEARTBEAT_TIMEOUT_SECONDS bounds the run below the heartbeat it sent', async () => {
    process.env.HEARTBEAT_TIMEOUT_SECONDS = '60';
    await run(event, 100_000);
    expect(Date.now() - T0).toBeGreaterThanOrEqual(30_000);
    expect(Date.now() - T0).toBeLessThan(32_000);
  });

  test('DRAIN_TIMEOUT_SECONDS: a continuation past it completes at once, without draining', async () => {
    process.env.DRAIN_TIMEOUT_SECONDS = '1000';
    const old = JSON.stringify({ kind: 'albatross.drain.continue', action: JSON.parse(event).detail, startedAt: T0 - 1_000_000, attempt: 3 });
    await run(old, 100_000);
    expect(autoScaling.commandCalls(CompleteLifecycleActionCommand)).toHaveLength(1);
    expect(elbv2.calls()).toHaveLength(0);
    process.env.DRAIN_TIMEOUT_SECONDS = '3000';
    await run(old, 100_000);
    expect(elbv2.commandCalls(DescribeTargetGroupsCommand)).toHaveLength(1);
  });
});

test('the scope comes from the environment: the cluster and the target groups', async () => {
  await run(event, 100_000);
  expect(elbv2.commandCalls(DescribeTargetGroupsCommand)[0].args[0].input).toMatchObject({ TargetGroupArns: [TG_A, TG_B] });
  expect(ecs.commandCalls(ListContainerInstancesCommand)[0].args[0].input).toEqual({ cluster: 'c1', filter: `ec2InstanceId == ${INSTANCE}` });
  expect(ecs.commandCalls(UpdateContainerInstancesStateCommand)[0].args[0].input).toEqual({ cluster: 'c1', containerInstances: [CI], status: 'DRAINING' });
});

test('a drain over three runs while the clock moves: tasks stop in run 2, CONTINUE no sooner than the delay after deregistration', async () => {
  process.env.FUNCTION_TIMEOUT_SECONDS = '60';
  tasksStopAt = T0 + 40_000; // the container instance has a service task until then, and a standalone one throughout
  ecs.on(ListTasksCommand).callsFake((input: { desiredStatus?: string }) => ({ taskArns: input.desiredStatus === 'RUNNING' ? ['arn:task/web', 'arn:task/batch'] : [] }));
  ecs.on(DescribeTasksCommand).callsFake(() => ({
    tasks: [
      { taskArn: 'arn:task/web', group: 'service:web', lastStatus: Date.now() >= tasksStopAt ? 'STOPPED' : 'RUNNING' },
      { taskArn: 'arn:task/batch', group: 'family:batch', lastStatus: 'RUNNING' },
    ],
  }));
  // Run 1: the ECS wait, handed over at 30 s (60 s − 30 s margin); nothing deregistered yet.
  await run(event, 60_000);
  const first = sentBodies()[0];
  expect(first).toMatchObject({ startedAt: T0, attempt: 1 });
  expect(deregisterCalls).toEqual([]);
  // SQS delivers it 5 s later; run 2: the tasks stop, deregistration, the delay starts.
  jest.advanceTimersByTime(5_000);
  await run(JSON.stringify(first), 60_000);
  const second = sentBodies()[1];
  expect(deregisterCalls).toHaveLength(1);
  expect(second).toMatchObject({ startedAt: T0, attempt: 2 });
  const deregisteredAt = Object.values(second.deregisteredAt as Record<string, number>);
  expect(deregisteredAt).toEqual([deregisterCalls[0]]);
  expect(autoScaling.commandCalls(CompleteLifecycleActionCommand)).toHaveLength(0);
  // Run 3: the delay counts from run 2's deregistration, not from this run's start.
  jest.advanceTimersByTime(5_000);
  let completedAt = 0;
  autoScaling.on(CompleteLifecycleActionCommand).callsFake(() => void (completedAt = Date.now()));
  await run(JSON.stringify(second), 60_000);
  expect(completedAt - deregisterCalls[0]).toBeGreaterThanOrEqual(30_000);
  expect(completedAt - deregisterCalls[0]).toBeLessThan(32_000);
  expect(autoScaling.commandCalls(RecordLifecycleActionHeartbeatCommand).length).toBeGreaterThanOrEqual(5);
});

test('a message that cannot be handed on is a batch failure, and SQS is asked to deliver it again in 5 s', async () => {
  const forbidden = Object.assign(new Error('not authorized'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
  elbv2.on(DescribeTargetGroupsCommand).rejects(forbidden);
  sqs.on(SendMessageCommand).rejects(forbidden);
  const result = await run(event, 100_000);
  expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'm' }]);
  expect(autoScaling.commandCalls(CompleteLifecycleActionCommand)).toHaveLength(0);
  expect(sqs.commandCalls(ChangeMessageVisibilityCommand)[0].args[0].input).toEqual({ QueueUrl: process.env.QUEUE_URL, ReceiptHandle: 'rh-1', VisibilityTimeout: 5 });
});

describe('two services on the instance, each its own target group and delay (a: 5 s, b: 30 s)', () => {
  const PORTS: Record<string, number> = { [TG_A]: 32768, [TG_B]: 32769 };
  /** Epoch ms of each DeregisterTargets and each health poll (DescribeTargetHealth for one target), by group. */
  let deregisteredAt: Record<string, number[]>;
  let polledAt: Record<string, number[]>;

  beforeEach(() => {
    process.env.FUNCTION_TIMEOUT_SECONDS = '60';
    deregisteredAt = { [TG_A]: [], [TG_B]: [] };
    polledAt = { [TG_A]: [], [TG_B]: [] };
    elbv2.on(DescribeTargetGroupsCommand).resolves({ TargetGroups: [{ TargetGroupArn: TG_A, TargetGroupName: 'a' }, { TargetGroupArn: TG_B, TargetGroupName: 'b' }] });
    elbv2.on(DescribeTargetGroupAttributesCommand, { TargetGroupArn: TG_A }).resolves({ Attributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: '5' }] });
    elbv2.on(DescribeTargetGroupAttributesCommand, { TargetGroupArn: TG_B }).resolves({ Attributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: '30' }] });
    elbv2.on(DeregisterTargetsCommand).callsFake((input: { TargetGroupArn: string }) => void deregisteredAt[input.TargetGroupArn].push(Date.now()));
    // The API says draining from the deregistration on: only each group's own delay ends its registration.
    elbv2.on(DescribeTargetHealthCommand).callsFake((input: { TargetGroupArn: string; Targets?: unknown[] }) => {
      if (input.Targets) polledAt[input.TargetGroupArn].push(Date.now());
      return { TargetHealthDescriptions: [{ Target: { Id: INSTANCE, Port: PORTS[input.TargetGroupArn] }, TargetHealth: { State: deregisteredAt[input.TargetGroupArn].length ? 'draining' : 'healthy' } }] };
    });
    // One task of each service, bound to its group's port; ECS cannot move them (no room elsewhere).
    ecs.on(ListTasksCommand).callsFake((input: { desiredStatus?: string }) => ({ taskArns: input.desiredStatus === 'STOPPED' ? ['arn:task/a', 'arn:task/b'] : [] }));
    ecs.on(DescribeTasksCommand).resolves({
      tasks: [
        { taskArn: 'arn:task/a', group: 'service:a', lastStatus: 'DEACTIVATING', containers: [{ networkBindings: [{ containerPort: 8080, hostPort: 32768 }] }] },
        { taskArn: 'arn:task/b', group: 'service:b', lastStatus: 'DEACTIVATING', containers: [{ networkBindings: [{ containerPort: 8080, hostPort: 32769 }] }] },
      ],
    });
  });

  test("the 5 s group's registration ends at its delay; the action is completed only after the 30 s group's delay, across runs", async () => {
    let completedAt = 0;
    autoScaling.on(CompleteLifecycleActionCommand).callsFake(() => void (completedAt = Date.now()));
    const runs: { start: number; end: number }[] = [];
    let body = event;
    // Every run hands over at 30 s (60 s − 30 s margin); SQS delivers the continuation 5 s later.
    while (completedAt === 0 && runs.length < 40) {
      const start = Date.now();
      const sent = sentBodies().length;
      await run(body, 60_000);
      runs.push({ start, end: Date.now() });
      if (completedAt === 0) {
        body = JSON.stringify(sentBodies()[sent]);
        jest.advanceTimersByTime(5_000);
      }
    }
    expect(completedAt).toBeGreaterThan(0);
    // The ECS wait (10 min) ran out with the tasks still there; then both groups were deregistered in the same run.
    const [a, b] = [deregisteredAt[TG_A][0], deregisteredAt[TG_B][0]];
    expect(a - T0).toBeGreaterThanOrEqual(600_000);
    expect(b - a).toBeLessThan(1_000);
    // a's registration ended at its own 5 s: the run that deregistered it stopped polling it then, while b's polls went on.
    const deregisteringRunEnd = runs.find((r) => r.start <= a && a <= r.end)!.end;
    const aPolls = polledAt[TG_A].filter((at) => at >= a && at < deregisteringRunEnd);
    const bPolls = polledAt[TG_B].filter((at) => at >= b && at < deregisteringRunEnd);
    expect(aPolls.at(-1)! - a).toBeGreaterThanOrEqual(5_000);
    expect(aPolls.at(-1)! - a).toBeLessThan(7_000);
    expect(bPolls.at(-1)! - a).toBeGreaterThan(15_000);
    // The action is completed once, after b's own delay (counted from its first deregistration, carried to the next run).
    expect(autoScaling.commandCalls(CompleteLifecycleActionCommand)).toHaveLength(1);
    expect(completedAt - b).toBeGreaterThanOrEqual(30_000);
    expect(completedAt - b).toBeLessThan(32_000);
    expect(deregisteringRunEnd).toBeLessThan(b + 30_000); // b's delay did span a hand-over
    const carried = sentBodies().at(-1).deregisteredAt as Record<string, number>;
    expect(carried).toEqual({ [`${TG_A}|${INSTANCE}|32768`]: a, [`${TG_B}|${INSTANCE}|32769`]: b });
  });
});
