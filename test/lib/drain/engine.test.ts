/**
 * The drain engine against AWS mocked at the SDK boundary (aws-sdk-client-mock): every AWS call
 * the engine makes is answered by these mocks; nothing else is stubbed.
 */
import { AutoScalingClient, DescribeAutoScalingInstancesCommand } from '@aws-sdk/client-auto-scaling';
import { DescribeContainerInstancesCommand, DescribeTasksCommand, ECSClient, ListContainerInstancesCommand, ListTasksCommand, UpdateContainerInstancesStateCommand } from '@aws-sdk/client-ecs';
import {
  DeregisterTargetsCommand,
  DescribeTagsCommand,
  DescribeTargetGroupAttributesCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  InvalidTargetException,
  TargetHealthDescription,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { mockClient } from 'aws-sdk-client-mock';
import { deregistrationTimes, drainTarget, DrainClients, DrainReport } from '../../../lib/drain/engine';
import { DrainError } from '../../../lib/drain/errors';
import { parseDrainTarget } from '../../../lib/drain/target-id';

const elbv2 = mockClient(ElasticLoadBalancingV2Client);
const asg = mockClient(AutoScalingClient);
const ecs = mockClient(ECSClient);
const clients: DrainClients = { elbv2: new ElasticLoadBalancingV2Client({}), autoScaling: new AutoScalingClient({}), ecs: new ECSClient({}) };
const INSTANCE = 'i-0123456789abcdef0';
const tgArn = (n: number) => `arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/tg${n}/000000000000000${n}`;

/** A fake clock: sleeping advances it, so waits cost no real time. Jitter 0.5 = the poll period exactly. */
function clock() {
  let t = 1_000_000;
  const sleeps: number[] = [];
  return { now: () => t, sleep: async (ms: number) => void (sleeps.push(ms), (t += ms)), random: () => 0.5, advance: (ms: number) => (t += ms), sleeps };
}

const throttle = () => Object.assign(new Error('Rate exceeded'), { name: 'Throttling', $metadata: { httpStatusCode: 400 } });

/** Health answers per target group: registered targets, then what each later poll sees. */
function health(states: Record<string, string[]>, port = 32768): void {
  for (const [arn, sequence] of Object.entries(states)) {
    let call = 0;
    elbv2.on(DescribeTargetHealthCommand, { TargetGroupArn: arn }).callsFake(() => {
      const state = sequence[Math.min(call++, sequence.length - 1)];
      const descriptions: TargetHealthDescription[] = state === 'gone' ? [] : [{ Target: { Id: INSTANCE, Port: port }, TargetHealth: { State: state as 'healthy' } }];
      return { TargetHealthDescriptions: descriptions };
    });
  }
}

beforeEach(() => {
  elbv2.reset();
  asg.reset();
  ecs.reset();
  elbv2.on(DescribeTargetGroupAttributesCommand).resolves({ Attributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: '30' }] });
  elbv2.on(DeregisterTargetsCommand).resolves({});
  asg.on(DescribeAutoScalingInstancesCommand).resolves({ AutoScalingInstances: [{ InstanceId: INSTANCE } as never] });
});

test('finds registrations across paginated target groups and drains until the API says unused', async () => {
  elbv2.on(DescribeTargetGroupsCommand).resolvesOnce({ TargetGroups: [{ TargetGroupArn: tgArn(1), TargetGroupName: 'tg1' }], NextMarker: 'm' }).resolvesOnce({ TargetGroups: [{ TargetGroupArn: tgArn(2), TargetGroupName: 'tg2' }] });
  health({ [tgArn(1)]: ['healthy', 'draining', 'draining', 'unused'], [tgArn(2)]: ['healthy', 'draining', 'gone'] });
  const c = clock();
  const report = await drainTarget(clients, parseDrainTarget(INSTANCE), { now: c.now, sleep: c.sleep, random: c.random, pollMs: 1000 });
  expect(report.state).toBe('drained');
  expect(report.registrations.map((r) => [r.targetGroupName, r.endedBy])).toEqual([['tg1', 'unused'], ['tg2', 'unused']]);
  expect(elbv2.commandCalls(DeregisterTargetsCommand).map((c) => c.args[0].input)).toEqual([
    { TargetGroupArn: tgArn(1), Targets: [{ Id: INSTANCE, Port: 32768 }] },
    { TargetGroupArn: tgArn(2), Targets: [{ Id: INSTANCE, Port: 32768 }] },
  ]);
  expect(report.steps.map((s) => s.state)).toEqual(['planned', 'deregistering', 'waiting', 'drained']);
});

test('restricts to a stack by the aws:cloudformation:stack-name tag', async () => {
  elbv2.on(DescribeTargetGroupsCommand).resolves({ TargetGroups: [{ TargetGroupArn: tgArn(1), TargetGroupName: 'mine' }, { TargetGroupArn: tgArn(2), TargetGroupName: 'other' }] });
  elbv2.on(DescribeTagsCommand).resolves({ TagDescriptions: [{ ResourceArn: tgArn(1), Tags: [{ Key: 'aws:cloudformation:stack-name', Value: 'Albatross' }] }, { ResourceArn: tgArn(2), Tags: [] }] });
  health({ [tgArn(1)]: ['healthy', 'unused'], [tgArn(2)]: ['healthy'] });
  const c = clock();
  const report = await drainTarget(clients, parseDrainTarget(INSTANCE), { scope: { stackName: 'Albatross' }, now: c.now, sleep: c.sleep, random: c.random });
  expect(report.registrations.map((r) => r.targetGroupName)).toEqual(['mine']);
  expect(elbv2.commandCalls(DeregisterTargetsCommand)).toHaveLength(1);
});

test('early finish: the in-flight signal ends the drain while the API still says draining', async () => {
  elbv2.on(DescribeTargetGroupsCommand).resolves({ TargetGroups: [{ TargetGroupArn: tgArn(1), TargetGroupName: 'tg1' }] });
  health({ [tgArn(1)]: ['healthy', 'draining'] });
  const c = clock();
  let probes = 0;
  const report = await drainTarget(clients, parseDrainTarget(INSTANCE), { now: c.now, sleep: c.sleep, random: c.random, pollMs: 1000, inFlight: async () => (++probes < 3 ? 2 : 0) });
  expect(report.state).toBe('drained');
  expect(report.registrations[0].endedBy).toBe('in-flight-zero');
  expect(report.registrations[0].endedAfterMs).toBe(2000);
});

test('without an early signal the drain ends when the deregistration delay has elapsed', async () => {
  elbv2.on(DescribeTargetGroupsCommand).resolves({ TargetGroups: [{ TargetGroupArn: tgArn(1), TargetGroupName: 'tg1' }] });
  health({ [tgArn(1)]: ['healthy', 'draining'] });
  const c = clock();
  const report = await drainTarget(clients, parseDrainTarget(INSTANCE), { now: c.now, sleep: c.sleep, random: c.random, pollMs: 1500 });
  expect(report.registrations[0].endedBy).toBe('delay-elapsed');
  expect(report.registrations[0].endedAfterMs).toBeGreaterThanOrEqual(30_000);
  expect(report.registrations[0].endedAfterMs).toBeLessThan(31_500);
});

test('times out when the target never drains, never waiting past the timeout', async () => {
  elbv2.on(DescribeTargetGroupsCommand).resolves({ TargetGroups: [{ TargetGroupArn: tgArn(1), TargetGroupName: 'tg1' }] });
  elbv2.on(DescribeTargetGroupAttributesCommand).resolves({ Attributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: '600' }] });
  health({ [tgArn(1)]: ['healthy', 'draining'] });
  const c = clock();
  const start = c.now();
  const report = await drainTarget(clients, parseDrainTarget(INSTANCE), { now: c.now, sleep: c.sleep, random: c.random, pollMs: 1000, timeoutMs: 10_000 });
  expect(report.state).toBe('timed-out');
  expect(c.now() - start).toBeLessThanOrEqual(11_000);
});

describe('polling', () => {
  beforeEach(() => {
    elbv2.on(DescribeTargetGroupsCommand).resolves({ TargetGroups: [{ TargetGroupArn: tgArn(1), TargetGroupName: 'tg1' }] });
    elbv2.on(DescribeTargetGroupAttributesCommand).resolves({ Attributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: '600' }] });
  });

  test('sleeps at most until the timeout: the last sleep is cut short, never a whole interval past it', async () => {
    health({ [tgArn(1)]: ['healthy', 'draining'] });
    const c = clock();
    const start = c.now();
    const report = await drainTarget(clients, parseDrainTarget(INSTANCE), { now: c.now, sleep: c.sleep, random: c.random, pollMs: 3000, timeoutMs: 10_000 });
    expect(report.state).toBe('timed-out');
    expect(c.now() - start).toBe(10_000);
    expect(c.sleeps).toEqual([3000, 3000, 3000, 1000]);
  });

  test('by default polls every 1–2 s, jittered', async () => {
    health({ [tgArn(1)]: ['healthy', 'draining'] });
    const c = clock();
    let i = 0;
    const randoms = [0, 0.999, 0.25];
    await drainTarget(clients, parseDrainTarget(INSTANCE), { now: c.now, sleep: c.sleep, random: () => randoms[i++ % 3], timeoutMs: 20_000 });
    const polls = c.sleeps.slice(0, -1); // the last one is cut at the timeout
    expect(Math.min(...polls)).toBe(1000);
    expect(Math.max(...polls)).toBeGreaterThan(1990);
    expect(Math.max(...polls)).toBeLessThanOrEqual(2000);
    expect(new Set(polls).size).toBe(3);
  });

  test('slows down after a throttled pass, and back to normal after a clean one', async () => {
    let call = 0;
    elbv2.on(DescribeTargetHealthCommand).callsFake(() => {
      call++;
      // Calls: 1 = find; 2.. = polls. The 2nd and 3rd polls are throttled once each, then answered.
      if (call === 3 || call === 5) throw throttle();
      return { TargetHealthDescriptions: [{ Target: { Id: INSTANCE, Port: 32768 }, TargetHealth: { State: call >= 8 ? 'unused' : 'draining' } }] };
    });
    const c = clock();
    const report = await drainTarget(clients, parseDrainTarget(INSTANCE), { now: c.now, sleep: c.sleep, random: c.random, pollMs: 1000, retry: { sleep: async () => undefined } });
    expect(report.state).toBe('drained');
    expect(c.sleeps).toEqual([1000, 2000, 4000, 1000]);
  });

  test('the run deadline is checked within a pass: a slow pass does not go on past it', async () => {
    elbv2.on(DescribeTargetGroupsCommand).resolves({ TargetGroups: [{ TargetGroupArn: tgArn(1), TargetGroupName: 'tg1' }, { TargetGroupArn: tgArn(2), TargetGroupName: 'tg2' }] });
    health({ [tgArn(1)]: ['healthy', 'draining'], [tgArn(2)]: ['healthy', 'draining'] });
    const c = clock();
    // Looking at tg1 takes 4 s (a slow signal): after it the deadline has passed.
    const probe = async () => {
      c.advance(4000);
      return 1;
    };
    const report = await drainTarget(clients, parseDrainTarget(INSTANCE), { now: c.now, sleep: c.sleep, random: c.random, pollMs: 1000, deadline: c.now() + 2000, inFlight: probe });
    expect(report.state).toBe('in-progress');
    const tg2Polls = elbv2.commandCalls(DescribeTargetHealthCommand).filter((call) => call.args[0].input.TargetGroupArn === tgArn(2) && call.args[0].input.Targets);
    expect(tg2Polls).toHaveLength(0);
  });
});

test('a deadline stops the run as in-progress, and a resumed run finishes from the same start', async () => {
  elbv2.on(DescribeTargetGroupsCommand).resolves({ TargetGroups: [{ TargetGroupArn: tgArn(1), TargetGroupName: 'tg1' }] });
  health({ [tgArn(1)]: ['healthy', 'draining'] });
  const c = clock();
  const first = await drainTarget(clients, parseDrainTarget(INSTANCE), { now: c.now, sleep: c.sleep, random: c.random, pollMs: 1000, deadline: c.now() + 5000 });
  expect(first.state).toBe('in-progress');
  const resumed = await drainTarget(clients, parseDrainTarget(INSTANCE), { now: c.now, sleep: c.sleep, random: c.random, pollMs: 1000, startedAt: first.startedAt, deregisteredAt: deregistrationTimes(first), allowUnregistered: true });
  expect(resumed.state).toBe('drained');
  expect(resumed.registrations[0].endedBy).toBe('delay-elapsed');
  expect(resumed.registrations[0].endedAfterMs).toBeLessThan(32_000);
  expect(resumed.registrations[0].deregisteredAt).toBe(first.registrations[0].deregisteredAt);
});

test('the delay counts from deregistration, not from the start of the run', async () => {
  elbv2.on(DescribeTargetGroupsCommand).resolves({ TargetGroups: [{ TargetGroupArn: tgArn(1), TargetGroupName: 'tg1' }] });
  health({ [tgArn(1)]: ['healthy', 'draining'] });
  const c = clock();
  const startedAt = c.now() - 60_000; // resumed a minute after the start, but never deregistered so far
  const report = await drainTarget(clients, parseDrainTarget(INSTANCE), { now: c.now, sleep: c.sleep, random: c.random, pollMs: 1000, startedAt, timeoutMs: 120_000, allowUnregistered: true });
  const r = report.registrations[0];
  expect(r.endedBy).toBe('delay-elapsed');
  expect(r.deregisteredAt).toBe(startedAt + 60_000);
  expect(startedAt + r.endedAfterMs! - r.deregisteredAt!).toBeGreaterThanOrEqual(30_000);
});

test('throttling is retried with backoff, then succeeds', async () => {
  elbv2.on(DescribeTargetGroupsCommand).rejectsOnce(throttle()).rejectsOnce(throttle()).resolves({ TargetGroups: [{ TargetGroupArn: tgArn(1), TargetGroupName: 'tg1' }] });
  health({ [tgArn(1)]: ['healthy', 'unused'] });
  const waits: number[] = [];
  const report = await drainTarget(clients, parseDrainTarget(INSTANCE), { retry: { sleep: async (ms) => void waits.push(ms), random: () => 0.99 }, sleep: async () => undefined });
  expect(report.state).toBe('drained');
  expect(waits).toEqual([198, 396]);
});

test('throttling that never stops is THROTTLED (its own exit code), saying so', async () => {
  elbv2.on(DescribeTargetGroupsCommand).rejects(throttle());
  await expect(drainTarget(clients, parseDrainTarget(INSTANCE), { retry: { sleep: async () => undefined, attempts: 3 } })).rejects.toMatchObject({ code: 'THROTTLED', message: expect.stringContaining('throttling') });
  expect(elbv2.commandCalls(DescribeTargetGroupsCommand)).toHaveLength(3);
});

/**
 * ECS tasks on the instance as ListTasks/DescribeTasks report them: after DRAINING their desired
 * status is STOPPED at once while they keep serving (DEACTIVATING) until the delay has passed.
 * Each DescribeTasks call takes the next lastStatus of the sequence.
 */
/**
 * One target group (tg1) in which the instance goes through `healthStates`, and an ECS container
 * instance with `status` whose tasks pass through `lastStatuses`, one per DescribeTasks call.
 */
function ecsInstance(status: 'ACTIVE' | 'DRAINING', lastStatuses: string[], healthStates: string[] = ['healthy', 'draining']): void {
  elbv2.on(DescribeTargetGroupsCommand).resolves({ TargetGroups: [{ TargetGroupArn: tgArn(1), TargetGroupName: 'tg1' }] });
  health({ [tgArn(1)]: healthStates });
  ecs.on(ListContainerInstancesCommand).resolves({ containerInstanceArns: ['arn:ci/1'] });
  // runningTasksCount (desired RUNNING) drops to 0 at once on DRAINING; the tasks still serve.
  ecs.on(DescribeContainerInstancesCommand).resolves({ containerInstances: [{ status, runningTasksCount: 0 }] });
  ecsTasks(lastStatuses);
}

/** Two tasks of one service, bound (bridge mode) to host ports 32768 (the registered one) and 32769. */
function ecsTasks(lastStatuses: string[]): void {
  const tasks = ['arn:task/a', 'arn:task/b'];
  ecs.on(ListTasksCommand, { desiredStatus: 'RUNNING' }).resolves({ taskArns: [] });
  ecs.on(ListTasksCommand, { desiredStatus: 'STOPPED' }).resolves({ taskArns: tasks });
  let call = 0;
  ecs.on(DescribeTasksCommand).callsFake(() => {
    const lastStatus = lastStatuses[Math.min(call++, lastStatuses.length - 1)];
    return { tasks: tasks.map((taskArn, i) => ({ taskArn, group: 'service:app', desiredStatus: 'STOPPED', lastStatus, containers: [{ networkBindings: [{ containerPort: 8080, hostPort: 32768 + i }] }] })) };
  });
}

test('ECS: the container instance goes DRAINING and the drain waits until every task has really stopped', async () => {
  ecsInstance('ACTIVE', ['DEACTIVATING', 'DEACTIVATING', 'STOPPING', 'STOPPED']);
  ecs.on(UpdateContainerInstancesStateCommand).resolves({});
  const c = clock();
  const report = await drainTarget(clients, parseDrainTarget(INSTANCE), { cluster: 'albatross', now: c.now, sleep: c.sleep, random: c.random, pollMs: 1000 });
  expect(ecs.commandCalls(UpdateContainerInstancesStateCommand)[0].args[0].input).toEqual({ cluster: 'albatross', containerInstances: ['arn:ci/1'], status: 'DRAINING' });
  expect(ecs.commandCalls(ListTasksCommand).map((call) => call.args[0].input)).toEqual(
    expect.arrayContaining([
      { cluster: 'albatross', containerInstance: 'arn:ci/1', desiredStatus: 'RUNNING', nextToken: undefined },
      { cluster: 'albatross', containerInstance: 'arn:ci/1', desiredStatus: 'STOPPED', nextToken: undefined },
    ]),
  );
  expect(ecs.commandCalls(DescribeTasksCommand)).toHaveLength(4);
  expect(report.steps.map((s) => s.state)).toEqual(['planned', 'ecs-draining', 'deregistering', 'waiting', 'drained']);
  expect(report.steps.find((s) => s.state === 'deregistering')!.atMs).toBe(3000);
  expect(report.registrations[0].endedBy).toBe('ecs-tasks-stopped');
  expect(report.ecs).toEqual({ cluster: 'albatross', containerInstanceArn: 'arn:ci/1', setDrainingByThisRun: true, serviceTasksStopped: true, tasksStopped: true, standaloneTasks: 0 });
});

test('ECS: tasks still DEACTIVATING never end a registration as ecs-tasks-stopped', async () => {
  ecsInstance('DRAINING', ['DEACTIVATING']);
  const c = clock();
  const report = await drainTarget(clients, parseDrainTarget(INSTANCE), { cluster: 'albatross', now: c.now, sleep: c.sleep, random: c.random, pollMs: 1000, timeoutMs: 20_000 });
  expect(report.state).toBe('timed-out');
  expect(report.registrations[0].endedBy).toBeUndefined();
});

test('ECS: when the tasks do not stop within the ECS wait, the targets are still deregistered and drained', async () => {
  ecsInstance('DRAINING', ['RUNNING']);
  const c = clock();
  const report = await drainTarget(clients, parseDrainTarget(INSTANCE), { cluster: 'albatross', now: c.now, sleep: c.sleep, random: c.random, pollMs: 1000 });
  expect(elbv2.commandCalls(DeregisterTargetsCommand)).toHaveLength(1);
  expect(report.state).toBe('drained');
  expect(report.registrations[0].endedBy).toBe('delay-elapsed');  // 10 min of ECS wait before deregistration do not count towards the 30 s delay.
  expect(report.startedAt + report.registrations[0].endedAfterMs! - report.registrations[0].deregisteredAt!).toBeGreaterThanOrEqual(30_000);
});

test('ECS: while waiting, the tasks are looked up once per polling pass, not once per registration', async () => {
  ecsInstance('DRAINING', ['RUNNING']);
  elbv2.on(DescribeTargetGroupsCommand).resolves({ TargetGroups: [1, 2, 3].map((n) => ({ TargetGroupArn: tgArn(n), TargetGroupName: `tg${n}` })) });
  health({ [tgArn(1)]: ['healthy', 'draining'], [tgArn(2)]: ['healthy', 'draining'], [tgArn(3)]: ['healthy', 'draining'] });
  const c = clock();
  const report = await drainTarget(clients, parseDrainTarget(INSTANCE), { cluster: 'albatross', now: c.now, sleep: c.sleep, random: c.random, pollMs: 1000, timeoutMs: 20_000 });
  expect(report.state).toBe('timed-out');
  // Each waiting pass reads the health of three registrations and the tasks once.
  expect(ecs.commandCalls(DescribeTasksCommand).length).toBeLessThan(elbv2.commandCalls(DescribeTargetHealthCommand).length / 2);
});

test('ECS: a deadline during the ECS wait stops the run as in-progress before deregistering', async () => {
  ecsInstance('DRAINING', ['RUNNING']);
  const c = clock();
  const report = await drainTarget(clients, parseDrainTarget(INSTANCE), { cluster: 'albatross', now: c.now, sleep: c.sleep, random: c.random, pollMs: 1000, deadline: c.now() + 5000 });
  expect(report.state).toBe('in-progress');
  expect(elbv2.commandCalls(DeregisterTargetsCommand)).toHaveLength(0);
});

test('ECS: an instance already DRAINING is not updated again (idempotent)', async () => {
  ecsInstance('DRAINING', ['STOPPED'], ['draining', 'unused']);
  const report = await drainTarget(clients, parseDrainTarget(INSTANCE), { cluster: 'albatross', sleep: async () => undefined });
  expect(report.state).toBe('drained');
  expect(ecs.commandCalls(UpdateContainerInstancesStateCommand)).toHaveLength(0);
});

test('partial deregistration failure: the other group still drains, the run reports failed', async () => {
  elbv2.on(DescribeTargetGroupsCommand).resolves({ TargetGroups: [{ TargetGroupArn: tgArn(1), TargetGroupName: 'tg1' }, { TargetGroupArn: tgArn(2), TargetGroupName: 'tg2' }] });
  health({ [tgArn(1)]: ['healthy', 'unused'], [tgArn(2)]: ['healthy', 'unused'] });
  elbv2.on(DeregisterTargetsCommand, { TargetGroupArn: tgArn(2) }).rejects(Object.assign(new Error('User is not authorized'), { name: 'AccessDenied' }));
  const report = await drainTarget(clients, parseDrainTarget(INSTANCE), { sleep: async () => undefined });
  expect(report.state).toBe('failed');
  expect(report.registrations[0].endedBy).toBe('unused');
  expect(report.registrations[1].error).toContain('AccessDenied');
});

test('running twice is harmless: an already-deregistered target (InvalidTarget) counts as done', async () => {
  elbv2.on(DescribeTargetGroupsCommand).resolves({ TargetGroups: [{ TargetGroupArn: tgArn(1), TargetGroupName: 'tg1' }] });
  health({ [tgArn(1)]: ['draining', 'unused'] });
  elbv2.on(DeregisterTargetsCommand).rejects(new InvalidTargetException({ message: 'The following targets are not registered', $metadata: {} }));
  const report = await drainTarget(clients, parseDrainTarget(INSTANCE), { sleep: async () => undefined });
  expect(report.state).toBe('drained');
});

test('an already drained instance, when allowed (resume, lifecycle event), is drained at once', async () => {
  elbv2.on(DescribeTargetGroupsCommand).resolves({ TargetGroups: [{ TargetGroupArn: tgArn(1), TargetGroupName: 'tg1' }] });
  health({ [tgArn(1)]: ['gone'] });
  const report = await drainTarget(clients, parseDrainTarget(INSTANCE), { allowUnregistered: true });
  expect(report.state).toBe('drained');
  expect(elbv2.commandCalls(DeregisterTargetsCommand)).toHaveLength(0);
});

test('dry run plans and changes nothing', async () => {
  elbv2.on(DescribeTargetGroupsCommand).resolves({ TargetGroups: [{ TargetGroupArn: tgArn(1), TargetGroupName: 'tg1' }] });
  health({ [tgArn(1)]: ['healthy'] });
  const report = await drainTarget(clients, parseDrainTarget(INSTANCE), { dryRun: true });
  expect(report.registrations).toHaveLength(1);
  expect(elbv2.commandCalls(DeregisterTargetsCommand)).toHaveLength(0);
});

describe('bad input', () => {
  test('malformed ids are rejected before any AWS call', () => {
    for (const bad of ['i-xyz', 'i-123', 'i-0123456789abcdef', '10.0.0.1', '300.1.1.1:80', '10.0.0.1:0', 'web-1']) {
      expect(() => parseDrainTarget(bad)).toThrow(DrainError);
    }
    expect(parseDrainTarget('i-12345678')).toEqual({ kind: 'instance', id: 'i-12345678' });
    expect(parseDrainTarget('10.0.1.5:8080')).toEqual({ kind: 'ip', id: '10.0.1.5', port: 8080 });
  });

  test('an unknown instance (in no ASG and no target group) is UNKNOWN_INSTANCE', async () => {
    elbv2.on(DescribeTargetGroupsCommand).resolves({ TargetGroups: [{ TargetGroupArn: tgArn(1), TargetGroupName: 'tg1' }] });
    health({ [tgArn(1)]: ['gone'] });
    asg.on(DescribeAutoScalingInstancesCommand).resolves({ AutoScalingInstances: [] });
    await expect(drainTarget(clients, parseDrainTarget(INSTANCE))).rejects.toMatchObject({ code: 'UNKNOWN_INSTANCE' });
  });

  test('an instance in no target group is NOT_REGISTERED, and nothing is deregistered', async () => {
    elbv2.on(DescribeTargetGroupsCommand).resolves({ TargetGroups: [{ TargetGroupArn: tgArn(1), TargetGroupName: 'tg1' }] });
    health({ [tgArn(1)]: ['gone'] });
    await expect(drainTarget(clients, parseDrainTarget(INSTANCE))).rejects.toMatchObject({ code: 'NOT_REGISTERED' });
    expect(elbv2.commandCalls(DeregisterTargetsCommand)).toHaveLength(0);
  });

  test('missing credentials become NO_CREDENTIALS', async () => {
    // As the SDK's credential chain throws it (@smithy CredentialsProviderError, a transitive dependency).
    elbv2.on(DescribeTargetGroupsCommand).rejects(Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError', tryNextLink: false }));
    await expect(drainTarget(clients, parseDrainTarget(INSTANCE))).rejects.toMatchObject({ code: 'NO_CREDENTIALS' });
  });

  test('an error merely mentioning credentials (a denied call) is an AWS_ERROR, not NO_CREDENTIALS', async () => {
    const denied = Object.assign(new Error('User is not authorized to perform: elasticloadbalancing:DescribeTargetGroups with credential scope eu-west-1'), { name: 'AccessDenied' });
    elbv2.on(DescribeTargetGroupsCommand).rejects(denied);
    await expect(drainTarget(clients, parseDrainTarget(INSTANCE))).rejects.toMatchObject({ code: 'AWS_ERROR' });
  });
});

describe('edge cases', () => {
  beforeEach(() => {
    elbv2.on(DescribeTargetGroupsCommand).resolves({ TargetGroups: [{ TargetGroupArn: tgArn(1), TargetGroupName: 'tg1' }] });
  });

  test('standalone (RunTask) tasks, which ECS leaves running on DRAINING, are not waited for; only service tasks are', async () => {
    health({ [tgArn(1)]: ['healthy', 'draining'] });
    ecs.on(ListContainerInstancesCommand).resolves({ containerInstanceArns: ['arn:ci/1'] });
    ecs.on(DescribeContainerInstancesCommand).resolves({ containerInstances: [{ status: 'ACTIVE' }] });
    ecs.on(UpdateContainerInstancesStateCommand).resolves({});
    ecs.on(ListTasksCommand, { desiredStatus: 'RUNNING' }).resolves({ taskArns: ['arn:task/batch'] });
    ecs.on(ListTasksCommand, { desiredStatus: 'STOPPED' }).resolves({ taskArns: ['arn:task/web'] });
    ecs.on(DescribeTasksCommand).resolves({ tasks: [{ taskArn: 'arn:task/batch', group: 'family:batch', lastStatus: 'RUNNING' }, { taskArn: 'arn:task/web', group: 'service:app', lastStatus: 'STOPPED' }] });
    const c = clock();
    const report = await drainTarget(clients, parseDrainTarget(INSTANCE), { cluster: 'albatross', now: c.now, sleep: c.sleep, random: c.random, pollMs: 1000 });
    // Deregistered at once, not after the 10-minute ECS wait.
    expect(report.steps.find((s) => s.state === 'deregistering')!.atMs).toBe(0);
    expect(report.ecs).toMatchObject({ serviceTasksStopped: true, tasksStopped: false, standaloneTasks: 1 });
    // A standalone task still runs: its stop is no end signal; the delay ends the drain.
    expect(report.registrations[0].endedBy).toBe('delay-elapsed');
  });

  test('a container instance that is not ACTIVE (DEREGISTERING) is not updated, and its targets are still deregistered', async () => {
    health({ [tgArn(1)]: ['healthy', 'draining', 'unused'] });
    ecs.on(ListContainerInstancesCommand).resolves({ containerInstanceArns: ['arn:ci/1'] });
    ecs.on(DescribeContainerInstancesCommand).resolves({ containerInstances: [{ status: 'DEREGISTERING' }] });
    const c = clock();
    const report = await drainTarget(clients, parseDrainTarget(INSTANCE), { cluster: 'albatross', now: c.now, sleep: c.sleep, random: c.random, pollMs: 1000 });
    expect(ecs.commandCalls(UpdateContainerInstancesStateCommand)).toHaveLength(0);
    expect(ecs.commandCalls(ListTasksCommand)).toHaveLength(0);
    expect(elbv2.commandCalls(DeregisterTargetsCommand)).toHaveLength(1);
    expect(report.ecs).toMatchObject({ notActiveStatus: 'DEREGISTERING', setDrainingByThisRun: false });
    expect(report.state).toBe('drained');
  });

  test('a registration that never becomes draining (DeregisterTargets did nothing) is not ended by the delay or the signal; it is deregistered again', async () => {
    health({ [tgArn(1)]: ['healthy'] });
    const c = clock();
    const report = await drainTarget(clients, parseDrainTarget(INSTANCE), { now: c.now, sleep: c.sleep, random: c.random, pollMs: 1000, inFlight: async () => 0 });
    expect(report.state).toBe('timed-out');
    expect(report.registrations[0].endedBy).toBeUndefined();
    expect(elbv2.commandCalls(DeregisterTargetsCommand).length).toBeGreaterThan(2);
  });

  test('a target AWS no longer knows (InvalidTarget from DescribeTargetHealth) counts as deregistered, as the botocore waiter does', async () => {
    let polls = 0;
    elbv2.on(DescribeTargetHealthCommand).callsFake((input: { Targets?: unknown[] }) => {
      if (!input.Targets) return { TargetHealthDescriptions: [{ Target: { Id: INSTANCE, Port: 32768 }, TargetHealth: { State: 'healthy' } }] };
      if (++polls < 3) return { TargetHealthDescriptions: [{ Target: { Id: INSTANCE, Port: 32768 }, TargetHealth: { State: 'draining' } }] };
      throw new InvalidTargetException({ message: 'The following targets are not in a running state and cannot be registered', $metadata: { httpStatusCode: 400 } });
    });
    const c = clock();
    const report = await drainTarget(clients, parseDrainTarget(INSTANCE), { now: c.now, sleep: c.sleep, random: c.random, pollMs: 1000 });
    expect(report.state).toBe('drained');
    expect(report.registrations[0]).toMatchObject({ endedBy: 'unused', endedAfterMs: 2000 });
  });

  test('a probe that cannot tell (undefined) never ends a registration early', async () => {
    health({ [tgArn(1)]: ['healthy', 'draining'] });
    const c = clock();
    const report = await drainTarget(clients, parseDrainTarget(INSTANCE), { now: c.now, sleep: c.sleep, random: c.random, pollMs: 1000, inFlight: async () => undefined });
    expect(report.registrations[0].endedBy).toBe('delay-elapsed');
  });

  test('deregisteredAt is taken after DeregisterTargets returns: a slow call does not shorten the delay', async () => {
    health({ [tgArn(1)]: ['healthy', 'draining'] });
    const c = clock();
    elbv2.on(DeregisterTargetsCommand).callsFake(() => {
      c.advance(7000); // the call takes 7 s
      return {};
    });
    const start = c.now();
    const report = await drainTarget(clients, parseDrainTarget(INSTANCE), { now: c.now, sleep: c.sleep, random: c.random, pollMs: 1000 });
    const r = report.registrations[0];
    expect(r.deregisteredAt).toBe(start + 7000);
    expect(r.endedBy).toBe('delay-elapsed');
    expect(start + r.endedAfterMs! - r.deregisteredAt!).toBeGreaterThanOrEqual(30_000);
  });

  test('a transient DeregisterTargets failure (503) is retried: the target is deregistered and drains for the full delay', async () => {
    health({ [tgArn(1)]: ['healthy', 'draining'] });
    elbv2.on(DeregisterTargetsCommand).rejectsOnce(Object.assign(new Error('Service unavailable'), { name: 'ServiceUnavailable', $metadata: { httpStatusCode: 503 } })).resolves({});
    const c = clock();
    const report = await drainTarget(clients, parseDrainTarget(INSTANCE), { now: c.now, sleep: c.sleep, random: c.random, pollMs: 1000, retry: { sleep: c.sleep } });
    expect(elbv2.commandCalls(DeregisterTargetsCommand)).toHaveLength(2);
    expect(report.state).toBe('drained');
    expect(report.registrations[0].endedBy).toBe('delay-elapsed');
  });

  test('a failed run carries what it did: the DrainError has the report with the deregistration time', async () => {
    let polls = 0;
    elbv2.on(DescribeTargetHealthCommand).callsFake((input: { Targets?: unknown[] }) => {
      if (input.Targets && ++polls > 1) throw Object.assign(new Error('denied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
      return { TargetHealthDescriptions: [{ Target: { Id: INSTANCE, Port: 32768 }, TargetHealth: { State: input.Targets ? 'draining' : 'healthy' } }] };
    });
    const c = clock();
    const error = await drainTarget(clients, parseDrainTarget(INSTANCE), { now: c.now, sleep: c.sleep, random: c.random, pollMs: 1000 }).catch((e: DrainError) => e);
    expect(error).toBeInstanceOf(DrainError);
    expect(deregistrationTimes((error as DrainError).report!)).toEqual({ [`${tgArn(1)}|${INSTANCE}|32768`]: 1_000_000 });
  });

  test('retries stop at the deadline: a persistent 503 ends the run as TIMEOUT with the last error, no later than the deadline', async () => {
    elbv2.on(DescribeTargetGroupsCommand).rejects(Object.assign(new Error('Service unavailable'), { name: 'ServiceUnavailable', $metadata: { httpStatusCode: 503 } }));
    const c = clock();
    const deadline = c.now() + 20_000;
    await expect(drainTarget(clients, parseDrainTarget(INSTANCE), { now: c.now, sleep: c.sleep, random: c.random, deadline, retry: { sleep: c.sleep, attempts: Infinity } })).rejects.toMatchObject({
      code: 'TIMEOUT',
      message: expect.stringContaining('ServiceUnavailable'),
    });
    expect(c.now()).toBeLessThanOrEqual(deadline);
    expect(elbv2.commandCalls(DescribeTargetGroupsCommand).length).toBeGreaterThan(6);
  });
});

describe('target ids', () => {
  test('[v6]:port is accepted as the proxy accepts it; malformed IPv6 is not', () => {
    expect(parseDrainTarget('[::1]:80')).toEqual({ kind: 'ip', id: '::1', port: 80 });
    expect(parseDrainTarget('[2001:db8::5]:8080')).toEqual({ kind: 'ip', id: '2001:db8::5', port: 8080 });
    for (const bad of ['[::1]', '[::1]:0', '[:::1]:80', '[1.2.3]:80', '::1:80']) expect(() => parseDrainTarget(bad)).toThrow(DrainError);
  });
});

test('ECS: more than 100 tasks over several ListTasks pages are all described, at most 100 per DescribeTasks call', async () => {
  elbv2.on(DescribeTargetGroupsCommand).resolves({ TargetGroups: [{ TargetGroupArn: tgArn(1), TargetGroupName: 'tg1' }] });
  health({ [tgArn(1)]: ['healthy', 'draining'] });
  ecs.on(ListContainerInstancesCommand).resolves({ containerInstanceArns: ['arn:ci/1'] });
  ecs.on(DescribeContainerInstancesCommand).resolves({ containerInstances: [{ status: 'DRAINING' }] });
  const arns = Array.from({ length: 250 }, (_, i) => `arn:task/${i}`);
  ecs.on(ListTasksCommand, { desiredStatus: 'RUNNING' }).resolves({ taskArns: [] });
  ecs.on(ListTasksCommand, { desiredStatus: 'STOPPED', nextToken: undefined }).resolves({ taskArns: arns.slice(0, 100), nextToken: 'p2' });
  ecs.on(ListTasksCommand, { desiredStatus: 'STOPPED', nextToken: 'p2' }).resolves({ taskArns: arns.slice(100, 200), nextToken: 'p3' });
  ecs.on(ListTasksCommand, { desiredStatus: 'STOPPED', nextToken: 'p3' }).resolves({ taskArns: arns.slice(200) });
  // The last task keeps running until the third pass: a drain that skipped page 3 would end at once.
  let passes = 0;
  ecs.on(DescribeTasksCommand).callsFake((input: { tasks: string[] }) => {
    if (input.tasks.length > 100) throw new Error('DescribeTasks takes at most 100 tasks');
    if (input.tasks[0] === arns[0]) passes++;
    return { tasks: input.tasks.map((taskArn) => ({ taskArn, group: 'service:web', lastStatus: taskArn === arns[249] && passes < 3 ? 'RUNNING' : 'STOPPED' })) };
  });
  const c = clock();
  const report = await drainTarget(clients, parseDrainTarget(INSTANCE), { cluster: 'albatross', now: c.now, sleep: c.sleep, random: c.random, pollMs: 1000 });
  expect(report.steps.find((s) => s.state === 'deregistering')!.atMs).toBe(2000);
  expect(ecs.commandCalls(DescribeTasksCommand).map((call) => call.args[0].input.tasks!.length).slice(0, 3)).toEqual([100, 100, 50]);
});

/**
 * Several ECS services behind one ALB: each service has its own target group with its own
 * deregistration delay, and the instance carries a task of each, registered (bridge mode) on the
 * task's own host port. The API says `draining` throughout, so the API cannot end a registration:
 * only its own evidence (its tasks stopped, an in-flight signal for its group, its group's delay) can.
 */
describe('several services on one instance, each with its own target group and delay', () => {
  const WEB = tgArn(1);
  const API = tgArn(2);
  const DIRECT = tgArn(3);
  const PORT: Record<string, number> = { [WEB]: 32768, [API]: 32769, [DIRECT]: 8080 };

  /** The groups (name → arn, delay in s): healthy until DeregisterTargets reached the group, then draining. */
  function groups(delays: Record<string, [string, number]>): Set<string> {
    const deregistered = new Set<string>();
    elbv2.on(DescribeTargetGroupsCommand).resolves({ TargetGroups: Object.entries(delays).map(([name, [arn]]) => ({ TargetGroupArn: arn, TargetGroupName: name })) });
    for (const [arn, seconds] of Object.values(delays)) {
      elbv2.on(DescribeTargetGroupAttributesCommand, { TargetGroupArn: arn }).resolves({ Attributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: String(seconds) }] });
    }
    elbv2.on(DeregisterTargetsCommand).callsFake((input: { TargetGroupArn: string }) => void deregistered.add(input.TargetGroupArn));
    elbv2.on(DescribeTargetHealthCommand).callsFake((input: { TargetGroupArn: string }) => ({
      TargetHealthDescriptions: [{ Target: { Id: INSTANCE, Port: PORT[input.TargetGroupArn] }, TargetHealth: { State: deregistered.has(input.TargetGroupArn) ? 'draining' : 'healthy' } }],
    }));
    return deregistered;
  }

  /**
   * An ACTIVE container instance with one task of `web` (port 32768) and one of `api` (32769).
   * `stopped(service, look)` says whether that service's task has stopped at the look (0, 1, …);
   * as ECS may, a stopped task's description lists no port bindings.
   */
  function tasksOfTwoServices(stopped: (service: string, look: number) => boolean): void {
    let look = 0;
    ecs.on(ListContainerInstancesCommand).resolves({ containerInstanceArns: ['arn:ci/1'] });
    ecs.on(DescribeContainerInstancesCommand).resolves({ containerInstances: [{ status: 'ACTIVE' }] });
    ecs.on(UpdateContainerInstancesStateCommand).resolves({});
    ecs.on(ListTasksCommand, { desiredStatus: 'RUNNING' }).resolves({ taskArns: [] });
    ecs.on(ListTasksCommand, { desiredStatus: 'STOPPED' }).resolves({ taskArns: ['arn:task/web', 'arn:task/api'] });
    ecs.on(DescribeTasksCommand).callsFake(() => ({
      tasks: (['web', 'api'] as const).map((service, i, all) => {
        const hostPort = PORT[service === 'web' ? WEB : API];
        return stopped(service, i === all.length - 1 ? look++ : look)
          ? { taskArn: `arn:task/${service}`, group: `service:${service}`, lastStatus: 'STOPPED', containers: [{}] }
          : { taskArn: `arn:task/${service}`, group: `service:${service}`, lastStatus: 'DEACTIVATING', containers: [{ networkBindings: [{ containerPort: 8080, hostPort }] }] };
      }),
    }));
  }

  /** Each progress report, reduced to what the assertions need. */
  function progressLog() {
    const seen: { atMs: number; state: string; ended: Record<string, boolean> }[] = [];
    const onProgress = (report: DrainReport) =>
      seen.push({ atMs: c.now() - report.startedAt, state: report.state, ended: Object.fromEntries(report.registrations.map((r) => [r.targetGroupName, r.endedBy !== undefined])) });
    const c = clock();
    return { c, seen, onProgress };
  }

  /** ms from a registration's deregistration to its end. */
  const drainedFor = (report: DrainReport, name: string) => {
    const r = report.registrations.find((x) => x.targetGroupName === name)!;
    return report.startedAt + r.endedAfterMs! - r.deregisteredAt!;
  };

  test('tasks ECS cannot move: the 5 s group ends at its 5 s, the 30 s group keeps the instance draining until its own 30 s', async () => {
    groups({ web: [WEB, 5], api: [API, 30] });
    tasksOfTwoServices(() => false);
    const { c, seen, onProgress } = progressLog();
    const report = await drainTarget(clients, parseDrainTarget(INSTANCE), { cluster: 'albatross', now: c.now, sleep: c.sleep, random: c.random, pollMs: 1000, onProgress });
    expect(report.state).toBe('drained');
    const [web, api] = report.registrations;
    expect([web, api].map((r) => [r.targetGroupName, r.port, r.deregistrationDelaySeconds, r.endedBy])).toEqual([
      ['web', 32768, 5, 'delay-elapsed'],
      ['api', 32769, 30, 'delay-elapsed'],
    ]);
    // The ECS wait ran out (10 min); then each registration drained for its own group's delay, to within a poll.
    expect(drainedFor(report, 'web')).toBeGreaterThanOrEqual(5_000);
    expect(drainedFor(report, 'web')).toBeLessThan(6_000);
    expect(drainedFor(report, 'api')).toBeGreaterThanOrEqual(30_000);
    expect(drainedFor(report, 'api')).toBeLessThan(31_000);
    // Once web had ended, the run was still waiting on api: never drained before api's delay.
    const apiDelayEnd = api.deregisteredAt! - report.startedAt + 30_000;
    const webEnded = seen.find((p) => p.ended.web)!;
    expect(webEnded).toMatchObject({ state: 'waiting', ended: { web: true, api: false } });
    expect(seen.filter((p) => p.atMs < apiDelayEnd).map((p) => p.state)).not.toContain('drained');
    expect(seen.at(-1)).toMatchObject({ state: 'drained', ended: { web: true, api: true } });
  });

  test("one service's tasks moving ends its own registration only: the other service's stays until its delay", async () => {
    const deregistered = groups({ web: [WEB, 30], api: [API, 30] });
    let deregisteredAt = Infinity;
    const { c, seen, onProgress } = progressLog();
    elbv2.on(DeregisterTargetsCommand).callsFake((input: { TargetGroupArn: string }) => void (deregistered.add(input.TargetGroupArn), (deregisteredAt = Math.min(deregisteredAt, c.now()))));
    // ECS could not move them within its wait; web's task stops 3 s after deregistration, api's never.
    tasksOfTwoServices((service) => service === 'web' && c.now() >= deregisteredAt + 3_000);
    const report = await drainTarget(clients, parseDrainTarget(INSTANCE), { cluster: 'albatross', now: c.now, sleep: c.sleep, random: c.random, pollMs: 1000, onProgress });
    expect(report.state).toBe('drained');
    expect(report.registrations.map((r) => [r.targetGroupName, r.service, r.endedBy])).toEqual([
      ['web', 'web', 'ecs-tasks-stopped'],
      ['api', 'api', 'delay-elapsed'],
    ]);
    expect(drainedFor(report, 'web')).toBeGreaterThanOrEqual(3_000);
    expect(drainedFor(report, 'web')).toBeLessThan(4_000);
    expect(drainedFor(report, 'api')).toBeGreaterThanOrEqual(30_000);
    expect(seen.find((p) => p.ended.web)).toMatchObject({ state: 'waiting', ended: { api: false } });
  });

  test('a port no task serves (registered by hand) is not ended by the tasks stopping: it drains for its own delay', async () => {
    groups({ web: [WEB, 5], direct: [DIRECT, 20] });
    // Both tasks serve until the second look, then stop: ECS has moved them.
    tasksOfTwoServices((_service, look) => look >= 1);
    const { c, onProgress } = progressLog();
    const report = await drainTarget(clients, parseDrainTarget(INSTANCE), { cluster: 'albatross', now: c.now, sleep: c.sleep, random: c.random, pollMs: 1000, onProgress });
    expect(report.ecs).toMatchObject({ serviceTasksStopped: true, tasksStopped: true });
    expect(report.registrations.map((r) => [r.targetGroupName, r.port, r.service, r.endedBy])).toEqual([
      ['web', 32768, 'web', 'ecs-tasks-stopped'],
      ['direct', 8080, undefined, 'delay-elapsed'],
    ]);
    expect(drainedFor(report, 'direct')).toBeGreaterThanOrEqual(20_000);
  });

  test('the in-flight signal is read per group: an idle target in one group does not end its registration in the other', async () => {
    const target = '10.0.1.5:8080';
    const deregistered = new Set<string>();
    elbv2.on(DescribeTargetGroupsCommand).resolves({ TargetGroups: [{ TargetGroupArn: WEB, TargetGroupName: 'web' }, { TargetGroupArn: API, TargetGroupName: 'api' }] });
    elbv2.on(DescribeTargetGroupAttributesCommand, { TargetGroupArn: WEB }).resolves({ Attributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: '5' }] });
    elbv2.on(DescribeTargetGroupAttributesCommand, { TargetGroupArn: API }).resolves({ Attributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: '30' }] });
    elbv2.on(DeregisterTargetsCommand).callsFake((input: { TargetGroupArn: string }) => void deregistered.add(input.TargetGroupArn));
    elbv2.on(DescribeTargetHealthCommand).callsFake((input: { TargetGroupArn: string }) => ({
      TargetHealthDescriptions: [{ Target: { Id: '10.0.1.5', Port: 8080 }, TargetHealth: { State: deregistered.has(input.TargetGroupArn) ? 'draining' : 'healthy' } }],
    }));
    const { c, onProgress } = progressLog();
    // api's group still has a request in flight on this target; web's has none.
    const inFlight = async (r: { targetGroupName: string }) => (r.targetGroupName === 'api' ? 1 : 0);
    const report = await drainTarget(clients, parseDrainTarget(target), { now: c.now, sleep: c.sleep, random: c.random, pollMs: 1000, inFlight, onProgress });
    expect(report.registrations.map((r) => [r.targetGroupName, r.endedBy])).toEqual([
      ['web', 'in-flight-zero'],
      ['api', 'delay-elapsed'],
    ]);
    expect(drainedFor(report, 'api')).toBeGreaterThanOrEqual(30_000);
  });
});
