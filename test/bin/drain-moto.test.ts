/**
 * The drain CLI end to end against moto_server: real ECS, ELBv2 and Auto Scaling HTTP endpoints on
 * loopback, an independent implementation of the APIs. What it tells us that our own mocks cannot:
 * the requests the SDK really sends are accepted as AWS shapes them (ListTasks by container
 * instance and desired status, DescribeTasks, UpdateContainerInstancesState, DeregisterTargets),
 * and 150 tasks — more than one DescribeTasks call takes — are all accounted for. moto's tasks move
 * through their lifecycle (…, DEACTIVATING, STOPPING, DEPROVISIONING, STOPPED) as they are
 * described, as ECS moves them after DRAINING.
 *
 * Not covered by moto (and so kept at the SDK boundary): lifecycle-action completion and
 * heartbeats, ListTasks pagination (moto answers in one page), the 100-task limit of DescribeTasks
 * (moto does not enforce it), and the ListContainerInstances filter (moto ignores it).
 */
import { DescribeContainerInstancesCommand, DescribeTasksCommand, ECSClient, ListTasksCommand, CreateClusterCommand, RegisterContainerInstanceCommand, RegisterTaskDefinitionCommand, StartTaskCommand } from '@aws-sdk/client-ecs';
import { CreateTargetGroupCommand, DescribeTargetHealthCommand, ElasticLoadBalancingV2Client, ModifyTargetGroupAttributesCommand, RegisterTargetsCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { buildCli, runDrain } from '../support/drain-cli';
import { DIST_BUILD_TIMEOUT_MS } from '../support/dist';
import { ec2Query, MotoServer, startMoto } from '../support/moto';

let moto: MotoServer;
const TASKS = 150;

beforeAll(buildCli, DIST_BUILD_TIMEOUT_MS);

beforeAll(async () => {
  moto = await startMoto();
}, 60_000);

afterAll(async () => {
  await moto?.stop();
});

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
const config = () => ({ endpoint: moto.url, region: 'eu-west-1', credentials });
const cliEnv = () => ({ AWS_ENDPOINT_URL: moto.url, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'eu-west-1', AWS_PROFILE: '' });

/** A running EC2 instance, registered as the container instance of a new cluster; and the default VPC. */
async function ecsInstance(ecs: ECSClient, cluster: string): Promise<{ instanceId: string; vpcId: string; containerInstance: string }> {
  const instanceId = /<instanceId>(i-[0-9a-f]+)<\/instanceId>/.exec(await ec2Query(moto.url, { Action: 'RunInstances', ImageId: 'ami-12c6146b', MinCount: '1', MaxCount: '1', InstanceType: 'm5.large' }))![1];
  const vpcId = /<vpcId>(vpc-[0-9a-f]+)<\/vpcId>/.exec(await ec2Query(moto.url, { Action: 'DescribeVpcs' }))![1];
  await ecs.send(new CreateClusterCommand({ clusterName: cluster }));
  const registered = await ecs.send(new RegisterContainerInstanceCommand({ cluster, instanceIdentityDocument: JSON.stringify({ instanceId, region: 'eu-west-1' }) }));
  return { instanceId, vpcId, containerInstance: registered.containerInstance!.containerInstanceArn! };
}

/** `count` tasks of service `service` (its own task definition family) on the container instance. */
async function serviceTasks(ecs: ECSClient, cluster: string, containerInstance: string, service: string, count: number): Promise<void> {
  await ecs.send(new RegisterTaskDefinitionCommand({ family: service, containerDefinitions: [{ name: service, image: service, memory: 1, cpu: 1 }] }));
  for (let i = 0; i < count; i++) await ecs.send(new StartTaskCommand({ cluster, taskDefinition: service, containerInstances: [containerInstance], group: `service:${service}` }));
}

/** A target group with its deregistration delay, the instance registered in it on `port`. */
async function targetGroup(elbv2: ElasticLoadBalancingV2Client, name: string, vpcId: string, delaySeconds: number, instanceId: string, port: number): Promise<string> {
  const arn = (await elbv2.send(new CreateTargetGroupCommand({ Name: name, Protocol: 'HTTP', Port: 80, VpcId: vpcId, TargetType: 'instance' }))).TargetGroups![0].TargetGroupArn!;
  await elbv2.send(new ModifyTargetGroupAttributesCommand({ TargetGroupArn: arn, Attributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: String(delaySeconds) }] }));
  await elbv2.send(new RegisterTargetsCommand({ TargetGroupArn: arn, Targets: [{ Id: instanceId, Port: port }] }));
  return arn;
}

/** Every task on the container instance, both desired statuses, as moto now describes them. */
async function allTasks(ecs: ECSClient, cluster: string, containerInstance: string) {
  const arns = [...((await ecs.send(new ListTasksCommand({ cluster, containerInstance, desiredStatus: 'RUNNING' }))).taskArns ?? []), ...((await ecs.send(new ListTasksCommand({ cluster, containerInstance, desiredStatus: 'STOPPED' }))).taskArns ?? [])];
  const tasks = [];
  for (let i = 0; i < arns.length; i += 100) tasks.push(...((await ecs.send(new DescribeTasksCommand({ cluster, tasks: arns.slice(i, i + 100) }))).tasks ?? []));
  return tasks;
}

/** The target's state in the group, as moto reports it. */
async function targetState(elbv2: ElasticLoadBalancingV2Client, arn: string, instanceId: string, port: number): Promise<string | undefined> {
  const health = await elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: arn, Targets: [{ Id: instanceId, Port: port }] }));
  return health.TargetHealthDescriptions?.[0]?.TargetHealth?.State;
}

test(`drains an ECS instance with ${TASKS} tasks: DRAINING, every task stopped, deregistered, exit 0`, async () => {
  const ecs = new ECSClient(config());
  const { instanceId, vpcId, containerInstance } = await ecsInstance(ecs, 'albatross');
  await serviceTasks(ecs, 'albatross', containerInstance, 'web', TASKS);
  const elbv2 = new ElasticLoadBalancingV2Client(config());
  const group = { TargetGroupArn: await targetGroup(elbv2, 'app', vpcId, 30, instanceId, 32768) };

  const result = await runDrain(['--target', instanceId, '--cluster', 'albatross', '--target-group', group.TargetGroupArn, '--poll-interval', '0.1', '--timeout', '300', '--json'], cliEnv());
  expect(result.stderr).not.toMatch(/error/i);
  expect(result.code).toBe(0);
  const [report] = JSON.parse(result.stdout) as { state: string; ecs: Record<string, unknown>; registrations: { id: string; port: number; endedBy: string }[]; steps: { state: string }[] }[];
  expect(report.state).toBe('drained');
  // --timeout 300 leaves 240 s for the ECS wait (the delay + 30 s are kept for the deregistration).
  expect(report.steps.map((s) => s.state)).toEqual(expect.arrayContaining(['ecs-draining', 'deregistering', 'waiting', 'drained']));
  expect(report.ecs).toMatchObject({ cluster: 'albatross', containerInstanceArn: containerInstance, setDrainingByThisRun: true, serviceTasksStopped: true, tasksStopped: true, standaloneTasks: 0 });
  expect(report.registrations).toEqual([expect.objectContaining({ id: instanceId, port: 32768 })]);
  // What moto now holds: the container instance DRAINING, the target no longer registered.
  const described = await ecs.send(new DescribeContainerInstancesCommand({ cluster: 'albatross', containerInstances: [containerInstance] }));
  expect(described.containerInstances?.[0]?.status).toBe('DRAINING');
  expect(await targetState(elbv2, group.TargetGroupArn, instanceId, 32768)).toBe('unused');
  // moto moves a task one step each time it is described: only a task the drain described until
  // it stopped is STOPPED now — so all 150, not only the first 100, were looked at.
  const statuses = (await allTasks(ecs, 'albatross', containerInstance)).map((t) => t.lastStatus!);
  expect(statuses).toHaveLength(TASKS);
  expect(statuses).toEqual(Array(TASKS).fill('STOPPED'));
}, 120_000);

/**
 * Two services on one instance, each its own target group with its own delay (web 5 s, api 30 s),
 * as the stack builds them. moto keeps each group's attribute and deregisters at once (it does not
 * model the delay: a deregistered target is `unused` straight away), so what this shows is the
 * real API shapes: each registration carries its own group's delay as AWS reports it, and every
 * group and every service's task is drained. The waiting for each delay is in
 * test/lib/drain/engine.test.ts and test/lambda/drain-handler-wiring.test.ts.
 */
test('two services, two target groups with delays of 5 s and 30 s: each registration has its own delay; both drained, every task of both stopped', async () => {
  const ecs = new ECSClient(config());
  const { instanceId, vpcId, containerInstance } = await ecsInstance(ecs, 'multi');
  await serviceTasks(ecs, 'multi', containerInstance, 'web', 3);
  await serviceTasks(ecs, 'multi', containerInstance, 'api', 2);
  const elbv2 = new ElasticLoadBalancingV2Client(config());
  const web = await targetGroup(elbv2, 'web', vpcId, 5, instanceId, 32768);
  const api = await targetGroup(elbv2, 'api', vpcId, 30, instanceId, 32769);
  const scope = ['--target', instanceId, '--cluster', 'multi', '--target-group', web, '--target-group', api, '--poll-interval', '0.1', '--timeout', '300'];

  const plan = await runDrain([...scope, '--dry-run'], cliEnv());
  expect(plan.code).toBe(0);
  expect(plan.stdout).toContain(`web ${instanceId}:32768  would deregister (delay 5s, now healthy)`);
  expect(plan.stdout).toContain(`api ${instanceId}:32769  would deregister (delay 30s, now healthy)`);

  const result = await runDrain([...scope, '--json'], cliEnv());
  expect(result.stderr).not.toMatch(/error/i);
  expect(result.code).toBe(0);
  const [report] = JSON.parse(result.stdout) as { state: string; ecs: Record<string, unknown>; registrations: { targetGroupArn: string; port: number; deregistrationDelaySeconds: number; endedBy: string; deregisteredAt?: number }[] }[];
  expect(report.state).toBe('drained');
  expect(report.registrations.map((r) => [r.targetGroupArn, r.port, r.deregistrationDelaySeconds])).toEqual(
    expect.arrayContaining([
      [web, 32768, 5],
      [api, 32769, 30],
    ]),
  );
  expect(report.registrations).toHaveLength(2);
  expect(report.registrations.every((r) => r.endedBy !== undefined && r.deregisteredAt !== undefined)).toBe(true);
  expect(report.ecs).toMatchObject({ setDrainingByThisRun: true, serviceTasksStopped: true, tasksStopped: true, standaloneTasks: 0 });
  expect(await targetState(elbv2, web, instanceId, 32768)).toBe('unused');
  expect(await targetState(elbv2, api, instanceId, 32769)).toBe('unused');
  const tasks = await allTasks(ecs, 'multi', containerInstance);
  expect(tasks.map((t) => [t.group, t.lastStatus]).sort()).toEqual([...Array(2).fill(['service:api', 'STOPPED']), ...Array(3).fill(['service:web', 'STOPPED'])]);
}, 120_000);
